//! Transit / receiving node: Linux `ip6_rcv_core` (header checks) → `ipv6_parse_hopopts` →
//! `ip6_parse_tlv` → `ipv6_hop_ioam` (net/ipv6/exthdrs.c, 6.18 + 6db8b56eed62), with its own
//! byte walker (no dependency on `wire`).
//!
//! Decisions, in Linux order:
//! * IPv6 header: fewer than 40 octets or version ≠ 6 → `DropMalformedIpv6` (offset 0).
//!   Payload Length: if it is non-zero or the next header is not Hop-by-Hop, `40 + plen` must
//!   not exceed the packet (else `DropMalformedIpv6`, offset 4, Linux `PKT_TOO_SMALL`); extra
//!   trailing octets are trimmed as `pskb_trim_rcsum` does: the outcome's `len` is `40 + plen`.
//!   Payload Length 0 with a Hop-by-Hop header is a jumbogram candidate: the whole buffer is
//!   used until a Jumbo option trims it. Other `ip6_rcv_core` checks (multicast source, loopback
//!   addresses) are not modelled.
//! * No Hop-by-Hop header → `NoIoam` (the Destination Options header never gets IOAM processing).
//! * Hop-by-Hop: needs 8 octets and `(HdrExtLen+1)×8` within the packet, else `DropHbhMalformed`.
//! * TLV walk (`ip6_parse_tlv`, max_hbh_opts_cnt = 8, unknowns allowed): a Pad1/PadN run longer
//!   than 7 octets, a non-zero PadN octet, an option overrunning the header, a 9th non-pad
//!   option, a Router Alert whose length ≠ 2, a bad Jumbo option, or a CALIPSO option (no DOI
//!   configured; the capture kernel has CONFIG_NETLABEL=y, so `calipso_validate` needs one) →
//!   `DropHbhMalformed`; an unknown
//!   option with action bits 01/10/11 → `DropUnknownOption`.
//! * Each IOAM option (0x31), `ipv6_hop_ioam`'s ordered checks: misaligned (offset from the
//!   IPv6 header not 4n) → `DropMisaligned`, first and always; ingress interface disabled (or
//!   none) → `IgnoredDisabled`; Opt Data Len < 2 → `DropOptLenShort`; IOAM Option-Type ≠ 0 →
//!   `IgnoredOptionType` (rfc: 1 = Incremental append, 4 = DEX → `ExportRequested`); Opt Data
//!   Len < 10 (34 for a CLT legacy namespace) → `DropTraceTruncated`; < 10 + 4×RemainingLen →
//!   `DropRemainingLen`; NodeLen ≠ computed → `DropNodeLen`; unknown namespace →
//!   `IgnoredNamespace`; then the fill: O set → `OverflowPreset`; no room → `OverflowSet`;
//!   else `Written`.
//!
//! Fills done before a later drop stay in the bytes (Linux modifies the header in place).
//! Outcome: the first drop, else the reason of the last IOAM option met, offset = that
//! option's offset from the IPv6 header, aux = number of IOAM options met (each counted,
//! including ignored ones) | [`OUT_F_LOOPBACK`] (rfc profile: a processed trace had L set).
use super::fill::{fill_element, fill_prealloc, node_len, th, FillCtx};
use super::node::{Node, NsEntry, CLT_TRACE_HDR, TRACE_HDR};
use super::{Meta, Outcome, Reason, OUT_F_LOOPBACK};
use crate::config::Profile;

/// IPv6 fixed header length.
pub const IPV6_HDR: usize = 40;
/// Next Header values.
pub const NEXTHDR_HOP: u8 = 0;
pub const NEXTHDR_IPV6: u8 = 41;
/// Option types (include/uapi/linux/in6.h).
pub const OPT_PAD1: u8 = 0;
pub const OPT_PADN: u8 = 1;
pub const OPT_ROUTERALERT: u8 = 0x05;
pub const OPT_CALIPSO: u8 = 0x07;
pub const OPT_JUMBO: u8 = 0xC2;
pub const OPT_IOAM: u8 = 0x31;
/// `IP6_DEFAULT_MAX_HBH_OPTS_CNT`.
pub const MAX_HBH_OPTS: usize = 8;
/// `IPV6_MAXPLEN`.
const IPV6_MAXPLEN: u32 = 65535;

/// IOAM Option-Types (RFC 9197 §4.1, RFC 9326).
pub const IOAM_PREALLOC: u8 = 0;
pub const IOAM_INCREMENTAL: u8 = 1;
pub const IOAM_DEX: u8 = 4;

#[inline]
pub(crate) fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

#[inline]
pub(crate) fn be16(p: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([at(p, i), at(p, i + 1)])
}

#[inline]
pub(crate) fn be32(p: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([at(p, i), at(p, i + 1), at(p, i + 2), at(p, i + 3)])
}

#[inline]
pub(crate) fn put(p: &mut [u8], i: usize, v: u8) {
    if let Some(b) = p.get_mut(i) {
        *b = v;
    }
}

#[inline]
pub(crate) fn put16(p: &mut [u8], i: usize, v: u16) {
    if let Some(b) = p.get_mut(i..i + 2) {
        b.copy_from_slice(&v.to_be_bytes());
    }
}

