//! The per-bit node-data fill (Linux `__ioam6_fill_trace_data`, net/ipv6/ioam6.c) and the
//! Pre-allocated trace update around it (`ioam6_fill_trace_data`: Overflow, RemainingLen,
//! write position). [`FIELDS`] documents each bit's {width, source}; the fill tests the bits in
//! order in straight-line code and writes 4-octet words through one iterator.
//!
//! Trace-Type bit 0 is the most significant bit of the 24-bit field (0x800000), RFC 9197 §4.4.1.
//! Elements are written in bit order; widths are in octets.
use super::node::{Node, NsEntry};
use super::{Meta, Reason, META_F_NO_TSTAMP};
use crate::config::{Profile, IF_NONE};

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Hop_Lim (8) + node_id (24), RFC 9197 §4.4.2.1.
    HopLimNodeId,
    /// ingress_if_id (16) + egress_if_id (16), §4.4.2.2.
    IfIds,
    /// timestamp seconds, §4.4.2.3 (POSIX seconds, u32).
    TsSec,
    /// timestamp fraction, §4.4.2.4 (Linux: microseconds).
    TsFrac,
    /// transit delay, §4.4.2.5 (linux: all-ones; rfc: from Meta).
    TransitDelay,
    /// namespace-specific data, §4.4.2.6.
    NsData,
    /// queue depth, §4.4.2.7 (all-ones on local delivery).
    QueueDepth,
    /// checksum complement, §4.4.2.8 (all-ones).
    ChecksumComplement,
    /// Hop_Lim (8) + node_id wide (56), §4.4.2.9.
    HopLimNodeIdWide,
    /// ingress/egress if_id wide (32 + 32), §4.4.2.10.
    IfIdsWide,
    /// namespace-specific data wide, §4.4.2.11.
    NsDataWide,
    /// buffer occupancy, §4.4.2.12 (linux: all-ones; rfc: from Meta).
    BufferOccupancy,
    /// bits 12-21: undefined, 0xFFFFFFFF each (RFC 9197 §4.4.1; Linux does the same).
    Undefined,
}

/// One Trace-Type bit's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub bit: u8,
    /// Octets.
    pub width: u8,
    pub source: Source,
}

const fn f(bit: u8, width: u8, source: Source) -> Field {
    Field { bit, width, source }
}

/// Bits 0-21 in order. Bit 22 (Opaque State Snapshot, variable) and bit 23 (reserved, no data)
/// are handled apart.
pub const FIELDS: [Field; 22] = [
    f(0, 4, Source::HopLimNodeId),
    f(1, 4, Source::IfIds),
    f(2, 4, Source::TsSec),
    f(3, 4, Source::TsFrac),
    f(4, 4, Source::TransitDelay),
    f(5, 4, Source::NsData),
    f(6, 4, Source::QueueDepth),
    f(7, 4, Source::ChecksumComplement),
    f(8, 8, Source::HopLimNodeIdWide),
    f(9, 8, Source::IfIdsWide),
    f(10, 8, Source::NsDataWide),
    f(11, 4, Source::BufferOccupancy),
    f(12, 4, Source::Undefined),
    f(13, 4, Source::Undefined),
    f(14, 4, Source::Undefined),
    f(15, 4, Source::Undefined),
    f(16, 4, Source::Undefined),
    f(17, 4, Source::Undefined),
    f(18, 4, Source::Undefined),
    f(19, 4, Source::Undefined),
    f(20, 4, Source::Undefined),
    f(21, 4, Source::Undefined),
];

/// Mask of Trace-Type bit `bit` in the 24-bit field.
pub const fn trace_bit(bit: u8) -> u32 {
    0x0080_0000 >> bit
}

