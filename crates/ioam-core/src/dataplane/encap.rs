//! Encapsulating node: Linux `ioam6_iptunnel.c` (`ioam6_output`, `ioam6_do_inline`,
//! `ioam6_do_encap`, `ioam6_do_fill`) in user space.
//!
//! * freq k/n: `pkt_cnt % n >= k` → untouched (`SampledOut`); the counter is Linux's u32
//!   `atomic_fetch_inc`, counted for every packet the route sees.
//! * inline: only when the packet has no Hop-by-Hop header (else `SkippedHbhExists`); the
//!   IPv6 header moves down into the headroom and the rendered HbH goes after it
//!   (its next header = the packet's; packet's next header 0).
//! * encap: a new outer IPv6 header = copy of the inner one (version, TC, flow label, HL) with
//!   next header 0, source = tunsrc, destination = tundst, then the HbH with next header 41.
//!   Without a configured tunsrc (all zero) Linux picks a source address of the egress device;
//!   the core has no addresses, so it keeps the inner source (the simulator should set tunsrc).
//! * auto: locally generated (ingress = IF_NONE) → inline, else encap.
//! * The packet first as `ip6_rcv_core` leaves it: a Payload Length past its end → dropped
//!   (`DropMalformedIpv6`, offset 4); octets after `40 + Payload Length` (Ethernet padding, a
//!   capture's trailer) trimmed away; Payload Length 0 with a Hop-by-Hop header kept whole.
//! * Payload Length = new length − 40 (`skb->len - sizeof(*hdr)`); over 65535 → `DropNoRoom`.
//! * Then the node fills its own element (`is_input = false`: Hop_Lim = HL as is) if it knows
//!   the namespace. For a forwarded packet Linux has already decremented the HL in
//!   `ip6_forward` before the route's output runs: callers pass the packet as it leaves.
//! * CLT legacy (Advanced-Observability/cross-layer-telemetry `CLT.patch`): the trace header
//!   carries the trace ID (16) and span ID (8) right after its 8 octets, set from the socket
//!   by `ioam6_do_fill`; RemainingLen counts only the node-data space (opt_len = 34 + size).
//! * CLT signalled (`clt_oss_schema`, bit 22 set): the encapsulating node's own Opaque State
//!   Snapshot is `[Length 6][Schema ID][trace ID 16][span ID 8]` from the packet's IDs (RFC 9197
//!   §4.4.2.13); packets without IDs (none, or all zero: an invalid W3C trace ID) get the
//!   namespace's snapshot as in Linux. Transit nodes need no change.
//! * rfc `incremental`: an Incremental Trace (Option-Type 1) with no data space, RemainingLen =
//!   size/4 as the budget; the node then appends its own element (the option grows).
//!
//! aux = octets inserted.
use super::fill::{fill_prealloc, fill_prealloc_snapshot, FillCtx};
use super::node::{ENCAP_TRACE_OFF, TRACE_HDR};
use super::transit::{append_incremental, at, be16, put, put16, Pos, IPV6_HDR, NEXTHDR_HOP, NEXTHDR_IPV6};
use super::{Meta, Node, Outcome, Reason};
use crate::config::{EncapMode, IF_NONE};

/// k-of-n sampling state of one encapsulating node (Linux keeps `pkt_cnt` per route).
#[derive(Debug, Clone, Default)]
pub struct EncapState {
    pub count: u64,
}

/// The CLT IDs a packet carries (legacy layout or snapshot encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CltIds {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

impl CltIds {
    /// From 24 octets (trace ID 16, span ID 8), the batch ABI's `clt` record.
    pub fn from_bytes(b: &[u8]) -> Option<CltIds> {
        let trace_id = b.get(..16)?.try_into().ok()?;
        let span_id = b.get(16..24)?.try_into().ok()?;
        Some(CltIds { trace_id, span_id })
    }
}

/// Octets of the signalled CLT snapshot: header word + trace ID 16 + span ID 8 (Length 6).
pub const CLT_OSS_LEN: usize = 28;

