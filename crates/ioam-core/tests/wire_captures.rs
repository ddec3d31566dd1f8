//! The wire layer against real Linux 6.18 packets (captures/decoded-summary.txt and
//! h2_socket_view.jsonl): every field asserted for the interesting cases, every packet
//! round-trips byte for byte, and every truncation is an error, never a panic.

mod wire_vectors;

use ioam_core::wire::exthdr::ExtHeaderKind;
use ioam_core::wire::trace::{nodelen_for_type, TraceFlags};
use ioam_core::wire::{
    decode_packet, encode_packet, DecodeOptions, IoamData, IoamRepr, NodeData, OptionRepr, OssRepr, PacketRepr,
    TraceLayout, TraceRepr,
};
use ioam_core::{ErrorCode, Layer};
use wire_vectors::{INJECTED, SOCKET_VIEW};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn injected(case: &str) -> Vec<u8> {
    hex(INJECTED.iter().find(|(n, _)| *n == case).unwrap_or_else(|| panic!("no case {case}")).1)
}

/// The injected packet with its first extension header replaced by h2's socket view of it
/// (same length: h2 only rewrites bytes inside the option).
fn socket_view(case: &str) -> Vec<u8> {
    let mut p = injected(case);
    let (_, _, h) = SOCKET_VIEW.iter().find(|(n, _, _)| *n == case).unwrap();
    let h = hex(h);
    p[40..40 + h.len()].copy_from_slice(&h);
    p
}

fn std() -> DecodeOptions {
    DecodeOptions { clt: TraceLayout::Standard }
}

/// The IOAM options of the first extension header, with their offsets and errors.
fn ioam_opts(p: &PacketRepr) -> Vec<(usize, &IoamRepr, Option<&ioam_core::wire::ErrorRepr>)> {
    p.ext_headers[0]
        .options
        .iter()
        .filter_map(|o| match &o.option {
            OptionRepr::Ioam(r) => Some((o.offset, r, o.error.as_ref())),
            _ => None,
        })
        .collect()
}

