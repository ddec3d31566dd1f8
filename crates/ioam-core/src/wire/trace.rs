//! IOAM Pre-allocated and Incremental Trace Option-Types, RFC 9197 §4.4, node data §4.4.2,
//! Opaque State Snapshot §4.4.2.13; Loopback/Active flags RFC 9322 §4.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Namespace-ID           |NodeLen  | Flags | RemainingLen|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               IOAM-Trace-Type                 |  Reserved     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Pre-allocated: RemainingLen × 4 octets of free space        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   node data list [n]  (newest, written last)                  |
//! |   ...                                                         |
//! |   node data list [0]  (oldest, the encapsulating node)        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! Flags (4 bits, bit 0 first): O Overflow (RFC 9197), L Loopback, A Active (RFC 9322), bit 3
//! unassigned. On the wire: O/L/A are the low 3 bits of octet 2 (0x04/0x02/0x01), bit 3 is the
//! high bit of octet 3 (0x80); RemainingLen is octet 3 & 0x7f.
//!
//! Node data element, fields in Trace-Type bit order (bit 0 = 0x800000):
//!  0 Hop_Lim(8)+node_id(24)  1 ingress_if_id(16)+egress_if_id(16)  2 timestamp s  3 timestamp
//!  fraction  4 transit delay  5 namespace data  6 queue depth  7 checksum complement
//!  8 Hop_Lim(8)+node_id(56)  9 ingress/egress if_id 32+32  10 namespace data wide (64)
//!  11 buffer occupancy  12-21 undefined (Linux writes 0xFFFFFFFF each)  22 Opaque State
//!  Snapshot (variable, not counted in NodeLen)  23 reserved (no data).
//!
//! Opaque State Snapshot (RFC 9197 §4.4.2.13):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Length      |                     Schema ID                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Opaque data: Length × 4 octets                          |
//! ```
//! Pre-allocated: each node writes its element right before the previous one, at data offset
//! (RemainingLen − NodeLen − OSS) × 4, then decrements RemainingLen (Linux
//! `__ioam6_fill_trace_data`). Incremental: node data starts right after the header (no free
//! space), RemainingLen is the remaining budget.
//!
//! With [`TraceLayout::CltLegacy`] a 24-octet trace/span ID block sits between this header and
//! the data space of a Pre-allocated trace (see [`super::clt`]).

use super::clt::{CltRepr, CltView, TraceLayout, CLT_LEN};
use super::{need_room, rd_u16, rd_u24, rd_u32, rd_u64, rd_u8, wr};
use crate::error::{Error, ErrorCode, Layer, Result};

mod field {
    use core::ops::Range;
    pub const NAMESPACE_ID: Range<usize> = 0..2;
    /// NodeLen (high 5 bits) and flags O/L/A (low 3 bits).
    pub const NODELEN_FLAGS: usize = 2;
    /// Flag bit 3 (high bit) and RemainingLen (low 7 bits).
    pub const FLAG3_REMLEN: usize = 3;
    pub const TRACE_TYPE: Range<usize> = 4..7;
    pub const RESERVED: usize = 7;
}

/// Length of the trace option header (Namespace-ID .. Reserved).
pub const HEADER_LEN: usize = 8;
/// Largest data space Linux accepts (`IOAM6_TRACE_DATA_SIZE_MAX`): RemainingLen ≤ 61.
pub const DATA_SIZE_MAX: usize = 244;

/// Masks on octet 2 / octet 3 of the trace header.
pub const FLAG_OVERFLOW: u8 = 0x04;
pub const FLAG_LOOPBACK: u8 = 0x02;
pub const FLAG_ACTIVE: u8 = 0x01;
/// Flag bit 3 (unassigned), high bit of octet 3.
pub const FLAG_BIT3: u8 = 0x80;
pub const REMLEN_MASK: u8 = 0x7f;

/// Trace-Type bit masks on the 24-bit value (bit 0 = MSB).
pub mod bits {
    /// Mask of Trace-Type bit `n` (0..=23).
    pub const fn mask(n: u32) -> u32 {
        0x80_0000 >> n
    }
    pub const HOP_LIM_NODE_ID: u32 = mask(0);
    pub const IF_IDS: u32 = mask(1);
    pub const TIMESTAMP_SECS: u32 = mask(2);
    pub const TIMESTAMP_FRAC: u32 = mask(3);
    pub const TRANSIT_DELAY: u32 = mask(4);
    pub const NAMESPACE_DATA: u32 = mask(5);
    pub const QUEUE_DEPTH: u32 = mask(6);
    pub const CHECKSUM_COMPLEMENT: u32 = mask(7);
    pub const HOP_LIM_NODE_ID_WIDE: u32 = mask(8);
    pub const IF_IDS_WIDE: u32 = mask(9);
    pub const NAMESPACE_DATA_WIDE: u32 = mask(10);
    pub const BUFFER_OCCUPANCY: u32 = mask(11);
    /// Bits 12-21, undefined.
    pub const UNDEFINED: u32 = 0x00_0ffc;
    pub const OSS: u32 = mask(22);
    pub const RESERVED: u32 = mask(23);
}

/// 4-octet words each Trace-Type bit adds to NodeLen (bit 22 is variable, bit 23 empty).
const FIELD_WORDS: [u8; 24] = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];

/// NodeLen implied by a 24-bit Trace-Type, exactly as Linux's `ioam6_trace_compute_nodelen`:
/// popcount(type & 0xff1ffc00) + 2 × popcount(type & 0x00e00000) on the type as the high 24 bits
/// of a 32-bit word (bits 0-7, 11, 12-21 count 1; 8-10 count 2; 22, 23 count 0).
pub const fn nodelen_for_type(trace_type: u32) -> u8 {
    let t = (trace_type & 0x00ff_ffff) << 8;
    ((t & 0xff1f_fc00).count_ones() + 2 * (t & 0x00e0_0000).count_ones()) as u8
}

/// Pre-allocated or Incremental (same header, different data placement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceKind {
    Preallocated,
    Incremental,
}

/// The four trace flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase", default))]
pub struct TraceFlags {
    /// O, RFC 9197 §4.4.1: a node had no room.
    pub overflow: bool,
    /// L, RFC 9322 §4: Loopback.
    pub loopback: bool,
    /// A, RFC 9322 §4: Active measurement.
    pub active: bool,
    /// Flag bit 3, unassigned ("Reserved" in Wireshark); preserved by Linux.
    pub bit3: bool,
}

