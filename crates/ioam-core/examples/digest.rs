//! Differential check for optimisation work: runs transit / encap / decap (single and batch)
//! over many deterministic pseudo-random packets (valid traces of every type, several options,
//! Incremental/DEX, mutated and truncated bytes, random descriptors) and prints one FNV-1a
//! digest of every outcome and every output byte. Two builds of the dataplane behave the same
//! on this corpus iff they print the same digest:
//!
//! ```text
//! cargo run --release --example digest [iterations]
//! ```
use ioam_core::config::*;
use ioam_core::dataplane::batch::{decap_batch, encap_batch, transit_batch};
use ioam_core::dataplane::decap::decap;
use ioam_core::dataplane::encap::{encap, CltIds, EncapState};
use ioam_core::dataplane::fill::node_len;
use ioam_core::dataplane::transit::transit;
use ioam_core::dataplane::{Meta, Node, Outcome};

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

struct Fnv(u64);
impl Fnv {
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ x as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn u(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn outcome(&mut self, o: &Outcome) {
        self.u(o.reason as u64);
        self.u(o.offset as u64);
        self.u(o.aux as u64);
        self.u(o.off as u64);
        self.u(o.len as u64);
    }
}

fn node(rng: &mut Rng, profile: Profile) -> Node {
    let schema_len = rng.below(4) as usize * 13;
    let nif = 1 + rng.below(2) as usize;
    let mut cfg = NodeConfig {
        profile,
        ioam6_id: rng.below(0x0100_0000) as u32,
        ioam6_id_wide: rng.next() & 0x00FF_FFFF_FFFF_FFFF,
        interfaces: (0..nif)
            .map(|i| InterfaceConfig { name: format!("i{i}"), ioam6_enabled: !rng.chance(15), ioam6_id: rng.next() as u16, ioam6_id_wide: rng.next() as u32 })
            .collect(),
        namespaces: vec![
            NamespaceConfig { id: 1, data: Some(rng.next() as u32), wide: None, schema: None, clt_legacy: false },
            NamespaceConfig { id: 2, data: None, wide: Some(rng.next()), schema: None, clt_legacy: profile == Profile::Linux && rng.chance(20) },
        ],
        encap: Some(EncapConfig {
            mode: [EncapMode::Inline, EncapMode::Encap, EncapMode::Auto][rng.below(3) as usize],
            tunsrc: if rng.chance(50) { [0; 16] } else { [0xfc; 16] },
            tundst: [0xfd; 16],
            trace_type: 0x00FF_FFFE & (rng.next() as u32 | 0x0080_0000),
            namespace: 1 + rng.below(3) as u16,
            size: 4 * (1 + rng.below(50) as u16),
            incremental: profile == Profile::Rfc && rng.chance(40),
            clt_legacy: false,
            clt_oss_schema: None,
            freq_k: 1 + rng.below(2) as u32,
            freq_n: 1 + rng.below(2) as u32,
        }),
        ..Default::default()
    };
    for k in 3..3 + rng.below(12) as u16 {
        cfg.namespaces.push(NamespaceConfig { id: k * 7, data: Some(k as u32), ..Default::default() });
    }
    if schema_len > 0 {
        cfg.schemas.push(SchemaConfig { id: 5 | ((rng.below(2) as u32) << 24), data: (0..schema_len).map(|_| rng.byte()).collect() });
        let sid = cfg.schemas[0].id;
        cfg.namespaces[rng.below(2) as usize].schema = Some(sid);
    }
    if rng.chance(10) {
        if let Some(e) = cfg.encap.as_mut() {
            if !e.incremental && e.size <= 200 {
                e.clt_legacy = true;
                cfg.namespaces[(e.namespace as usize).saturating_sub(1).min(1)].clt_legacy = true;
            }
        }
    }
    Node::new(cfg).unwrap_or_else(|_| Node::new(NodeConfig::default()).unwrap())
}

fn meta(rng: &mut Rng) -> Meta {
    let pick = |r: &mut Rng| [0, 1, 2, 5, IF_NONE][r.below(5) as usize];
    Meta {
        ingress_if: if rng.chance(60) { 0 } else { pick(rng) },
        egress_if: pick(rng),
        ts_sec: rng.next() as u32,
        ts_nsec: rng.next() as u32,
        queue_depth: rng.next() as u32,
        transit_delay_ns: rng.next() as u32,
        buffer_occupancy: rng.next() as u32,
        flags: rng.below(2) as u32,
    }
}

fn option(rng: &mut Rng, h: &mut Vec<u8>) {
    match rng.below(10) {
        0 => h.push(0),
        1 => {
            let l = rng.below(6) as u8;
            h.extend_from_slice(&[1, l]);
            h.extend(std::iter::repeat_n(0, l as usize));
        }
        2 => h.extend_from_slice(&[5, 2, 0, 0]),
        3 => {
            let t = rng.byte() & 0x3f | if rng.chance(20) { 0x40 } else { 0 };
            let l = rng.below(6) as u8;
            h.extend_from_slice(&[t, l]);
            h.extend((0..l).map(|_| rng.byte()));
        }
        _ => {
            // IOAM trace (Pre-allocated, Incremental or DEX)
            while !(h.len() + 40).is_multiple_of(4) {
                h.push(0);
            }
            let ty = (rng.next() as u32) & 0x00FF_FFFF;
            let remlen = rng.below(30) as usize;
            let extra = rng.below(5) as usize * 4;
            let data = remlen * 4 + extra;
            let opt_type = if rng.chance(80) { 0 } else { [1, 4, 2][rng.below(3) as usize] };
            let opt_len = 2 + 8 + data;
            h.extend_from_slice(&[0x31, opt_len as u8, 0, opt_type, 0, 1 + rng.below(3) as u8]);
            let nl = if rng.chance(95) { node_len(ty) } else { rng.byte() & 0x1f };
            h.push((nl << 3) | if rng.chance(15) { 0x04 } else { 0 } | (rng.byte() & 0x03));
            h.push((rng.byte() & 0x80) | remlen as u8);
            h.extend_from_slice(&(ty << 8 | rng.byte() as u32).to_be_bytes());
            h.extend((0..data).map(|_| if rng.chance(50) { 0 } else { rng.byte() }));
        }
    }
}

fn packet(rng: &mut Rng) -> Vec<u8> {
    let mut h = vec![17u8, 0];
    if rng.chance(70) {
        h.extend_from_slice(&[1, 0]);
    }
    for _ in 0..1 + rng.below(3) {
        option(rng, &mut h);
    }
    let pad = (8 - h.len() % 8) % 8;
    match pad {
        0 => {}
        1 => h.push(0),
        p => {
            h.push(1);
            h.push((p - 2) as u8);
            h.extend(std::iter::repeat_n(0, p - 2));
        }
    }
    h[0] = [17, 41, 60, 6][rng.below(4) as usize];
    h[1] = (h.len() / 8 - 1) as u8;
    let mut payload: Vec<u8> = (0..rng.below(40)).map(|_| rng.byte()).collect();
    if h[0] == 41 {
        let mut inner = vec![0x60, 0, 0, 0, 0, 0, 17, 9];
        inner.extend((0..32).map(|_| rng.byte()));
        payload.splice(0..0, inner);
    }
    let mut p = vec![0x60, rng.byte(), 0, 0];
    p.extend_from_slice(&((h.len() + payload.len()) as u16).to_be_bytes());
    p.push(if rng.chance(90) { 0 } else { 17 });
    p.push(rng.byte());
    p.extend((0..32).map(|_| rng.byte()));
    p.extend_from_slice(&h);
    p.extend_from_slice(&payload);
    if rng.chance(5) {
        p[4] = 0;
        p[5] = 0;
    }
    if rng.chance(30) {
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(p.len() as u64) as usize;
            p[at] = rng.byte();
        }
    }
    if rng.chance(10) {
        let cut = rng.below(p.len() as u64 + 1) as usize;
        p.truncate(cut);
    }
    if rng.chance(10) {
        p.extend((0..rng.below(9)).map(|_| rng.byte()));
    }
    p
}