fn trace(p: &PacketRepr) -> &TraceRepr {
    match &ioam_opts(p)[0].1.data {
        IoamData::PreallocatedTrace(t) => t,
        d => panic!("not a pre-allocated trace: {d:?}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn full_node(
    hl: u8,
    id: u32,
    inn: u16,
    eg: u16,
    ts_frac: u32,
    ns: u32,
    qd: u32,
    idw: u64,
    inw: u32,
    egw: u32,
    nsw: u64,
    oss: OssRepr,
) -> NodeData {
    NodeData {
        hop_limit: Some(hl),
        node_id: Some(id),
        ingress_if_id: Some(inn),
        egress_if_id: Some(eg),
        timestamp_secs: Some(0x6b08883b),
        timestamp_frac: Some(ts_frac),
        transit_delay: Some(0xffff_ffff),
        namespace_data: Some(ns),
        queue_depth: Some(qd),
        checksum_complement: Some(0xffff_ffff),
        hop_limit_wide: Some(hl),
        node_id_wide: Some(idw),
        ingress_if_id_wide: Some(inw),
        egress_if_id_wide: Some(egw),
        namespace_data_wide: Some(nsw),
        buffer_occupancy: Some(0xffff_ffff),
        undefined: vec![],
        oss: Some(oss),
    }
}

#[test]
fn every_capture_decodes_and_round_trips_byte_for_byte() {
    let all = INJECTED.iter().map(|(n, h)| (n.to_string(), hex(h))).chain(SOCKET_VIEW.iter().map(|(n, _, _)| (format!("{n}/h2"), socket_view(n))));
    let mut count = 0;
    for (name, b) in all {
        for layout in [TraceLayout::Standard, TraceLayout::CltLegacy] {
            let d = decode_packet(&b, &DecodeOptions { clt: layout }).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(encode_packet(&d).unwrap(), b, "{name} {layout:?}: encode(decode(b)) != b");
            assert_eq!(decode_packet(&encode_packet(&d).unwrap(), &DecodeOptions { clt: layout }).unwrap(), d, "{name}");
        }
        count += 1;
    }
    assert_eq!(count, 52);
}

#[test]
fn a_full_trace_injected() {
    let d = decode_packet(&injected("a_full_trace"), &std()).unwrap();
    assert_eq!(d.ipv6.payload_len, 276);
    assert_eq!(d.ipv6.hop_limit, 64);
    assert_eq!(d.ipv6.src.to_string(), "fd00:aa:1::1");
    assert_eq!(d.ipv6.dst.to_string(), "fd00:aa:2::2");
    assert_eq!(d.ext_headers.len(), 1);
    let h = &d.ext_headers[0];
    assert_eq!((h.kind, h.offset, h.length, h.next_header), (ExtHeaderKind::HopByHop, 40, 256, 17));
    assert_eq!(h.options.len(), 3);
    assert_eq!((h.options[0].offset, &h.options[0].option), (42, &OptionRepr::PadN { len: 0 }));
    assert_eq!(h.options[1].offset, 44);
    assert_eq!((h.options[2].offset, &h.options[2].option), (292, &OptionRepr::PadN { len: 2 }));
    let t = trace(&d);
    assert_eq!((t.namespace_id, t.node_len, t.remaining_len, t.trace_type, t.reserved), (123, 15, 59, 0xfff002, 0));
    assert_eq!(t.node_len, nodelen_for_type(t.trace_type));
    assert_eq!(t.flags, TraceFlags::default());
    assert_eq!(t.free_space, Some(vec![0; 236]));
    assert!(t.nodes.is_empty() && t.trailing.is_empty());
    assert_eq!((d.upper_layer.protocol, d.upper_layer.offset), (17, 296));
    assert_eq!(&d.upper_layer.payload[8..], b"a_full_trace");
}

#[test]
fn a_full_trace_three_nodes_with_oss_777_and_888() {
    let d = decode_packet(&socket_view("a_full_trace"), &std()).unwrap();
    let t = trace(&d);
    assert!(ioam_opts(&d)[0].2.is_none());
    assert_eq!((t.remaining_len, t.free_space.as_deref()), (0, Some(&[][..])));
    assert_eq!(t.nodes.len(), 3);
    let h2 = full_node(
        61,
        3,
        301,
        0xffff,
        0x00090042,
        0x33333333,
        0xffff_ffff,
        0x33333333333333,
        301301,
        0xffff_ffff,
        0x3333333333333333,
        OssRepr { length: 2, schema_id: 888, data: b"ABCDE\0\0\0".to_vec() },
    );
    let r2 = full_node(
        62,
        2,
        201,
        202,
        0x00090038,
        0xffff_ffff,
        0,
        0x22222222222222,
        201201,
        202202,
        u64::MAX,
        OssRepr { length: 0, schema_id: 0xff_ffff, data: vec![] },
    );
    let r1 = full_node(
        63,
        1,
        101,
        102,
        0x00090027,
        0xdeadbeef,
        0,
        0x11111111111111,
        101101,
        102102,
        0xcafec0caf00dc0de,
        OssRepr { length: 9, schema_id: 777, data: b"something that will be 4n-aligned\0\0\0".to_vec() },
    );
    assert_eq!(t.nodes[0], h2);
    assert_eq!(t.nodes[1], r2);
    assert_eq!(t.nodes[2], r1);
}

#[test]
fn a_full_trace_every_option_prefix_is_an_error_except_whole_nodes() {
    let b = socket_view("a_full_trace");
    let opt = &b[46..46 + 246]; // IOAM option data: Reserved .. end
    // Whole prefixes: header only (10), + h2 (72), + r2 (64), + r1 (100).
    let whole = [10usize, 82, 146, 246];
    for n in 0..=opt.len() {
        let r = IoamRepr::parse(&opt[..n], TraceLayout::Standard);
        if whole.contains(&n) {
            let r = r.unwrap_or_else(|e| panic!("prefix {n}: {e}"));
            let IoamData::PreallocatedTrace(t) = r.data else { panic!() };
            assert_eq!(t.nodes.len(), whole.iter().position(|&w| w == n).unwrap());
        } else {
            let e = r.expect_err(&format!("prefix {n} should fail"));
            assert!(matches!(e.code, ErrorCode::Truncated), "prefix {n}: {e}");
            assert!(e.offset <= n, "prefix {n}: offset {} beyond the data", e.offset);
        }
    }
}

#[test]
fn packet_truncated_at_every_length_is_an_error() {
    // Cut the packet and shrink Payload Length to match: HbH no longer fits → fatal ext-header
    // error until the HbH is whole; from there the packet decodes with a shorter payload.
    let b = socket_view("a_full_trace");
    for n in 0..b.len() {
        let mut c = b[..n].to_vec();
        if n >= 40 {
            let pl = (n - 40) as u16;
            c[4..6].copy_from_slice(&pl.to_be_bytes());
        }
        let r = decode_packet(&c, &std());
        match n {
            0..40 => assert_eq!(r.unwrap_err().layer, Layer::Ipv6),
            40..296 => {
                let e = r.unwrap_err();
                assert_eq!((e.code, e.layer, e.offset), (ErrorCode::Truncated, Layer::ExtHeader, 40), "n={n}");
            }
            _ => assert_eq!(r.unwrap().upper_layer.payload.len(), n - 296),
        }
        // Unadjusted Payload Length: always the IPv6 length error.
        if n >= 40 {
            let e = decode_packet(&b[..n], &std()).unwrap_err();
            assert_eq!((e.code, e.layer, e.offset, e.needed, e.got), (ErrorCode::Truncated, Layer::Ipv6, 4, b.len(), n));
        }
    }
}

#[test]
fn a2_and_flags_and_overflow() {
    let d = decode_packet(&socket_view("a2_basic_bits0_1"), &std()).unwrap();
    let t = trace(&d);
    assert_eq!(t.nodes.iter().map(|n| (n.hop_limit, n.node_id, n.ingress_if_id, n.egress_if_id)).collect::<Vec<_>>(), vec![
        (Some(61), Some(3), Some(301), Some(0xffff)),
        (Some(62), Some(2), Some(201), Some(202)),
        (Some(63), Some(1), Some(101), Some(102)),
    ]);
    let d = decode_packet(&socket_view("g2_loopback_active_flags"), &std()).unwrap();
    let t = trace(&d);
    assert_eq!(t.flags, TraceFlags { overflow: false, loopback: true, active: true, bit3: true });
    assert_eq!((t.remaining_len, t.nodes.len()), (0, 3));
    let d = decode_packet(&socket_view("b_overflow_midpath"), &std()).unwrap();
    let t = trace(&d);
    assert!(t.flags.overflow);
    assert_eq!((t.remaining_len, t.nodes.len()), (1, 1));
    let d = decode_packet(&socket_view("g_overflow_preset"), &std()).unwrap();
    assert!(trace(&d).flags.overflow && trace(&d).nodes.is_empty());
    // b3: OSS only, NodeLen 0, overflow set by r1; 16 free octets, no nodes, no error.
    let d = decode_packet(&socket_view("b3_oss_no_room"), &std()).unwrap();
    let t = trace(&d);
    assert_eq!((t.node_len, t.trace_type, t.remaining_len, t.flags.overflow), (0, 0x000002, 4, true));
    assert!(t.nodes.is_empty() && ioam_opts(&d)[0].2.is_none());
}

#[test]
fn undefined_bit12_and_bit23_and_queue_depth() {
    let d = decode_packet(&socket_view("f_undef_bit12"), &std()).unwrap();
    let t = trace(&d);
    assert_eq!((t.trace_type, t.node_len), (0x800800, 2));
    for (n, (hl, id)) in t.nodes.iter().zip([(61, 3), (62, 2), (63, 1)]) {
        assert_eq!((n.hop_limit, n.node_id, n.undefined.clone()), (Some(hl), Some(id), vec![0xffff_ffff]));
    }
    let d = decode_packet(&socket_view("f4_bit23_reserved"), &std()).unwrap();
    let t = trace(&d);
    assert_eq!((t.trace_type, t.node_len, t.nodes.len()), (0x800001, 1, 3));
    let d = decode_packet(&socket_view("q_queue_depth_tbf"), &std()).unwrap();
    let q: Vec<_> = trace(&d).nodes.iter().map(|n| n.queue_depth.unwrap()).collect();
    assert_eq!(q, vec![0xffff_ffff, 0, 39294]);
    let d = decode_packet(&socket_view("l3_hoplimit_255"), &std()).unwrap();
    let t = trace(&d);
    assert_eq!(t.trace_type, 0x808000);
    assert_eq!((t.nodes[0].hop_limit, t.nodes[0].hop_limit_wide, t.nodes[0].node_id_wide), (Some(252), Some(252), Some(0x33333333333333)));
}

#[test]
fn other_option_types_and_codes() {
    // Incremental: node data right after the header (12 zero octets = 3 zero nodes).
    let d = decode_packet(&injected("h_incremental_type1"), &std()).unwrap();
    let IoamData::IncrementalTrace(t) = &ioam_opts(&d)[0].1.data else { panic!() };
    assert_eq!((t.namespace_id, t.remaining_len, t.free_space.as_ref(), t.nodes.len()), (123, 3, None, 3));
    // POT type 0.
    let d = decode_packet(&injected("i2_pot_type2"), &std()).unwrap();
    let IoamData::Pot(p) = &ioam_opts(&d)[0].1.data else { panic!() };
    assert_eq!((p.namespace_id, p.pot_type, p.random, p.cumulative), (123, 0, Some(0x0001020304050607), Some(0x08090a0b0c0d0e0f)));
    // E2E 64-bit sequence number 42.
    let d = decode_packet(&injected("i3_e2e_type3"), &std()).unwrap();
    let IoamData::E2e(e) = &ioam_opts(&d)[0].1.data else { panic!() };
    assert_eq!((e.namespace_id, e.e2e_type, e.seq_num64, e.seq_num32), (123, 0x8000, Some(42), None));
    // DEX with Flow ID and Sequence Number.
    let d = decode_packet(&injected("i_dex_type4"), &std()).unwrap();
    let IoamData::Dex(x) = &ioam_opts(&d)[0].1.data else { panic!() };
    assert_eq!((x.namespace_id, x.extension_flags, x.trace_type, x.flow_id, x.sequence_number), (123, 0xc0, 0xc00000, Some(0x01020304), Some(7)));
    // Code 0x11: an unknown skip option, kept intact.
    let d = decode_packet(&injected("i4_code_0x11_in_hbh"), &std()).unwrap();
    let o = &d.ext_headers[0].options[1];
    assert_eq!(o.offset, 44);
    let OptionRepr::Unknown { option_type, data } = &o.option else { panic!() };
    assert_eq!((*option_type, data.len(), data[2..4].to_vec()), (0x11, 22, vec![0x00, 0x7b]));
    // IOAM in a Destination Options header is decoded too.
    let d = decode_packet(&injected("j_in_dest_opts"), &std()).unwrap();
    assert_eq!(d.ext_headers[0].kind, ExtHeaderKind::DestinationOptions);
    assert_eq!(trace(&d).remaining_len, 3);
    // Misaligned: decoded, offset 42 tells the dataplane to drop.
    let d = decode_packet(&injected("e_misaligned_no_pad"), &std()).unwrap();
    assert_eq!(ioam_opts(&d)[0].0, 42);
    assert!(ioam_opts(&d)[0].2.is_none());
    // No IOAM at all.
    let d = decode_packet(&injected("o_no_ioam_baseline"), &std()).unwrap();
    assert!(d.ext_headers.is_empty());
    assert_eq!((d.upper_layer.protocol, d.upper_layer.offset), (17, 40));
}

#[test]
fn malformed_ioam_options_are_per_option_errors() {
    let check = |case: &str, code: ErrorCode, layer: Layer, offset: usize| {
        let d = decode_packet(&injected(case), &std()).unwrap_or_else(|e| panic!("{case}: {e}"));
        let (_, _, e) = ioam_opts(&d).into_iter().next().map(|(a, b, c)| (a, Some(b), c)).unwrap_or_else(|| {
            // k5: too short to be an IOAM option → Unknown 0x31 with the error.
            let o = &d.ext_headers[0].options[1];
            (o.offset, None, o.error.as_ref())
        });
        let e = e.unwrap_or_else(|| panic!("{case}: no error"));
        assert_eq!((e.code.as_str(), e.layer.as_str(), e.offset), (code.as_str(), layer.as_str(), offset), "{case}");
        d
    };
    // RemainingLen 5 with 8 data octets: BadRemainingLen at the RemainingLen octet (44+2+2+3).
    let d = check("k_remlen_exceeds_optlen", ErrorCode::BadRemainingLen, Layer::Trace, 51);
    assert_eq!(trace(&d).free_space.as_ref().map(Vec::len), Some(8));
    check("k4_remlen_gt_61", ErrorCode::BadRemainingLen, Layer::Trace, 51);
    check("k6_malformed_r1_disabled", ErrorCode::BadRemainingLen, Layer::Trace, 51);
    // Opt Data Len 6: trace header incomplete → malformed body, error at the Namespace-ID.
    let d = check("k2_optlen_truncated_trace_hdr", ErrorCode::Truncated, Layer::Trace, 48);
    assert_eq!(ioam_opts(&d)[0].1.data, IoamData::Malformed { option_type: 0, data: vec![0x00, 0x7b, 0x08, 0x00] });
    // Opt Data Len 1: not even Reserved + Option-Type.
    let d = check("k5_optlen_lt_2", ErrorCode::Truncated, Layer::Ioam, 46);
    assert_eq!(d.ext_headers[0].options[1].option, OptionRepr::Unknown { option_type: 0x31, data: vec![0] });
    // NodeLen 1 for type 0x800800 (computed 2).
    let d = check("f3_undef_bit12_nodelen1", ErrorCode::BadNodeLen, Layer::Trace, 50);
    assert_eq!(trace(&d).node_len, 1);
    check("f6_bad_nodelen_unknown_ns", ErrorCode::BadNodeLen, Layer::Trace, 50);
}

#[test]
fn clt_layout_on_a_real_trace_is_only_what_the_caller_says() {
    // The standard a_full_trace read as CLT: the first 24 free octets become (zero) IDs and
    // RemainingLen 59 × 4 no longer fits → BadRemainingLen; nothing is guessed.
    let d = decode_packet(&injected("a_full_trace"), &DecodeOptions { clt: TraceLayout::CltLegacy }).unwrap();
    let t = trace(&d);
    assert_eq!(t.clt.map(|c| (c.trace_id, c.span_id)), Some(([0; 16], [0; 8])));
    let e = ioam_opts(&d)[0].2.unwrap();
    assert_eq!((e.code.as_str(), e.needed, e.got), ("ERR_IOAM_BAD_REMAININGLEN", 236, 212));
}
