//! encap (inline / encap / auto, freq, CLT legacy, rfc incremental) with fuzzed configurations:
//! never panics, stays inside the slot, grows the packet (trimmed to 40 + Payload Length) by exactly
//! `aux`, the result decodes,
//! and decap on the same node gives back the original packet.
#![no_main]
use ioam_core::dataplane::{
    decap::decap,
    encap::{encap, CltIds, EncapState},
    Reason, Verdict,
};
use ioam_core::config::{EncapMode, IF_NONE};
use ioam_core::wire::{decode_packet, DecodeOptions};
use ioam_core_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let mut c = take::<CONFIG_LEN>(&mut d);
    c[0] |= 0x80; // always an encapsulating node (node() falls back when the encap is invalid)
    let m = meta(&take::<META_LEN>(&mut d));
    let clt_b = take::<CLT_LEN>(&mut d);
    let room = take::<ROOM_LEN>(&mut d);
    let node = node(&c);
    let ids = CltIds::from_bytes(&clt_b);
    let ids = if clt_b[0] & 1 != 0 { ids } else { None };
    let (mut s, off, len) = slot(room, d);
    let before = s.clone();
    let mut st = EncapState { count: u64::from(clt_b[1]) };
    let mut st2 = st.clone();
    let r = encap(&node, &mut st, &mut s, off, len, &m, ids.as_ref());
    assert!(r.off.checked_add(r.len).is_some_and(|e| e <= s.len()), "outcome outside the slot: {r:?}");
    let mut s2 = before.clone();
    assert_eq!(encap(&node, &mut st2, &mut s2, off, len, &m, ids.as_ref()), r);
    assert_eq!(s, s2);
    if r.reason != Reason::Encapsulated {
        if r.verdict() == Verdict::Pass {
            assert_eq!(s, before, "{:?} but the slot changed", r.reason);
        }
        return;
    }
    // The packet as ip6_rcv_core leaves it: 40 + Payload Length (octets after it are not payload),
    // unless Payload Length 0 with a Hop-by-Hop header (a jumbogram candidate: the whole buffer).
    let p0 = &before[off..off + len];
    let plen = usize::from(u16::from_be_bytes([p0[4], p0[5]]));
    let eff = if plen == 0 && p0[6] == 0 { len } else { 40 + plen };
    assert!(eff <= len, "encapsulated a packet whose Payload Length runs past its end: {r:?}");
    assert_eq!(r.len, eff + r.aux as usize, "len grew by aux (from 40 + Payload Length)");
    assert_eq!(r.off + r.len, off + eff, "the payload does not move");
    let Some(orig) = consistent(d) else { return };
    let opts = DecodeOptions::default();
    if decode_packet(orig, &opts).is_err() {
        return;
    }
    let out = &s[r.off..r.off + r.len];
    let p = decode_packet(out, &opts).unwrap_or_else(|e| panic!("encapsulated packet does not decode: {e}"));
    let hbh = p.ext_headers.first().expect("an HbH header");
    // A schema id above 24 bits is ORed into the snapshot's Length octet, as Linux does
    // (ioam6_genl_addsc): the inserted OSS then claims more octets than it has.
    let wide_schema = node.config().schemas.iter().any(|sc| sc.id > 0xFF_FFFF);
    if node.config().encap.as_ref().is_some_and(|e| !e.clt_legacy) && !wide_schema {
        assert!(
            hbh.error.is_none() && hbh.options.iter().all(|o| o.error.is_none()),
            "inserted option has errors: {p:?}"
        );
    }
    // decap gives the original back — when the node reads the option in the layout it wrote it
    // (an encap `clt_legacy` differing from its namespace's `clt_legacy` makes the node's own
    // receive step read another layout: a configuration inconsistency, see docs/ROBUSTNESS.md).
    let e = node.config().encap.as_ref().expect("encap node");
    let ns_legacy = node.config().namespace(e.namespace).is_some_and(|n| n.clt_legacy);
    if ns_legacy != e.clt_legacy {
        return;
    }
    // Inline IOAM on a packet that is itself IPv6-in-IPv6 (possibly behind DOH / Routing / AH /
    // Mobility / HIP / Shim6 headers): the decapsulating node cannot tell it from encap mode and
    // removes everything before the inner header, as Linux's ip6ip6 receive would (see
    // docs/ROBUSTNESS.md).
    // Inline or not follows from the mode (auto: inline for locally generated packets), not from
    // `aux`: an Incremental trace grows by the encapsulator's own element too.
    let inline = match e.mode {
        EncapMode::Inline => true,
        EncapMode::Encap => false,
        EncapMode::Auto => m.ingress_if == IF_NONE,
    };
    if inline && chain_reaches_ipv6(orig) {
        return;
    }
    // decap gives the original back. In a fresh slot with ample headroom: in the rfc profile the
    // node's own receive step appends to an Incremental trace first, which needs headroom (with
    // the encap's slot exhausted that is a legitimate DropNoRoom).
    let mut arena = vec![0u8; 512];
    let pkt = s[r.off..r.off + r.len].to_vec();
    let (mut s3, o3, l3) = slot([255, 0], &pkt);
    let back = decap(&node, &mut s3, o3, l3, &m, &mut arena);
    assert_eq!(back.reason, Reason::Decapsulated, "{back:?}");
    assert_eq!(&s3[back.off..back.off + back.len], orig, "decap(encap(x)) != x");
});
