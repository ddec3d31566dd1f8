//! IOAM Proof of Transit Option-Type, RFC 9197 §4.5.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Namespace-ID           |IOAM POT Type  | IOAM POT flags|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               POT Option data field determined by POT Type    |
//! ```
//! POT Type 0 (§4.5.2): Random (64 bits, per-packet random number, "PktID" in some texts) and
//! Cumulative (64 bits). Other POT Types: data kept as bytes. Linux ignores POT.

use super::{need_room, rd_u16, rd_u64, rd_u8, wr};
use crate::error::{Error, ErrorCode, Layer, Result};

mod field {
    use core::ops::Range;
    pub const NAMESPACE_ID: Range<usize> = 0..2;
    pub const POT_TYPE: usize = 2;
    pub const FLAGS: usize = 3;
    pub const RANDOM: Range<usize> = 4..12;
    pub const CUMULATIVE: Range<usize> = 12..20;
}

pub const HEADER_LEN: usize = 4;
/// Body length of POT Type 0.
pub const TYPE0_LEN: usize = 20;

/// Zero-copy view of a POT body (from Namespace-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PotView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PotView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        PotView { buffer }
    }
    /// Checks the 4-octet header, and for POT Type 0 the 16 data octets.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::truncated(Layer::Pot, 0, HEADER_LEN, b.len(), "POT header"));
        }
        if b[field::POT_TYPE] == 0 && b.len() < TYPE0_LEN {
            return Err(Error::truncated(Layer::Pot, 0, TYPE0_LEN, b.len(), "POT Type 0 Random + Cumulative"));
        }
        Ok(PotView { buffer })
    }
    pub fn namespace_id(&self) -> u16 {
        rd_u16(self.buffer.as_ref(), field::NAMESPACE_ID.start).unwrap_or(0)
    }
    pub fn pot_type(&self) -> u8 {
        rd_u8(self.buffer.as_ref(), field::POT_TYPE).unwrap_or(0)
    }
    pub fn flags(&self) -> u8 {
        rd_u8(self.buffer.as_ref(), field::FLAGS).unwrap_or(0)
    }
    /// POT Type 0 Random, `None` if absent.
    pub fn random(&self) -> Option<u64> {
        rd_u64(self.buffer.as_ref(), field::RANDOM.start)
    }
    /// POT Type 0 Cumulative, `None` if absent.
    pub fn cumulative(&self) -> Option<u64> {
        rd_u64(self.buffer.as_ref(), field::CUMULATIVE.start)
    }
    pub fn data(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}

/// Owned POT option body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct PotRepr {
    pub namespace_id: u16,
    pub pot_type: u8,
    #[cfg_attr(feature = "serde", serde(default))]
    pub flags: u8,
    /// POT Type 0: Random (JSON: decimal string).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none", with = "super::serde_util::opt_u64_str")
    )]
    pub random: Option<u64>,
    /// POT Type 0: Cumulative (JSON: decimal string).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none", with = "super::serde_util::opt_u64_str")
    )]
    pub cumulative: Option<u64>,
    /// Other POT Types: the data; Type 0: octets after Cumulative (normally none).
    #[cfg_attr(feature = "serde", serde(default, with = "super::serde_util::hex", skip_serializing_if = "super::serde_util::is_empty"))]
    pub data: Vec<u8>,
}

impl PotRepr {
    pub fn parse(b: &[u8]) -> Result<PotRepr> {
        let v = PotView::new_checked(b)?;
        let t0 = v.pot_type() == 0;
        Ok(PotRepr {
            namespace_id: v.namespace_id(),
            pot_type: v.pot_type(),
            flags: v.flags(),
            random: if t0 { v.random() } else { None },
            cumulative: if t0 { v.cumulative() } else { None },
            data: if t0 { b.get(TYPE0_LEN..).unwrap_or(&[]).to_vec() } else { v.data().to_vec() },
        })
    }

    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + if self.pot_type == 0 { 16 } else { 0 } + self.data.len()
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        need_room(buf, self.buffer_len(), Layer::Pot)?;
        if self.pot_type != 0 && (self.random.is_some() || self.cumulative.is_some()) {
            return Err(Error::new(ErrorCode::BadValue, Layer::Pot, 2, "Random/Cumulative only exist in POT Type 0"));
        }
        wr(buf, 0, &self.namespace_id.to_be_bytes(), Layer::Pot)?;
        buf[field::POT_TYPE] = self.pot_type;
        buf[field::FLAGS] = self.flags;
        let mut pos = HEADER_LEN;
        if self.pot_type == 0 {
            wr(buf, field::RANDOM.start, &self.random.unwrap_or(0).to_be_bytes(), Layer::Pot)?;
            wr(buf, field::CUMULATIVE.start, &self.cumulative.unwrap_or(0).to_be_bytes(), Layer::Pot)?;
            pos = TYPE0_LEN;
        }
        wr(buf, pos, &self.data, Layer::Pot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// i2_pot_type2 capture body (after Reserved/Option-Type 2).
    const I2: [u8; 20] = [0x00, 0x7b, 0x00, 0x00, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    #[test]
    fn type0_fields_and_round_trip() {
        let r = PotRepr::parse(&I2).unwrap();
        assert_eq!((r.namespace_id, r.pot_type, r.flags), (123, 0, 0));
        assert_eq!(r.random, Some(0x0001_0203_0405_0607));
        assert_eq!(r.cumulative, Some(0x0809_0a0b_0c0d_0e0f));
        assert!(r.data.is_empty());
        let mut out = [0u8; 20];
        r.emit(&mut out).unwrap();
        assert_eq!(out, I2);
        for n in 0..I2.len() {
            let e = PotRepr::parse(&I2[..n]).unwrap_err();
            assert_eq!((e.code, e.layer), (ErrorCode::Truncated, Layer::Pot));
        }
    }

    #[test]
    fn other_types_keep_bytes() {
        let b = [0, 1, 7, 0x80, 0xaa];
        let r = PotRepr::parse(&b).unwrap();
        assert_eq!((r.pot_type, r.flags, r.random, r.data.clone()), (7, 0x80, None, vec![0xaa]));
        let mut out = [0u8; 5];
        r.emit(&mut out).unwrap();
        assert_eq!(out, b);
        let bad = PotRepr { random: Some(1), ..r };
        assert_eq!(bad.emit(&mut out).unwrap_err().code, ErrorCode::BadValue);
    }
}