/// Opaque State Snapshot bit.
pub const TRACE_BIT22: u32 = trace_bit(22);
/// 4-octet fields (bits 0-7, 11, 12-21) in the 24-bit type: Linux `IOAM6_MASK_SHORT_FIELDS`
/// 0xff1ffc00 >> 8 (since 6db8b56eed62).
pub const MASK_SHORT: u32 = 0x00FF_1FFC;
/// 8-octet fields (bits 8-10): `IOAM6_MASK_WIDE_FIELDS` 0x00e00000 >> 8.
pub const MASK_WIDE: u32 = 0x0000_E000;

/// Words contributed by each value of one octet of the 24-bit Trace-Type (`shift` = its
/// position): popcount of the short bits + 2 × popcount of the wide bits. Built at compile time
/// so [`node_len`] is three loads instead of two software popcounts (baseline x86-64 has no
/// POPCNT).
const fn node_len_table(shift: u32) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut v = 0;
    while v < 256 {
        let ty = (v as u32) << shift;
        t[v] = ((ty & MASK_SHORT).count_ones() + 2 * (ty & MASK_WIDE).count_ones()) as u8;
        v += 1;
    }
    t
}
const NODE_LEN_HI: [u8; 256] = node_len_table(16);
const NODE_LEN_MID: [u8; 256] = node_len_table(8);
const NODE_LEN_LO: [u8; 256] = node_len_table(0);

/// NodeLen in 4-octet units implied by a 24-bit Trace-Type (Linux `ioam6_trace_compute_nodelen`:
/// 4-octet fields count 1, 8-octet fields 2, bits 22-23 nothing).
#[inline]
pub const fn node_len(trace_type: u32) -> u8 {
    NODE_LEN_HI[((trace_type >> 16) & 0xFF) as usize]
        + NODE_LEN_MID[((trace_type >> 8) & 0xFF) as usize]
        + NODE_LEN_LO[(trace_type & 0xFF) as usize]
}

/// Inputs of one element fill besides the node and namespace.
#[derive(Debug, Clone, Copy)]
pub struct FillCtx<'m> {
    /// The Hop_Lim value to write (Linux: IPv6 HL − 1 on input, HL on output; u8 wrap).
    pub hop_lim: u8,
    pub meta: &'m Meta,
}

