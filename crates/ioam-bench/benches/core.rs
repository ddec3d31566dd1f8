//! Criterion micro-benchmarks of the core operations on the bench corpus (`src/lib.rs`):
//! one 256-packet batch per iteration (reset + operation, and the reset alone to subtract),
//! plus whole-packet decode of the wire layer.
//!
//! `cargo bench --manifest-path crates/ioam-bench/Cargo.toml` (add `-- --quick` for a short run).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ioam_bench::{input_packet, Batch, Op, TRACE_TYPES};
use ioam_core::wire::{decode_packet, DecodeOptions};
use std::hint::black_box;

const N: usize = 256;

fn ops(c: &mut Criterion) {
    for op in Op::ALL {
        let mut g = c.benchmark_group(op.name());
        g.throughput(Throughput::Elements(N as u64));
        for (tn, ty) in TRACE_TYPES {
            for size in [64u16, 244] {
                let mut b = Batch::new(op, ty, size, N);
                g.bench_function(format!("type{tn}/size{size}"), |bn| {
                    bn.iter(|| {
                        b.reset();
                        black_box(b.run())
                    })
                });
            }
        }
        let mut b = Batch::new(op, 0xF0_0000, 64, N);
        g.bench_function("reset-only/type4/size64", |bn| bn.iter(|| b.reset()));
        g.finish();
    }
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for (tn, ty) in TRACE_TYPES {
        let p = input_packet(Op::Decap, ty, 64);
        g.bench_function(format!("type{tn}/size64"), |bn| bn.iter(|| black_box(decode_packet(black_box(&p), &DecodeOptions::default()))));
    }
    g.finish();
}

criterion_group!(benches, ops, decode);
criterion_main!(benches);
