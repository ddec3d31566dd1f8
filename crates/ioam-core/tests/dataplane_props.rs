//! Property-style tests with a small deterministic PRNG (no external crates):
//! random and mutated bytes never panic any operation; Pre-allocated transit invariants hold.
use ioam_core::config::*;
use ioam_core::dataplane::batch::{decap_batch, encap_batch, transit_batch};
use ioam_core::dataplane::decap::decap;
use ioam_core::dataplane::encap::{encap, CltIds, EncapState};
use ioam_core::dataplane::fill::node_len;
use ioam_core::dataplane::transit::transit;
use ioam_core::dataplane::{Meta, Node, Reason, Verdict, OUT_F_LOOPBACK};

/// Iteration count scaled by IOAMSIM_PROP_SCALE (default 1) for longer local runs.
fn iters(base: u64) -> u64 {
    base * std::env::var("IOAMSIM_PROP_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1)
}

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

fn node(rng: &mut Rng, profile: Profile) -> Node {
    let schema_len = rng.below(3) as usize * 13; // 0, 13, 26 octets
    let mut cfg = NodeConfig {
        profile,
        ioam6_id: rng.below(0x0100_0000) as u32,
        ioam6_id_wide: rng.next() & 0x00FF_FFFF_FFFF_FFFF,
        interfaces: vec![
            InterfaceConfig { name: "a".into(), ioam6_enabled: !rng.chance(10), ioam6_id: rng.byte() as u16, ioam6_id_wide: 7 },
            InterfaceConfig { name: "b".into(), ioam6_enabled: rng.chance(50), ioam6_id: 9, ioam6_id_wide: 8 },
        ],
        namespaces: vec![
            NamespaceConfig { id: 1, data: Some(0x0101_0101), wide: None, schema: None, clt_legacy: false },
            NamespaceConfig { id: 2, data: None, wide: Some(2), schema: None, clt_legacy: profile == Profile::Linux && rng.chance(20) },
        ],
        encap: Some(EncapConfig {
            mode: [EncapMode::Inline, EncapMode::Encap, EncapMode::Auto][rng.below(3) as usize],
            tunsrc: [0; 16],
            tundst: [0xfd; 16],
            trace_type: 0x00FF_F002 & (rng.next() as u32 | 0x0080_0000),
            namespace: 1 + rng.below(2) as u16,
            size: 4 * (1 + rng.below(50) as u16),
            incremental: profile == Profile::Rfc && rng.chance(50),
            clt_legacy: false,
            clt_oss_schema: None,
            freq_k: 1,
            freq_n: 1,
        }),
        ..Default::default()
    };
    if schema_len > 0 {
        cfg.schemas.push(SchemaConfig { id: 5, data: vec![0x5A; schema_len] });
        cfg.namespaces[0].schema = Some(5);
    }
    Node::new(cfg).unwrap()
}

fn meta(rng: &mut Rng) -> Meta {
    let pick = |r: &mut Rng| [0, 1, 5, IF_NONE][r.below(4) as usize];
    Meta {
        ingress_if: pick(rng),
        egress_if: pick(rng),
        ts_sec: rng.next() as u32,
        ts_nsec: rng.next() as u32,
        queue_depth: rng.next() as u32,
        transit_delay_ns: rng.next() as u32,
        buffer_occupancy: rng.next() as u32,
        flags: rng.below(2) as u32,
    }
}

/// A well-formed packet: IPv6 + HbH with a lead PadN, one Pre-allocated trace (random type,
/// consistent NodeLen, RemLen ≤ 61, optional extra node data), tail padding, then payload.
fn valid_packet(rng: &mut Rng) -> Vec<u8> {
    let ty = (rng.next() as u32) & 0x00FF_FFFF;
    let remlen = rng.below(62) as usize;
    let extra = rng.below(((245 - remlen * 4) / 4) as u64 + 1).min(8) as usize * 4;
    let data = remlen * 4 + extra;
    let opt_len = 2 + 8 + data;
    let mut h = vec![0u8, 0, 1, 0, 0x31, opt_len as u8, 0, 0];
    h.extend_from_slice(&[0, 1 + rng.below(3) as u8]);
    let flags = if rng.chance(15) { 0x04 } else { 0 } | (rng.byte() & 0x03);
    h.push((node_len(ty) << 3) | flags);
    h.push((rng.byte() & 0x80) | remlen as u8);
    h.extend_from_slice(&(ty << 8 | rng.byte() as u32).to_be_bytes());
    for _ in 0..data {
        h.push(if rng.chance(50) { 0 } else { rng.byte() });
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
    h[0] = 17;
    h[1] = (h.len() / 8 - 1) as u8;
    let payload = rng.below(40) as usize;
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&((h.len() + payload) as u16).to_be_bytes());
    p.push(0);
    p.push(rng.byte());
    p.extend((0..32).map(|_| rng.byte()));
    p.extend_from_slice(&h);
    p.extend((0..payload).map(|_| rng.byte()));
    p
}

fn run_all(node: &Node, rng: &mut Rng, pkt: &[u8]) {
    let head = rng.below(300) as usize;
    let mut slot = vec![0u8; head];
    slot.extend_from_slice(pkt);
    slot.extend((0..rng.below(16)).map(|_| 0u8));
    let m = meta(rng);
    let len = pkt.len();
    let mut s1 = slot.clone();
    let t = transit(node, &mut s1, head, len, &m);
    assert!(t.off + t.len <= s1.len());
    let mut s2 = slot.clone();
    let ids = CltIds { trace_id: [1; 16], span_id: [2; 8] };
    let e = encap(node, &mut EncapState { count: rng.next() }, &mut s2, head, len, &m, Some(&ids));
    assert!(e.off + e.len <= s2.len());
    let mut s3 = slot.clone();
    let mut trace = vec![0u8; rng.below(300) as usize];
    let d = decap(node, &mut s3, head, len, &m, &mut trace);
    assert!(d.off + d.len <= s3.len());
    assert!(d.aux as usize <= trace.len());
    // Out-of-slot descriptors are outcomes, not panics.
    let mut s4 = slot.clone();
    let bad = transit(node, &mut s4, head + 1, len + 100, &m);
    assert_eq!(bad.reason, Reason::DropBadDescriptor);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for i in 0..iters(3000) {
        let profile = if i % 2 == 0 { Profile::Linux } else { Profile::Rfc };
        let n = node(&mut rng, profile);
        let len = rng.below(200) as usize;
        let mut p: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Make many of them look like IPv6 + HbH so the walker is reached.
        if len > 8 && rng.chance(80) {
            p[0] = 0x60;
            p[6] = 0;
            if rng.chance(50) {
                let pl = (len.saturating_sub(40)) as u16;
                p[4..6].copy_from_slice(&pl.to_be_bytes());
            }
        }
        run_all(&n, &mut rng, &p);
    }
}

#[test]
fn mutated_packets_never_panic() {
    let mut rng = Rng(42);
    for i in 0..iters(4000) {
        let profile = if i % 3 == 0 { Profile::Rfc } else { Profile::Linux };
        let n = node(&mut rng, profile);
        let mut p = valid_packet(&mut rng);
        if profile == Profile::Rfc && rng.chance(60) {
            // IOAM Option-Type at 47: Incremental (grows the packet) or DEX.
            p[47] = if rng.chance(80) { 1 } else { 4 };
        }
        for _ in 0..rng.below(4) {
            let at = rng.below(p.len() as u64) as usize;
            p[at] = rng.byte();
        }
        if rng.chance(20) {
            let cut = rng.below(p.len() as u64) as usize;
            p.truncate(cut);
        }
        run_all(&n, &mut rng, &p);
    }
}

#[test]
fn batch_with_random_descriptors_never_panics() {
    let mut rng = Rng(7);
    let n = node(&mut rng, Profile::Rfc);
    for _ in 0..iters(300) {
        let mut buf: Vec<u8> = (0..rng.below(2000)).map(|_| rng.byte()).collect();
        let count = rng.below(6) as usize;
        let mut desc: Vec<u32> = (0..count * 4).map(|_| if rng.chance(70) { rng.below(2100) as u32 } else { rng.next() as u32 }).collect();
        let meta_t: Vec<u32> = (0..count * 8).map(|_| rng.next() as u32).collect();
        let mut out = vec![0u32; count * 4];
        let clt: Vec<u8> = if rng.chance(50) { vec![3; count * 24] } else { Vec::new() };
        let mut d2 = desc.clone();
        let _ = transit_batch(&n, &mut buf, &mut desc, &meta_t, &mut out).unwrap();
        let _ = encap_batch(&n, &mut EncapState::default(), &mut buf, &mut d2, &meta_t, &clt, &mut out).unwrap();
        let mut arena = vec![0u8; rng.below(500) as usize];
        let mut td = vec![0u32; count * 2];
        let _ = decap_batch(&n, &mut buf, &mut d2, &meta_t, &mut out, &mut arena, &mut td).unwrap();
        for (o, d) in out.chunks(4).zip(d2.chunks(4)) {
            assert!(o[0] <= 1);
            if o[1] != Reason::DropBadDescriptor as u32 {
                assert!(d[0] <= d[2] && d[2] as usize + d[3] as usize <= d[1] as usize && d[1] as usize <= buf.len());
            }
        }
    }
}

/// Pre-allocated transit invariants (linux profile): RemainingLen falls by exactly
/// NodeLen + sclen, only the written element and the RemainingLen octet change; O is set
/// exactly when there is no room, and then only the O bit changes; O preset → no change.
#[test]
fn prealloc_transit_invariants() {
    let mut rng = Rng(2026);
    let mut counts = [0usize; 4];
    for _ in 0..iters(5000) {
        let n = node(&mut rng, Profile::Linux);
        let p = valid_packet(&mut rng);
        let mut m = meta(&mut rng);
        m.ingress_if = 0;
        let enabled = n.config().interfaces[0].ioam6_enabled;
        let mut q = p.clone();
        let len = q.len();
        let o = transit(&n, &mut q, 0, len, &m);
        let t = 44 + 4;
        let ns_id = u16::from_be_bytes([p[t], p[t + 1]]);
        let ns = n.config().namespace(ns_id);
        let clt = ns.is_some_and(|x| x.clt_legacy);
        if !enabled {
            assert_eq!((o.reason, &q), (Reason::IgnoredDisabled, &p));
            continue;
        }
        let remlen = (p[t + 3] & 0x7f) as usize;
        if clt && (p[45] as usize) < 34 + remlen * 4 {
            assert_eq!(o.verdict(), Verdict::Drop);
            assert_eq!(q, p, "a drop before the fill changes nothing");
            continue;
        }
        let Some(ns) = ns else {
            assert_eq!((o.reason, &q), (Reason::IgnoredNamespace, &p));
            counts[3] += 1;
            continue;
        };
        let ty = u32::from_be_bytes([0, p[t + 4], p[t + 5], p[t + 6]]);
        let sclen = if ty & 2 == 0 {
            0
        } else {
            1 + ns.schema.and_then(|s| n.config().schema(s)).map_or(0, |s| s.data.len().div_ceil(4))
        };
        let need = node_len(ty) as usize + sclen;
        assert_eq!(o.aux & !OUT_F_LOOPBACK, 1);
        if p[t + 2] & 0x04 != 0 {
            assert_eq!((o.reason, &q), (Reason::OverflowPreset, &p));
            counts[0] += 1;
        } else if remlen == 0 || remlen < need {
            assert_eq!(o.reason, Reason::OverflowSet);
            let mut want = p.clone();
            want[t + 2] |= 0x04;
            assert_eq!(q, want);
            counts[1] += 1;
        } else {
            assert_eq!(o.reason, Reason::Written);
            let hdr = if clt { 32 } else { 8 };
            let start = t + hdr + (remlen - need) * 4;
            let end = t + hdr + remlen * 4;
            assert_eq!(q[t + 3] & 0x7f, (remlen - need) as u8);
            assert_eq!(q[t + 3] & 0x80, p[t + 3] & 0x80);
            for i in 0..p.len() {
                if i != t + 3 && !(start..end).contains(&i) {
                    assert_eq!(q[i], p[i], "octet {i} changed outside the element");
                }
            }
            counts[2] += 1;
        }
    }
    // The generator reaches every branch.
    assert!(counts.iter().all(|&c| c > 50), "{counts:?}");
}

#[test]
fn deterministic_outputs() {
    let run = || {
        let mut rng = Rng(99);
        let mut acc = Vec::new();
        for _ in 0..200 {
            let n = node(&mut rng, Profile::Rfc);
            let p = valid_packet(&mut rng);
            let m = meta(&mut rng);
            let mut slot = vec![0u8; 64];
            slot.extend_from_slice(&p);
            let o = transit(&n, &mut slot, 64, p.len(), &m);
            acc.extend_from_slice(&slot[o.off..o.off + o.len]);
            acc.push(o.reason as u8);
        }
        acc
    };
    assert_eq!(run(), run());
}

/// rfc Incremental append: the payload never moves or changes, Payload Length and HdrExtLen
/// stay consistent, the grown packet passes the Linux TLV walk, and RemainingLen falls by the
/// element's words.
#[test]
fn incremental_append_keeps_packet_well_formed() {
    let mut rng = Rng(77);
    let mut appended = 0;
    for _ in 0..iters(3000) {
        let n = node(&mut rng, Profile::Rfc);
        let mut p = valid_packet(&mut rng);
        p[47] = 1;
        p[50] &= !0x04; // no Overflow
        let mut m = meta(&mut rng);
        m.ingress_if = 0;
        if !n.config().interfaces[0].ioam6_enabled {
            continue;
        }
        let head = 64;
        let mut slot = vec![0u8; head];
        slot.extend_from_slice(&p);
        let len = p.len();
        let hbh_end = 40 + (p[41] as usize + 1) * 8;
        let o = transit(&n, &mut slot, head, len, &m);
        let q = slot[o.off..o.off + o.len].to_vec();
        assert_eq!(o.off + o.len, head + len, "the payload end does not move");
        assert_eq!(&q[q.len() - (len - hbh_end)..], &p[hbh_end..], "payload untouched");
        assert_eq!(u16::from_be_bytes([q[4], q[5]]) as usize + 40, q.len());
        let new_hbh = (q[41] as usize + 1) * 8;
        assert_eq!(new_hbh - (hbh_end - 40), q.len() - len);
        if o.reason == Reason::Appended && q.len() > len {
            appended += 1;
            assert_eq!(q[51] & 0x7f, (p[51] & 0x7f) - (q[45] - p[45]) / 4, "RemainingLen");
            let mut r = q.clone();
            r[47] = 0xEE; // make it an ignored Option-Type: only the generic walk runs
            let rl = r.len();
            let lin = Node::new(NodeConfig { interfaces: n.config().interfaces.clone(), ..Default::default() }).unwrap();
            assert_eq!(transit(&lin, &mut r, 0, rl, &m).verdict(), Verdict::Pass, "grown HbH passes ip6_parse_tlv");
        }
    }
    assert!(appended > 100, "{appended}");
}
