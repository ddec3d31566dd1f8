//! The IOAM option's own header, RFC 9486 §3, and its IOAM Option-Types, RFC 9197 §4.1 / IANA
//! "IOAM Option-Type" registry (4 = Direct Export, RFC 9326).
//!
//! ```text
//! (after the IPv6 option's Option Type and Opt Data Len)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Reserved    |IOAM Option-Type|  IOAM option body (by type) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!   0 Pre-allocated Trace (§4.4)   1 Incremental Trace (§4.4)   2 Proof of Transit (§4.5)
//!   3 Edge-to-Edge (§4.6)          4 Direct Export (RFC 9326)   5-255 unassigned / temporary
//! ```
//! Linux (`ipv6_hop_ioam`) drops the packet when Opt Data Len < 2 and ignores every type but 0.

use super::dex::DexRepr;
use super::e2e::E2eRepr;
use super::pot::PotRepr;
use super::trace::{TraceKind, TraceRepr};
use super::{need_room, wr, TraceLayout};
use crate::error::{Error, Layer, Result};

mod field {
    pub const RESERVED: usize = 0;
    pub const OPTION_TYPE: usize = 1;
    pub const BODY: usize = 2;
}

/// Length of the IOAM option header (Reserved + IOAM Option-Type).
pub const HEADER_LEN: usize = 2;

/// IOAM Option-Type code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoamOptionType {
    PreallocatedTrace,
    IncrementalTrace,
    Pot,
    E2e,
    Dex,
    Unknown(u8),
}

impl From<u8> for IoamOptionType {
    fn from(v: u8) -> Self {
        match v {
            0 => IoamOptionType::PreallocatedTrace,
            1 => IoamOptionType::IncrementalTrace,
            2 => IoamOptionType::Pot,
            3 => IoamOptionType::E2e,
            4 => IoamOptionType::Dex,
            x => IoamOptionType::Unknown(x),
        }
    }
}

impl From<IoamOptionType> for u8 {
    fn from(t: IoamOptionType) -> u8 {
        match t {
            IoamOptionType::PreallocatedTrace => 0,
            IoamOptionType::IncrementalTrace => 1,
            IoamOptionType::Pot => 2,
            IoamOptionType::E2e => 3,
            IoamOptionType::Dex => 4,
            IoamOptionType::Unknown(x) => x,
        }
    }
}

/// Zero-copy view of the IOAM option data (starting at Reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoamView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> IoamView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        IoamView { buffer }
    }
    /// Checks the 2-byte header is present (Linux: Opt Data Len < 2 → drop).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let n = buffer.as_ref().len();
        if n < HEADER_LEN {
            return Err(Error::truncated(Layer::Ioam, 0, HEADER_LEN, n, "IOAM option header (Opt Data Len < 2)"));
        }
        Ok(IoamView { buffer })
    }
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::RESERVED]
    }
    pub fn option_type(&self) -> IoamOptionType {
        self.buffer.as_ref()[field::OPTION_TYPE].into()
    }
    /// The option body after the 2-byte header.
    pub fn body(&self) -> &[u8] {
        self.buffer.as_ref().get(field::BODY..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IoamView<T> {
    pub fn set_reserved(&mut self, v: u8) {
        self.buffer.as_mut()[field::RESERVED] = v;
    }
    pub fn set_option_type(&mut self, t: IoamOptionType) {
        self.buffer.as_mut()[field::OPTION_TYPE] = t.into();
    }
    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::BODY..]
    }
}

/// An owned IOAM option (what follows the IPv6 option's type and length bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct IoamRepr {
    /// MUST be 0 on send, ignored on receipt (RFC 9486 §3); kept as seen.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reserved: u8,
    pub data: IoamData,
}

/// The IOAM option body by IOAM Option-Type. JSON: an object with `"type"` =
/// `preallocated-trace` | `incremental-trace` | `pot` | `e2e` | `dex` | `unknown` | `malformed`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase")
)]
pub enum IoamData {
    PreallocatedTrace(TraceRepr),
    IncrementalTrace(TraceRepr),
    Pot(PotRepr),
    E2e(E2eRepr),
    Dex(DexRepr),
    /// An unassigned Option-Type: body kept as bytes.
    Unknown {
        option_type: u8,
        #[cfg_attr(feature = "serde", serde(with = "super::serde_util::hex"))]
        data: Vec<u8>,
    },
    /// A known Option-Type whose body could not be decoded at all (e.g. shorter than its fixed
    /// header); the accompanying error says why. Emitted back byte for byte.
    Malformed {
        option_type: u8,
        #[cfg_attr(feature = "serde", serde(with = "super::serde_util::hex"))]
        data: Vec<u8>,
    },
}

impl IoamData {
    pub fn option_type(&self) -> IoamOptionType {
        match self {
            IoamData::PreallocatedTrace(_) => IoamOptionType::PreallocatedTrace,
            IoamData::IncrementalTrace(_) => IoamOptionType::IncrementalTrace,
            IoamData::Pot(_) => IoamOptionType::Pot,
            IoamData::E2e(_) => IoamOptionType::E2e,
            IoamData::Dex(_) => IoamOptionType::Dex,
            IoamData::Unknown { option_type, .. } | IoamData::Malformed { option_type, .. } => (*option_type).into(),
        }
    }

