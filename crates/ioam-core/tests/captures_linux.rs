//! Golden tests against real Linux 6.18 recordings (test/fixtures/linux-6.18, see its MANIFEST.md).
//!
//! Topology h1 → r1 → r2 → h2. For each case the packet as it entered a node is fed to our
//! transit with that node's configuration, and the result (after the hop-limit decrement the
//! router does after the fill) must equal the next capture byte for byte; the destination's
//! Hop-by-Hop header must equal the `hbh_hex` the UDP socket saw (h2_socket_view.jsonl).
//! Timestamps are copied from the expected bytes into the meta (they are wall-clock values).
//! A drop must come with the expected reason, and the next capture must be empty.
//! Set IOAMSIM_CAPTURES to use another directory; a missing directory fails loudly.
use ioam_core::config::*;
use ioam_core::dataplane::transit::transit;
use ioam_core::dataplane::{Meta, Node, Reason, Verdict};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(std::env::var("IOAMSIM_CAPTURES").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/fixtures/linux-6.18").into()))
}

/// Classic pcap reader (either byte order, µs or ns magic); link type must be Ethernet (1).
/// Returns the IPv6 packets (Ethernet header stripped; frames that are not IPv6 are skipped).
fn read_pcap(name: &str) -> Vec<Vec<u8>> {
    let path = dir().join(name);
    let d = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read capture {}: {e}", path.display()));
    assert!(d.len() >= 24, "{name}: short pcap header");
    let magic = [d[0], d[1], d[2], d[3]];
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("{name}: not a classic pcap file"),
    };
    let u32at = |o: usize| {
        let b = [d[o], d[o + 1], d[o + 2], d[o + 3]];
        if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }
    };
    assert_eq!(u32at(20), 1, "{name}: link type must be Ethernet");
    let mut o = 24;
    let mut pkts = Vec::new();
    while o + 16 <= d.len() {
        let incl = u32at(o + 8) as usize;
        let orig = u32at(o + 12) as usize;
        let f = &d[o + 16..o + 16 + incl];
        assert_eq!(incl, orig, "{name}: truncated frame");
        o += 16 + incl;
        if f.len() >= 14 && f[12] == 0x86 && f[13] == 0xdd {
            pkts.push(f[14..].to_vec());
        }
    }
    assert_eq!(o, d.len(), "{name}: trailing bytes");
    pkts
}

/// The case's own packet in a capture: the first IPv6 packet whose UDP payload is the case name.
fn case_packet(name: &str, file: &str) -> Option<Vec<u8>> {
    read_pcap(file).into_iter().find(|p| p[6] != 58 && p.ends_with(name.as_bytes()))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `hbh_hex` of the case in h2_socket_view.jsonl (None if the line has none).
fn socket_hbh(name: &str) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(dir().join("h2_socket_view.jsonl")).expect("h2_socket_view.jsonl");
    let line = text.lines().find(|l| l.contains(&format!("\"payload\": \"{name}\"")))?;
    let i = line.find("\"hbh_hex\": \"")? + 12;
    let j = line[i..].find('"')? + i;
    Some(hex(&line[i..j]))
}

fn iface(name: &str, enabled: bool, id: u16, wide: u32) -> InterfaceConfig {
    InterfaceConfig { name: name.into(), ioam6_enabled: enabled, ioam6_id: id, ioam6_id_wide: wide }
}

fn r1(ingress_enabled: bool) -> Node {
    Node::new(NodeConfig {
        ioam6_id: 1,
        ioam6_id_wide: 0x11111111111111,
        interfaces: vec![iface("r1-h1", ingress_enabled, 101, 101101), iface("r1-r2", false, 102, 102102)],
        namespaces: vec![NamespaceConfig { id: 123, data: Some(0xdeadbeef), wide: Some(0xcafec0caf00dc0de), schema: Some(777), clt_legacy: false }],
        schemas: vec![SchemaConfig { id: 777, data: b"something that will be 4n-aligned".to_vec() }],
        ..Default::default()
    })
    .unwrap()
}

fn r2() -> Node {
    Node::new(NodeConfig {
        ioam6_id: 2,
        ioam6_id_wide: 0x22222222222222,
        interfaces: vec![iface("r2-r1", true, 201, 201201), iface("r2-h2", false, 202, 202202)],
        namespaces: vec![
            NamespaceConfig { id: 123, ..Default::default() },
            NamespaceConfig { id: 124, data: Some(0x24242424), ..Default::default() },
        ],
        ..Default::default()
    })
    .unwrap()
}