fn out(reason: Reason, aux: u32, off: usize, len: usize) -> Outcome {
    Outcome { reason, offset: 0, aux, off, len }
}

/// Inserts the node's configured IOAM option (see [`crate::config::EncapConfig`]) and fills
/// the encapsulating node's own data (Linux: `is_input = false`).
/// A node without an `encap` configuration leaves the packet alone (`NoIoam`).
#[inline]
pub fn encap(node: &Node, state: &mut EncapState, slot: &mut [u8], off: usize, len: usize, meta: &Meta, clt: Option<&CltIds>) -> Outcome {
    match off.checked_add(len) {
        Some(e) if e <= slot.len() => {}
        _ => return out(Reason::DropBadDescriptor, 0, off, len),
    }
    if node.encap.is_none() {
        return out(Reason::NoIoam, 0, off, len);
    }
    // The packet as Linux's route output sees it: received ones went through `ip6_rcv_core`
    // (truncated → dropped, trailing octets such as Ethernet padding trimmed to 40 + Payload
    // Length), locally generated ones are that long by construction. Payload Length 0 with a
    // Hop-by-Hop header (a jumbogram candidate) keeps the whole buffer.
    let len = match ipv6_len(slot, off, len) {
        Ok(l) => l,
        Err(o) => return o,
    };
    if let Some(o) = encap_inline_fast(node, state, slot, off, len, meta) {
        return o;
    }
    encap_general(node, state, slot, off, len, meta, clt)
}

/// `40 + Payload Length` of the IPv6 packet at `off` (see [`encap`]); a Payload Length past the
/// packet's end drops it (`DropMalformedIpv6` at offset 4, as transit does). Packets shorter
/// than an IPv6 header or of another version are left to the general path's checks.
#[inline(always)]
fn ipv6_len(slot: &[u8], off: usize, len: usize) -> Result<usize, Outcome> {
    let Some(ip6) = slot.get(off..off + len).and_then(|p| p.first_chunk::<IPV6_HDR>()) else { return Ok(len) };
    if ip6[0] >> 4 != 6 {
        return Ok(len);
    }
    let plen = u16::from_be_bytes([ip6[4], ip6[5]]) as usize;
    if plen == 0 && ip6[6] == NEXTHDR_HOP {
        return Ok(len);
    }
    if IPV6_HDR + plen > len {
        return Err(Outcome { reason: Reason::DropMalformedIpv6, offset: 4, aux: 0, off, len });
    }
    Ok(IPV6_HDR + plen)
}

/// Fast path for the common Linux inline case: inline mode (or auto for a locally generated
/// packet), a Pre-allocated trace without the CLT layouts, every packet selected (k ≥ n), an
/// IPv6 packet without a Hop-by-Hop header, room in the headroom, a configured namespace. The
/// same bytes, outcome and k-of-n count as the general path; `None` (nothing changed, counter
/// included) otherwise. `off + len <= slot.len()` is checked by the caller.
#[inline(always)]
fn encap_inline_fast(node: &Node, state: &mut EncapState, slot: &mut [u8], off: usize, len: usize, meta: &Meta) -> Option<Outcome> {
    let plan = node.encap.as_ref()?;
    let inline = plan.mode == EncapMode::Inline || (plan.mode == EncapMode::Auto && meta.ingress_if == IF_NONE);
    if !inline || plan.incremental || plan.clt_legacy || plan.clt_oss_schema.is_some() || plan.freq_n == 0 || plan.freq_k < plan.freq_n {
        return None;
    }
    let h = plan.hbh.len();
    let ip6: [u8; IPV6_HDR] = *slot.get(off..off + len)?.first_chunk::<IPV6_HDR>()?;
    let new_len = len + h;
    if ip6[0] >> 4 != 6 || ip6[6] == NEXTHDR_HOP || off < h || new_len - IPV6_HDR > 65535 {
        return None;
    }
    let ns = node.namespace(plan.namespace)?;
    state.count = state.count.wrapping_add(1);
    let nb = off - h;
    let pkt = slot.get_mut(nb..nb + new_len)?;
    let (hdr, rest) = pkt.split_first_chunk_mut::<IPV6_HDR>()?;
    *hdr = ip6;
    hdr[4..6].copy_from_slice(&((new_len - IPV6_HDR) as u16).to_be_bytes());
    hdr[6] = NEXTHDR_HOP;
    let hbh = rest.get_mut(..h)?;
    hbh.copy_from_slice(&plan.hbh);
    hbh[0] = ip6[6];
    // The trace: from its header (after [nh][len][01 00][31][optlen][00][00]) to the option's end.
    let end = 6 + at(hbh, 5) as usize;
    if let Some(trace) = hbh.get_mut(ENCAP_TRACE_OFF..end) {
        fill_prealloc(node, ns, trace, TRACE_HDR, &FillCtx { hop_lim: ip6[7], meta });
    }
    Some(out(Reason::Encapsulated, h as u32, nb, new_len))
}

