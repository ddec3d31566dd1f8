//! IOAM Edge-to-Edge Option-Type, RFC 9197 §4.6.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Namespace-ID           |         IOAM-E2E-Type         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               E2E Option data field determined by E2E-Type    |
//! ```
//! E2E-Type bits (bit 0 = 0x8000), data in bit order: 0 sequence number 64 bits, 1 sequence
//! number 32 bits, 2 timestamp seconds 32 bits, 3 timestamp fraction 32 bits, 4-15 undefined
//! (their sizes are unknown, so anything after the known fields is kept as `data`).

use super::{need_room, rd_u16, rd_u32, rd_u64, wr};
use crate::error::{Error, ErrorCode, Layer, Result};

mod field {
    use core::ops::Range;
    pub const NAMESPACE_ID: Range<usize> = 0..2;
    pub const E2E_TYPE: Range<usize> = 2..4;
}

pub const HEADER_LEN: usize = 4;
pub const BIT_SEQ64: u16 = 0x8000;
pub const BIT_SEQ32: u16 = 0x4000;
pub const BIT_TS_SECS: u16 = 0x2000;
pub const BIT_TS_FRAC: u16 = 0x1000;

/// Octets of the known fields selected by an E2E-Type.
pub const fn known_len(t: u16) -> usize {
    (if t & BIT_SEQ64 != 0 { 8 } else { 0 })
        + (if t & BIT_SEQ32 != 0 { 4 } else { 0 })
        + (if t & BIT_TS_SECS != 0 { 4 } else { 0 })
        + (if t & BIT_TS_FRAC != 0 { 4 } else { 0 })
}

/// Zero-copy view of an E2E body (from Namespace-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E2eView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> E2eView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        E2eView { buffer }
    }
    /// Checks the header and the fields its known E2E-Type bits select.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::truncated(Layer::E2e, 0, HEADER_LEN, b.len(), "E2E header"));
        }
        let t = rd_u16(b, field::E2E_TYPE.start).unwrap_or(0);
        let need = HEADER_LEN + known_len(t);
        if b.len() < need {
            return Err(Error::truncated(Layer::E2e, 0, need, b.len(), "E2E data for its E2E-Type"));
        }
        Ok(E2eView { buffer })
    }
    pub fn namespace_id(&self) -> u16 {
        rd_u16(self.buffer.as_ref(), field::NAMESPACE_ID.start).unwrap_or(0)
    }
    pub fn e2e_type(&self) -> u16 {
        rd_u16(self.buffer.as_ref(), field::E2E_TYPE.start).unwrap_or(0)
    }
}

/// Owned E2E option body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct E2eRepr {
    pub namespace_id: u16,
    /// 16-bit IOAM-E2E-Type bitmap (bit 0 = 0x8000).
    pub e2e_type: u16,
    /// Bit 0: 64-bit sequence number (JSON: decimal string).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none", with = "super::serde_util::opt_u64_str")
    )]
    pub seq_num64: Option<u64>,
    /// Bit 1: 32-bit sequence number.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub seq_num32: Option<u32>,
    /// Bit 2: timestamp seconds.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub timestamp_secs: Option<u32>,
    /// Bit 3: timestamp fraction.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub timestamp_frac: Option<u32>,
    /// Octets after the known fields (undefined bits 4-15 data).
    #[cfg_attr(feature = "serde", serde(default, with = "super::serde_util::hex", skip_serializing_if = "super::serde_util::is_empty"))]
    pub data: Vec<u8>,
}

impl E2eRepr {
    pub fn parse(b: &[u8]) -> Result<E2eRepr> {
        let v = E2eView::new_checked(b)?;
        let t = v.e2e_type();
        let mut r = E2eRepr { namespace_id: v.namespace_id(), e2e_type: t, ..E2eRepr::default() };
        let mut pos = HEADER_LEN;
        // Lengths were checked by new_checked; `?`-free reads fall back to None defensively.
        if t & BIT_SEQ64 != 0 {
            r.seq_num64 = rd_u64(b, pos);
            pos += 8;
        }
        if t & BIT_SEQ32 != 0 {
            r.seq_num32 = rd_u32(b, pos);
            pos += 4;
        }
        if t & BIT_TS_SECS != 0 {
            r.timestamp_secs = rd_u32(b, pos);
            pos += 4;
        }
        if t & BIT_TS_FRAC != 0 {
            r.timestamp_frac = rd_u32(b, pos);
            pos += 4;
        }
        r.data = b.get(pos..).unwrap_or(&[]).to_vec();
        Ok(r)
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + known_len(self.e2e_type) + self.data.len()
    }

    /// Writes the body; a field whose bit is set but is `None` is written as all-ones, a field
    /// that is `Some` with its bit clear is an error.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        need_room(buf, self.buffer_len(), Layer::E2e)?;
        let t = self.e2e_type;
        let extra = (self.seq_num64.is_some() && t & BIT_SEQ64 == 0)
            || (self.seq_num32.is_some() && t & BIT_SEQ32 == 0)
            || (self.timestamp_secs.is_some() && t & BIT_TS_SECS == 0)
            || (self.timestamp_frac.is_some() && t & BIT_TS_FRAC == 0);
        if extra {
            return Err(Error::new(ErrorCode::BadValue, Layer::E2e, 2, "E2E field present but its E2E-Type bit is clear"));
        }
        wr(buf, 0, &self.namespace_id.to_be_bytes(), Layer::E2e)?;
        wr(buf, 2, &t.to_be_bytes(), Layer::E2e)?;
        let mut pos = HEADER_LEN;
        if t & BIT_SEQ64 != 0 {
            wr(buf, pos, &self.seq_num64.unwrap_or(u64::MAX).to_be_bytes(), Layer::E2e)?;
            pos += 8;
        }
        for (bit, v) in [(BIT_SEQ32, self.seq_num32), (BIT_TS_SECS, self.timestamp_secs), (BIT_TS_FRAC, self.timestamp_frac)] {
            if t & bit != 0 {
                wr(buf, pos, &v.unwrap_or(u32::MAX).to_be_bytes(), Layer::E2e)?;
                pos += 4;
            }
        }
        wr(buf, pos, &self.data, Layer::E2e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// i3_e2e_type3 capture body: ns 123, E2E-Type 0x8000, 64-bit sequence number 42.
    const I3: [u8; 12] = [0x00, 0x7b, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x2a];

    #[test]
    fn seq64_and_round_trip() {
        let r = E2eRepr::parse(&I3).unwrap();
        assert_eq!(r, E2eRepr { namespace_id: 123, e2e_type: 0x8000, seq_num64: Some(42), ..E2eRepr::default() });
        let mut out = [0u8; 12];
        r.emit(&mut out).unwrap();
        assert_eq!(out, I3);
        for n in 0..I3.len() {
            assert_eq!(E2eRepr::parse(&I3[..n]).unwrap_err().code, ErrorCode::Truncated);
        }
    }

    #[test]
    fn all_bits_in_order_plus_undefined_data() {
        let b = [0, 5, 0xf8, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0xee];
        let r = E2eRepr::parse(&b).unwrap();
        assert_eq!((r.seq_num64, r.seq_num32, r.timestamp_secs, r.timestamp_frac), (Some(1), Some(2), Some(3), Some(4)));
        assert_eq!(r.data, vec![0xee]);
        let mut out = [0u8; 25];
        r.emit(&mut out).unwrap();
        assert_eq!(out, b);
        let bad = E2eRepr { e2e_type: 0, ..r };
        assert_eq!(bad.emit(&mut out).unwrap_err().code, ErrorCode::BadValue);
    }
}
