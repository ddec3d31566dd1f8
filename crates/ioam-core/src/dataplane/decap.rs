//! Decapsulating node: fill own data on input (as a receiving node, [`transit`]), then remove
//! the IOAM option / Hop-by-Hop header (inline) or the outer IPv6 header (IPv6-in-IPv6).
//!
//! * The receive step is the transit logic with the given meta; a drop stays a drop (nothing
//!   is removed, aux 0).
//! * Only a packet whose Hop-by-Hop header holds at least one IOAM option (0x31) is changed;
//!   otherwise the transit outcome is returned as is.
//! * Encap mode: the next-header chain after the outer HbH (Destination Options, Routing, AH,
//!   Mobility, HIP, Shim6) leads to 41 → everything before the inner IPv6 header goes (Linux:
//!   ordinary ip6ip6 decapsulation after the fill).
//! * Inline: the IOAM options are removed; the other options keep their offset modulo 8 (so
//!   their alignment) and padding is rebuilt; if only padding remains the whole HbH goes and the
//!   IPv6 next header takes the HbH's. Payload Length is reduced (left at 0 for a jumbogram).
//! * The removed Hop-by-Hop header (after this node's fill) is copied to `trace_out` when it
//!   fits; aux = its length, 0 when it did not fit.
use super::transit::{at, be16, linux_prealloc_fast, put, put16, transit, IPV6_HDR, NEXTHDR_HOP, NEXTHDR_IPV6, OPT_IOAM, OPT_PAD1, OPT_PADN};
use super::{Meta, Node, Outcome, Reason, Verdict, OUT_F_LOOPBACK};

/// Next header values of extension headers with the generic `(len + 1) × 8` length.
const NH_DSTOPTS: u8 = 60;
const NH_ROUTING: u8 = 43;
const NH_AH: u8 = 51;
const NH_MOBILITY: u8 = 135;
const NH_HIP: u8 = 139;
const NH_SHIM6: u8 = 140;

/// Decapsulates; copies the removed Hop-by-Hop header (the trace) into `trace_out` when it fits
/// and reports its length in `Outcome::aux` (0 if there was none or it did not fit).
#[inline]
pub fn decap(node: &Node, slot: &mut [u8], off: usize, len: usize, meta: &Meta, trace_out: &mut [u8]) -> Outcome {
    if let Some(o) = decap_linux_fast(node, slot, off, len, meta, trace_out) {
        return o;
    }
    decap_general(node, slot, off, len, meta, trace_out)
}

/// Fast path for the header a Linux encapsulating node builds in inline mode: the receive step
/// takes the transit fast path (PadN 0 + one Pre-allocated trace [+ PadN 2], written) and the
/// Hop-by-Hop header's next header is not an IPv6 header or an extension header, so the general
/// path would remove the whole Hop-by-Hop header (only padding is left after the IOAM option):
/// the same bytes and outcome, without the walks. `None` (nothing written) otherwise.
#[inline(always)]
fn decap_linux_fast(node: &Node, slot: &mut [u8], off: usize, len: usize, meta: &Meta, trace_out: &mut [u8]) -> Option<Outcome> {
    let pkt = slot.get_mut(off..off.checked_add(len)?)?;
    let inner_nh = *pkt.get(IPV6_HDR)?;
    if matches!(inner_nh, NEXTHDR_IPV6 | NH_DSTOPTS | NH_ROUTING | NH_AH | NH_MOBILITY | NH_HIP | NH_SHIM6) {
        return None;
    }
    let t = linux_prealloc_fast(node, pkt, meta)?;
    // The fast path checked: Payload Length ≠ 0, 48 <= HbH end <= 40 + Payload Length = t.len.
    let hbh_len = (at(pkt, IPV6_HDR + 1) as usize + 1) * 8;
    let mut aux = 0;
    if let (Some(dst), Some(src)) = (trace_out.get_mut(..hbh_len), pkt.get(IPV6_HDR..IPV6_HDR + hbh_len)) {
        dst.copy_from_slice(src);
        aux = hbh_len as u32;
    }
    let plen = be16(pkt, 4) as usize;
    put(pkt, 6, inner_nh);
    put16(pkt, 4, plen.saturating_sub(hbh_len) as u16);
    slot.copy_within(off..off + IPV6_HDR, off + hbh_len);
    Some(Outcome { reason: Reason::Decapsulated, offset: 0, aux, off: off + hbh_len, len: t.len - hbh_len })
}