/// Where the packet is in its slot while it is being worked on (insertions move it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pos {
    pub off: usize,
    pub len: usize,
    /// End of the Hop-by-Hop header, from the IPv6 header start.
    pub hbh_end: usize,
}

impl Pos {
    #[inline]
    pub fn pkt<'a>(&self, slot: &'a mut [u8]) -> &'a mut [u8] {
        let end = self.off.saturating_add(self.len);
        slot.get_mut(self.off..end).unwrap_or(&mut [])
    }
}

/// The Hop-by-Hop header's octets (from the IPv6 header start to `hbh_end`), for the TLV walk.
#[inline]
fn hbh_view<'a>(slot: &'a [u8], pos: &Pos) -> &'a [u8] {
    slot.get(pos.off..).and_then(|p| p.get(..pos.hbh_end)).unwrap_or(&[])
}

/// Result of one IOAM option.
struct OptOut {
    reason: Reason,
    loopback: bool,
}

impl From<Reason> for OptOut {
    fn from(reason: Reason) -> Self {
        OptOut { reason, loopback: false }
    }
}

fn out(reason: Reason, offset: usize, aux: u32, off: usize, len: usize) -> Outcome {
    Outcome { reason, offset: offset as u32, aux, off, len }
}

/// Processes every IOAM option of the packet's Hop-by-Hop header as the node would on input.
/// `slot[off..off+len]` is the packet (IPv6 header first).
/// The Linux-built layout takes an inlined fast path ([`linux_prealloc_fast`]); everything
/// else the general walk, kept out of line so the hot loop stays small.
#[inline]
pub fn transit(node: &Node, slot: &mut [u8], off: usize, len: usize, meta: &Meta) -> Outcome {
    match off.checked_add(len) {
        Some(e) if e <= slot.len() => {}
        _ => return out(Reason::DropBadDescriptor, 0, 0, off, len),
    }
    if let Some(o) = slot.get_mut(off..off + len).and_then(|pkt| linux_prealloc_fast(node, pkt, meta)) {
        return Outcome { off, ..o };
    }
    transit_general(node, slot, off, len, meta)
}

/// [`transit`] for any layout (`off + len <= slot.len()` checked by the caller).
#[inline(never)]
fn transit_general(node: &Node, slot: &mut [u8], off: usize, len: usize, meta: &Meta) -> Outcome {
    let pkt = Pos { off, len, hbh_end: 0 }.pkt(slot);
    if pkt.len() < IPV6_HDR || at(pkt, 0) >> 4 != 6 {
        return out(Reason::DropMalformedIpv6, 0, 0, off, len);
    }
    let plen = be16(pkt, 4) as usize;
    let nh = at(pkt, 6);
    let mut eff = len;
    if plen != 0 || nh != NEXTHDR_HOP {
        // ip6_rcv_core: truncated → drop; longer → pskb_trim_rcsum.
        if IPV6_HDR + plen > len {
            return out(Reason::DropMalformedIpv6, 4, 0, off, len);
        }
        eff = IPV6_HDR + plen;
    }
    if nh != NEXTHDR_HOP {
        return out(Reason::NoIoam, 0, 0, off, eff);
    }
    // ipv6_parse_hopopts: pskb_may_pull(40 + 8) and the whole header.
    if eff < IPV6_HDR + 8 {
        return out(Reason::DropHbhMalformed, IPV6_HDR, 0, off, eff);
    }
    let hbh_len = (at(pkt, IPV6_HDR + 1) as usize + 1) * 8;
    if IPV6_HDR + hbh_len > eff {
        return out(Reason::DropHbhMalformed, IPV6_HDR + 1, 0, off, eff);
    }
    let mut pos = Pos { off, len: eff, hbh_end: IPV6_HDR + hbh_len };
    let rfc = node.profile == Profile::Rfc;
    // Hop_Lim written by a receiving node: the IPv6 Hop Limit − 1 (u8 wrap); no option moves it.
    let hop_lim = at(pkt, 7).wrapping_sub(1);

    // ip6_parse_tlv
    let mut o = IPV6_HDR + 2;
    let mut padlen = 0usize;
    let mut tlv_count = 0usize;
    let mut n_ioam = 0u32;
    let mut last = (Reason::NoIoam, 0usize);
    let mut loopback = false;
    macro_rules! drop_at {
        ($r:expr, $at:expr) => {
            return out($r, $at, 0, pos.off, pos.len)
        };
    }
    // The header's octets, re-derived only after an IOAM option (an Incremental append moves
    // the packet); `hbh.len() == pos.hbh_end` (checked above: hbh_end <= eff <= the packet).
    let mut hbh: &[u8] = hbh_view(slot, &pos);
    while o < hbh.len() {
        let Some(&t) = hbh.get(o) else { break };
        if t == OPT_PAD1 {
            padlen += 1;
            if padlen > 7 {
                drop_at!(Reason::DropHbhMalformed, o);
            }
            o += 1;
            continue;
        }
        let rest = hbh.len() - o;
        if rest < 2 {
            drop_at!(Reason::DropHbhMalformed, o);
        }
        let mut optlen = at(hbh, o + 1) as usize + 2;
        if optlen > rest {
            drop_at!(Reason::DropHbhMalformed, o);
        }
        if t == OPT_PADN {
            // RFC 4942 §2.1.9.5: at most 7 octets of padding, PadN payload all zero.
            padlen += optlen;
            if padlen > 7 {
                drop_at!(Reason::DropHbhMalformed, o);
            }
            if hbh.get(o + 2..o + optlen).is_some_and(|b| b.iter().any(|&x| x != 0)) {
                drop_at!(Reason::DropHbhMalformed, o);
            }
        } else {
            tlv_count += 1;
            if tlv_count > MAX_HBH_OPTS {
                drop_at!(Reason::DropHbhMalformed, o);
            }
            match t {
                OPT_ROUTERALERT => {
                    // ipv6_hop_ra
                    if at(hbh, o + 1) != 2 {
                        drop_at!(Reason::DropHbhMalformed, o);
                    }
                }
                OPT_IOAM => {
                    n_ioam += 1;
                    match hop_ioam(node, slot, &mut pos, o, optlen, meta, rfc, hop_lim) {
                        Ok(r) => {
                            last = (r.reason, o);
                            loopback |= r.loopback;
                        }
                        Err(r) => drop_at!(r, o),
                    }
                    // An Incremental trace may have grown (and the packet moved).
                    hbh = hbh_view(slot, &pos);
                    optlen = at(hbh, o + 1) as usize + 2;
                }
                OPT_JUMBO => {
                    // ipv6_hop_jumbo
                    let pkt_len = be32(hbh, o + 2);
                    if at(hbh, o + 1) != 4 || (o & 3) != 2 || pkt_len <= IPV6_MAXPLEN || plen != 0 {
                        drop_at!(Reason::DropHbhMalformed, o);
                    }
                    if pkt_len as usize > pos.len - IPV6_HDR {
                        drop_at!(Reason::DropMalformedIpv6, o);
                    }
                    pos.len = pkt_len as usize + IPV6_HDR;
                }
                OPT_CALIPSO => {
                    // ipv6_hop_calipso: length checks, then calipso_validate needs a configured DOI.
                    drop_at!(Reason::DropHbhMalformed, o);
                }
                _ => {
                    // ip6_tlvopt_unknown: action bits 00 skip, else drop (ICMP or not).
                    if t >> 6 != 0 {
                        drop_at!(Reason::DropUnknownOption, o);
                    }
                }
            }
            padlen = 0;
        }
        o += optlen;
    }
    let aux = n_ioam | if loopback { OUT_F_LOOPBACK } else { 0 };
    out(last.0, last.1, aux, pos.off, pos.len)
}