/// Writes one node's element (NodeLen×4 octets of fields in bit order, then the snapshot if
/// bit 22) into `out`, which must be exactly `(node_len + sclen) × 4` octets (a shorter `out`
/// gets a truncated element, never a panic).
/// Linux `__ioam6_fill_trace_data`; the rfc profile also reports transit delay and buffer
/// occupancy from the meta.
///
/// The element is written as 4-octet words through one iterator over `out` (no per-field bounds
/// arithmetic). Bits 0-11 are tested in order in straight-line code; bits 12-21 (undefined)
/// only add all-ones words. The cost follows the set bits, not the
/// 22-entry [`FIELDS`] table.
#[inline(always)]
pub fn fill_element(node: &Node, ns: &NsEntry, trace_type: u32, ctx: &FillCtx<'_>, out: &mut [u8]) {
    let meta = ctx.meta;
    let rfc = node.profile == Profile::Rfc;
    // skb->dev == NULL (locally generated): ingress ids and timestamps unavailable.
    let has_dev = meta.ingress_if != IF_NONE;
    let ts_ok = has_dev && meta.flags & META_F_NO_TSTAMP == 0;
    // dst device is loopback (local delivery): egress ids and queue depth unavailable.
    let local = meta.egress_if == IF_NONE;
    let hl = ctx.hop_lim;
    let (words, _) = out.as_chunks_mut::<4>();
    let mut w = words.iter_mut();
    let mut put = |v: u32| {
        if let Some(d) = w.next() {
            *d = v.to_be_bytes();
        }
    };
    // Bits 0-7 (the first octet of the Trace-Type, the common case) are all 4-octet fields,
    // tested in bit order (straight-line: no table, no dispatch).
    let hi = trace_type >> 16;
    if hi & 0x80 != 0 {
        put(((hl as u32) << 24) | (node.ioam6_id & 0x00FF_FFFF));
    }
    if hi & 0x40 != 0 {
        let iid = if has_dev { node.iface(meta.ingress_if).id } else { 0xFFFF };
        let eid = if local { 0xFFFF } else { node.iface(meta.egress_if).id };
        put(((iid as u32) << 16) | eid as u32);
    }
    if hi & 0x20 != 0 {
        put(if ts_ok { meta.ts_sec } else { u32::MAX });
    }
    if hi & 0x10 != 0 {
        put(if ts_ok { meta.ts_nsec / 1000 } else { u32::MAX });
    }
    if hi & 0x08 != 0 {
        put(if rfc { meta.transit_delay_ns } else { u32::MAX });
    }
    if hi & 0x04 != 0 {
        put(ns.data);
    }
    if hi & 0x02 != 0 {
        put(if local { u32::MAX } else { meta.queue_depth });
    }
    if hi & 0x01 != 0 {
        // Checksum complement.
        put(u32::MAX);
    }
    // Only the first octet set (the common types: 1 to 8 short fields): done.
    if trace_type & 0x0000_FFFF == 0 {
        return;
    }
    // Bits 8-11 (the second octet's high nibble): the wide fields and buffer occupancy.
    if trace_type & 0x0000_8000 != 0 {
        // 8 octets: Hop_Lim + wide node id.
        let v = ((hl as u64) << 56) | (node.ioam6_id_wide & 0x00FF_FFFF_FFFF_FFFF);
        put((v >> 32) as u32);
        put(v as u32);
    }
    if trace_type & 0x0000_4000 != 0 {
        // 8 octets: wide ingress/egress ids.
        put(if has_dev { node.iface(meta.ingress_if).id_wide } else { u32::MAX });
        put(if local { u32::MAX } else { node.iface(meta.egress_if).id_wide });
    }
    if trace_type & 0x0000_2000 != 0 {
        // 8 octets: wide namespace data.
        put((ns.wide >> 32) as u32);
        put(ns.wide as u32);
    }
    if trace_type & 0x0000_1000 != 0 {
        put(if rfc { meta.buffer_occupancy } else { u32::MAX });
    }
    // Bits 12-21: undefined, all-ones each (only their number matters).
    let mut undefined = trace_type & 0x0000_0FFC;
    while undefined != 0 {
        undefined &= undefined - 1;
        put(u32::MAX);
    }
    if trace_type & TRACE_BIT22 != 0 {
        let oss = node.oss_bytes(ns);
        if oss.is_empty() {
            // No schema: Length 0, Schema ID 0xFFFFFF.
            put(0x00FF_FFFF);
        } else {
            if let Some(d) = w.into_slice().as_flattened_mut().get_mut(..oss.len()) {
                d.copy_from_slice(oss);
            }
        }
    }
}

/// Trace header fields (RFC 9197 §4.4.1) at `t` = offset of the Namespace-ID.
pub(crate) mod th {
    /// NodeLen in byte 2 bits 7..3.
    pub const NODELEN_SHIFT: u8 = 3;
    /// Flags in byte 2: Overflow, Loopback, Active.
    pub const O: u8 = 0x04;
    pub const L: u8 = 0x02;
    /// RemainingLen in byte 3 bits 6..0 (bit 7 is flag bit 3).
    pub const REMLEN_MASK: u8 = 0x7F;
}

/// Linux `ioam6_fill_trace_data` on a Pre-allocated trace: `trace` starts at the Namespace-ID,
/// `hdr` is the trace header size (8, or 32 for the CLT legacy layout), and `trace` must
/// extend at least `hdr + RemainingLen×4` octets (the caller checked the option length).
/// O set → nothing; RemainingLen 0 or < NodeLen + sclen → set O; else write the element at
/// data + (RemainingLen − NodeLen − sclen)×4 and decrement RemainingLen.
#[inline(always)]
pub fn fill_prealloc(node: &Node, ns: &NsEntry, trace: &mut [u8], hdr: usize, ctx: &FillCtx<'_>) -> Reason {
    fill_prealloc_with(node, ns, trace, hdr, ctx, None)
}