/// Zero-copy view of a trace option header (starting at Namespace-ID) and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceHeaderView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TraceHeaderView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        TraceHeaderView { buffer }
    }
    /// Checks the 8-octet header is present (Linux: Opt Data Len < 10 → drop).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let n = buffer.as_ref().len();
        if n < HEADER_LEN {
            return Err(Error::truncated(Layer::Trace, 0, HEADER_LEN, n, "trace option header"));
        }
        Ok(TraceHeaderView { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn namespace_id(&self) -> u16 {
        rd_u16(self.b(), field::NAMESPACE_ID.start).unwrap_or(0)
    }
    /// NodeLen, 4-octet units, excluding the OSS.
    pub fn node_len(&self) -> u8 {
        self.b()[field::NODELEN_FLAGS] >> 3
    }
    pub fn flags(&self) -> TraceFlags {
        let (a, b) = (self.b()[field::NODELEN_FLAGS], self.b()[field::FLAG3_REMLEN]);
        TraceFlags {
            overflow: a & FLAG_OVERFLOW != 0,
            loopback: a & FLAG_LOOPBACK != 0,
            active: a & FLAG_ACTIVE != 0,
            bit3: b & FLAG_BIT3 != 0,
        }
    }
    pub fn overflow(&self) -> bool {
        self.b()[field::NODELEN_FLAGS] & FLAG_OVERFLOW != 0
    }
    /// RemainingLen, 4-octet units.
    pub fn remaining_len(&self) -> u8 {
        self.b()[field::FLAG3_REMLEN] & REMLEN_MASK
    }
    /// 24-bit IOAM-Trace-Type.
    pub fn trace_type(&self) -> u32 {
        rd_u24(self.b(), field::TRACE_TYPE.start).unwrap_or(0)
    }
    pub fn reserved(&self) -> u8 {
        self.b()[field::RESERVED]
    }
    /// Everything after the 8-octet header.
    pub fn data(&self) -> &[u8] {
        self.b().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// Offset (from the Namespace-ID) where the data space starts: 8, or 32 with the CLT block.
    pub const fn data_offset(layout: TraceLayout) -> usize {
        match layout {
            TraceLayout::Standard => HEADER_LEN,
            TraceLayout::CltLegacy => HEADER_LEN + CLT_LEN,
        }
    }

    /// `Ok` when NodeLen equals the Trace-Type's value (Linux drops otherwise since 6db8b56eed62).
    pub fn check_node_len(&self) -> Result<()> {
        let c = nodelen_for_type(self.trace_type());
        if self.node_len() != c {
            return Err(Error {
                code: ErrorCode::BadNodeLen,
                layer: Layer::Trace,
                offset: field::NODELEN_FLAGS,
                needed: usize::from(c),
                got: usize::from(self.node_len()),
                what: "NodeLen differs from the value the Trace-Type implies",
            });
        }
        Ok(())
    }

    /// Pre-allocated: the RemainingLen × 4 free octets, or `BadRemainingLen` when they run past
    /// the buffer (Linux: Opt Data Len < 10 + RemainingLen × 4 → drop), `Truncated` when the CLT
    /// block is missing.
    pub fn free_space(&self, layout: TraceLayout) -> Result<&[u8]> {
        let at = Self::data_offset(layout);
        let b = self.b();
        if b.len() < at {
            return Err(Error::truncated(Layer::Clt, HEADER_LEN, CLT_LEN, b.len().saturating_sub(HEADER_LEN), "CLT trace/span ID block"));
        }
        let free = usize::from(self.remaining_len()) * 4;
        b.get(at..at + free).ok_or(Error {
            code: ErrorCode::BadRemainingLen,
            layer: Layer::Trace,
            offset: field::FLAG3_REMLEN,
            needed: free,
            got: b.len().saturating_sub(at),
            what: "RemainingLen × 4 beyond the option data",
        })
    }

    /// Pre-allocated: offset (from the Namespace-ID) and octets of the node-data list after the
    /// free space.
    pub fn node_area(&self, layout: TraceLayout) -> Result<(usize, &[u8])> {
        let f = self.free_space(layout)?;
        let at = Self::data_offset(layout) + f.len();
        Ok((at, self.b().get(at..).unwrap_or(&[])))
    }

    /// Pre-allocated: iterator over the node elements (newest first), after checking NodeLen.
    /// Element offsets are from the Namespace-ID.
    pub fn nodes(&self, layout: TraceLayout) -> Result<NodeIter<'_>> {
        self.check_node_len()?;
        let (at, area) = self.node_area(layout)?;
        Ok(NodeIter::new(area, self.trace_type(), self.node_len(), at))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TraceHeaderView<T> {
    pub fn set_namespace_id(&mut self, v: u16) {
        self.buffer.as_mut()[field::NAMESPACE_ID].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets NodeLen (5 bits; higher bits dropped), flags untouched.
    pub fn set_node_len(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::NODELEN_FLAGS];
        *b = (*b & 0x07) | (v << 3);
    }
    pub fn set_flags(&mut self, f: TraceFlags) {
        let b = self.buffer.as_mut();
        let a = (b[field::NODELEN_FLAGS] & !0x07)
            | if f.overflow { FLAG_OVERFLOW } else { 0 }
            | if f.loopback { FLAG_LOOPBACK } else { 0 }
            | if f.active { FLAG_ACTIVE } else { 0 };
        b[field::NODELEN_FLAGS] = a;
        b[field::FLAG3_REMLEN] = (b[field::FLAG3_REMLEN] & REMLEN_MASK) | if f.bit3 { FLAG_BIT3 } else { 0 };
    }
    /// Sets only the O bit (what a node without room does).
    pub fn set_overflow(&mut self) {
        self.buffer.as_mut()[field::NODELEN_FLAGS] |= FLAG_OVERFLOW;
    }
    /// Sets RemainingLen (7 bits; higher bits dropped), flag bit 3 untouched.
    pub fn set_remaining_len(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::FLAG3_REMLEN];
        *b = (*b & FLAG_BIT3) | (v & REMLEN_MASK);
    }
    pub fn set_trace_type(&mut self, t: u32) {
        let b = t.to_be_bytes();
        self.buffer.as_mut()[field::TRACE_TYPE].copy_from_slice(&b[1..]);
    }
    pub fn set_reserved(&mut self, v: u8) {
        self.buffer.as_mut()[field::RESERVED] = v;
    }
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// One node's element in the node-data list, zero-copy. `offset` is where it starts
/// (iterator-base-relative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeElement<'a> {
    pub offset: usize,
    /// The NodeLen × 4 octets of fixed fields.
    pub fixed: &'a [u8],
    /// The Opaque State Snapshot including its 4-octet header (when bit 22 is set).
    pub oss: Option<&'a [u8]>,
}

impl NodeElement<'_> {
    pub fn len(&self) -> usize {
        self.fixed.len() + self.oss.map_or(0, <[u8]>::len)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Iterates node elements (newest first) over a node-data area. Yields one error and stops when
/// an element does not fit; [`Self::position`] then says where undecoded bytes start.
#[derive(Debug, Clone)]
pub struct NodeIter<'a> {
    area: &'a [u8],
    base: usize,
    fixed_len: usize,
    oss: bool,
    pos: usize,
    failed: bool,
}

impl<'a> NodeIter<'a> {
    /// `node_len` in 4-octet units (pass the header's NodeLen after checking it equals
    /// [`nodelen_for_type`]); `base` is added to offsets.
    pub fn new(area: &'a [u8], trace_type: u32, node_len: u8, base: usize) -> Self {
        NodeIter {
            area,
            base,
            fixed_len: usize::from(node_len) * 4,
            oss: trace_type & bits::OSS != 0,
            pos: 0,
            failed: false,
        }
    }
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = Result<NodeElement<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.area.len() {
            return None;
        }
        let at = self.pos;
        let rest = &self.area[at..];
        let fail = |s: &mut Self, e: Error| {
            s.failed = true;
            Some(Err(e))
        };
        if self.fixed_len == 0 && !self.oss {
            let e = Error {
                code: ErrorCode::BadLength,
                layer: Layer::NodeData,
                offset: self.base + at,
                needed: 0,
                got: rest.len(),
                what: "node data present but the Trace-Type gives empty elements",
            };
            return fail(self, e);
        }
        if rest.len() < self.fixed_len {
            let e = Error::truncated(Layer::NodeData, self.base + at, self.fixed_len, rest.len(), "node data element");
            return fail(self, e);
        }
        let fixed = &rest[..self.fixed_len];
        let mut len = self.fixed_len;
        let oss = if self.oss {
            let o = at + len;
            let Some(words) = rd_u8(rest, len) else {
                let e = Error::truncated(Layer::Oss, self.base + o, 4, rest.len() - len, "Opaque State Snapshot header");
                return fail(self, e);
            };
            let need = 4 + usize::from(words) * 4;
            let Some(s) = rest.get(len..len + need) else {
                let e = Error::truncated(Layer::Oss, self.base + o, need, rest.len() - len, "Opaque State Snapshot data");
                return fail(self, e);
            };
            len += need;
            Some(s)
        } else {
            None
        };
        self.pos = at + len;
        Some(Ok(NodeElement { offset: self.base + at, fixed, oss }))
    }
}

/// Opaque State Snapshot, RFC 9197 §4.4.2.13.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct OssRepr {
    /// Length in 4-octet words of `data` (Linux writes 0 with schema 0xFFFFFF when no schema).
    pub length: u8,
    /// 24-bit Schema ID.
    pub schema_id: u32,
    /// `length` × 4 octets.
    #[cfg_attr(feature = "serde", serde(with = "super::serde_util::hex"))]
    pub data: Vec<u8>,
}