fn h2() -> Node {
    Node::new(NodeConfig {
        ioam6_id: 3,
        ioam6_id_wide: 0x33333333333333,
        interfaces: vec![iface("h2-r2", true, 301, 301301)],
        namespaces: vec![NamespaceConfig { id: 123, data: Some(0x33333333), wide: Some(0x3333333333333333), schema: Some(888), clt_legacy: false }],
        schemas: vec![SchemaConfig { id: 888, data: b"ABCDE".to_vec() }],
        ..Default::default()
    })
    .unwrap()
}

/// Timestamp (seconds, fraction) of the newest element of the first Pre-allocated trace in a
/// Hop-by-Hop header `hbh`, if the Trace-Type has bit 2 or 3.
fn newest_ts(hbh: &[u8]) -> Option<(u32, u32)> {
    let len = (hbh[1] as usize + 1) * 8;
    let mut o = 2;
    while o < len {
        if hbh[o] == 0 {
            o += 1;
            continue;
        }
        if hbh[o] == 0x31 && hbh[o + 3] == 0 {
            let t = o + 4;
            let remlen = (hbh[t + 3] & 0x7f) as usize;
            let ty = u32::from_be_bytes([0, hbh[t + 4], hbh[t + 5], hbh[t + 6]]);
            if ty & 0x300000 == 0 {
                return None;
            }
            let elem = t + 8 + remlen * 4;
            let mut at = elem;
            if ty & 0x800000 != 0 {
                at += 4;
            }
            if ty & 0x400000 != 0 {
                at += 4;
            }
            let sec = if ty & 0x200000 != 0 {
                let v = u32::from_be_bytes(hbh[at..at + 4].try_into().unwrap());
                at += 4;
                v
            } else {
                0
            };
            let frac = if ty & 0x100000 != 0 { u32::from_be_bytes(hbh[at..at + 4].try_into().unwrap()) } else { 0 };
            return Some((sec, frac));
        }
        o += hbh[o + 1] as usize + 2;
    }
    None
}

fn hbh_of(pkt: &[u8]) -> &[u8] {
    if pkt[6] != 0 {
        return &[];
    }
    &pkt[40..40 + (pkt[41] as usize + 1) * 8]
}

/// Runs transit on a copy of `input` with the given meta; the timestamps come from `expect_hbh`.
fn run(node: &Node, input: &[u8], mut meta: Meta, expect_hbh: Option<&[u8]>) -> (Reason, u32, Vec<u8>) {
    if let Some((s, f)) = expect_hbh.and_then(|h| if h.is_empty() { None } else { newest_ts(h) }) {
        meta.ts_sec = s;
        meta.ts_nsec = f * 1000 + 123; // sub-µs part must be discarded
    }
    let mut slot = vec![0xA5u8; 16];
    slot.extend_from_slice(input);
    let o = transit(node, &mut slot, 16, input.len(), &meta);
    (o.reason, o.aux, slot[o.off..o.off + o.len].to_vec())
}

fn router_meta(queue_depth: u32) -> Meta {
    Meta { ingress_if: 0, egress_if: 1, queue_depth, ..Default::default() }
}

/// Expected reasons at r1, r2, h2 (None = the packet never gets there).
struct Case {
    name: &'static str,
    r1_disabled: bool,
    r1: Reason,
    r2: Option<Reason>,
    h2: Option<Reason>,
}

const fn c(name: &'static str, r1: Reason, r2: Option<Reason>, h2: Option<Reason>) -> Case {
    Case { name, r1_disabled: false, r1, r2, h2 }
}

const fn all(name: &'static str, r: Reason) -> Case {
    c(name, r, Some(r), Some(r))
}

const fn at_r1(name: &'static str, r: Reason) -> Case {
    c(name, r, None, None)
}

use Reason::*;

