//! transit with fuzzed node configurations (linux and rfc profiles), metadata and slots:
//! never panics, stays inside the slot, deterministic, untouched when nothing applies, and a
//! packet that decoded before a passing transit still decodes after it.
#![no_main]
use ioam_core::dataplane::{transit::transit, Reason, Verdict};
use ioam_core::wire::{decode_packet, DecodeOptions};
use ioam_core_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let c = take::<CONFIG_LEN>(&mut d);
    let m = meta(&take::<META_LEN>(&mut d));
    let room = take::<ROOM_LEN>(&mut d);
    let node = node(&c);
    let (mut s, off, len) = slot(room, d);
    let before = s.clone();
    let r = transit(&node, &mut s, off, len, &m);
    assert!(r.off.checked_add(r.len).is_some_and(|e| e <= s.len()), "outcome outside the slot: {r:?}");
    // Deterministic.
    let mut s2 = before.clone();
    assert_eq!(transit(&node, &mut s2, off, len, &m), r);
    assert_eq!(s, s2);
    if matches!(r.reason, Reason::NoIoam | Reason::DropMalformedIpv6 | Reason::DropBadDescriptor) {
        assert_eq!(s, before, "{:?} but the slot changed", r.reason);
    }
    // Only an Incremental append (rfc) moves the packet, down into the headroom; options are
    // processed in order (ip6_parse_tlv), so an append can precede a later drop or another
    // option's reason. The payload end never moves.
    assert!(r.off <= off, "packet moved up: {r:?}");
    if r.off == off {
        assert!(r.len <= len, "packet grew without moving: {r:?}");
        assert_eq!(&s[..off], &before[..off], "headroom written without an append");
    } else {
        assert!(node.profile() == ioam_core::config::Profile::Rfc, "linux profile moved the packet: {r:?}");
        assert_eq!(&s[..r.off], &before[..r.off], "written below the new packet start");
    }
    if r.verdict() == Verdict::Pass {
        let opts = DecodeOptions::default();
        if let Ok(p) = decode_packet(&before[off..off + len], &opts) {
            let q = decode_packet(&s[r.off..r.off + r.len], &opts);
            assert!(q.is_ok(), "decoded before {:?}, not after: {q:?}\nbefore {p:?}", r.reason);
        }
    }
});