impl OssRepr {
    /// What Linux writes when the namespace has no schema: `00 FF FF FF`.
    pub fn none() -> OssRepr {
        OssRepr { length: 0, schema_id: 0xff_ffff, data: Vec::new() }
    }
    pub fn buffer_len(&self) -> usize {
        4 + self.data.len()
    }
    fn parse(b: &[u8]) -> Result<OssRepr> {
        let length = rd_u8(b, 0).ok_or(Error::truncated(Layer::Oss, 0, 4, b.len(), "OSS header"))?;
        let schema_id = rd_u24(b, 1).ok_or(Error::truncated(Layer::Oss, 0, 4, b.len(), "OSS header"))?;
        let need = 4 + usize::from(length) * 4;
        let data = b.get(4..need).ok_or(Error::truncated(Layer::Oss, 0, need, b.len(), "OSS data"))?;
        Ok(OssRepr { length, schema_id, data: data.to_vec() })
    }
    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if self.data.len() != usize::from(self.length) * 4 {
            return Err(Error {
                code: ErrorCode::BadLength,
                layer: Layer::Oss,
                offset: 0,
                needed: usize::from(self.length) * 4,
                got: self.data.len(),
                what: "OSS data length is not Length × 4",
            });
        }
        if self.schema_id > 0xff_ffff {
            return Err(Error::new(ErrorCode::BadValue, Layer::Oss, 1, "Schema ID wider than 24 bits"));
        }
        let h = (u32::from(self.length) << 24) | self.schema_id;
        wr(buf, 0, &h.to_be_bytes(), Layer::Oss)?;
        wr(buf, 4, &self.data, Layer::Oss)
    }
}

/// One node's data, every field decoded. A field is `Some` exactly when its Trace-Type bit is
/// set. Values are the raw wire values (RFC units); all-ones means "unavailable" (RFC 9197 §4.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct NodeData {
    /// Bit 0: Hop_Lim (8 bits).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub hop_limit: Option<u8>,
    /// Bit 0: node_id (24 bits).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub node_id: Option<u32>,
    /// Bit 1: ingress_if_id (16 bits).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub ingress_if_id: Option<u16>,
    /// Bit 1: egress_if_id (16 bits).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub egress_if_id: Option<u16>,
    /// Bit 2: timestamp seconds.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub timestamp_secs: Option<u32>,
    /// Bit 3: timestamp fraction (Linux: microseconds).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub timestamp_frac: Option<u32>,
    /// Bit 4: transit delay in ns, MSB = overflow.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub transit_delay: Option<u32>,
    /// Bit 5: namespace-specific data.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub namespace_data: Option<u32>,
    /// Bit 6: queue depth (Linux: qdisc backlog in octets).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub queue_depth: Option<u32>,
    /// Bit 7: checksum complement.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub checksum_complement: Option<u32>,
    /// Bit 8: Hop_Lim (8 bits).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub hop_limit_wide: Option<u8>,
    /// Bit 8: node_id wide (56 bits). JSON: decimal string.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none", with = "super::serde_util::opt_u64_str")
    )]
    pub node_id_wide: Option<u64>,
    /// Bit 9: ingress_if_id wide (32 bits).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub ingress_if_id_wide: Option<u32>,
    /// Bit 9: egress_if_id wide (32 bits).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub egress_if_id_wide: Option<u32>,
    /// Bit 10: namespace-specific data wide (64 bits). JSON: decimal string.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none", with = "super::serde_util::opt_u64_str")
    )]
    pub namespace_data_wide: Option<u64>,
    /// Bit 11: buffer occupancy.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub buffer_occupancy: Option<u32>,
    /// Bits 12-21 (undefined), one word per set bit in bit order (Linux: 0xFFFFFFFF).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub undefined: Vec<u32>,
    /// Bit 22: Opaque State Snapshot.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub oss: Option<OssRepr>,
}