    pub fn buffer_len(&self) -> usize {
        match self {
            IoamData::PreallocatedTrace(t) => t.buffer_len(TraceKind::Preallocated),
            IoamData::IncrementalTrace(t) => t.buffer_len(TraceKind::Incremental),
            IoamData::Pot(p) => p.buffer_len(),
            IoamData::E2e(e) => e.buffer_len(),
            IoamData::Dex(d) => d.buffer_len(),
            IoamData::Unknown { data, .. } | IoamData::Malformed { data, .. } => data.len(),
        }
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        match self {
            IoamData::PreallocatedTrace(t) => t.emit(TraceKind::Preallocated, buf),
            IoamData::IncrementalTrace(t) => t.emit(TraceKind::Incremental, buf),
            IoamData::Pot(p) => p.emit(buf),
            IoamData::E2e(e) => e.emit(buf),
            IoamData::Dex(d) => d.emit(buf),
            IoamData::Unknown { data, .. } | IoamData::Malformed { data, .. } => wr(buf, 0, data, Layer::Ioam),
        }
    }
}

impl IoamRepr {
    /// Parses IOAM option data (from Reserved). Fails only when the 2-byte header is missing;
    /// any other problem is the second element, with as much decoded as possible (a trace keeps
    /// its header and the nodes before the problem; an undecodable body becomes `Malformed`).
    /// Offsets are relative to the Reserved byte.
    pub fn parse_lax(data: &[u8], layout: TraceLayout) -> Result<(IoamRepr, Option<Error>)> {
        let v = IoamView::new_checked(data)?;
        let body = v.body();
        let t = v.option_type();
        let malformed = |e: Error| {
            (IoamData::Malformed { option_type: t.into(), data: body.to_vec() }, Some(e.at(HEADER_LEN)))
        };
        let (d, err) = match t {
            IoamOptionType::PreallocatedTrace | IoamOptionType::IncrementalTrace => {
                let kind =
                    if t == IoamOptionType::PreallocatedTrace { TraceKind::Preallocated } else { TraceKind::Incremental };
                match TraceRepr::parse_lax(body, kind, layout) {
                    Ok((tr, e)) => {
                        let d = if kind == TraceKind::Preallocated {
                            IoamData::PreallocatedTrace(tr)
                        } else {
                            IoamData::IncrementalTrace(tr)
                        };
                        (d, e.map(|e| e.at(HEADER_LEN)))
                    }
                    Err(e) => malformed(e),
                }
            }
            IoamOptionType::Pot => match PotRepr::parse(body) {
                Ok(p) => (IoamData::Pot(p), None),
                Err(e) => malformed(e),
            },
            IoamOptionType::E2e => match E2eRepr::parse(body) {
                Ok(p) => (IoamData::E2e(p), None),
                Err(e) => malformed(e),
            },
            IoamOptionType::Dex => match DexRepr::parse(body) {
                Ok(p) => (IoamData::Dex(p), None),
                Err(e) => malformed(e),
            },
            IoamOptionType::Unknown(x) => (IoamData::Unknown { option_type: x, data: body.to_vec() }, None),
        };
        Ok((IoamRepr { reserved: v.reserved(), data: d }, err))
    }

    /// Strict parse: any problem is an error.
    pub fn parse(data: &[u8], layout: TraceLayout) -> Result<IoamRepr> {
        match Self::parse_lax(data, layout)? {
            (r, None) => Ok(r),
            (_, Some(e)) => Err(e),
        }
    }

    /// Octets from Reserved to the end of the option.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data.buffer_len()
    }

    /// Writes Reserved, Option-Type and the body into `buf[..buffer_len()]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let n = self.buffer_len();
        need_room(buf, n, Layer::Ioam)?;
        let mut v = IoamView::new_unchecked(&mut buf[..n]);
        v.set_reserved(self.reserved);
        v.set_option_type(self.data.option_type());
        self.data.emit(v.body_mut()).map_err(|e| e.at(HEADER_LEN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn option_type_code_points_round_trip() {
        for x in 0..=255u8 {
            assert_eq!(u8::from(IoamOptionType::from(x)), x);
        }
        assert_eq!(IoamOptionType::from(4), IoamOptionType::Dex);
        assert_eq!(IoamOptionType::from(64), IoamOptionType::Unknown(64));
    }

    #[test]
    fn unknown_type_keeps_bytes() {
        let b = [7, 0x40, 1, 2, 3];
        let r = IoamRepr::parse(&b, TraceLayout::Standard).unwrap();
        assert_eq!(r, IoamRepr { reserved: 7, data: IoamData::Unknown { option_type: 0x40, data: vec![1, 2, 3] } });
        let mut out = [0u8; 5];
        r.emit(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn short_bodies_become_malformed_with_offsets() {
        // Each known type with a 1-byte body: Malformed, error offset >= 2 (after Reserved/Type).
        for t in 0..=4u8 {
            let b = [0, t, 0xab];
            let (r, e) = IoamRepr::parse_lax(&b, TraceLayout::Standard).unwrap();
            assert_eq!(r.data, IoamData::Malformed { option_type: t, data: vec![0xab] });
            let e = e.unwrap();
            assert_eq!(e.code, ErrorCode::Truncated);
            assert_eq!(e.offset, 2);
            let mut out = [0u8; 3];
            r.emit(&mut out).unwrap();
            assert_eq!(out, b);
            assert!(IoamRepr::parse(&b, TraceLayout::Standard).is_err());
        }
        let e = IoamRepr::parse_lax(&[0], TraceLayout::Standard).unwrap_err();
        assert_eq!((e.code, e.layer, e.needed, e.got), (ErrorCode::Truncated, Layer::Ioam, 2, 1));
    }
}