/// Fast path for the header Linux's encapsulating node builds (`ioam6_build_state`): Payload
/// Length ≠ 0, PadN 0, one Pre-allocated IOAM option at 44 running to the end of the Hop-by-Hop
/// header or followed by a PadN 2 (`01 02 00 00`), a configured (non-CLT) namespace, a trace
/// with room for this node's element. For this layout the TLV walk cannot drop (pad runs of 2
/// and 4, one non-pad option, nothing overruns) and every `ipv6_hop_ioam` check passes, so the
/// outcome is exactly the general path's: `Written` at offset 44, aux 1 (| loopback), the
/// packet trimmed to 40 + Payload Length. Anything else returns `None` before writing a byte,
/// and the general path decides. `pkt` is the packet (IPv6 header first); the outcome's `off`
/// is 0 (the caller adds its own).
#[inline(always)]
pub(crate) fn linux_prealloc_fast(node: &Node, pkt: &mut [u8], meta: &Meta) -> Option<Outcome> {
    let len = pkt.len();
    let head = pkt.first_chunk::<{ IPV6_HDR + 16 }>()?;
    let w0 = u64::from_be_bytes(*head.first_chunk::<8>()?);
    // Version 6, Next Header 0 (Hop-by-Hop), Payload Length ≠ 0 (0 is a jumbogram candidate).
    let plen = ((w0 >> 16) & 0xFFFF) as usize;
    if w0 >> 60 != 6 || (w0 >> 8) & 0xFF != NEXTHDR_HOP as u64 || plen == 0 {
        return None;
    }
    let eff = IPV6_HDR + plen;
    // [nh][HdrExtLen][01 00][31][Opt Data Len][reserved][IOAM Option-Type 0].
    let (_, rest) = head.split_first_chunk::<IPV6_HDR>()?;
    let (hbh, trace) = rest.split_first_chunk::<8>()?;
    let w5 = u64::from_be_bytes(*hbh);
    if w5 & 0x0000_FFFF_FF00_00FF != 0x0000_0100_3100_0000 || eff > len {
        return None;
    }
    let hbh_end = IPV6_HDR + ((w5 >> 48) as u8 as usize + 1) * 8;
    let opt_len = (w5 >> 16) as u8 as usize; // Opt Data Len
    let opt_end = IPV6_HDR + 6 + opt_len;
    if hbh_end > eff || opt_len < 2 + TRACE_HDR {
        return None;
    }
    if opt_end != hbh_end && !(opt_end + 4 == hbh_end && pkt.get(opt_end..hbh_end) == Some(&[OPT_PADN, 2, 0, 0][..])) {
        return None;
    }
    if !node.iface(meta.ingress_if).enabled {
        return None;
    }
    let h = *trace.first_chunk::<TRACE_HDR>()?;
    let ns = node.namespace(u16::from_be_bytes([h[0], h[1]]))?;
    let ty = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    let nodelen = h[2] >> th::NODELEN_SHIFT;
    let remlen = (h[3] & th::REMLEN_MASK) as usize;
    let need = nodelen as usize + ns.sclen(ty) as usize;
    if ns.clt_legacy || h[2] & th::O != 0 || opt_len < 2 + TRACE_HDR + remlen * 4 || nodelen != node_len(ty) || remlen == 0 || remlen < need {
        return None;
    }
    // The element at data + (RemainingLen − need)×4, inside the option (checked above).
    const T: usize = IPV6_HDR + 8; // trace header (Namespace-ID)
    let start = T + TRACE_HDR + (remlen - need) * 4;
    let elem = pkt.get_mut(start..start + need * 4)?;
    let hop_lim = ((w0 & 0xFF) as u8).wrapping_sub(1);
    fill_element(node, ns, ty, &FillCtx { hop_lim, meta }, elem);
    put(pkt, T + 3, (h[3] & !th::REMLEN_MASK) | (remlen - need) as u8);
    let loopback = node.profile == Profile::Rfc && h[2] & th::L != 0;
    Some(out(Reason::Written, IPV6_HDR + 4, 1 | if loopback { OUT_F_LOOPBACK } else { 0 }, 0, eff))
}