impl NodeData {
    /// Decodes an element's fields for `trace_type`. `fixed` must hold NodeLen × 4 octets for
    /// that type; a shorter slice is a `Truncated` error (offset relative to `fixed`).
    pub fn parse(elem: &NodeElement<'_>, trace_type: u32) -> Result<NodeData> {
        let mut n = NodeData::default();
        let f = elem.fixed;
        let mut pos = 0usize;
        for bit in 0..22u32 {
            if trace_type & bits::mask(bit) == 0 {
                continue;
            }
            let w = usize::from(FIELD_WORDS[bit as usize]) * 4;
            let short = || Error::truncated(Layer::NodeData, pos, pos + w, f.len(), "node data field");
            let x32 = rd_u32(f, pos).ok_or_else(short)?;
            match bit {
                0 => {
                    n.hop_limit = Some((x32 >> 24) as u8);
                    n.node_id = Some(x32 & 0xff_ffff);
                }
                1 => {
                    n.ingress_if_id = Some((x32 >> 16) as u16);
                    n.egress_if_id = Some(x32 as u16);
                }
                2 => n.timestamp_secs = Some(x32),
                3 => n.timestamp_frac = Some(x32),
                4 => n.transit_delay = Some(x32),
                5 => n.namespace_data = Some(x32),
                6 => n.queue_depth = Some(x32),
                7 => n.checksum_complement = Some(x32),
                8 => {
                    let x = rd_u64(f, pos).ok_or_else(short)?;
                    n.hop_limit_wide = Some((x >> 56) as u8);
                    n.node_id_wide = Some(x & 0x00ff_ffff_ffff_ffff);
                }
                9 => {
                    n.ingress_if_id_wide = Some(x32);
                    n.egress_if_id_wide = Some(rd_u32(f, pos + 4).ok_or_else(short)?);
                }
                10 => n.namespace_data_wide = Some(rd_u64(f, pos).ok_or_else(short)?),
                11 => n.buffer_occupancy = Some(x32),
                _ => n.undefined.push(x32),
            }
            pos += w;
        }
        if let Some(o) = elem.oss {
            n.oss = Some(OssRepr::parse(o).map_err(|e| e.at(f.len()))?);
        }
        Ok(n)
    }

    /// Trace-Type bits this node carries data for (bit 23 never; bits 12-21 from `undefined`'s
    /// length are not derivable and are excluded).
    fn present_mask(&self) -> u32 {
        let mut m = 0;
        let mut set = |c: bool, b: u32| {
            if c {
                m |= b
            }
        };
        set(self.hop_limit.is_some() || self.node_id.is_some(), bits::HOP_LIM_NODE_ID);
        set(self.ingress_if_id.is_some() || self.egress_if_id.is_some(), bits::IF_IDS);
        set(self.timestamp_secs.is_some(), bits::TIMESTAMP_SECS);
        set(self.timestamp_frac.is_some(), bits::TIMESTAMP_FRAC);
        set(self.transit_delay.is_some(), bits::TRANSIT_DELAY);
        set(self.namespace_data.is_some(), bits::NAMESPACE_DATA);
        set(self.queue_depth.is_some(), bits::QUEUE_DEPTH);
        set(self.checksum_complement.is_some(), bits::CHECKSUM_COMPLEMENT);
        set(self.hop_limit_wide.is_some() || self.node_id_wide.is_some(), bits::HOP_LIM_NODE_ID_WIDE);
        set(self.ingress_if_id_wide.is_some() || self.egress_if_id_wide.is_some(), bits::IF_IDS_WIDE);
        set(self.namespace_data_wide.is_some(), bits::NAMESPACE_DATA_WIDE);
        set(self.buffer_occupancy.is_some(), bits::BUFFER_OCCUPANCY);
        set(self.oss.is_some(), bits::OSS);
        m
    }

    /// Octets this node occupies for `trace_type` (NodeLen × 4 + the OSS if bit 22).
    pub fn buffer_len(&self, trace_type: u32) -> usize {
        let mut n = usize::from(nodelen_for_type(trace_type)) * 4;
        if trace_type & bits::OSS != 0 {
            n += self.oss.as_ref().map_or(4, OssRepr::buffer_len);
        }
        n
    }