/// [`encap`] for every configuration and packet.
#[inline(never)]
fn encap_general(node: &Node, state: &mut EncapState, slot: &mut [u8], off: usize, len: usize, meta: &Meta, clt: Option<&CltIds>) -> Outcome {
    let Some(plan) = node.encap.as_ref() else { return out(Reason::NoIoam, 0, off, len) };
    {
        let pkt = Pos { off, len, hbh_end: 0 }.pkt(slot);
        if pkt.len() < IPV6_HDR || at(pkt, 0) >> 4 != 6 {
            return out(Reason::DropMalformedIpv6, 0, off, len);
        }
    }
    // ioam6_output: k over n.
    let cnt = state.count as u32;
    state.count = state.count.wrapping_add(1);
    // (k >= n: every packet; the division only when sampling.)
    if plan.freq_n == 0 || (plan.freq_k < plan.freq_n && cnt % plan.freq_n >= plan.freq_k) {
        return out(Reason::SampledOut, 0, off, len);
    }
    let inline = match plan.mode {
        EncapMode::Inline => true,
        EncapMode::Encap => false,
        EncapMode::Auto => meta.ingress_if == IF_NONE,
    };
    let h = plan.hbh.len();
    let ins = if inline { h } else { IPV6_HDR + h };
    if inline && at(Pos { off, len, hbh_end: 0 }.pkt(slot), 6) == NEXTHDR_HOP {
        return out(Reason::SkippedHbhExists, 0, off, len);
    }
    let new_len = len + ins;
    // Incremental: room for the node's element (+4 octets of padding) as well.
    let extra = if plan.incremental {
        node.namespace(plan.namespace).map_or(0, |ns| {
            (super::fill::node_len(plan.trace_type) as usize + ns.sclen(plan.trace_type) as usize) * 4 + 4
        })
    } else {
        0
    };
    if off < ins + extra || new_len - IPV6_HDR > 65535 {
        return out(Reason::DropNoRoom, 0, off, len);
    }
    let nb = off - ins;
    // The IPv6 header by value (a fixed 40-octet copy, no memmove of overlapping ranges).
    let ip6: [u8; IPV6_HDR] = match slot.get(off..).and_then(|p| p.first_chunk::<IPV6_HDR>()) {
        Some(h) => *h,
        None => return out(Reason::DropMalformedIpv6, 0, off, len),
    };
    let Some(head) = slot.get_mut(nb..nb + IPV6_HDR + h) else { return out(Reason::DropNoRoom, 0, off, len) };
    let (hdr, hbh) = head.split_at_mut(IPV6_HDR);
    hdr.copy_from_slice(&ip6);
    hbh.copy_from_slice(&plan.hbh);
    if inline {
        // ioam6_do_inline: IPv6 header down, HbH after it (its next header = the packet's).
        hbh[0] = ip6[6];
    } else {
        // ioam6_do_encap: outer = copy of inner, then HbH (nh 41), inner untouched at `off`.
        hbh[0] = NEXTHDR_IPV6;
        if plan.tunsrc != [0; 16] {
            hdr[8..24].copy_from_slice(&plan.tunsrc);
        }
        hdr[24..40].copy_from_slice(&plan.tundst);
    }
    let mut pos = Pos { off: nb, len: new_len, hbh_end: IPV6_HDR + h };
    let pkt = pos.pkt(slot);
    put(pkt, 6, NEXTHDR_HOP);
    put16(pkt, 4, (new_len - IPV6_HDR) as u16);
    let t = IPV6_HDR + ENCAP_TRACE_OFF;
    if plan.clt_legacy {
        let ids = clt.copied().unwrap_or_default();
        if let Some(d) = pkt.get_mut(t + TRACE_HDR..t + TRACE_HDR + 24) {
            d[..16].copy_from_slice(&ids.trace_id);
            d[16..].copy_from_slice(&ids.span_id);
        }
    }
    // ioam6_do_fill: only if the node knows the namespace; is_input = false.
    if let Some(ns) = node.namespace(be16(pkt, t)) {
        let hop_lim = at(pkt, 7);
        if plan.incremental {
            if let Err(r) = append_incremental(node, ns, slot, &mut pos, IPV6_HDR + 4, hop_lim, meta) {
                return out(r, 0, pos.off, pos.len);
            }
        } else {
            let hdr = if plan.clt_legacy { super::node::CLT_TRACE_HDR } else { TRACE_HDR };
            let end = IPV6_HDR + 6 + at(pkt, IPV6_HDR + 5) as usize;
            if let Some(trace) = pkt.get_mut(t..end) {
                let ctx = FillCtx { hop_lim, meta };
                match (plan.clt_oss_schema, clt.filter(|c| **c != CltIds::default())) {
                    // Signalled CLT encoding: own snapshot `[6][schema][trace ID][span ID]`.
                    (Some(sid), Some(ids)) => {
                        let mut oss = [0u8; CLT_OSS_LEN];
                        oss[..4].copy_from_slice(&((6u32 << 24) | (sid & 0x00FF_FFFF)).to_be_bytes());
                        oss[4..20].copy_from_slice(&ids.trace_id);
                        oss[20..].copy_from_slice(&ids.span_id);
                        fill_prealloc_snapshot(node, ns, trace, hdr, &ctx, &oss);
                    }
                    _ => {
                        fill_prealloc(node, ns, trace, hdr, &ctx);
                    }
                }
            }
        }
    }
    out(Reason::Encapsulated, (pos.len - len) as u32, pos.off, pos.len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;
    use crate::dataplane::transit::transit;

    fn alpha(mode: EncapMode, trace_type: u32, size: u16, profile: Profile) -> Node {
        Node::new(NodeConfig {
            profile,
            ioam6_id: 1,
            ioam6_id_wide: 11111111,
            interfaces: vec![
                InterfaceConfig { name: "veth0".into(), ioam6_enabled: false, ioam6_id: 101, ioam6_id_wide: 101101 },
                InterfaceConfig { name: "in".into(), ioam6_enabled: true, ioam6_id: 100, ioam6_id_wide: 100100 },
            ],
            namespaces: vec![NamespaceConfig { id: 123, data: Some(0xdeadbeef), wide: Some(0xcafec0caf00dc0de), schema: Some(777), clt_legacy: false }],
            schemas: vec![SchemaConfig { id: 777, data: b"something that will be 4n-aligned".to_vec() }],
            encap: Some(EncapConfig {
                mode,
                tunsrc: [0xfd, 0, 0, 0xaa, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50],
                tundst: [0xfd, 0, 0, 0xaa, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
                trace_type,
                namespace: 123,
                size,
                incremental: profile == Profile::Rfc,
                freq_k: 1,
                freq_n: 1,
                clt_legacy: false,
                clt_oss_schema: None,
            }),
        })
        .unwrap()
    }

    /// IPv6 UDP packet (no HbH) with 8 octets of payload, placed after 256 octets of headroom.
    fn udp() -> (Vec<u8>, usize, usize) {
        let mut p = vec![0u8; 48];
        p[0] = 0x60;
        p[1] = 0x01; // TC/flow label bits to be copied
        p[3] = 0x42;
        p[5] = 8;
        p[6] = 17;
        p[7] = 64;
        p[8] = 0xfd;
        p[23] = 1;
        p[24] = 0xfd;
        p[39] = 2;
        p[40..48].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut slot = vec![0u8; 256];
        slot.extend_from_slice(&p);
        (slot, 256, 48)
    }

    #[test]
    fn inline_selftest_bits0_1() {
        // ioam6.sh OUTPUT: 0xc00000, size 8 → alpha writes HL 64, 0xffff / 101.
        let n = alpha(EncapMode::Inline, 0xc00000, 8, Profile::Linux);
        let (mut slot, off, len) = udp();
        let meta = Meta { ingress_if: IF_NONE, egress_if: 0, queue_depth: 0, ..Default::default() };
        let o = encap(&n, &mut EncapState::default(), &mut slot, off, len, &meta, None);
        assert_eq!((o.reason, o.aux, o.len, o.off), (Reason::Encapsulated, 24, 72, 232));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!((p[4], p[5], p[6]), (0, 32, 0));
        assert_eq!(&p[40..64], &[17, 2, 1, 0, 0x31, 18, 0, 0, 0, 123, 2 << 3, 0, 0xc0, 0, 0, 0, 64, 0, 0, 1, 0xff, 0xff, 0, 101]);
        assert_eq!(&p[64..], &[1, 2, 3, 4, 5, 6, 7, 8]);
        // The HbH now exists: a second inline insert is skipped.
        let (off2, len2) = (o.off, o.len);
        let o2 = encap(&n, &mut EncapState::default(), &mut slot, off2, len2, &meta, None);
        assert_eq!(o2.reason, Reason::SkippedHbhExists);
    }

    #[test]
    fn encap_mode_outer_header_and_oss_with_size_mod_8_eq_4() {
        // bit 22 alone, 44 octets: OSS of alpha = 1 + 9 words = 40 octets, 4 left.
        let n = alpha(EncapMode::Encap, 0x000002, 44, Profile::Linux);
        let (mut slot, off, len) = udp();
        let orig = slot[off..off + len].to_vec();
        let meta = Meta { ingress_if: 1, egress_if: 0, ts_sec: 1, ..Default::default() };
        let o = encap(&n, &mut EncapState::default(), &mut slot, off, len, &meta, None);
        // 40 + 16 + ALIGN(44, 8) = 104 inserted.
        assert_eq!((o.reason, o.aux), (Reason::Encapsulated, 104));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!(&p[..4], &[0x60, 0x01, 0, 0x42]);
        assert_eq!((p[4], p[5], p[6], p[7]), (0, 112, 0, 64));
        assert_eq!(p[8], 0xfd);
        assert_eq!(p[23], 0x50);
        assert_eq!(p[39], 2);
        assert_eq!((p[40], p[41], p[44], p[45]), (41, 7, 0x31, 54));
        assert_eq!(p[51], 1, "RemLen 11 - 10");
        assert_eq!(&p[56 + 4..56 + 8], &[9, 0, 3, 9]);
        assert_eq!(&p[100..104], &[1, 2, 0, 0]);
        assert_eq!(&p[104..152], &orig[..]);
        // The result parses as a valid receive at the next node.
        let nxt = alpha(EncapMode::Encap, 0x000002, 44, Profile::Linux);
        let (ooff, olen) = (o.off, o.len);
        let r = transit(&nxt, &mut slot, ooff, olen, &Meta { ingress_if: 1, ..Default::default() });
        assert_eq!(r.reason, Reason::OverflowSet);
    }

    #[test]
    fn freq_auto_and_no_room() {
        let mut n = alpha(EncapMode::Auto, 0x800000, 4, Profile::Linux);
        if let Some(p) = n.encap.as_mut() {
            p.freq_k = 2;
            p.freq_n = 3;
        }
        let mut st = EncapState::default();
        let mut got = Vec::new();
        for _ in 0..6 {
            let (mut slot, off, len) = udp();
            got.push(encap(&n, &mut st, &mut slot, off, len, &Meta::default(), None).reason);
        }
        use Reason::*;
        assert_eq!(got, vec![Encapsulated, Encapsulated, SampledOut, Encapsulated, Encapsulated, SampledOut]);
        let mut st = EncapState::default();
        let (mut slot, off, len) = udp();
        let o = encap(&n, &mut st, &mut slot, off, len, &Meta { ingress_if: 1, ..Default::default() }, None);
        assert_eq!(o.aux, 40 + 24, "auto + forwarded → encap");
        let (mut slot, _, len) = udp();
        let o = encap(&n, &mut st, &mut slot[250..], 6, len, &Meta::default(), None);
        assert_eq!(o.reason, Reason::DropNoRoom);
    }

    #[test]
    fn clt_legacy_layout() {
        let mut c = alpha(EncapMode::Inline, 0x800000, 8, Profile::Linux).config().clone();
        if let Some(e) = c.encap.as_mut() {
            e.clt_legacy = true;
        }
        c.namespaces[0].clt_legacy = true;
        let n = Node::new(c).unwrap();
        let (mut slot, off, len) = udp();
        let ids = CltIds { trace_id: [0xAB; 16], span_id: [0xCD; 8] };
        let o = encap(&n, &mut EncapState::default(), &mut slot, off, len, &Meta::default(), Some(&ids));
        // 8 + 32 + 8 = 48 inserted, opt_len 42, node data after the IDs.
        assert_eq!(o.aux, 48);
        let p = &slot[o.off..o.off + o.len];
        assert_eq!((p[41], p[45]), (5, 42));
        assert_eq!(&p[56..72], &[0xAB; 16]);
        assert_eq!(&p[72..80], &[0xCD; 8]);
        assert_eq!(p[51], 1);
        assert_eq!(&p[84..88], &[64, 0, 0, 1]);
        // A CLT-patched transit node reads the 32-octet header and writes after the IDs.
        let (ooff, olen) = (o.off, o.len);
        let r = transit(&n, &mut slot, ooff, olen, &Meta { ingress_if: 1, egress_if: 0, ..Default::default() });
        assert_eq!(r.reason, Reason::Written);
        let p = &slot[r.off..r.off + r.len];
        assert_eq!((p[51], &p[80..84]), (0, &[63u8, 0, 0, 1][..]));
        assert_eq!(&p[56..72], &[0xAB; 16]);
        // An unpatched node (namespace without clt_legacy) sees only 8 octets of data space
        // beyond the 8-octet header: RemLen 1 fits there, so it writes inside the ID block.
        let mut c2 = n.config().clone();
        c2.namespaces[0].clt_legacy = false;
        c2.encap = None;
        let plain = Node::new(c2).unwrap();
        let mut s2 = slot.clone();
        let mut p2 = s2[r.off..r.off + r.len].to_vec();
        p2[51] = 1;
        s2[r.off..r.off + r.len].copy_from_slice(&p2);
        let r2 = transit(&plain, &mut s2, r.off, r.len, &Meta { ingress_if: 1, egress_if: 0, ..Default::default() });
        assert_eq!(r2.reason, Reason::Written);
        assert_eq!(&s2[r.off + 56..r.off + 60], &[63, 0, 0, 1]);
    }

    #[test]
    fn clt_oss_signalled_snapshot() {
        // Encapsulator: bit 0 + bit 22, own snapshot [6][0x00C17D][trace ID][span ID] = 28 octets.
        let mut c = alpha(EncapMode::Inline, 0x800002, 40, Profile::Linux).config().clone();
        if let Some(e) = c.encap.as_mut() {
            e.clt_oss_schema = Some(CLT_OSS_SCHEMA);
        }
        let n = Node::new(c.clone()).unwrap();
        let ids = CltIds { trace_id: [0xAB; 16], span_id: [0xCD; 8] };
        let (mut slot, off, len) = udp();
        let o = encap(&n, &mut EncapState::default(), &mut slot, off, len, &Meta::default(), Some(&ids));
        // HbH 8 + trace header 8 + 40: same size as without CLT (the IDs use pre-allocated space).
        assert_eq!((o.reason, o.aux), (Reason::Encapsulated, 56));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!((p[45], p[50] >> 3, p[51]), (50, 1, 2), "opt len, NodeLen 1, RemLen 10 - 8");
        let elem = &p[56 + 8..56 + 40];
        assert_eq!(&elem[..8], &[64, 0, 0, 1, 6, 0x00, 0xC1, 0x7D]);
        assert_eq!((&elem[8..24], &elem[24..32]), (&[0xAB; 16][..], &[0xCD; 8][..]));
        // An unmodified transit node without a schema: NodeLen + `00 FF FF FF`, before it.
        let mut t = c.clone();
        t.encap = None;
        t.namespaces[0].schema = None;
        t.schemas.clear();
        t.ioam6_id = 2;
        let tn = Node::new(t).unwrap();
        let (ooff, olen) = (o.off, o.len);
        let r = transit(&tn, &mut slot, ooff, olen, &Meta { ingress_if: 1, egress_if: 0, ..Default::default() });
        assert_eq!(r.reason, Reason::Written);
        let p = &slot[r.off..r.off + r.len];
        assert_eq!((p[51], &p[56..64]), (0, &[63u8, 0, 0, 2, 0, 0xFF, 0xFF, 0xFF][..]));
        assert_eq!(&p[64 + 8..64 + 24], &[0xAB; 16], "IDs untouched");
        // No IDs, or all-zero IDs (invalid W3C trace ID): the namespace's static schema, as Linux
        // (here 4 + 36 octets + NodeLen 1 > 40 → Overflow).
        for ids in [None, Some(CltIds::default())] {
            let (mut slot, off, len) = udp();
            let o = encap(&n, &mut EncapState::default(), &mut slot, off, len, &Meta::default(), ids.as_ref());
            let p = &slot[o.off..o.off + o.len];
            assert_eq!((o.reason, p[50] & 0x04, p[51]), (Reason::Encapsulated, 0x04, 10));
        }
        // Bit 22 clear: nothing CLT-specific is written.
        let mut c3 = c.clone();
        if let Some(e) = c3.encap.as_mut() {
            e.trace_type = 0x800000;
        }
        let n3 = Node::new(c3).unwrap();
        let (mut slot, off, len) = udp();
        let o = encap(&n3, &mut EncapState::default(), &mut slot, off, len, &Meta::default(), Some(&ids));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!((p[51], &p[92..96]), (9, &[64u8, 0, 0, 1][..]));
        assert!(!p.windows(4).any(|w| w == [0xAB; 4]));
    }

    #[test]
    fn clt_oss_config_checks() {
        let base = alpha(EncapMode::Inline, 0x800002, 40, Profile::Linux).config().clone();
        let with = |f: &dyn Fn(&mut EncapConfig)| {
            let mut c = base.clone();
            f(c.encap.as_mut().unwrap());
            Node::new(c).map(|_| ())
        };
        assert!(with(&|e| e.clt_oss_schema = Some(CLT_OSS_SCHEMA)).is_ok());
        assert!(with(&|e| e.clt_oss_schema = Some(0x0100_0000)).is_err());
        assert!(with(&|e| {
            e.clt_oss_schema = Some(CLT_OSS_SCHEMA);
            e.clt_legacy = true;
        })
        .is_err());
    }

    #[test]
    fn incremental_rfc_encap() {
        let n = alpha(EncapMode::Inline, 0xc00000, 40, Profile::Rfc);
        let (mut slot, off, len) = udp();
        let meta = Meta { egress_if: 0, ..Default::default() };
        let o = encap(&n, &mut EncapState::default(), &mut slot, off, len, &meta, None);
        assert_eq!((o.reason, o.aux), (Reason::Encapsulated, 24));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!(&p[40..64], &[17, 2, 1, 0, 0x31, 18, 0, 1, 0, 123, 2 << 3, 8, 0xc0, 0, 0, 0, 64, 0, 0, 1, 0xff, 0xff, 0, 101]);
    }

    /// Octets after `40 + Payload Length` (Ethernet padding) are not payload: trimmed in every
    /// mode, so decapsulating gives the packet back; a Payload Length past the end drops it.
    #[test]
    fn trailing_octets_trimmed_and_truncated_dropped() {
        for mode in [EncapMode::Inline, EncapMode::Encap] {
            let n = alpha(mode, 0xc00000, 8, Profile::Linux);
            let (mut slot, off, len) = udp();
            slot.extend_from_slice(&[0xee; 6]);
            let meta = Meta { ingress_if: IF_NONE, egress_if: 0, ..Default::default() };
            let o = encap(&n, &mut EncapState::default(), &mut slot, off, len + 6, &meta, None);
            let ins = if mode == EncapMode::Inline { 24 } else { 64 };
            assert_eq!((o.reason, o.aux, o.len), (Reason::Encapsulated, ins, len + ins as usize), "{mode:?}");
            assert_eq!(u16::from_be_bytes([slot[o.off + 4], slot[o.off + 5]]) as usize, o.len - 40);
            // Payload Length 8 with only 7 octets of payload: dropped, nothing written, no count.
            let (mut slot, off, len) = udp();
            let before = slot.clone();
            let mut st = EncapState::default();
            let o = encap(&n, &mut st, &mut slot, off, len - 1, &meta, None);
            assert_eq!((o.reason, o.offset, o.off, o.len), (Reason::DropMalformedIpv6, 4, off, len - 1));
            assert_eq!((slot, st.count), (before, 0));
        }
    }

    /// The inline fast path gives the general path's bytes, outcome and k-of-n count, for the
    /// configurations it takes and those it leaves (modes, k/n, types, sizes, unknown
    /// namespace) and for mutated packets.
    #[test]
    fn fast_path_equals_the_general_encap() {
        let mut seed = 0x0DDB_1A5E_5BAD_5EEDu64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut fast = 0;
        for round in 0..4000 {
            let mode = [EncapMode::Inline, EncapMode::Inline, EncapMode::Auto, EncapMode::Encap][(rnd() % 4) as usize];
            let ty = [0x800000u32, 0xf00000, 0xfff002, 0xc00002][(rnd() % 4) as usize];
            let size = [8u16, 12, 16, 64, 244][(rnd() % 5) as usize];
            let mut cfg = alpha(mode, ty, size, Profile::Linux).config().clone();
            if let Some(e) = cfg.encap.as_mut() {
                if rnd() % 4 == 0 {
                    e.freq_k = 1;
                    e.freq_n = 3;
                }
                if rnd() % 8 == 0 {
                    e.namespace = 77; // not configured on this node
                }
            }
            let Ok(n) = Node::new(cfg) else { continue };
            let (mut a, off, len) = udp();
            for _ in 0..rnd() % 3 {
                let at = off + (rnd() % 48) as usize;
                a[at] = [0u8, 0x60, 0x40, 17, 0xff, rnd() as u8][(rnd() % 6) as usize];
            }
            let off = if rnd() % 6 == 0 { (rnd() % 64) as usize } else { off };
            let mut b = a.clone();
            let meta = Meta { ingress_if: [IF_NONE, 0, 1][(rnd() % 3) as usize], egress_if: 0, ..Default::default() };
            let count = rnd() % 7;
            let (mut sa, mut sb) = (EncapState { count }, EncapState { count });
            let x = encap(&n, &mut sa, &mut a, off, len, &meta, None);
            let y = match ipv6_len(&b, off, len) {
                Ok(l) => encap_general(&n, &mut sb, &mut b, off, l, &meta, None),
                Err(o) => o,
            };
            assert_eq!(x, y, "round {round}");
            assert_eq!(a, b, "round {round}");
            assert_eq!(sa.count, sb.count, "round {round}");
            fast += usize::from(x.reason == Reason::Encapsulated && mode != EncapMode::Encap);
        }
        assert!(fast > 500, "encapsulated inline {fast} times");
    }
}