/// `ipv6_hop_ioam` for the option at packet offset `o`, `optlen` octets long (the walk checked
/// that it fits in the header). Ordered checks: misaligned → drop (first, always); ingress
/// disabled → ignore; Opt Data Len < 2 → drop; Option-Type ≠ 0 → ignore (linux; rfc also
/// handles 1 and 4); trace header truncated → drop; RemainingLen beyond the option → drop;
/// NodeLen ≠ computed → drop; unknown namespace → ignore; then `ioam6_fill_trace_data`
/// (is_input = true). `hop_lim` is the packet's Hop Limit − 1.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn hop_ioam(node: &Node, slot: &mut [u8], pos: &mut Pos, o: usize, optlen: usize, meta: &Meta, rfc: bool, hop_lim: u8) -> Result<OptOut, Reason> {
    if o & 3 != 0 {
        return Err(Reason::DropMisaligned);
    }
    if !node.iface(meta.ingress_if).enabled {
        return Ok(Reason::IgnoredDisabled.into());
    }
    // Opt Data Len.
    let opt_len = optlen.wrapping_sub(2);
    if opt_len < 2 {
        return Err(Reason::DropOptLenShort);
    }
    // The option's octets (type, length, reserved, IOAM Option-Type, data), sliced once.
    let start = pos.off + o;
    let Some(opt) = slot.get_mut(start..start + optlen) else { return Err(Reason::DropHbhMalformed) };
    let Some(&[_, _, _, ioam_type]) = opt.first_chunk::<4>() else { return Err(Reason::DropOptLenShort) };
    match ioam_type {
        IOAM_PREALLOC => prealloc(node, opt, opt_len, meta, rfc, hop_lim),
        IOAM_INCREMENTAL if rfc => {
            if opt_len < 2 + TRACE_HDR {
                return Err(Reason::DropTraceTruncated);
            }
            let pkt = pos.pkt(slot);
            let t = o + 4;
            if at(pkt, t + 2) >> th::NODELEN_SHIFT != node_len(be32(pkt, t + 4) >> 8) {
                return Err(Reason::DropNodeLen);
            }
            let Some(ns) = node.namespace(be16(pkt, t)) else { return Ok(Reason::IgnoredNamespace.into()) };
            let loopback = at(pkt, t + 2) & th::L != 0;
            let reason = append_incremental(node, ns, slot, pos, o, hop_lim, meta)?;
            Ok(OptOut { reason, loopback })
        }
        IOAM_DEX if rfc => {
            // RFC 9326 §3.2: Namespace-ID, Flags, Extension-Flags, Trace-Type, Reserved, then
            // Flow ID (ext bit 0) and Sequence Number (ext bit 1), 4 octets each.
            let ext = at(opt, 7);
            if opt_len < 2 + 8 + 4 * (ext & 0xC0).count_ones() as usize {
                return Err(Reason::DropTraceTruncated);
            }
            if node.namespace(be16(opt, 4)).is_none() {
                return Ok(Reason::IgnoredNamespace.into());
            }
            Ok(Reason::ExportRequested.into())
        }
        _ => Ok(Reason::IgnoredOptionType.into()),
    }
}