    /// Writes the element for `trace_type`. A field whose bit is set but is `None` is written as
    /// all-ones ("unavailable", RFC 9197 §4.4.2; for bit 22 Linux's `00 FF FF FF`); a field that is
    /// `Some` while its bit is clear, or a value wider than its field, is an error.
    pub fn emit(&self, trace_type: u32, buf: &mut [u8]) -> Result<()> {
        let extra = self.present_mask() & !trace_type;
        if extra != 0 {
            return Err(Error::new(ErrorCode::BadValue, Layer::NodeData, 0, "node field present but its Trace-Type bit is clear"));
        }
        let undef_bits = (trace_type & bits::UNDEFINED).count_ones() as usize;
        if self.undefined.len() > undef_bits {
            return Err(Error::new(ErrorCode::BadValue, Layer::NodeData, 0, "more undefined words than bits 12-21 set"));
        }
        if self.node_id.is_some_and(|v| v > 0xff_ffff) {
            return Err(Error::new(ErrorCode::BadValue, Layer::NodeData, 0, "node_id wider than 24 bits"));
        }
        if self.node_id_wide.is_some_and(|v| v > 0x00ff_ffff_ffff_ffff) {
            return Err(Error::new(ErrorCode::BadValue, Layer::NodeData, 0, "node_id wide wider than 56 bits"));
        }
        need_room(buf, self.buffer_len(trace_type), Layer::NodeData)?;
        const ONES: u32 = u32::MAX;
        let mut pos = 0usize;
        let mut undef = self.undefined.iter();
        for bit in 0..22u32 {
            if trace_type & bits::mask(bit) == 0 {
                continue;
            }
            let mut w8 = [0u8; 8];
            let w = usize::from(FIELD_WORDS[bit as usize]) * 4;
            match bit {
                0 => {
                    let v = (u32::from(self.hop_limit.unwrap_or(0xff)) << 24) | self.node_id.unwrap_or(0xff_ffff);
                    w8[..4].copy_from_slice(&v.to_be_bytes());
                }
                1 => {
                    let v = (u32::from(self.ingress_if_id.unwrap_or(0xffff)) << 16)
                        | u32::from(self.egress_if_id.unwrap_or(0xffff));
                    w8[..4].copy_from_slice(&v.to_be_bytes());
                }
                2..=7 | 11 => {
                    let v = match bit {
                        2 => self.timestamp_secs,
                        3 => self.timestamp_frac,
                        4 => self.transit_delay,
                        5 => self.namespace_data,
                        6 => self.queue_depth,
                        7 => self.checksum_complement,
                        _ => self.buffer_occupancy,
                    };
                    w8[..4].copy_from_slice(&v.unwrap_or(ONES).to_be_bytes());
                }
                8 => {
                    let v = (u64::from(self.hop_limit_wide.unwrap_or(0xff)) << 56)
                        | self.node_id_wide.unwrap_or(0x00ff_ffff_ffff_ffff);
                    w8 = v.to_be_bytes();
                }
                9 => {
                    w8[..4].copy_from_slice(&self.ingress_if_id_wide.unwrap_or(ONES).to_be_bytes());
                    w8[4..].copy_from_slice(&self.egress_if_id_wide.unwrap_or(ONES).to_be_bytes());
                }
                10 => w8 = self.namespace_data_wide.unwrap_or(u64::MAX).to_be_bytes(),
                _ => w8[..4].copy_from_slice(&undef.next().copied().unwrap_or(ONES).to_be_bytes()),
            }
            buf[pos..pos + w].copy_from_slice(&w8[..w]);
            pos += w;
        }
        if trace_type & bits::OSS != 0 {
            let none = OssRepr::none();
            self.oss.as_ref().unwrap_or(&none).emit(&mut buf[pos..]).map_err(|e| e.at(pos))?;
        }
        Ok(())
    }
}

/// An owned Pre-allocated or Incremental trace (the bytes after the IOAM Option-Type).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct TraceRepr {
    pub namespace_id: u16,
    /// NodeLen as on the wire (4-octet units, excluding OSS); well-formed = [`nodelen_for_type`].
    pub node_len: u8,
    #[cfg_attr(feature = "serde", serde(default))]
    pub flags: TraceFlags,
    /// RemainingLen (4-octet units, 7 bits).
    pub remaining_len: u8,
    /// 24-bit IOAM-Trace-Type (bit 0 = 0x800000).
    pub trace_type: u32,
    /// Reserved octet after the Trace-Type, kept as seen.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reserved: u8,
    /// CLT legacy trace/span IDs (only with [`TraceLayout::CltLegacy`], Pre-allocated only).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub clt: Option<CltRepr>,
    /// Pre-allocated free space as on the wire (RemainingLen × 4 octets, normally zeros; all the
    /// data when RemainingLen is too large). Decode always gives `Some` for Pre-allocated and
    /// `None` for Incremental; on emit `None` means "RemainingLen × 4 zero octets" (Pre-allocated)
    /// or nothing (Incremental).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none", with = "super::serde_util::opt_hex")
    )]
    pub free_space: Option<Vec<u8>>,
    /// Node data list, newest first (the order on the wire).
    #[cfg_attr(feature = "serde", serde(default))]
    pub nodes: Vec<NodeData>,
    /// Node-area octets that could not be decoded as whole elements (with an error); empty
    /// when well-formed.
    #[cfg_attr(feature = "serde", serde(default, with = "super::serde_util::hex", skip_serializing_if = "super::serde_util::is_empty"))]
    pub trailing: Vec<u8>,
}

impl TraceRepr {
    /// A fresh Pre-allocated trace as an encapsulating node builds it (Linux
    /// `ioam6_iptunnel.c`): NodeLen from the type, RemainingLen = `data_size` / 4, flags clear,
    /// zeroed free space, no nodes. `data_size` must be a multiple of 4 in 4..=244 and the type
    /// must not be 0 (Linux also refuses bits 12-21 and 23; that policy is the caller's).
    pub fn preallocated(namespace_id: u16, trace_type: u32, data_size: usize) -> Result<TraceRepr> {
        if data_size == 0 || data_size > DATA_SIZE_MAX || !data_size.is_multiple_of(4) {
            return Err(Error::new(ErrorCode::BadValue, Layer::Trace, 3, "trace data size must be 4..=244 and a multiple of 4"));
        }
        if trace_type == 0 || trace_type > 0xff_ffff {
            return Err(Error::new(ErrorCode::BadValue, Layer::Trace, 4, "Trace-Type must be non-zero and 24 bits"));
        }
        Ok(TraceRepr {
            namespace_id,
            node_len: nodelen_for_type(trace_type),
            remaining_len: (data_size / 4) as u8,
            trace_type,
            free_space: Some(vec![0; data_size]),
            ..TraceRepr::default()
        })
    }