const CASES: &[Case] = &[
    all("a_full_trace", Written),
    all("a2_basic_bits0_1", Written),
    c("b_overflow_midpath", Written, Some(OverflowSet), Some(OverflowPreset)),
    c("b3_oss_no_room", OverflowSet, Some(OverflowPreset), Some(OverflowPreset)),
    all("c_unknown_namespace", IgnoredNamespace),
    c("c2_ns_known_only_r2", IgnoredNamespace, Some(Written), Some(IgnoredNamespace)),
    Case { name: "d_ioam_disabled_r1", r1_disabled: true, r1: IgnoredDisabled, r2: Some(Written), h2: Some(Written) },
    at_r1("e_misaligned_no_pad", DropMisaligned),
    Case { name: "e2_misaligned_r1_disabled", r1_disabled: true, r1: DropMisaligned, r2: None, h2: None },
    at_r1("e4_misaligned_unknown_ns", DropMisaligned),
    all("e5_misaligned_code_0x11", NoIoam),
    all("f_undef_bit12", Written),
    at_r1("f3_undef_bit12_nodelen1", DropNodeLen),
    all("f4_bit23_reserved", Written),
    at_r1("f6_bad_nodelen_unknown_ns", DropNodeLen),
    all("g_overflow_preset", OverflowPreset),
    all("g2_loopback_active_flags", Written),
    all("h_incremental_type1", IgnoredOptionType),
    all("i_dex_type4", IgnoredOptionType),
    all("i2_pot_type2", IgnoredOptionType),
    all("i3_e2e_type3", IgnoredOptionType),
    all("i4_code_0x11_in_hbh", NoIoam),
    all("j_in_dest_opts", NoIoam),
    at_r1("k_remlen_exceeds_optlen", DropRemainingLen),
    at_r1("k2_optlen_truncated_trace_hdr", DropTraceTruncated),
    at_r1("k4_remlen_gt_61", DropRemainingLen),
    at_r1("k5_optlen_lt_2", DropOptLenShort),
    Case { name: "k6_malformed_r1_disabled", r1_disabled: true, r1: IgnoredDisabled, r2: Some(DropRemainingLen), h2: None },
    // r2 writes, then drops on hop limit (checked against the ICMPv6 quote below).
    c("l2_hoplimit_2", Written, Some(Written), None),
    all("l3_hoplimit_255", Written),
    all("o_no_ioam_baseline", NoIoam),
    all("q_queue_depth_tbf", Written),
];

fn decrement_hl(p: &mut [u8]) {
    p[7] = p[7].wrapping_sub(1);
}

fn check_case(case: &Case) -> Result<(), String> {
    let name = case.name;
    let input = case_packet(name, &format!("{name}.h1.pcap")).ok_or("no injected packet")?;
    let at_r2 = case_packet(name, &format!("{name}.r2in.pcap"));
    let at_h2 = case_packet(name, &format!("{name}.pcap"));
    // r1: queue depth 39294 = 37 × 1062 (tbf backlog) in case q, else noqueue → 0.
    let q1 = if name == "q_queue_depth_tbf" { 39294 } else { 0 };
    let expect1 = at_r2.as_deref().map(hbh_of);
    let (reason, _, mut out) = run(&r1(!case.r1_disabled), &input, router_meta(q1), expect1);
    if reason != case.r1 {
        return Err(format!("r1: reason {reason:?}, expected {:?}", case.r1));
    }
    if reason.verdict() == Verdict::Drop {
        return match at_r2 {
            None => Ok(()),
            Some(_) => Err("r1 dropped but r2 saw the packet".into()),
        };
    }
    decrement_hl(&mut out);
    let at_r2 = at_r2.ok_or("r1 passed but r2 capture is empty")?;
    if out != at_r2 {
        return Err(format!("r1 output differs from r2 ingress capture:\n ours {}\n real {}", hx(&out), hx(&at_r2)));
    }
    // r2
    let expect2 = at_h2.as_deref().map(hbh_of);
    let (reason, _, mut out) = run(&r2(), &at_r2, router_meta(0), expect2);
    let want2 = case.r2.ok_or("no r2 expectation")?;
    if reason != want2 {
        return Err(format!("r2: reason {reason:?}, expected {want2:?}"));
    }
    if reason.verdict() == Verdict::Drop {
        return if at_h2.is_none() { Ok(()) } else { Err("r2 dropped but h2 saw the packet".into()) };
    }
    if name == "l2_hoplimit_2" {
        // r2 received HL 1: the forwarder drops it after the fill and quotes it in a Time
        // Exceeded (type 3) sent back to h1.
        assert!(at_h2.is_none());
        assert_eq!(out[7], 1);
        let icmp = read_pcap(&format!("{name}.h1.pcap")).into_iter().find(|p| p[6] == 58 && p[40] == 3).ok_or("no ICMPv6 Time Exceeded")?;
        let quote = &icmp[48..];
        let (_, _, out) = run(&r2(), &at_r2, router_meta(0), Some(hbh_of(quote)));
        return if out == quote { Ok(()) } else { Err(format!("r2 output differs from the ICMP quote:\n ours {}\n real {}", hx(&out), hx(quote))) };
    }
    decrement_hl(&mut out);
    let at_h2 = at_h2.ok_or("r2 passed but h2 capture is empty")?;
    if out != at_h2 {
        return Err(format!("r2 output differs from h2 capture:\n ours {}\n real {}", hx(&out), hx(&at_h2)));
    }
    // h2: local delivery (egress = loopback).
    let sock = socket_hbh(name);
    let meta = Meta { ingress_if: 0, egress_if: IF_NONE, queue_depth: 0, ..Default::default() };
    let (reason, _, out) = run(&h2(), &at_h2, meta, sock.as_deref());
    let want3 = case.h2.ok_or("no h2 expectation")?;
    if reason != want3 {
        return Err(format!("h2: reason {reason:?}, expected {want3:?}"));
    }
    match sock {
        Some(h) => {
            if hbh_of(&out) != h.as_slice() {
                return Err(format!("h2 HbH differs from the socket view:\n ours {}\n real {}", hx(hbh_of(&out)), hx(&h)));
            }
        }
        None => {
            if out != at_h2 {
                return Err("h2 changed a packet without HbH".into());
            }
        }
    }
    Ok(())
}