/// The Pre-allocated part of `ipv6_hop_ioam` on the option's octets `opt` (Opt Data Len
/// `opt_len` = `opt.len() − 2` ≥ 2): trace header truncated → drop; RemainingLen beyond the
/// option → drop; NodeLen ≠ computed → drop; unknown namespace → ignore; then the fill.
#[inline(always)]
fn prealloc(node: &Node, opt: &mut [u8], opt_len: usize, meta: &Meta, rfc: bool, hop_lim: u8) -> Result<OptOut, Reason> {
    if opt_len < 2 + TRACE_HDR {
        return Err(Reason::DropTraceTruncated);
    }
    let Some(trace) = opt.get_mut(4..) else { return Err(Reason::DropTraceTruncated) };
    let Some(&h) = trace.first_chunk::<TRACE_HDR>() else { return Err(Reason::DropTraceTruncated) };
    let ns = node.namespace(u16::from_be_bytes([h[0], h[1]]));
    let hdr = if ns.is_some_and(|n| n.clt_legacy) { CLT_TRACE_HDR } else { TRACE_HDR };
    if opt_len < 2 + hdr {
        return Err(Reason::DropTraceTruncated);
    }
    let remlen = (h[3] & th::REMLEN_MASK) as usize;
    if opt_len < 2 + hdr + remlen * 4 {
        return Err(Reason::DropRemainingLen);
    }
    if h[2] >> th::NODELEN_SHIFT != node_len(u32::from_be_bytes([0, h[4], h[5], h[6]])) {
        return Err(Reason::DropNodeLen);
    }
    let Some(ns) = ns else { return Ok(Reason::IgnoredNamespace.into()) };
    let loopback = rfc && h[2] & th::L != 0;
    Ok(OptOut { reason: fill_prealloc(node, ns, trace, hdr, &FillCtx { hop_lim, meta }), loopback })
}

/// Appends this node's element to the Incremental trace at packet offset `o` (RFC 9197
/// §4.4.1: inserted right after the trace header, the option grows, RemainingLen is the
/// remaining budget). O set → nothing; budget short, Opt Data Len > 255, Hop-by-Hop > 2048 or
/// Payload Length > 65535 (or a jumbogram) → set O. Not enough headroom → `DropNoRoom`.
pub(crate) fn append_incremental(
    node: &Node,
    ns: &NsEntry,
    slot: &mut [u8],
    pos: &mut Pos,
    o: usize,
    hop_lim: u8,
    meta: &Meta,
) -> Result<Reason, Reason> {
    let t = o + 4;
    let pkt = pos.pkt(slot);
    let b2 = at(pkt, t + 2);
    let b3 = at(pkt, t + 3);
    if b2 & th::O != 0 {
        return Ok(Reason::OverflowPreset);
    }
    let ty = be32(pkt, t + 4) >> 8;
    let need = (b2 >> th::NODELEN_SHIFT) as usize + ns.sclen(ty) as usize;
    let remlen = (b3 & th::REMLEN_MASK) as usize;
    let g = need * 4;
    let set_o = |slot: &mut [u8], pos: &Pos| {
        put(pos.pkt(slot), t + 2, b2 | th::O);
        Ok(Reason::OverflowSet)
    };
    if remlen < need || at(pkt, o + 1) as usize + g > 255 {
        return set_o(slot, pos);
    }
    if g == 0 {
        return Ok(Reason::Appended);
    }
    if !grow_hbh(slot, pos, t + TRACE_HDR, g)? {
        return set_o(slot, pos);
    }
    let pkt = pos.pkt(slot);
    let ctx = FillCtx { hop_lim, meta };
    if let Some(elem) = pkt.get_mut(t + TRACE_HDR..t + TRACE_HDR + g) {
        fill_element(node, ns, ty, &ctx, elem);
    }
    put(pkt, o + 1, at(pkt, o + 1).wrapping_add(g as u8));
    put(pkt, t + 3, (b3 & !th::REMLEN_MASK) | ((remlen - need) as u8 & th::REMLEN_MASK));
    Ok(Reason::Appended)
}

