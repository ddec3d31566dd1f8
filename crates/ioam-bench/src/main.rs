//! `ioam-bench`: the Rust floor of the JavaScript suites and the callgrind driver.
//!
//! ```text
//! ioam-bench icount OP TYPE SIZE N [--baseline]
//!     N packets of OP (rounds of a 256-packet batch: reset + operation); with --baseline the
//!     same rounds without the operation. Under `valgrind --tool=callgrind`, instructions per
//!     packet = (Ir(run) − Ir(baseline)) / N, independent of machine noise.
//! ioam-bench floor [--ms MS] [--clock cpu|wall] [--batches 1,16,256,4096] [--sizes 64,244] [--types 1,4,all] [--ops ...]
//!     ns/packet of the same core batch loop the napi binding calls, without the binding
//!     (reset measured apart and subtracted); one JSON object per line. Clock: process CPU
//!     time (default) or wall.
//! ```
//! OP: encap | transit-prealloc | transit-incremental | decap. TYPE: 1 | 4 | all | 0xHEX.
use ioam_bench::{trace_type, Batch, Op, TRACE_TYPES};
use std::hint::black_box;
use std::process::ExitCode;

/// Nanoseconds of this process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`), or of the monotonic
/// clock with `--clock wall`. CPU time does not count the time the process is descheduled, which
/// dominates wall time on a shared machine.
fn now_ns(cpu: bool) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    let id = if cpu { libc::CLOCK_PROCESS_CPUTIME_ID } else { libc::CLOCK_MONOTONIC };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn usage() -> ExitCode {
    eprintln!("usage: ioam-bench icount OP TYPE SIZE N [--baseline] | ioam-bench floor [--ms MS] [--batches L] [--sizes L] [--types L] [--ops L]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("icount") => icount(&args[1..]),
        Some("floor") => floor(&args[1..]),
        _ => usage(),
    }
}

fn icount(a: &[String]) -> ExitCode {
    let (Some(op), Some(ty), Some(size), Some(n)) = (
        a.first().and_then(|s| Op::parse(s)),
        a.get(1).and_then(|s| trace_type(s)),
        a.get(2).and_then(|s| s.parse::<u16>().ok()),
        a.get(3).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        return usage();
    };
    let baseline = a.iter().any(|s| s == "--baseline");
    const B: usize = 256;
    let mut b = Batch::new(op, ty, size, B);
    let mut done = 0usize;
    for _ in 0..n.div_ceil(B) {
        b.reset();
        if !baseline {
            done += black_box(b.run());
        }
    }
    black_box(&b.buf);
    println!("{} {:06x} {} packets={} baseline={}", op.name(), ty, size, done, baseline);
    ExitCode::SUCCESS
}

fn list<T: std::str::FromStr>(a: &[String], flag: &str, default: &[T]) -> Vec<T>
where
    T: Clone,
{
    match a.iter().position(|s| s == flag).and_then(|i| a.get(i + 1)) {
        Some(v) => v.split(',').filter_map(|x| x.parse().ok()).collect(),
        None => default.to_vec(),
    }
}

/// Median ns per call of `f` over ~`ms` milliseconds (11 samples).
fn time<F: FnMut()>(ms: u64, cpu: bool, mut f: F) -> f64 {
    // Calibrate the number of calls per sample to ~ms/11.
    let mut iters = 1u64;
    loop {
        let t = now_ns(cpu);
        for _ in 0..iters {
            f();
        }
        let e = now_ns(cpu) - t;
        if e * 11 >= ms * 1_000_000 || iters >= 1 << 30 {
            break;
        }
        iters *= 2;
    }
    let mut samples: Vec<f64> = (0..11)
        .map(|_| {
            let t = now_ns(cpu);
            for _ in 0..iters {
                f();
            }
            (now_ns(cpu) - t) as f64 / iters as f64
        })
        .collect();
    samples.sort_by(|x, y| x.total_cmp(y));
    samples[5]
}

fn floor(a: &[String]) -> ExitCode {
    let ms = list(a, "--ms", &[300u64])[0];
    let cpu = list(a, "--clock", &["cpu".to_string()])[0] != "wall";
    let batches = list(a, "--batches", &[1usize, 16, 256, 4096]);
    let sizes = list(a, "--sizes", &[64u16]);
    let types: Vec<String> = list(a, "--types", &TRACE_TYPES.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>());
    let ops: Vec<String> = list(a, "--ops", &Op::ALL.iter().map(|o| o.name().to_string()).collect::<Vec<_>>());
    for op in ops.iter().filter_map(|s| Op::parse(s)) {
        for tn in &types {
            let Some(ty) = trace_type(tn) else { continue };
            for &size in &sizes {
                for &n in &batches {
                    let mut b = Batch::new(op, ty, size, n);
                    let gross = time(ms, cpu, || {
                        b.reset();
                        black_box(b.run());
                    });
                    let reset = time(ms / 2, cpu, || {
                        b.reset();
                        black_box(&mut b.buf);
                    });
                    let net = ((gross - reset) / n as f64).max(0.0);
                    println!(
                        "{{\"op\":\"{}\",\"type\":\"{}\",\"size\":{},\"batch\":{},\"nsPerPacket\":{:.2},\"grossNsPerPacket\":{:.2},\"resetNsPerPacket\":{:.2}}}",
                        op.name(),
                        tn,
                        size,
                        n,
                        net,
                        gross / n as f64,
                        reset / n as f64
                    );
                }
            }
        }
    }
    ExitCode::SUCCESS
}