fn main() {
    let iters: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20000);
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    let mut seen = [0u64; 64];
    // Packets in the layout Linux's encapsulation builds (PadN 0, one Pre-allocated trace at 44).
    let mut fast = 0u64;
    for i in 0..iters {
        let profile = if i % 2 == 0 { Profile::Linux } else { Profile::Rfc };
        let n = node(&mut rng, profile);
        let pkt = packet(&mut rng);
        if let Some(&[1, 0, 0x31, l, _, 0]) = pkt.get(42..48).and_then(|h| h.first_chunk::<6>()) {
            let n = 40 + (pkt.get(41).copied().unwrap_or(0) as usize + 1) * 8;
            let e = 46 + l as usize;
            fast += (e == n || (e + 4 == n && pkt.get(e..e + 4) == Some(&[1, 2, 0, 0][..]))) as u64;
        }
        let head = rng.below(300) as usize;
        let mut slot = vec![0xA5u8; head];
        slot.extend_from_slice(&pkt);
        slot.extend((0..rng.below(16)).map(|_| 0x5Au8));
        let m = meta(&mut rng);
        let len = pkt.len();
        // transit, then decap of the result
        let mut s1 = slot.clone();
        let t = transit(&n, &mut s1, head, len, &m);
        h.outcome(&t);
        seen[(t.reason as usize) & 63] += 1;
        h.bytes(&s1);
        let mut tr = vec![0u8; rng.below(300) as usize];
        let d = decap(&n, &mut s1, t.off, t.len, &m, &mut tr);
        h.outcome(&d);
        h.bytes(&s1);
        h.bytes(&tr);
        // encap (+ transit at a second node and decap there)
        let mut s2 = slot.clone();
        let ids = CltIds { trace_id: [rng.byte(); 16], span_id: [rng.byte(); 8] };
        let e = encap(&n, &mut EncapState { count: rng.next() }, &mut s2, head, len, &m, if rng.chance(50) { Some(&ids) } else { None });
        h.outcome(&e);
        h.bytes(&s2);
        let n2 = node(&mut rng, profile);
        let m2 = meta(&mut rng);
        let t2 = transit(&n2, &mut s2, e.off, e.len, &m2);
        h.outcome(&t2);
        seen[(t2.reason as usize) & 63] += 1;
        seen[(e.reason as usize) & 63] += 1;
        h.bytes(&s2);
        let d2 = decap(&n, &mut s2, t2.off, t2.len, &m2, &mut tr);
        h.outcome(&d2);
        h.bytes(&s2);
        h.bytes(&tr);
        // decap directly
        let mut s3 = slot.clone();
        let d3 = decap(&n, &mut s3, head, len, &m, &mut tr);
        h.outcome(&d3);
        h.bytes(&s3);
        // batch, with some bad descriptors
        if i % 8 == 0 {
            let count = 1 + rng.below(5) as usize;
            let sz = 1200usize;
            let mut buf = vec![0u8; count * sz];
            let mut desc = Vec::new();
            let mut metas = Vec::new();
            for k in 0..count {
                let p = packet(&mut rng);
                let hd = 300;
                buf[k * sz + hd..k * sz + hd + p.len()].copy_from_slice(&p);
                let mut d = [(k * sz) as u32, ((k + 1) * sz) as u32, (k * sz + hd) as u32, p.len() as u32];
                if rng.chance(10) {
                    d[rng.below(4) as usize] = rng.next() as u32 % 5000;
                }
                desc.extend_from_slice(&d);
                let mm = meta(&mut rng);
                metas.extend_from_slice(&[mm.ingress_if, mm.egress_if, mm.ts_sec, mm.ts_nsec, mm.queue_depth, mm.transit_delay_ns, mm.buffer_occupancy, mm.flags]);
            }
            let mut out = vec![0u32; count * 4];
            let clt: Vec<u8> = if rng.chance(50) { (0..count * 24).map(|_| rng.byte()).collect() } else { Vec::new() };
            let mut st = EncapState { count: rng.next() };
            let r = encap_batch(&n, &mut st, &mut buf, &mut desc, &metas, &clt, &mut out);
            h.u(r.map_or(u64::MAX, |x| x as u64));
            h.u(st.count);
            let r = transit_batch(&n2, &mut buf, &mut desc, &metas, &mut out);
            h.u(r.map_or(u64::MAX, |x| x as u64));
            for w in out.iter().chain(desc.iter()) {
                h.u(*w as u64);
            }
            let mut arena = vec![0u8; rng.below(400) as usize];
            let mut td = vec![0u32; count * 2];
            let r = decap_batch(&n, &mut buf, &mut desc, &metas, &mut out, &mut arena, &mut td);
            h.u(r.map_or(u64::MAX, |x| x as u64));
            for w in out.iter().chain(desc.iter()).chain(td.iter()) {
                h.u(*w as u64);
            }
            h.bytes(&buf);
            h.bytes(&arena);
        }
    }
    let hist: Vec<String> = seen.iter().enumerate().filter(|(_, &c)| c > 0).map(|(r, c)| format!("{r}:{c}")).collect();
    eprintln!("transit/encap reasons seen: {}; Linux-layout packets: {fast}", hist.join(" "));
    println!("digest {:016x} over {iters} iterations", h.0);
}