    /// Parses a trace body (from Namespace-ID to the end of the option). Fails only when the
    /// 8-octet header (or the CLT block when `layout` asks for it) is missing; other problems
    /// come back as the second element with the rest kept:
    /// * RemainingLen × 4 beyond the data → `BadRemainingLen`; `free_space` = all data, no nodes.
    /// * NodeLen ≠ [`nodelen_for_type`] → `BadNodeLen`; the node area goes to `trailing`.
    /// * an element that does not fit → `Truncated`/`BadLength`; decoded nodes kept, the rest in
    ///   `trailing`.
    ///
    /// Offsets are relative to the Namespace-ID.
    pub fn parse_lax(body: &[u8], kind: TraceKind, layout: TraceLayout) -> Result<(TraceRepr, Option<Error>)> {
        let h = TraceHeaderView::new_checked(body)?;
        let mut t = TraceRepr {
            namespace_id: h.namespace_id(),
            node_len: h.node_len(),
            flags: h.flags(),
            remaining_len: h.remaining_len(),
            trace_type: h.trace_type(),
            reserved: h.reserved(),
            ..TraceRepr::default()
        };
        let mut data_at = HEADER_LEN;
        if kind == TraceKind::Preallocated && layout == TraceLayout::CltLegacy {
            let v = CltView::new_checked(h.data()).map_err(|e| e.at(HEADER_LEN))?;
            t.clt = Some(CltRepr::parse(&v));
            data_at += CLT_LEN;
        }
        let data = body.get(data_at..).unwrap_or(&[]);
        let area = match kind {
            TraceKind::Preallocated => {
                let free = usize::from(t.remaining_len) * 4;
                if free > data.len() {
                    t.free_space = Some(data.to_vec());
                    let e = Error {
                        code: ErrorCode::BadRemainingLen,
                        layer: Layer::Trace,
                        offset: field::FLAG3_REMLEN,
                        needed: free,
                        got: data.len(),
                        what: "RemainingLen × 4 beyond the option data",
                    };
                    return Ok((t, Some(e)));
                }
                t.free_space = Some(data[..free].to_vec());
                data_at += free;
                &data[free..]
            }
            TraceKind::Incremental => data,
        };
        let computed = nodelen_for_type(t.trace_type);
        if t.node_len != computed {
            t.trailing = area.to_vec();
            let e = Error {
                code: ErrorCode::BadNodeLen,
                layer: Layer::Trace,
                offset: field::NODELEN_FLAGS,
                needed: usize::from(computed),
                got: usize::from(t.node_len),
                what: "NodeLen differs from the value the Trace-Type implies",
            };
            return Ok((t, Some(e)));
        }
        let mut it = NodeIter::new(area, t.trace_type, t.node_len, data_at);
        let mut err = None;
        for r in it.by_ref() {
            match r.and_then(|el| NodeData::parse(&el, t.trace_type).map_err(|e| e.at(el.offset))) {
                Ok(n) => t.nodes.push(n),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if err.is_some() {
            t.trailing = area.get(it.position()..).unwrap_or(&[]).to_vec();
        }
        Ok((t, err))
    }

    /// Strict parse: any problem is an error.
    pub fn parse(body: &[u8], kind: TraceKind, layout: TraceLayout) -> Result<TraceRepr> {
        match Self::parse_lax(body, kind, layout)? {
            (t, None) => Ok(t),
            (_, Some(e)) => Err(e),
        }
    }

    fn free_len(&self, kind: TraceKind) -> usize {
        match (&self.free_space, kind) {
            (Some(f), _) => f.len(),
            (None, TraceKind::Preallocated) => usize::from(self.remaining_len) * 4,
            (None, TraceKind::Incremental) => 0,
        }
    }

    /// Octets of the body (header, CLT block, free space, nodes, trailing).
    pub fn buffer_len(&self, kind: TraceKind) -> usize {
        HEADER_LEN
            + if self.clt.is_some() { CLT_LEN } else { 0 }
            + self.free_len(kind)
            + self.nodes.iter().map(|n| n.buffer_len(self.trace_type)).sum::<usize>()
            + self.trailing.len()
    }

    /// Writes the body. NodeLen and RemainingLen are written as given (so malformed traces can be
    /// built on purpose); nodes are laid out for `trace_type`.
    pub fn emit(&self, kind: TraceKind, buf: &mut [u8]) -> Result<()> {
        let n = self.buffer_len(kind);
        need_room(buf, n, Layer::Trace)?;
        if self.node_len > 0x1f || self.remaining_len > REMLEN_MASK || self.trace_type > 0xff_ffff {
            return Err(Error::new(ErrorCode::BadValue, Layer::Trace, 2, "NodeLen > 31, RemainingLen > 127 or Trace-Type > 24 bits"));
        }
        let buf = &mut buf[..n];
        {
            let mut h = TraceHeaderView::new_unchecked(&mut *buf);
            h.set_namespace_id(self.namespace_id);
            h.buffer[field::NODELEN_FLAGS] = 0;
            h.buffer[field::FLAG3_REMLEN] = 0;
            h.set_node_len(self.node_len);
            h.set_flags(self.flags);
            h.set_remaining_len(self.remaining_len);
            h.set_trace_type(self.trace_type);
            h.set_reserved(self.reserved);
        }
        let mut pos = HEADER_LEN;
        if let Some(c) = &self.clt {
            c.emit(&mut buf[pos..]).map_err(|e| e.at(pos))?;
            pos += CLT_LEN;
        }
        let free = self.free_len(kind);
        match &self.free_space {
            Some(f) => buf[pos..pos + free].copy_from_slice(f),
            None => buf[pos..pos + free].fill(0),
        }
        pos += free;
        for node in &self.nodes {
            let l = node.buffer_len(self.trace_type);
            node.emit(self.trace_type, &mut buf[pos..pos + l]).map_err(|e| e.at(pos))?;
            pos += l;
        }
        wr(buf, pos, &self.trailing, Layer::Trace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trace body (from Namespace-ID) of the a2_basic_bits0_1 h2 socket view: type 0xc00000,
    /// NodeLen 2, RemainingLen 0, three nodes h2, r2, r1 (newest first).
    const A2_BODY: [u8; 32] = [
        0x00, 0x7b, 0x10, 0x00, 0xc0, 0x00, 0x00, 0x00, //
        0x3d, 0x00, 0x00, 0x03, 0x01, 0x2d, 0xff, 0xff, //
        0x3e, 0x00, 0x00, 0x02, 0x00, 0xc9, 0x00, 0xca, //
        0x3f, 0x00, 0x00, 0x01, 0x00, 0x65, 0x00, 0x66,
    ];

    fn node(hl: u8, id: u32, i: u16, e: u16) -> NodeData {
        NodeData { hop_limit: Some(hl), node_id: Some(id), ingress_if_id: Some(i), egress_if_id: Some(e), ..NodeData::default() }
    }

    #[test]
    fn nodelen_matches_linux_formula() {
        assert_eq!(nodelen_for_type(0xfff002), 15);
        assert_eq!(nodelen_for_type(0xc00000), 2);
        assert_eq!(nodelen_for_type(0x800800), 2);
        assert_eq!(nodelen_for_type(0x000002), 0);
        assert_eq!(nodelen_for_type(0x800001), 1);
        assert_eq!(nodelen_for_type(0x00e000), 6);
        assert_eq!(nodelen_for_type(0xffffff), 8 + 6 + 1 + 10);
        // Against the per-bit table, for every single bit and a spread of types.
        let table = |t: u32| (0..24).filter(|b| t & bits::mask(*b) != 0).map(|b| u32::from(FIELD_WORDS[b as usize])).sum::<u32>();
        let mut x = 0x1234_5678u32;
        for i in 0..20000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let t = if i < 24 { bits::mask(i) } else { x & 0xff_ffff };
            assert_eq!(u32::from(nodelen_for_type(t)), table(t), "type {t:#08x}");
        }
    }

    #[test]
    fn header_view_fields_and_setters() {
        // g2_loopback_active_flags: `007b 0b 83 800000 00`: NodeLen 1, L=1 A=1, bit3=1, RemLen 3.
        let mut b = [0x00, 0x7b, 0x0b, 0x83, 0x80, 0x00, 0x00, 0x00];
        let v = TraceHeaderView::new_checked(&b[..]).unwrap();
        assert_eq!(v.namespace_id(), 123);
        assert_eq!(v.node_len(), 1);
        assert_eq!(v.flags(), TraceFlags { overflow: false, loopback: true, active: true, bit3: true });
        assert_eq!(v.remaining_len(), 3);
        assert_eq!(v.trace_type(), 0x800000);
        let mut m = TraceHeaderView::new_unchecked(&mut b[..]);
        m.set_overflow();
        m.set_remaining_len(2);
        assert_eq!(m.flags(), TraceFlags { overflow: true, loopback: true, active: true, bit3: true });
        assert_eq!((m.node_len(), m.remaining_len()), (1, 2));
        m.set_node_len(15);
        m.set_flags(TraceFlags::default());
        assert_eq!(b[2..4], [0x78, 0x02]);
        for n in 0..HEADER_LEN {
            let e = TraceHeaderView::new_checked(&b[..n]).unwrap_err();
            assert_eq!((e.code, e.layer, e.needed, e.got), (ErrorCode::Truncated, Layer::Trace, 8, n));
        }
    }

    #[test]
    fn parses_a2_socket_view() {
        let t = TraceRepr::parse(&A2_BODY, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        assert_eq!((t.namespace_id, t.node_len, t.remaining_len, t.trace_type, t.reserved), (123, 2, 0, 0xc00000, 0));
        assert_eq!(t.flags, TraceFlags::default());
        assert!(t.free_space == Some(vec![]) && t.trailing.is_empty() && t.clt.is_none());
        assert_eq!(t.nodes, vec![node(61, 3, 301, 0xffff), node(62, 2, 201, 202), node(63, 1, 101, 102)]);
        let mut out = [0u8; 32];
        assert_eq!(t.buffer_len(TraceKind::Preallocated), 32);
        t.emit(TraceKind::Preallocated, &mut out).unwrap();
        assert_eq!(out, A2_BODY);
        // The same bytes as an Incremental trace decode identically (RemainingLen 0).
        let i = TraceRepr::parse(&A2_BODY, TraceKind::Incremental, TraceLayout::Standard).unwrap();
        assert_eq!(i.nodes, t.nodes);
    }

    #[test]
    fn view_free_space_node_area_and_nodes() {
        let v = TraceHeaderView::new_checked(&A2_BODY[..]).unwrap();
        v.check_node_len().unwrap();
        assert_eq!(v.free_space(TraceLayout::Standard).unwrap(), &[] as &[u8]);
        let (at, area) = v.node_area(TraceLayout::Standard).unwrap();
        assert_eq!((at, area.len()), (8, 24));
        let offs: Vec<usize> = v.nodes(TraceLayout::Standard).unwrap().map(|e| e.unwrap().offset).collect();
        assert_eq!(offs, vec![8, 16, 24]);
        // CLT layout on a 32-octet body: IDs take 24 octets, nothing left.
        assert_eq!(v.node_area(TraceLayout::CltLegacy).unwrap(), (32, &[][..]));
        let mut b = A2_BODY;
        b[3] = 7; // 28 free octets > 24
        let e = TraceHeaderView::new_checked(&b[..]).unwrap().nodes(TraceLayout::Standard).unwrap_err();
        assert_eq!((e.code, e.needed, e.got), (ErrorCode::BadRemainingLen, 28, 24));
        b[2] = 0x08; // NodeLen 1
        let e = TraceHeaderView::new_checked(&b[..]).unwrap().nodes(TraceLayout::Standard).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadNodeLen);
        let e = TraceHeaderView::new_checked(&A2_BODY[..20]).unwrap().free_space(TraceLayout::CltLegacy).unwrap_err();
        assert_eq!((e.code, e.layer), (ErrorCode::Truncated, Layer::Clt));
    }

    #[test]
    fn preallocated_like_the_kernel() {
        let t = TraceRepr::preallocated(123, 0xfff002, 236).unwrap();
        assert_eq!((t.node_len, t.remaining_len, t.buffer_len(TraceKind::Preallocated)), (15, 59, 244));
        assert!(TraceRepr::preallocated(1, 0x800000, 248).is_err());
        assert!(TraceRepr::preallocated(1, 0x800000, 6).is_err());
        assert!(TraceRepr::preallocated(1, 0, 8).is_err());
    }

    #[test]
    fn incremental_has_no_free_space() {
        let mut b = A2_BODY;
        b[3] = 2; // RemainingLen 2 = budget, not free space.
        let i = TraceRepr::parse(&b, TraceKind::Incremental, TraceLayout::Standard).unwrap();
        assert_eq!((i.remaining_len, i.nodes.len()), (2, 3));
        assert!(i.free_space.is_none());
        let mut out = [0u8; 32];
        i.emit(TraceKind::Incremental, &mut out).unwrap();
        assert_eq!(out, b);
        // As Pre-allocated the 8 octets after the header are free space, then 2 nodes.
        let p = TraceRepr::parse(&b, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        assert_eq!((p.free_space.unwrap().len(), p.nodes.len()), (8, 2));
    }

    #[test]
    fn truncated_node_keeps_decoded_nodes() {
        // Cut the last node in half: two nodes decoded, 4 octets trailing, error at offset 24.
        let (t, e) = TraceRepr::parse_lax(&A2_BODY[..28], TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        assert_eq!(t.nodes.len(), 2);
        assert_eq!(t.trailing, A2_BODY[24..28].to_vec());
        let e = e.unwrap();
        assert_eq!((e.code, e.layer, e.offset, e.needed, e.got), (ErrorCode::Truncated, Layer::NodeData, 24, 8, 4));
    }

    #[test]
    fn every_prefix_is_an_error_or_a_whole_trace_never_a_panic() {
        for n in 0..A2_BODY.len() {
            let r = TraceRepr::parse(&A2_BODY[..n], TraceKind::Preallocated, TraceLayout::Standard);
            // 8, 16, 24 octets are whole (0, 1, 2 nodes); all other lengths are errors.
            if n >= 8 && n % 8 == 0 {
                assert_eq!(r.unwrap().nodes.len(), (n - 8) / 8);
            } else {
                let e = r.unwrap_err();
                assert!(matches!(e.code, ErrorCode::Truncated), "{n}: {e}");
            }
        }
    }

    #[test]
    fn bad_remaining_len_and_bad_nodelen() {
        // k_remlen_exceeds_optlen: `007b 0805 800000 00` + 8 zero octets: RemLen 5 → 20 > 8.
        let k = [0x00, 0x7b, 0x08, 0x05, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let (t, e) = TraceRepr::parse_lax(&k, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        let e = e.unwrap();
        assert_eq!((e.code, e.offset, e.needed, e.got), (ErrorCode::BadRemainingLen, 3, 20, 8));
        assert_eq!((t.free_space.clone().unwrap().len(), t.nodes.len(), t.remaining_len), (8, 0, 5));
        let mut out = [0u8; 16];
        t.emit(TraceKind::Preallocated, &mut out).unwrap();
        assert_eq!(out, k);
        // f3_undef_bit12_nodelen1: type 0x800800 with NodeLen 1 (computed 2).
        let mut f3 = [0u8; 32];
        f3[..8].copy_from_slice(&[0x00, 0x7b, 0x08, 0x06, 0x80, 0x08, 0x00, 0x00]);
        let (t, e) = TraceRepr::parse_lax(&f3, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        let e = e.unwrap();
        assert_eq!((e.code, e.layer, e.offset, e.needed, e.got), (ErrorCode::BadNodeLen, Layer::Trace, 2, 2, 1));
        assert_eq!((t.free_space.unwrap().len(), t.trailing.len()), (24, 0));
    }

    #[test]
    fn empty_elements_with_data_is_an_error_not_a_loop() {
        // Type bit 23 only: NodeLen 0, no OSS; 4 octets of "node data" cannot be elements.
        let b = [0, 1, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff];
        let (t, e) = TraceRepr::parse_lax(&b, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        assert_eq!(e.unwrap().code, ErrorCode::BadLength);
        assert_eq!(t.trailing, vec![0xff; 4]);
    }

    #[test]
    fn oss_and_undefined_bits() {
        // Type: bit 0, bit 12, bit 22; NodeLen 2. Two nodes: with schema 888 "ABCDE" and none.
        let ty = bits::mask(0) | bits::mask(12) | bits::OSS;
        let n1 = NodeData {
            hop_limit: Some(61),
            node_id: Some(3),
            undefined: vec![0xffff_ffff],
            oss: Some(OssRepr { length: 2, schema_id: 888, data: b"ABCDE\0\0\0".to_vec() }),
            ..NodeData::default()
        };
        let n2 = NodeData { hop_limit: Some(62), node_id: Some(2), undefined: vec![0xffff_ffff], oss: Some(OssRepr::none()), ..NodeData::default() };
        let t = TraceRepr {
            namespace_id: 123,
            node_len: 2,
            remaining_len: 1,
            trace_type: ty,
            nodes: vec![n1, n2],
            ..TraceRepr::default()
        };
        let len = t.buffer_len(TraceKind::Preallocated);
        assert_eq!(len, 8 + 4 + (8 + 12) + (8 + 4));
        let mut b = vec![0u8; len];
        t.emit(TraceKind::Preallocated, &mut b).unwrap();
        assert_eq!(&b[20..24], &[0x02, 0x00, 0x03, 0x78]);
        assert_eq!(&b[40..44], &[0x00, 0xff, 0xff, 0xff]);
        let mut back = TraceRepr::parse(&b, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        assert_eq!(back.free_space, Some(vec![0; 4]));
        back.free_space = None;
        assert_eq!(back, t);
        // OSS length byte pointing past the end: error in layer Oss at the OSS offset.
        let mut c = b.clone();
        c[40] = 9;
        let (p, e) = TraceRepr::parse_lax(&c, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        let e = e.unwrap();
        assert_eq!((e.code, e.layer, e.offset), (ErrorCode::Truncated, Layer::Oss, 40));
        assert_eq!((p.nodes.len(), p.trailing.len()), (1, 12));
    }

    #[test]
    fn emit_fills_unavailable_and_refuses_extras() {
        let mut b = [0u8; 12];
        // Bits 0, 5, 6 and 12: four words, all written as all-ones when absent.
        assert_eq!(NodeData::default().buffer_len(0x860000 | bits::mask(12)), 16);
        let mut b16 = [0u8; 16];
        NodeData::default().emit(0x860000 | bits::mask(12), &mut b16).unwrap();
        assert_eq!(b16, [0xff; 16]);
        assert_eq!(NodeData::default().emit(0x860000 | bits::mask(12), &mut b).unwrap_err().code, ErrorCode::NoRoom);
        let n = NodeData { queue_depth: Some(1), ..NodeData::default() };
        assert_eq!(n.emit(0x800000, &mut b).unwrap_err().code, ErrorCode::BadValue);
        let n = NodeData { node_id: Some(0x100_0000), ..NodeData::default() };
        assert_eq!(n.emit(0x800000, &mut b).unwrap_err().code, ErrorCode::BadValue);
        let n = NodeData { undefined: vec![1, 2], ..NodeData::default() };
        assert_eq!(n.emit(bits::mask(12), &mut b).unwrap_err().code, ErrorCode::BadValue);
    }
}
