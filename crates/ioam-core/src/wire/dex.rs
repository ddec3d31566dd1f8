//! IOAM Direct Export (DEX) Option-Type, RFC 9326 §3.2.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Namespace-ID           |     Flags     |Extension-Flags|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               IOAM-Trace-Type                 |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Flow ID (optional)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Sequence Number (Optional)                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! Extension-Flags bit 0 (0x80) = Flow ID present, bit 1 (0x40) = Sequence Number present; each
//! set Extension-Flag selects one 4-octet optional field, in bit order, so the fields of the
//! unassigned bits 2-7 are kept as `otherFields`. No node data travels in the packet.

use super::{need_room, rd_u16, rd_u24, rd_u32, rd_u8, wr};
use crate::error::{Error, ErrorCode, Layer, Result};

mod field {
    use core::ops::Range;
    pub const NAMESPACE_ID: Range<usize> = 0..2;
    pub const FLAGS: usize = 2;
    pub const EXT_FLAGS: usize = 3;
    pub const TRACE_TYPE: Range<usize> = 4..7;
    pub const RESERVED: usize = 7;
}

pub const HEADER_LEN: usize = 8;
pub const EXT_FLOW_ID: u8 = 0x80;
pub const EXT_SEQ_NUM: u8 = 0x40;

/// Zero-copy view of a DEX body (from Namespace-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DexView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DexView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        DexView { buffer }
    }
    /// Checks the 8-octet header and one 4-octet field per set Extension-Flag.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::truncated(Layer::Dex, 0, HEADER_LEN, b.len(), "DEX header"));
        }
        let need = HEADER_LEN + 4 * b[field::EXT_FLAGS].count_ones() as usize;
        if b.len() < need {
            return Err(Error::truncated(Layer::Dex, 0, need, b.len(), "DEX optional fields for its Extension-Flags"));
        }
        Ok(DexView { buffer })
    }
    pub fn namespace_id(&self) -> u16 {
        rd_u16(self.buffer.as_ref(), field::NAMESPACE_ID.start).unwrap_or(0)
    }
    pub fn flags(&self) -> u8 {
        rd_u8(self.buffer.as_ref(), field::FLAGS).unwrap_or(0)
    }
    pub fn extension_flags(&self) -> u8 {
        rd_u8(self.buffer.as_ref(), field::EXT_FLAGS).unwrap_or(0)
    }
    pub fn trace_type(&self) -> u32 {
        rd_u24(self.buffer.as_ref(), field::TRACE_TYPE.start).unwrap_or(0)
    }
    pub fn reserved(&self) -> u8 {
        rd_u8(self.buffer.as_ref(), field::RESERVED).unwrap_or(0)
    }
    /// The optional field for Extension-Flag bit `n` (0..8), if that flag is set.
    pub fn optional_field(&self, n: u32) -> Option<u32> {
        let e = self.extension_flags();
        let m = 0x80u8.checked_shr(n)?;
        if n > 7 || e & m == 0 {
            return None;
        }
        let before = (e & !(0xffu8 >> n)).count_ones() as usize; // set bits ahead of n
        rd_u32(self.buffer.as_ref(), HEADER_LEN + 4 * before)
    }
}

/// Owned DEX option body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct DexRepr {
    pub namespace_id: u16,
    #[cfg_attr(feature = "serde", serde(default))]
    pub flags: u8,
    #[cfg_attr(feature = "serde", serde(default))]
    pub extension_flags: u8,
    /// 24-bit IOAM-Trace-Type the nodes should export.
    pub trace_type: u32,
    #[cfg_attr(feature = "serde", serde(default))]
    pub reserved: u8,
    /// Extension-Flag bit 0.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub flow_id: Option<u32>,
    /// Extension-Flag bit 1.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub sequence_number: Option<u32>,
    /// Fields of set unassigned Extension-Flags 2-7, in bit order.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub other_fields: Vec<u32>,
    /// Octets after the optional fields (normally none).
    #[cfg_attr(feature = "serde", serde(default, with = "super::serde_util::hex", skip_serializing_if = "super::serde_util::is_empty"))]
    pub data: Vec<u8>,
}