/// [`fill_prealloc`] with the snapshot given per packet (the signalled CLT encoding: the
/// encapsulating node's `[Length][Schema ID][trace ID][span ID]`, a whole number of words)
/// instead of the namespace's static schema. With bit 22 clear it is [`fill_prealloc`].
#[inline]
pub fn fill_prealloc_snapshot(node: &Node, ns: &NsEntry, trace: &mut [u8], hdr: usize, ctx: &FillCtx<'_>, oss: &[u8]) -> Reason {
    fill_prealloc_with(node, ns, trace, hdr, ctx, Some(oss))
}

#[inline(always)]
fn fill_prealloc_with(node: &Node, ns: &NsEntry, trace: &mut [u8], hdr: usize, ctx: &FillCtx<'_>, oss: Option<&[u8]>) -> Reason {
    let trace_len = trace.len();
    let Some(h) = trace.first_chunk_mut::<8>() else { return Reason::NoIoam };
    if h[2] & th::O != 0 {
        return Reason::OverflowPreset;
    }
    let ty = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    let nodelen = (h[2] >> th::NODELEN_SHIFT) as u32;
    let remlen = (h[3] & th::REMLEN_MASK) as u32;
    let oss = oss.filter(|_| ty & TRACE_BIT22 != 0);
    let sclen = match oss {
        Some(o) => (o.len() / 4) as u32,
        None => ns.sclen(ty),
    };
    let need = nodelen + sclen;
    if remlen == 0 || remlen < need {
        h[2] |= th::O;
        return Reason::OverflowSet;
    }
    let start = hdr + ((remlen - need) as usize) * 4;
    let end = start + need as usize * 4;
    if end > trace_len {
        return Reason::NoIoam;
    }
    h[3] = (h[3] & !th::REMLEN_MASK) | ((remlen - need) as u8 & th::REMLEN_MASK);
    let Some(elem) = trace.get_mut(start..end) else { return Reason::NoIoam };
    match oss {
        None => fill_element(node, ns, ty, ctx, elem),
        Some(o) => {
            // The fields (bit 22 cleared: NodeLen words), then the given snapshot.
            let (fields, snap) = elem.split_at_mut(elem.len().saturating_sub(o.len()));
            fill_element(node, ns, ty & !TRACE_BIT22, ctx, fields);
            snap.copy_from_slice(o);
        }
    }
    Reason::Written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    #[test]
    fn table_is_in_bit_order_and_node_len_matches_widths() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(f.bit as usize, i);
        }
        for ty in [0x800000u32, 0xfff002, 0x800800, 0x800001, 0x000002, 0xFFFFFF, 0x00E000] {
            let words: u32 = FIELDS.iter().filter(|f| ty & trace_bit(f.bit) != 0).map(|f| f.width as u32 / 4).sum();
            assert_eq!(node_len(ty) as u32, words, "type {ty:06x}");
        }
        assert_eq!(node_len(0xfff002), 15);
        assert_eq!(node_len(0xFFFFFF), 25);
    }

    fn node(profile: Profile) -> Node {
        Node::new(NodeConfig {
            profile,
            ioam6_id: 2,
            ioam6_id_wide: 0x22222222222222,
            interfaces: vec![
                InterfaceConfig { name: "a".into(), ioam6_enabled: true, ioam6_id: 201, ioam6_id_wide: 201201 },
                InterfaceConfig { name: "b".into(), ioam6_enabled: false, ioam6_id: 202, ioam6_id_wide: 202202 },
            ],
            namespaces: vec![NamespaceConfig { id: 123, ..Default::default() }],
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn full_element_like_r2_in_capture_a() {
        let n = node(Profile::Linux);
        let ns = *n.namespace(123).unwrap();
        let meta = Meta { ingress_if: 0, egress_if: 1, ts_sec: 0x6b08883b, ts_nsec: 0x00090038 * 1000 + 999, queue_depth: 0, ..Default::default() };
        let mut out = [0u8; 64];
        fill_element(&n, &ns, 0xfff002, &FillCtx { hop_lim: 62, meta: &meta }, &mut out);
        let want = "3e00000200c900ca6b08883b00090038ffffffffffffffff00000000ffffffff3e22222222222222000311f1000315daffffffffffffffffffffffff00ffffff";
        let got: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn unavailable_values_and_rfc_inputs() {
        for profile in [Profile::Linux, Profile::Rfc] {
            let n = node(profile);
            let ns = *n.namespace(123).unwrap();
            let meta = Meta { ingress_if: IF_NONE, egress_if: IF_NONE, ts_sec: 5, ts_nsec: 5000, queue_depth: 7, transit_delay_ns: 9, buffer_occupancy: 11, flags: 0 };
            // bits 1,2,3,4,6,11
            let ty = 0x400000 | 0x200000 | 0x100000 | 0x080000 | 0x020000 | 0x001000;
            let mut out = [0u8; 24];
            fill_element(&n, &ns, ty, &FillCtx { hop_lim: 64, meta: &meta }, &mut out);
            let w = |i: usize| u32::from_be_bytes(out[i * 4..i * 4 + 4].try_into().unwrap());
            assert_eq!(w(0), 0xFFFF_FFFF);
            assert_eq!((w(1), w(2)), (u32::MAX, u32::MAX));
            assert_eq!(w(4), u32::MAX, "queue depth on local delivery");
            if profile == Profile::Rfc {
                assert_eq!((w(3), w(5)), (9, 11));
            } else {
                assert_eq!((w(3), w(5)), (u32::MAX, u32::MAX));
            }
        }
    }

    #[test]
    fn no_tstamp_flag_and_oss_without_schema() {
        let n = node(Profile::Linux);
        let ns = *n.namespace(123).unwrap();
        let meta = Meta { ingress_if: 0, egress_if: 1, flags: META_F_NO_TSTAMP, ..Default::default() };
        let mut out = [0u8; 12];
        fill_element(&n, &ns, 0x300002, &FillCtx { hop_lim: 1, meta: &meta }, &mut out);
        assert_eq!(out, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn prealloc_overflow_rules() {
        let n = node(Profile::Linux);
        let ns = *n.namespace(123).unwrap();
        let meta = Meta { ingress_if: 0, egress_if: 1, ..Default::default() };
        let ctx = FillCtx { hop_lim: 9, meta: &meta };
        // NodeLen 2 (bits 0,1), RemLen 1: no room → O.
        let mut t = [0, 123, 2 << 3, 1, 0xc0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(fill_prealloc(&n, &ns, &mut t, 8, &ctx), Reason::OverflowSet);
        assert_eq!(t[2], (2 << 3) | 0x04);
        assert_eq!(t[3], 1);
        assert_eq!(fill_prealloc(&n, &ns, &mut t, 8, &ctx), Reason::OverflowPreset);
        // RemLen 0 with NodeLen 0 → O (Linux `!trace->remlen`).
        let mut t0 = [0, 123, 0, 0x80, 0, 0, 0x01, 0];
        assert_eq!(fill_prealloc(&n, &ns, &mut t0, 8, &ctx), Reason::OverflowSet);
        assert_eq!(t0[3], 0x80, "flag bit 3 kept");
        // Fits: written at the end, RemLen decremented, flag bit 3 kept.
        let mut t2 = [0, 123, 1 << 3, 0x82, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(fill_prealloc(&n, &ns, &mut t2, 8, &ctx), Reason::Written);
        assert_eq!(t2[3], 0x81);
        assert_eq!(&t2[8..], &[0, 0, 0, 0, 9, 0, 0, 2]);
    }
}