/// Inserts `g` octets (a multiple of 4) at packet offset `ins` inside the Hop-by-Hop header and
/// keeps the header 8n long by shrinking or growing its trailing padding by 4. The IPv6 header
/// and the Hop-by-Hop part before `ins` move down into the headroom; the payload never moves.
/// Updates HdrExtLen and Payload Length. Returns `Ok(false)` (nothing changed) when a length
/// field cannot hold the result, `Err(DropNoRoom)` when the headroom is too small.
pub(crate) fn grow_hbh(slot: &mut [u8], pos: &mut Pos, ins: usize, g: usize) -> Result<bool, Reason> {
    let pkt = pos.pkt(slot);
    let end = pos.hbh_end;
    // Start of the trailing run of padding (after the last non-pad option).
    let mut q = IPV6_HDR + 2;
    let mut last_end = IPV6_HDR + 2;
    let mut clean = true;
    while q < end {
        let ty = at(pkt, q);
        if ty == OPT_PAD1 {
            q += 1;
            continue;
        }
        let l = at(pkt, q + 1) as usize + 2;
        if q + 1 >= end || q + l > end {
            clean = false;
            break;
        }
        if ty != OPT_PADN {
            last_end = q + l;
        }
        q += l;
    }
    if !clean || last_end < ins {
        last_end = end;
    }
    let p = end - last_end;
    let p2 = if g.is_multiple_of(8) {
        p
    } else if p >= 4 {
        p - 4
    } else {
        p + 4
    };
    let s = g + p2 - p; // g >= 4 and p2 >= p - 4: never negative
    let new_hbh = end - IPV6_HDR + s;
    let plen = be16(pkt, 4) as usize;
    if new_hbh > 2048 || plen == 0 || plen + s > 65535 {
        return Ok(false);
    }
    if pos.off < s {
        return Err(Reason::DropNoRoom);
    }
    let base = pos.off;
    let nb = base - s;
    // Head (IPv6 header + HbH up to `ins`) down by s; tail options (up to the trailing pad)
    // to just after the new element; then the element space and the new trailing pad.
    slot.copy_within(base..base + ins, nb);
    slot.copy_within(base + ins..base + last_end, nb + ins + g);
    if let Some(e) = slot.get_mut(nb + ins..nb + ins + g) {
        e.fill(0);
    }
    let pad_at = base + end - p2;
    if let Some(padr) = slot.get_mut(pad_at..base + end) {
        padr.fill(0);
        if p2 >= 2 {
            padr[0] = OPT_PADN;
            padr[1] = (p2 - 2) as u8;
        }
    }
    pos.off = nb;
    pos.len += s;
    pos.hbh_end += s;
    let pkt = pos.pkt(slot);
    put(pkt, IPV6_HDR + 1, (new_hbh / 8 - 1) as u8);
    put16(pkt, 4, (plen + s) as u16);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn r1(profile: Profile) -> Node {
        Node::new(NodeConfig {
            profile,
            ioam6_id: 1,
            ioam6_id_wide: 0x11111111111111,
            interfaces: vec![
                InterfaceConfig { name: "r1-h1".into(), ioam6_enabled: true, ioam6_id: 101, ioam6_id_wide: 101101 },
                InterfaceConfig { name: "r1-r2".into(), ioam6_enabled: false, ioam6_id: 102, ioam6_id_wide: 102102 },
            ],
            namespaces: vec![NamespaceConfig { id: 123, data: Some(0xdeadbeef), ..Default::default() }],
            ..Default::default()
        })
        .unwrap()
    }

    const A2: &str = "6000000000400040fd0000aa000100000000000000000001fd0000aa0002000000000000000000021104010031220000007b1006c00000000000000000000000000000000000000000000000000000000fa013880018ba9661325f62617369635f62697473305f31";

    fn meta() -> Meta {
        Meta { ingress_if: 0, egress_if: 1, queue_depth: 0, ..Default::default() }
    }

    #[test]
    fn a2_at_r1() {
        let n = r1(Profile::Linux);
        let mut p = hex(A2);
        let len = p.len();
        let o = transit(&n, &mut p, 0, len, &meta());
        assert_eq!(o.reason, Reason::Written);
        assert_eq!((o.offset, o.aux, o.off, o.len), (44, 1, 0, len));
        // RemLen 6 → 4, element at data + 16: hl 63 id 1, 101/102.
        assert_eq!(p[51], 4);
        assert_eq!(&p[56 + 16..56 + 24], &hex("3f00000100650066")[..]);
    }

    #[test]
    fn ipv6_header_checks() {
        let n = r1(Profile::Linux);
        let mut p = hex(A2);
        let len = p.len();
        assert_eq!(transit(&n, &mut p, 0, 39, &meta()).reason, Reason::DropMalformedIpv6);
        assert_eq!(transit(&n, &mut p, 0, len - 1, &meta()).reason, Reason::DropMalformedIpv6);
        assert_eq!(transit(&n, &mut p, 1, len, &meta()).reason, Reason::DropBadDescriptor);
        // Trailing octets are trimmed away.
        p.extend_from_slice(&[0xAA; 5]);
        let o = transit(&n, &mut p, 0, len + 5, &meta());
        assert_eq!((o.reason, o.len), (Reason::Written, len));
        p[0] = 0x40;
        assert_eq!(transit(&n, &mut p, 0, len, &meta()).reason, Reason::DropMalformedIpv6);
    }

    #[test]
    fn tlv_rules() {
        let n = r1(Profile::Linux);
        // 40 + HbH of 8: [nh 17][0][opts 6 octets], plen 8
        let mk = |opts: [u8; 6]| {
            let mut p = hex(&A2[..80]);
            p[4] = 0;
            p[5] = 8;
            p.extend_from_slice(&[17, 0]);
            p.extend_from_slice(&opts);
            p
        };
        let cases: [([u8; 6], Reason); 9] = [
            ([1, 4, 0, 0, 0, 0], Reason::NoIoam),
            ([1, 4, 0, 1, 0, 0], Reason::DropHbhMalformed), // non-zero PadN
            ([0, 0, 0, 0, 0, 0], Reason::NoIoam),           // 6 Pad1
            ([5, 2, 0, 0, 1, 0], Reason::NoIoam),           // router alert
            ([5, 1, 0, 1, 0, 0], Reason::DropHbhMalformed), // RA length
            ([0x1e, 0, 1, 2, 0, 0], Reason::NoIoam),        // unknown skip
            ([0x5e, 0, 1, 2, 0, 0], Reason::DropUnknownOption),
            ([0x9e, 4, 0, 0, 0, 0], Reason::DropUnknownOption),
            ([0x1e, 5, 0, 0, 0, 0], Reason::DropHbhMalformed), // overruns
        ];
        for (opts, want) in cases {
            let mut p = mk(opts);
            let l = p.len();
            assert_eq!(transit(&n, &mut p, 0, l, &meta()).reason, want, "{opts:?}");
        }
        // Pad run of 8 (HbH of 16 with 14 Pad1 → run > 7).
        let mut p = hex(&A2[..80]);
        p[4] = 0;
        p[5] = 16;
        p.extend_from_slice(&[17, 1]);
        p.extend_from_slice(&[0; 14]);
        let l = p.len();
        assert_eq!(transit(&n, &mut p, 0, l, &meta()).reason, Reason::DropHbhMalformed);
    }

    fn incr_pkt(hbh: &str) -> (Vec<u8>, usize) {
        let mut pkt = hex(&A2[..80]);
        let h = hex(hbh);
        pkt[4] = 0;
        pkt[5] = (h.len() + 8) as u8;
        pkt.extend_from_slice(&h);
        pkt.extend_from_slice(&[9; 8]);
        let len = pkt.len();
        let mut slot = vec![0xEEu8; 64];
        slot.extend_from_slice(&pkt);
        (slot, len)
    }

    #[test]
    fn incremental_rfc_insert_and_padding() {
        let n = r1(Profile::Rfc);
        // G = 8: HbH 16 → 24, payload untouched.
        let (mut slot, len) = incr_pkt("11010100310a0001007b100ac0000000");
        let o = transit(&n, &mut slot, 64, len, &meta());
        assert_eq!((o.reason, o.off, o.len, o.aux), (Reason::Appended, 56, len + 8, 1));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!(be16(p, 4), 32);
        assert_eq!(&p[40..64], &hex("1102010031120001007b1008c00000003f00000100650066")[..]);
        assert_eq!(&p[64..], &[9; 8]);
        // G = 4: padding grows by 4 to keep 8n.
        let (mut slot, len) = incr_pkt("11010100310a0001007b080a80000000");
        let o = transit(&n, &mut slot, 64, len, &meta());
        assert_eq!((o.reason, o.len), (Reason::Appended, len + 8));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!(&p[40..64], &hex("11020100310e0001007b0809800000003f00000101020000")[..]);
        // G = 4 with 4 octets of trailing padding: the padding shrinks instead.
        let (mut slot, len) = incr_pkt("11020100310a0001007b080a800000001e02000001020000");
        let o = transit(&n, &mut slot, 64, len, &meta());
        assert_eq!((o.reason, o.len, o.off), (Reason::Appended, len, 64));
        let p = &slot[o.off..o.off + o.len];
        assert_eq!(&p[40..64], &hex("11020100310e0001007b0809800000003f0000011e020000")[..]);
        // No headroom → DropNoRoom; linux profile ignores the option.
        let (mut slot, len) = incr_pkt("11010100310a0001007b080a80000000");
        assert_eq!(transit(&n, &mut slot[64..], 0, len, &meta()).reason, Reason::DropNoRoom);
        let (mut slot, len) = incr_pkt("11010100310a0001007b080a80000000");
        assert_eq!(transit(&r1(Profile::Linux), &mut slot, 64, len, &meta()).reason, Reason::IgnoredOptionType);
        // Budget too small → O.
        let (mut slot, len) = incr_pkt("11010100310a0001007b1001c0000000");
        let o = transit(&n, &mut slot, 64, len, &meta());
        assert_eq!((o.reason, slot[64 + 50]), (Reason::OverflowSet, 0x14));
    }

    /// IPv6 (HL 64, UDP after the HbH) + the given HbH octets + 8 octets of payload.
    fn with_hbh(hbh: &str) -> Vec<u8> {
        let mut p = hex(&A2[..80]);
        let h = hex(hbh);
        p[4..6].copy_from_slice(&((h.len() + 8) as u16).to_be_bytes());
        p.extend_from_slice(&h);
        p.extend_from_slice(&[9; 8]);
        p
    }

    #[test]
    fn several_ioam_options_each_processed_and_fill_kept_before_a_later_drop() {
        let n = r1(Profile::Linux);
        // Two traces (ns 123, NodeLen 1, RemLen 1) then 4 octets: PadN2 or an unknown drop option.
        let two = "11040100310e0000007b08018000000000000000310e0000007b08018000000000000000";
        let mut p = with_hbh(&format!("{two}01020000"));
        let len = p.len();
        let o = transit(&n, &mut p, 0, len, &meta());
        assert_eq!((o.reason, o.offset, o.aux), (Reason::Written, 60, 2));
        assert_eq!((p[51], p[67]), (0, 0));
        assert_eq!(&p[56..60], &[63, 0, 0, 1]);
        assert_eq!(&p[72..76], &[63, 0, 0, 1]);
        // Same, but the last option is unknown with action 01: dropped, fills stay in the bytes.
        let mut q = with_hbh(&format!("{two}5e020000"));
        let len = q.len();
        let o = transit(&n, &mut q, 0, len, &meta());
        assert_eq!((o.reason, o.offset), (Reason::DropUnknownOption, 76));
        assert_eq!(&q[56..60], &[63, 0, 0, 1]);
        assert_eq!(&q[72..76], &[63, 0, 0, 1]);
    }

    #[test]
    fn rfc_dex_and_loopback() {
        let n = r1(Profile::Rfc);
        // DEX (type 4): ns 123, flags 0, ext 0, trace type 0x800000.
        let mut p = with_hbh("11010100310a0004007b000080000000");
        let len = p.len();
        let before = p.clone();
        let o = transit(&n, &mut p, 0, len, &meta());
        assert_eq!((o.reason, o.aux), (Reason::ExportRequested, 1));
        assert_eq!(p, before, "DEX is not modified en route");
        // DEX claiming a Flow ID without room for it: malformed.
        let mut p = with_hbh("11010100310a0004007b008080000000");
        assert_eq!(transit(&n, &mut p, 0, len, &meta()).reason, Reason::DropTraceTruncated);
        // Pre-allocated trace with L set: written and loopback requested (rfc only).
        let mut p = with_hbh("11020100310e0000007b0a01800000000000000001020000");
        let len = p.len();
        let mut q = p.clone();
        let o = transit(&n, &mut p, 0, len, &meta());
        assert_eq!((o.reason, o.aux), (Reason::Written, 1 | OUT_F_LOOPBACK));
        let o = transit(&r1(Profile::Linux), &mut q, 0, len, &meta());
        assert_eq!((o.reason, o.aux), (Reason::Written, 1));
        assert_eq!(p, q, "same bytes in both profiles");
    }

    /// The fast path for the Linux-built layout decides exactly as the general walk: the same
    /// outcome and the same bytes, for the layout and for every mutation of its key octets
    /// (each falls back to the walk or takes the fast path with the walk's result).
    #[test]
    fn fast_path_equals_the_general_walk() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let hot = [0usize, 4, 5, 6, 7, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 76, 77, 78, 79];
        let mut fast_taken = 0;
        for profile in [Profile::Linux, Profile::Rfc] {
            let n = r1(profile);
            for (hbh, rem) in [("1102010031120000007b0802800000000000000000000000", 2u8), ("11040100311e0000007b2005f0000000000000000000000000000000000000000000000001020000", 5), ("11030100311a0000007b08048000000000000000000000000000000000000000", 4)] {
                for round in 0..3000 {
                    let mut p = with_hbh(hbh);
                    p[48 + 3] = rem;
                    if round > 0 {
                        for _ in 0..1 + rnd() % 3 {
                            let at = if rnd() % 4 == 0 { (rnd() % p.len() as u64) as usize } else { hot[(rnd() % hot.len() as u64) as usize] % p.len() };
                            p[at] = match rnd() % 3 {
                                0 => rnd() as u8,
                                1 => p[at] ^ (1 << (rnd() % 8)),
                                _ => [0u8, 1, 2, 4, 0x31, 0x7b, 0xff, 0x80][(rnd() % 8) as usize],
                            };
                        }
                    }
                    let mut len = p.len();
                    if rnd() % 10 == 0 {
                        len -= (rnd() % 9) as usize;
                    }
                    let meta = Meta { ingress_if: [0, 0, 0, 1, 7][(rnd() % 5) as usize], ..meta() };
                    let mut q = p.clone();
                    let a = transit(&n, &mut p, 0, len, &meta);
                    let b = transit_general(&n, &mut q, 0, len, &meta);
                    assert_eq!(a, b, "round {round}: {}", p.iter().map(|x| format!("{x:02x}")).collect::<String>());
                    assert_eq!(p, q);
                    fast_taken += usize::from(a.reason == Reason::Written && a.offset == 44);
                }
            }
        }
        assert!(fast_taken > 1000, "the fast path was taken {fast_taken} times");
    }

    #[test]
    fn jumbo_option() {
        let n = r1(Profile::Linux);
        // plen 0 + Jumbo (at 42, 4n+2) with a length <= 65535: dropped.
        let mut p = with_hbh("1100c20400000100");
        p[4] = 0;
        p[5] = 0;
        let len = p.len();
        assert_eq!(transit(&n, &mut p, 0, len, &meta()).reason, Reason::DropHbhMalformed);
        // A valid jumbogram of 65536 + 40 octets... is longer than our buffer: dropped as too small.
        let mut p = with_hbh("1100c20400010000");
        p[4] = 0;
        p[5] = 0;
        assert_eq!(transit(&n, &mut p, 0, len, &meta()).reason, Reason::DropMalformedIpv6);
        let mut big = p.clone();
        big.resize(40 + 65536 + 3, 0);
        let o = transit(&n, &mut big, 0, 40 + 65536 + 3, &meta());
        assert_eq!((o.reason, o.len), (Reason::NoIoam, 40 + 65536));
    }
}