/// [`decap`] for any packet.
#[inline(never)]
fn decap_general(node: &Node, slot: &mut [u8], off: usize, len: usize, meta: &Meta, trace_out: &mut [u8]) -> Outcome {
    let t = transit(node, slot, off, len, meta);
    if t.verdict() == Verdict::Drop {
        return Outcome { aux: 0, ..t };
    }
    let (off, len) = (t.off, t.len);
    let Some(pkt) = slot.get_mut(off..off + len) else { return t };
    if len < IPV6_HDR + 8 || at(pkt, 6) != NEXTHDR_HOP {
        return t;
    }
    let hbh_len = (at(pkt, IPV6_HDR + 1) as usize + 1) * 8;
    let hbh_end = IPV6_HDR + hbh_len;
    // The receive walk completed (no drop) and counted the IOAM options it met in aux.
    if hbh_end > len || t.aux & !OUT_F_LOOPBACK == 0 {
        return t;
    }
    // Hand the trace back.
    let mut aux = 0;
    if let (Some(dst), Some(src)) = (trace_out.get_mut(..hbh_len), pkt.get(IPV6_HDR..hbh_end)) {
        dst.copy_from_slice(src);
        aux = hbh_len as u32;
    }
    let done = |off, len| Outcome { reason: Reason::Decapsulated, offset: 0, aux, off, len };
    // Encap mode: follow the chain to an inner IPv6 header.
    let mut nh = at(pkt, IPV6_HDR);
    let mut q = hbh_end;
    loop {
        match nh {
            NEXTHDR_IPV6 => {
                if q + IPV6_HDR > len || at(pkt, q) >> 4 != 6 {
                    return Outcome { reason: Reason::DropMalformedIpv6, offset: q as u32, aux: 0, off, len };
                }
                return done(off + q, len - q);
            }
            NH_DSTOPTS | NH_ROUTING | NH_MOBILITY | NH_HIP | NH_SHIM6 | NH_AH if q + 8 <= len => {
                let l = if nh == NH_AH { (at(pkt, q + 1) as usize + 2) * 4 } else { (at(pkt, q + 1) as usize + 1) * 8 };
                nh = at(pkt, q);
                q += l;
            }
            _ => break,
        }
    }
    // Inline: compact the HbH without the IOAM options.
    let new_len = compact_hbh(pkt, hbh_end);
    let d = hbh_len - new_len;
    let plen = be16(pkt, 4) as usize;
    let new_plen = if plen == 0 { 0 } else { plen.saturating_sub(d) };
    if new_len == 0 {
        // Only padding left: drop the whole header.
        let inner_nh = at(pkt, IPV6_HDR);
        put(pkt, 6, inner_nh);
    } else {
        put(pkt, IPV6_HDR + 1, (new_len / 8 - 1) as u8);
    }
    put16(pkt, 4, new_plen as u16);
    // Move the IPv6 header + what is left of the HbH up by d (toward the payload).
    slot.copy_within(off..off + IPV6_HDR + new_len, off + d);
    done(off + d, len - d)
}

/// Rewrites the HbH in place without its IOAM options and padding, padding each kept option
/// back to its original offset modulo 8 and the header to 8n. Returns the new HbH length
/// (0 when no option is left). The new header never outgrows the old one: each kept option
/// lands at or before its old position.
fn compact_hbh(pkt: &mut [u8], end: usize) -> usize {
    let mut q = IPV6_HDR + 2;
    let mut c = IPV6_HDR + 2;
    let mut kept = 0;
    while q < end {
        let t = at(pkt, q);
        if t == OPT_PAD1 {
            q += 1;
            continue;
        }
        let l = at(pkt, q + 1) as usize + 2;
        if q + l > end {
            break;
        }
        if t != OPT_PADN && t != OPT_IOAM {
            let p = (q.wrapping_sub(c)) % 8;
            write_pad(pkt, c, p);
            c += p;
            pkt.copy_within(q..q + l, c);
            c += l;
            kept += 1;
        }
        q += l;
    }
    if kept == 0 {
        return 0;
    }
    let p = (8 - (c - IPV6_HDR) % 8) % 8;
    write_pad(pkt, c, p);
    c + p - IPV6_HDR
}

