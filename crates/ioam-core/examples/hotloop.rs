//! Runs N packets through `transit_batch` / `encap_batch` / `decap_batch` to count instructions
//! per packet under callgrind, or to time the batch calls.
//!
//! ```text
//! cargo build --release --example hotloop
//! valgrind --tool=callgrind --toggle-collect='hotloop::measured*' target/release/examples/hotloop transit4 1000
//! hotloop time transit4 256 2000   # ns/packet: best of 2000 batches of 256 packets
//! ```
//! Modes: `transit1` (bit 0), `transit4` (bits 0-3, 0xf00000), `transitall` (0xfff002, all
//! defined fields + the Opaque State Snapshot), `encap` (inline, 0xf00000, 48 octets), `decap`
//! (inline, of what `encap` produced). Only the batch call is inside `measured`, so the packet
//! set-up is not counted; `instructions / N` is the per-packet cost (plus a small per-call
//! constant: subtract a run with a smaller N).
use ioam_core::config::*;
use ioam_core::dataplane::batch::{decap_batch, encap_batch, transit_batch};
use ioam_core::dataplane::encap::EncapState;
use ioam_core::dataplane::{Node, Reason};
use std::hint::black_box;

const SLOT: usize = 768;
const HEADROOM: usize = 256;

fn node(trace_type: u32) -> Node {
    Node::new(NodeConfig {
        profile: Profile::Linux,
        ioam6_id: 1,
        ioam6_id_wide: 0x11111111111111,
        interfaces: vec![
            InterfaceConfig { name: "in".into(), ioam6_enabled: true, ioam6_id: 101, ioam6_id_wide: 101101 },
            InterfaceConfig { name: "out".into(), ioam6_enabled: false, ioam6_id: 102, ioam6_id_wide: 102102 },
        ],
        namespaces: vec![NamespaceConfig { id: 123, data: Some(0xdeadbeef), wide: Some(0xcafe), schema: Some(777), clt_legacy: false }],
        schemas: vec![SchemaConfig { id: 777, data: b"something that will be 4n-aligned".to_vec() }],
        encap: Some(EncapConfig { trace_type, namespace: 123, size: 48, freq_k: 1, freq_n: 1, ..Default::default() }),
    })
    .unwrap()
}

/// IPv6 + HbH(PadN2, IOAM trace ns 123, `ty`, room for 3 elements) + UDP 8.
fn transit_pkt(ty: u32) -> Vec<u8> {
    let nl = ioam_core::dataplane::fill::node_len(ty) as usize + if ty & 2 != 0 { 10 } else { 0 };
    let remlen = nl * if nl > 20 { 2 } else { 3 };
    let mut h = vec![17u8, 0, 1, 0, 0x31, 0, 0, 0, 0, 123, (nl as u8 - if ty & 2 != 0 { 10 } else { 0 }) << 3, remlen as u8];
    h.extend_from_slice(&((ty << 8).to_be_bytes()));
    h.extend(std::iter::repeat_n(0u8, remlen * 4));
    h[5] = (h.len() - 6) as u8;
    if h.len() % 8 == 4 {
        h.extend_from_slice(&[1, 2, 0, 0]);
    }
    h[1] = (h.len() / 8 - 1) as u8;
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    p[6] = 0;
    p[7] = 64;
    p[8] = 0xfd;
    p[24] = 0xfd;
    p[4..6].copy_from_slice(&((h.len() + 8) as u16).to_be_bytes());
    p.extend_from_slice(&h);
    p.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
    p
}

fn udp_pkt() -> Vec<u8> {
    let mut p = vec![0u8; 48];
    p[0] = 0x60;
    p[5] = 8;
    p[6] = 17;
    p[7] = 64;
    p[8] = 0xfd;
    p[24] = 0xfd;
    p
}

struct Batch {
    buf: Vec<u8>,
    desc: Vec<u32>,
    meta: Vec<u32>,
    out: Vec<u32>,
}