fn hx(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn every_capture_case_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("captures directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".h1.pcap").map(str::to_owned))
        .collect();
    names.sort();
    let mut ours: Vec<String> = CASES.iter().map(|c| c.name.to_owned()).collect();
    ours.sort();
    assert_eq!(names, ours);
}

#[test]
fn golden_linux_captures() {
    let mut failures = Vec::new();
    for case in CASES {
        match check_case(case) {
            Ok(()) => eprintln!("ok   {}", case.name),
            Err(e) => {
                eprintln!("FAIL {}: {e}", case.name);
                failures.push(case.name);
            }
        }
    }
    assert!(failures.is_empty(), "failed cases: {failures:?}");
}

#[test]
fn destination_hop_limit_zero_wraps_to_255() {
    // [E:l] Hop_Lim = HL − 1 in u8 arithmetic at a destination: HL 0 gives 255.
    let mut p = case_packet("a2_basic_bits0_1", "a2_basic_bits0_1.pcap").unwrap();
    p[7] = 0;
    let meta = Meta { ingress_if: 0, egress_if: IF_NONE, ..Default::default() };
    let (reason, _, out) = run(&h2(), &p, meta, None);
    assert_eq!(reason, Written);
    assert_eq!(&out[56..60], &[255, 0, 0, 3]);
}

/// Decapsulation at h2 (inline mode): the trace handed back equals what h2's socket saw after
/// its own fill, and the packet left is the original without the Hop-by-Hop header.
#[test]
fn decap_at_h2_hands_back_the_socket_view() {
    use ioam_core::dataplane::decap::decap;
    let mut decapsulated = 0;
    for case in CASES.iter().filter(|c| c.h2.is_some()) {
        let name = case.name;
        let Some(pkt) = case_packet(name, &format!("{name}.pcap")) else { continue };
        let has_ioam = pkt[6] == 0 && {
            // an option of type 0x31 in the HbH (walk it)
            let h = hbh_of(&pkt);
            let mut o = 2;
            let mut found = false;
            while o < h.len() {
                if h[o] == 0 {
                    o += 1;
                    continue;
                }
                found |= h[o] == 0x31;
                o += h[o + 1] as usize + 2;
            }
            found
        };
        let sock = socket_hbh(name);
        let mut meta = Meta { ingress_if: 0, egress_if: IF_NONE, ..Default::default() };
        if let Some((s, f)) = sock.as_deref().and_then(newest_ts) {
            meta.ts_sec = s;
            meta.ts_nsec = f * 1000;
        }
        let mut slot = vec![0u8; 8];
        slot.extend_from_slice(&pkt);
        let mut trace = [0u8; 512];
        let o = decap(&h2(), &mut slot, 8, pkt.len(), &meta, &mut trace);
        if !has_ioam {
            assert_eq!(o.reason, case.h2.unwrap(), "{name}");
            assert_eq!(&slot[o.off..o.off + o.len], &pkt[..], "{name}");
            continue;
        }
        assert_eq!(o.reason, Decapsulated, "{name}");
        let sock = sock.expect("socket view");
        assert_eq!(&trace[..o.aux as usize], &sock[..], "{name}: trace");
        let rest = &slot[o.off..o.off + o.len];
        let hl = sock.len();
        assert_eq!(rest.len(), pkt.len() - hl, "{name}");
        assert_eq!(rest[6], pkt[40], "{name}: next header");
        assert_eq!(u16::from_be_bytes([rest[4], rest[5]]) as usize, pkt.len() - hl - 40);
        assert_eq!(&rest[..4], &pkt[..4]);
        assert_eq!(&rest[7..40], &pkt[7..40]);
        assert_eq!(&rest[40..], &pkt[40 + hl..], "{name}: payload");
        decapsulated += 1;
    }
    assert!(decapsulated >= 14, "{decapsulated}");
}