fn write_pad(pkt: &mut [u8], at_: usize, p: usize) {
    if let Some(r) = pkt.get_mut(at_..at_ + p) {
        r.fill(0);
        if p >= 2 {
            r[0] = OPT_PADN;
            r[1] = (p - 2) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use crate::dataplane::encap::{encap, EncapState};

    fn node(mode: EncapMode) -> Node {
        Node::new(NodeConfig {
            ioam6_id: 3,
            interfaces: vec![InterfaceConfig { name: "in".into(), ioam6_enabled: true, ioam6_id: 301, ioam6_id_wide: 301301 }],
            namespaces: vec![NamespaceConfig { id: 123, ..Default::default() }],
            encap: Some(EncapConfig {
                mode,
                tundst: [0xfd, 0, 0, 0xaa, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                trace_type: 0xc00000,
                namespace: 123,
                size: 16,
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap()
    }

    fn udp() -> Vec<u8> {
        let mut p = vec![0u8; 256 + 48];
        let h = &mut p[256..];
        h[0] = 0x60;
        h[5] = 8;
        h[6] = 17;
        h[7] = 64;
        h[40..48].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p
    }

    #[test]
    fn roundtrip_inline_and_encap() {
        for mode in [EncapMode::Inline, EncapMode::Encap] {
            let n = node(mode);
            let mut slot = udp();
            let orig = slot[256..].to_vec();
            let e = encap(&n, &mut EncapState::default(), &mut slot, 256, 48, &Meta::default(), None);
            assert_eq!(e.reason, Reason::Encapsulated);
            let mut trace = [0u8; 64];
            let meta = Meta { ingress_if: 0, ..Default::default() };
            let d = decap(&n, &mut slot, e.off, e.len, &meta, &mut trace);
            assert_eq!(d.reason, Reason::Decapsulated, "{mode:?}");
            assert_eq!(d.aux, 32);
            assert_eq!(&slot[d.off..d.off + d.len], &orig[..], "{mode:?}");
            // The trace shows the encapsulator (HL 64, id 3) and the decapsulator (HL 63, 301/0xffff).
            assert_eq!(trace[11], 0, "RemLen 4 - 2 - 2");
            assert_eq!(&trace[16..24], &[63, 0, 0, 3, 0x01, 0x2d, 0xff, 0xff]);
            assert_eq!(&trace[24..28], &[64, 0, 0, 3]);
        }
    }

    #[test]
    fn inline_keeps_other_options() {
        // HbH 24: PadN0, IOAM (12 octets, ns 999 unknown), Router Alert (4), PadN2.
        let mut slot = vec![0u8; 16];
        let mut p = vec![0u8; 40];
        p[0] = 0x60;
        p[5] = 24 + 4;
        p[7] = 9;
        p.extend_from_slice(&[17, 2, 1, 0, 0x31, 10, 0, 0, 0x03, 0xe7, 0x08, 0x00, 0x80, 0, 0, 0, 5, 2, 0, 0, 1, 2, 0, 0]);
        p.extend_from_slice(&[7, 7, 7, 7]);
        slot.extend_from_slice(&p);
        let len = p.len();
        let n = node(EncapMode::Inline);
        let mut trace = [0u8; 8];
        let d = decap(&n, &mut slot, 16, len, &Meta { ingress_if: 0, ..Default::default() }, &mut trace);
        assert_eq!((d.reason, d.aux), (Reason::Decapsulated, 0), "trace did not fit");
        let q = &slot[d.off..d.off + d.len];
        assert_eq!(d.len, len - 8);
        assert_eq!((q[5], q[6]), (20, 0));
        // The Router Alert was at HbH offset 16 (0 mod 8): now at 8, after a PadN of 6.
        assert_eq!(&q[40..48], &[17, 1, 1, 4, 0, 0, 0, 0]);
        assert_eq!(&q[48..56], &[5, 2, 0, 0, 1, 2, 0, 0]);
        assert_eq!(&q[56..], &[7, 7, 7, 7]);
        assert_eq!(transit(&n, &mut slot, d.off, d.len, &Meta { ingress_if: 0, ..Default::default() }).reason, Reason::NoIoam);
    }

    /// The inline fast path decides exactly as the general decap: same outcome, same slot bytes,
    /// same handed-back trace, for Linux-built packets and mutations of their key octets.
    #[test]
    fn fast_path_equals_the_general_decap() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let n = node(EncapMode::Inline);
        let mut base = udp();
        let e = encap(&n, &mut EncapState::default(), &mut base, 256, 48, &Meta::default(), None);
        assert_eq!(e.reason, Reason::Encapsulated);
        let hot = [4usize, 5, 6, 7, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54];
        let mut fast = 0;
        for round in 0..5000 {
            let mut a = base.clone();
            if round > 0 {
                for _ in 0..1 + rnd() % 2 {
                    let at = e.off + if rnd() % 4 == 0 { (rnd() % e.len as u64) as usize } else { hot[(rnd() % hot.len() as u64) as usize] };
                    a[at] = match rnd() % 3 {
                        0 => rnd() as u8,
                        1 => a[at] ^ (1 << (rnd() % 8)),
                        _ => [0u8, 1, 2, 41, 43, 60, 0x31, 0xff][(rnd() % 8) as usize],
                    };
                }
            }
            let mut b = a.clone();
            let meta = Meta { ingress_if: [0, 0, 1][(rnd() % 3) as usize], ..Default::default() };
            let (mut ta, mut tb) = ([0u8; 64], [0u8; 64]);
            let cut = if rnd() % 8 == 0 { 40 } else { 64 };
            let x = decap(&n, &mut a, e.off, e.len, &meta, &mut ta[..cut]);
            let y = decap_general(&n, &mut b, e.off, e.len, &meta, &mut tb[..cut]);
            assert_eq!(x, y, "round {round}");
            assert_eq!(a, b, "round {round}");
            assert_eq!(ta, tb, "round {round}");
            fast += usize::from(x.reason == Reason::Decapsulated);
        }
        assert!(fast > 1000, "decapsulated {fast} times");
    }
}
