//! Regression tests from coverage-guided fuzzing (`fuzz/`, `scripts/fuzz-run.sh`; see
//! docs/ROBUSTNESS.md). Each test pins an input a fuzz target flagged, with the behaviour that
//! was found to be right (and why), so that a change is noticed. Packets are the fuzzer's bytes.
use ioam_core::config::*;
use ioam_core::dataplane::decap::decap;
use ioam_core::dataplane::encap::{encap, EncapState};
use ioam_core::dataplane::transit::transit;
use ioam_core::dataplane::{Meta, Node, Reason, Verdict, META_F_NO_TSTAMP};
use ioam_core::wire::{decode_packet, encode_packet, DecodeOptions, OptionRepr};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The three routers of the kernel captures (fuzz/src/lib.rs `capture_node`).
fn capture_node(which: u8, profile: Profile, clt_legacy: bool) -> NodeConfig {
    let (id, wide, iin, iout) = match which {
        0 => (1, 0x11111111111111, (101, 101101), (102, 102102)),
        _ => (3, 0x33333333333333, (301, 301301), (0xFFFF, 0xFFFF_FFFF)),
    };
    NodeConfig {
        profile,
        ioam6_id: id,
        ioam6_id_wide: wide,
        interfaces: vec![
            InterfaceConfig { name: "in".into(), ioam6_enabled: true, ioam6_id: iin.0, ioam6_id_wide: iin.1 },
            InterfaceConfig { name: "out".into(), ioam6_enabled: false, ioam6_id: iout.0, ioam6_id_wide: iout.1 },
        ],
        namespaces: vec![
            NamespaceConfig {
                id: 123,
                data: Some(0xdeadbeef),
                wide: Some(0xcafec0caf00dc0de),
                schema: Some(777),
                clt_legacy,
            },
            NamespaceConfig { id: 124, data: Some(0x24242424), ..Default::default() },
        ],
        schemas: vec![SchemaConfig { id: 777, data: b"something that will be 4n-aligned".to_vec() }],
        encap: None,
    }
}

fn slot(head: usize, pkt: &[u8], tail: usize) -> Vec<u8> {
    let mut s = vec![0xEE; head];
    s.extend_from_slice(pkt);
    s.resize(head + pkt.len() + tail, 0xDD);
    s
}

/// fuzz `roundtrip`, crash-dcecf039: non-zero PadN data. The decoder reports it
/// (`ERR_IOAM_BAD_PADDING`, Linux drops such packets) but `OptionRepr::PadN` keeps only the
/// length, so `encode(decode(x))` writes zeros there: the one place the round trip is lossy.
#[test]
fn nonzero_padn_is_reported_and_reencoded_as_zeros() {
    let p = hex(concat!(
        "60000000005700fdfd0000aa000100000000000000000001fd0000aa0002000000000000000000021107013400313a",
        "0000007b180680800000000000000000000000000000000000000000000000000000fd000002fd22222222222222fe",
        "000001fe111111111111110fa013880017f0c86c335f686f706c696d69745f323535"
    ));
    let d = decode_packet(&p, &DecodeOptions::default()).unwrap();
    let o = &d.ext_headers[0].options[0];
    assert_eq!(o.option, OptionRepr::PadN { len: 52 });
    let e = o.error.as_ref().expect("BadPadding reported");
    assert_eq!((e.code.as_str(), e.offset), ("ERR_IOAM_BAD_PADDING", 45));
    let b = encode_packet(&d).unwrap();
    let mut want = p[..40 + 87].to_vec();
    want[44..44 + 52].fill(0);
    assert_eq!(b, want);
    // And the zeroed packet round-trips exactly, without the error.
    let d2 = decode_packet(&b, &DecodeOptions::default()).unwrap();
    assert!(d2.ext_headers[0].options[0].error.is_none());
    assert_eq!(encode_packet(&d2).unwrap(), b);
}