impl DexRepr {
    pub fn parse(b: &[u8]) -> Result<DexRepr> {
        let v = DexView::new_checked(b)?;
        let others = (2..8).filter_map(|n| v.optional_field(n)).collect();
        let nopt = v.extension_flags().count_ones() as usize;
        Ok(DexRepr {
            namespace_id: v.namespace_id(),
            flags: v.flags(),
            extension_flags: v.extension_flags(),
            trace_type: v.trace_type(),
            reserved: v.reserved(),
            flow_id: v.optional_field(0),
            sequence_number: v.optional_field(1),
            other_fields: others,
            data: b.get(HEADER_LEN + 4 * nopt..).unwrap_or(&[]).to_vec(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + 4 * self.extension_flags.count_ones() as usize + self.data.len()
    }

    /// Writes the body. Optional fields must match the Extension-Flags: a set flag without a
    /// value is written as all-ones; a value without its flag, or a count of `other_fields`
    /// different from the set bits 2-7, is an error.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        need_room(buf, self.buffer_len(), Layer::Dex)?;
        let e = self.extension_flags;
        if (self.flow_id.is_some() && e & EXT_FLOW_ID == 0)
            || (self.sequence_number.is_some() && e & EXT_SEQ_NUM == 0)
            || self.other_fields.len() != (e & 0x3f).count_ones() as usize
        {
            return Err(Error::new(ErrorCode::BadValue, Layer::Dex, 3, "DEX optional fields disagree with Extension-Flags"));
        }
        if self.trace_type > 0xff_ffff {
            return Err(Error::new(ErrorCode::BadValue, Layer::Dex, 4, "Trace-Type wider than 24 bits"));
        }
        wr(buf, 0, &self.namespace_id.to_be_bytes(), Layer::Dex)?;
        buf[field::FLAGS] = self.flags;
        buf[field::EXT_FLAGS] = e;
        wr(buf, field::TRACE_TYPE.start, &self.trace_type.to_be_bytes()[1..], Layer::Dex)?;
        buf[field::RESERVED] = self.reserved;
        let mut pos = HEADER_LEN;
        let mut others = self.other_fields.iter();
        for n in 0..8u32 {
            if e & (0x80 >> n) == 0 {
                continue;
            }
            let v = match n {
                0 => self.flow_id.unwrap_or(u32::MAX),
                1 => self.sequence_number.unwrap_or(u32::MAX),
                _ => others.next().copied().unwrap_or(u32::MAX),
            };
            wr(buf, pos, &v.to_be_bytes(), Layer::Dex)?;
            pos += 4;
        }
        wr(buf, pos, &self.data, Layer::Dex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// i_dex_type4 capture body: ns 123, flags 0, ext 0xc0, type 0xc00000, flow 0x01020304, seq 7.
    const I: [u8; 16] = [0x00, 0x7b, 0x00, 0xc0, 0xc0, 0x00, 0x00, 0x00, 1, 2, 3, 4, 0, 0, 0, 7];

    #[test]
    fn fields_and_round_trip() {
        let r = DexRepr::parse(&I).unwrap();
        assert_eq!(
            r,
            DexRepr {
                namespace_id: 123,
                flags: 0,
                extension_flags: 0xc0,
                trace_type: 0xc00000,
                reserved: 0,
                flow_id: Some(0x0102_0304),
                sequence_number: Some(7),
                other_fields: vec![],
                data: vec![],
            }
        );
        let mut out = [0u8; 16];
        r.emit(&mut out).unwrap();
        assert_eq!(out, I);
        for n in 0..I.len() {
            assert_eq!(DexRepr::parse(&I[..n]).unwrap_err().code, ErrorCode::Truncated);
        }
    }

    #[test]
    fn sequence_number_only_and_unassigned_flags() {
        // ext 0x41: Sequence Number (bit 1) then one field for bit 7.
        let b = [0, 1, 0, 0x41, 0x80, 0, 0, 0, 0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef];
        let r = DexRepr::parse(&b).unwrap();
        assert_eq!((r.flow_id, r.sequence_number, r.other_fields.clone()), (None, Some(9), vec![0xdead_beef]));
        let mut out = [0u8; 16];
        r.emit(&mut out).unwrap();
        assert_eq!(out, b);
        let bad = DexRepr { flow_id: Some(1), ..r };
        assert_eq!(bad.emit(&mut out).unwrap_err().code, ErrorCode::BadValue);
    }
}