impl Batch {
    fn new(n: usize) -> Batch {
        let meta = (0..n).flat_map(|i| [0u32, 1, 0x6b08883b, 1000 * i as u32, 0, u32::MAX, u32::MAX, 0]).collect();
        Batch { buf: vec![0u8; n * SLOT], desc: vec![0u32; n * 4], meta, out: vec![0u32; n * 4] }
    }
    fn load(&mut self, pkt: &[u8]) {
        for (i, d) in self.desc.chunks_exact_mut(4).enumerate() {
            let s = i * SLOT;
            self.buf[s + HEADROOM..s + HEADROOM + pkt.len()].copy_from_slice(pkt);
            d.copy_from_slice(&[s as u32, (s + SLOT) as u32, (s + HEADROOM) as u32, pkt.len() as u32]);
        }
    }
}

#[inline(never)]
fn measured_transit(n: &Node, b: &mut Batch) -> usize {
    transit_batch(n, &mut b.buf, &mut b.desc, &b.meta, &mut b.out).unwrap()
}

#[inline(never)]
fn measured_encap(n: &Node, st: &mut EncapState, b: &mut Batch) -> usize {
    encap_batch(n, st, &mut b.buf, &mut b.desc, &b.meta, &[], &mut b.out).unwrap()
}

#[inline(never)]
fn measured_decap(n: &Node, b: &mut Batch, arena: &mut [u8], td: &mut [u32]) -> usize {
    decap_batch(n, &mut b.buf, &mut b.desc, &b.meta, &mut b.out, arena, td).unwrap()
}

fn expect(b: &Batch, r: Reason) {
    for o in b.out.chunks_exact(4) {
        assert_eq!(o[1], r as u32, "unexpected outcome {o:?}");
    }
}

/// One round: set-up (not measured) then the measured batch call.
fn round(mode: &str, n: usize, b: &mut Batch, scratch: &mut (Vec<u8>, Vec<u32>), timed: bool) -> std::time::Duration {
    let ty = match mode {
        "transit1" => 0x800000,
        "transit4" | "encap" | "decap" => 0xf00000,
        "transitall" => 0xfff002,
        _ => panic!("mode: transit1 | transit4 | transitall | encap | decap"),
    };
    let node = node(ty);
    let _ = timed;
    match mode {
        "encap" => {
            b.load(&udp_pkt());
            let mut st = EncapState::default();
            let t = std::time::Instant::now();
            black_box(measured_encap(&node, &mut st, b));
            let d = t.elapsed();
            if n > 0 {
                expect(b, Reason::Encapsulated);
            }
            d
        }
        "decap" => {
            b.load(&udp_pkt());
            let mut st = EncapState::default();
            encap_batch(&node, &mut st, &mut b.buf, &mut b.desc, &b.meta, &[], &mut b.out).unwrap();
            let t = std::time::Instant::now();
            black_box(measured_decap(&node, b, &mut scratch.0, &mut scratch.1));
            let d = t.elapsed();
            if n > 0 {
                expect(b, Reason::Decapsulated);
            }
            d
        }
        _ => {
            b.load(&transit_pkt(ty));
            let t = std::time::Instant::now();
            black_box(measured_transit(&node, b));
            let d = t.elapsed();
            if n > 0 {
                expect(b, Reason::Written);
            }
            d
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (timing, rest) = if args.first().map(String::as_str) == Some("time") { (true, &args[1..]) } else { (false, &args[..]) };
    let mode = rest.first().map(String::as_str).unwrap_or("transit4");
    let n: usize = rest.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let rounds: usize = rest.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut b = Batch::new(n);
    let mut scratch = (vec![0u8; n * 64], vec![0u32; n * 2]);
    if !timing {
        round(mode, n, &mut b, &mut scratch, false);
        return;
    }
    let mut best = f64::MAX;
    let mut total = 0f64;
    for _ in 0..rounds {
        let d = round(mode, n, &mut b, &mut scratch, true).as_nanos() as f64 / n.max(1) as f64;
        best = best.min(d);
        total += d;
    }
    println!("{mode}: best {best:.1} ns/packet, mean {:.1} ns/packet ({rounds} batches of {n})", total / rounds as f64);
}