/// fuzz `transit`, crash-75dd2ce3: rfc profile, an Incremental trace (node appended, the packet
/// moves 8 octets into the headroom) followed by a TLV that runs past the Hop-by-Hop header.
/// Options are processed in order as in `ip6_parse_tlv`, so the append happens and the packet is
/// then dropped; the outcome reports the packet where it now is (off 56, not 64).
#[test]
fn rfc_append_then_malformed_tlv_drops_with_the_moved_packet() {
    let node = Node::new(capture_node(2, Profile::Rfc, false)).unwrap();
    let pkt = hex(concat!(
        "60000000003b003ffd0000aa000100000000000000000001fd0000aa0002000000fa00000000000211030100311600",
        "01007b080380000000000000000000000000000000008d3dcb08d3dcb0010200000fa01388001bea78685f696e6372",
        "656d656e74616c5f7479706531"
    ));
    let meta = Meta {
        ingress_if: 0,
        egress_if: 1,
        ts_sec: 0x6924_8100,
        ts_nsec: 0x075b_cd15,
        queue_depth: 0,
        flags: META_F_NO_TSTAMP,
        ..Meta::default()
    };
    let mut s = slot(64, &pkt, 16);
    let r = transit(&node, &mut s, 64, pkt.len(), &meta);
    assert_eq!(r.reason, Reason::DropHbhMalformed);
    assert_eq!(r.verdict(), Verdict::Drop);
    // Payload Length 59 trims the packet to 99 octets; the append adds 8.
    assert_eq!((r.off, r.len), (56, 107));
    assert_eq!(r.offset, 73, "the malformed TLV, 8 octets later than in the input (69)");
    assert!(s[..56].iter().all(|&b| b == 0xEE), "nothing written below the new packet start");
    // The moved packet carries 4 nodes now (3 + the appended one).
    let d = decode_packet(&s[56..56 + 107], &DecodeOptions::default()).unwrap();
    match &d.ext_headers[0].options[1].option {
        OptionRepr::Ioam(io) => match &io.data {
            ioam_core::wire::IoamData::IncrementalTrace(t) => assert_eq!(t.nodes.len(), 4),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

/// fuzz `encap`, crash-e45b1cca: an encapsulating node whose `encap.clt_legacy` is false while
/// its namespace 123 says `clt_legacy: true`. encap inserts a standard trace; the same node's
/// receive step (decap) reads it with the 32-octet CLT header and drops it (RemainingLen beyond
/// the data). The configuration is inconsistent, not the dataplane: see docs/ROBUSTNESS.md
/// (suggested check in `NodeConfig::validate`). Pinned so that a validation change is noticed.
#[test]
fn encap_and_namespace_disagreeing_on_clt_layout() {
    let mut cfg = capture_node(0, Profile::Linux, true);
    cfg.encap = Some(EncapConfig { trace_type: 0x00b000, namespace: 123, size: 24, ..Default::default() });
    let node = Node::new(cfg).expect("accepted today");
    let pkt = hex(concat!(
        "6000000000363c3ffd0000aa000100000000000000000001fd0000aa00020000000000000000000211030100311600",
        "00007b0803800000000000021103010031160000007b08038000000000000000556a5f696e5f646573745f6f707473"
    ));
    let meta = Meta { ingress_if: 0, egress_if: IF_NONE, ts_sec: 0x6924_8100, ts_nsec: 0x075b_cd15, ..Meta::default() };
    let mut s = slot(128, &pkt, 8);
    let r = encap(&node, &mut EncapState::default(), &mut s, 128, pkt.len(), &meta, None);
    assert_eq!(r.reason, Reason::Encapsulated);
    let out = s[r.off..r.off + r.len].to_vec();
    let d = decode_packet(&out, &DecodeOptions::default()).unwrap();
    assert!(
        d.ext_headers[0].options.iter().all(|o| o.error.is_none()),
        "the inserted option is a well-formed standard trace"
    );
    let mut arena = [0u8; 256];
    let back = decap(&node, &mut s, r.off, r.len, &meta, &mut arena);
    assert_eq!(back.reason, Reason::DropRemainingLen);
    // With consistent layouts the round trip works.
    let mut cfg = capture_node(0, Profile::Linux, false);
    cfg.encap = Some(EncapConfig { trace_type: 0x00b000, namespace: 123, size: 24, ..Default::default() });
    let node = Node::new(cfg).unwrap();
    let mut s = slot(128, &pkt, 8);
    let r = encap(&node, &mut EncapState::default(), &mut s, 128, pkt.len(), &meta, None);
    let back = decap(&node, &mut s, r.off, r.len, &meta, &mut arena);
    assert_eq!(back.reason, Reason::Decapsulated);
    assert_eq!(&s[back.off..back.off + back.len], &pkt[..]);
}

/// fuzz `encap`, crash-(round 2): inline IOAM inserted into a packet that is itself
/// IPv6-in-IPv6 (Next Header 41, here with a garbage inner header). On the way back the
/// decapsulating node sees HbH → 41, which is what encap mode looks like, and removes the outer
/// header too (Linux would hand the packet to ip6ip6); with a garbage inner header that is a
/// `DropMalformedIpv6` at the inner header. Inherent ambiguity of inline vs encap at the decap
/// node, pinned here.
#[test]
fn inline_ioam_on_an_ip6ip6_packet_is_decapsulated_as_encap_mode() {
    let mut cfg = capture_node(0, Profile::Linux, true);
    cfg.encap =
        Some(EncapConfig { trace_type: 0xf00000, namespace: 123, size: 24, clt_legacy: true, ..Default::default() });
    let node = Node::new(cfg).unwrap();
    let pkt = hex(concat!(
        "600000000037293ffd3a00aa000100000000000000000001fd0000aa000200000000c0000000800000000000000020",
        "f000000500000000000000800000000000070707078100075bcd1500000000ffffffffffffffff000000ff0707707473"
    ));
    assert!(decode_packet(&pkt, &DecodeOptions::default()).is_ok(), "41 with any payload decodes (upper layer)");
    let meta = Meta { ingress_if: IF_NONE, egress_if: 1, ts_sec: 0x6924_8100, ts_nsec: 0x075b_cd15, ..Meta::default() };
    let mut s = slot(128, &pkt, 8);
    let r = encap(&node, &mut EncapState::default(), &mut s, 128, pkt.len(), &meta, None);
    assert_eq!(r.reason, Reason::Encapsulated);
    let mut arena = [0u8; 256];
    let back = decap(&node, &mut s, r.off, r.len, &meta, &mut arena);
    assert_eq!(back.reason, Reason::DropMalformedIpv6);
    assert_eq!(back.offset as usize, 40 + r.aux as usize, "the (garbage) inner header right after the inserted HbH");
}

/// fuzz `encap`, crash-4303aa75 (round 3): rfc profile, encap mode (IPv6-in-IPv6) with an
/// Incremental trace 0x800002 (bit 0 + OSS, a 33-octet schema) and 128 octets of headroom: outer
/// header + HbH + the encapsulator's own element take 104 octets, 24 are left. The same node's
/// receive step in decap appends again and has no headroom left: `DropNoRoom`, nothing written.
/// With enough headroom the round trip gives the original packet back.
#[test]
fn rfc_incremental_decap_needs_headroom_for_its_own_append() {
    let mut cfg = capture_node(0, Profile::Rfc, false);
    let mut tundst = [0u8; 16];
    tundst[0] = 0xfd;
    tundst[15] = 2;
    cfg.encap = Some(EncapConfig {
        mode: EncapMode::Encap,
        tundst,
        trace_type: 0x800002,
        namespace: 123,
        size: 172,
        incremental: true,
        ..Default::default()
    });
    let node = Node::new(cfg).unwrap();
    let pkt = hex(concat!(
        "600000000013113efd0000aa000100000000000000000001fd0000aa00020000000000000000b7020fa0138800138241",
        "695f6465785f7479706534"
    ));
    let meta = Meta {
        ingress_if: 0,
        egress_if: 1,
        ts_sec: 0x6924_8100,
        ts_nsec: 0x075b_cd15,
        queue_depth: 0,
        flags: META_F_NO_TSTAMP,
        ..Meta::default()
    };
    let mut s = slot(128, &pkt, 8);
    let r = encap(&node, &mut EncapState::default(), &mut s, 128, pkt.len(), &meta, None);
    assert_eq!(r.reason, Reason::Encapsulated);
    assert_eq!(r.off, 24, "outer header + HbH + the encapsulator's element: 104 octets");
    let before = s.clone();
    let mut arena = [0u8; 512];
    let back = decap(&node, &mut s, r.off, r.len, &meta, &mut arena);
    assert_eq!(back.reason, Reason::DropNoRoom);
    assert_eq!(s, before, "nothing written on DropNoRoom");
    // Same packet with 255 octets of headroom: decapsulated to the original.
    let out = s[r.off..r.off + r.len].to_vec();
    let mut s2 = slot(255, &out, 0);
    let back = decap(&node, &mut s2, 255, out.len(), &meta, &mut arena);
    assert_eq!(back.reason, Reason::Decapsulated);
    assert_eq!(&s2[back.off..back.off + back.len], &pkt[..]);
}

/// fuzz `encap`, crash-bec17ff5 (round 4): a schema id above 24 bits (0x07070707) bound to the
/// namespace of an OSS-only encap (type 0x000002). As in Linux (`ioam6_genl_addsc`, [E:p]) the
/// id's high byte is ORed into the snapshot's Length octet (8 | 7 = 15 words), so the inserted
/// trace's OSS claims 60 octets where 32 follow: the decoder reports it (layer oss, Truncated).
#[test]
fn schema_id_above_24_bits_makes_the_inserted_oss_claim_too_much() {
    let cfg = NodeConfig {
        profile: Profile::Rfc,
        ioam6_id: 0,
        ioam6_id_wide: 0,
        namespaces: vec![NamespaceConfig { id: 123, schema: Some(0x0707_0707), ..Default::default() }],
        schemas: vec![SchemaConfig { id: 0x0707_0707, data: (0..31u8).map(|k| k ^ 7).collect() }],
        encap: Some(EncapConfig { trace_type: 0x000002, namespace: 123, size: 44, ..Default::default() }),
        ..Default::default()
    };
    let node = Node::new(cfg).unwrap();
    let pkt = hex(concat!(
        "600000000013113efd0000aa000100000000000000000001fd0000aa0002000000000000000000020fa01388001382",
        "41695f6465785f7479706534"
    ));
    let meta = Meta { ingress_if: 0, egress_if: 1, ts_sec: 0x6924_8100, ts_nsec: 0x075b_cd15, ..Meta::default() };
    let mut s = slot(128, &pkt, 8);
    let r = encap(&node, &mut EncapState::default(), &mut s, 128, pkt.len(), &meta, None);
    assert_eq!(r.reason, Reason::Encapsulated);
    let out = &s[r.off..r.off + r.len];
    assert_eq!(&out[64..68], &[0x0f, 0x07, 0x07, 0x07], "OSS header: Length 8 | 0x07, Schema ID 0x070707");
    let d = decode_packet(out, &DecodeOptions::default()).unwrap();
    let e = d.ext_headers[0].options[1].error.as_ref().expect("OSS overrun reported");
    assert_eq!(
        (e.code.as_str(), e.layer.as_str(), e.offset, e.needed, e.got),
        ("ERR_IOAM_TRUNCATED", "oss", 64, 64, 36)
    );
}

/// fuzz `encap`, round 5: the same ambiguity as the IPv6-in-IPv6 case above, behind a Mobility
/// header (135 → 41): the decapsulating node walks DOH / Routing / AH / Mobility / HIP / Shim6
/// headers after the HbH, finds 41 and removes everything before the (here garbage) inner header.
#[test]
fn inline_ioam_before_a_mobility_header_leading_to_41_is_decapsulated_as_encap_mode() {
    let cfg = NodeConfig {
        encap: Some(EncapConfig { trace_type: 0x800000, namespace: 124, size: 4, ..Default::default() }),
        ..Default::default()
    };
    let node = Node::new(cfg).unwrap();
    let pkt = hex("600000000036874707070707070707070707070780086000000000323c40fd0000aa0001000000002903010031060001007b000003010031060001007b080380800000000000000000000000003c02000100004000fd000016f040732b5f");
    let meta = Meta { ingress_if: IF_NONE, egress_if: 0, ts_sec: 0x6924_8100, ts_nsec: 0x075b_cd15, ..Meta::default() };
    let mut s = slot(128, &pkt, 8);
    let r = encap(&node, &mut EncapState::default(), &mut s, 128, pkt.len(), &meta, None);
    assert_eq!(r.reason, Reason::Encapsulated);
    let out = s[r.off..r.off + r.len].to_vec();
    let mut s2 = slot(255, &out, 0);
    let mut arena = [0u8; 256];
    let back = decap(&node, &mut s2, 255, out.len(), &meta, &mut arena);
    assert_eq!(back.reason, Reason::DropMalformedIpv6);
    assert_eq!(back.offset as usize, 40 + r.aux as usize + 32, "the 'inner header' after the 32-octet Mobility header");
}

/// fuzz `encap`, crash-e7cb4a8f (CI run): rfc profile, inline Incremental trace 0x800002 on a
/// packet whose Destination Options header leads to 41 with a truncated inner header. The
/// encapsulator's own element (bit 0 + a 33-octet schema snapshot, 44 octets) grows the option,
/// so `aux` (64) is more than the inline template: the fuzz target had guessed "encap mode" from
/// `aux` and expected the round trip. Inline mode follows from the configuration; decap then sees
/// a chain reaching 41 and, like the case above, drops the truncated inner header.
#[test]
fn inline_incremental_encap_grows_by_the_own_element_and_decap_sees_41() {
    let mut cfg = capture_node(0, Profile::Rfc, false);
    cfg.encap = Some(EncapConfig {
        mode: EncapMode::Inline,
        trace_type: 0x800002,
        namespace: 123,
        size: 44,
        incremental: true,
        ..Default::default()
    });
    let node = Node::new(cfg).unwrap();
    let pkt = hex(concat!(
        "6000000000373c40fd0000aa000100000000260000000001fd0000aa0002000000000000000000022903010031160000",
        "007b0801000007000000000000fd0000aa000100000000000000000001fd0000aa0002000021000000000000707473"
    ));
    let meta = Meta { ingress_if: 0, egress_if: 1, ts_sec: 0, ts_nsec: u32::MAX, flags: META_F_NO_TSTAMP, ..Meta::default() };
    let mut s = slot(128, &pkt, 8);
    let r = encap(&node, &mut EncapState::default(), &mut s, 128, pkt.len(), &meta, None);
    assert_eq!(r.reason, Reason::Encapsulated);
    assert_eq!(r.aux, 64, "20-octet Incremental template + the encapsulator's 44-octet element");
    assert_eq!(&s[r.off + r.aux as usize + 40..r.off + r.len], &pkt[40..], "inline: the original headers follow the new HbH");
    let mut arena = [0u8; 256];
    let mut s2 = slot(255, &s[r.off..r.off + r.len].to_vec(), 0);
    let back = decap(&node, &mut s2, 255, r.len, &meta, &mut arena);
    assert_eq!(back.reason, Reason::DropMalformedIpv6);
}
