//! Wire formats: zero-copy views and owned representations of the bytes IOAM lives in.
//!
//! | file | format | source |
//! |---|---|---|
//! | [`ipv6`] | IPv6 fixed header | RFC 8200 §3 |
//! | [`exthdr`] | extension-header chain (HbH, Routing, Fragment, DOH, AH) | RFC 8200 §4, RFC 4302 §2 |
//! | [`options`] | TLV options of HbH / DOH (Pad1, PadN, IOAM, unknown) | RFC 8200 §4.2, RFC 9486 §3 |
//! | [`ioam`] | IOAM option header (Reserved, IOAM Option-Type) | RFC 9486 §3, RFC 9197 §4.1 |
//! | [`trace`] | Pre-allocated / Incremental Trace, node data, OSS | RFC 9197 §4.4 |
//! | [`clt`] | CLT legacy trace/span ID block (opt-in layout) | cross-layer-telemetry `CLT.patch` |
//! | [`pot`] / [`e2e`] / [`dex`] | Proof of Transit, Edge-to-Edge, Direct Export | RFC 9197 §4.5-4.6, RFC 9326 §3 |
//! | [`decode`] | whole-packet decode / encode (the JSON schema, `SCHEMA.md`) | |
//!
//! # Contract (smoltcp's)
//! * A view `XxxView<T: AsRef<[u8]>>` wraps a buffer without copying. `XxxView::new_checked`
//!   validates every length the accessors rely on; **after it succeeds no accessor panics**.
//!   `XxxView::new_unchecked` is for emitting into a buffer the caller sized with
//!   `XxxRepr::buffer_len()`; accessors of an unchecked view over a too-short buffer may panic.
//! * `XxxRepr::parse` never panics on any bytes and returns a typed [`crate::Error`] carrying the
//!   code, the layer and the byte offset (relative to the slice it was given; [`decode`] rebases
//!   every offset to the start of the IPv6 header).
//! * `XxxRepr::emit` writes exactly `buffer_len()` bytes and returns an error (never panics) when
//!   the buffer is too short or a field cannot be represented.
//! * Views never allocate; `Repr`s own their byte blobs (`Vec<u8>`), only [`decode::decode_packet`]
//!   and `parse` of such `Repr`s allocate.
//!
//! Unknown code points are kept (`Unknown(u8)`, `Unknown { .. }` with their bytes) so that unknown
//! bytes round-trip.

pub mod clt;
pub mod decode;
pub mod dex;
pub mod e2e;
pub mod exthdr;
pub mod flat;
pub mod ioam;
pub mod ipv6;
pub mod options;
pub mod pot;
pub mod trace;

pub use clt::{CltRepr, CltView, TraceLayout};
pub use decode::{
    decode_packet, encode_packet, encode_packet_into, DecodeOptions, ErrorRepr, ExtHeaderRepr, OptionEntry,
    PacketRepr, UpperLayerRepr,
};
pub use dex::{DexRepr, DexView};
pub use e2e::{E2eRepr, E2eView};
pub use exthdr::{ExtHeaderInfo, ExtHeaderIter, ExtHeaderKind, ExtHeaderView};
pub use ioam::{IoamData, IoamOptionType, IoamRepr, IoamView};
pub use ipv6::{Ipv6Repr, Ipv6View};
pub use options::{linux_padded, options_header_linux, OptionRepr, OptionView, OptionsIter, RawOption};
pub use pot::{PotRepr, PotView};
pub use trace::{
    nodelen_for_type, NodeData, NodeElement, NodeIter, OssRepr, TraceFlags, TraceHeaderView, TraceKind, TraceRepr,
};

use crate::error::{Error, ErrorCode, Layer, Result};

// ---- byte helpers: every read is bounds-checked and returns None past the end ----

#[inline]
pub(crate) fn rd<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    let s = b.get(at..end)?;
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    Some(out)
}

#[inline]
pub(crate) fn rd_u8(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

#[inline]
pub(crate) fn rd_u16(b: &[u8], at: usize) -> Option<u16> {
    rd::<2>(b, at).map(u16::from_be_bytes)
}

#[inline]
pub(crate) fn rd_u24(b: &[u8], at: usize) -> Option<u32> {
    rd::<3>(b, at).map(|x| (u32::from(x[0]) << 16) | (u32::from(x[1]) << 8) | u32::from(x[2]))
}

#[inline]
pub(crate) fn rd_u32(b: &[u8], at: usize) -> Option<u32> {
    rd::<4>(b, at).map(u32::from_be_bytes)
}

#[inline]
pub(crate) fn rd_u64(b: &[u8], at: usize) -> Option<u64> {
    rd::<8>(b, at).map(u64::from_be_bytes)
}

/// Bounds-checked write helper for `emit`: copies `src` at `at`, or returns a `NoRoom` error.
#[inline]
pub(crate) fn wr(buf: &mut [u8], at: usize, src: &[u8], layer: Layer) -> Result<()> {
    let end = at.checked_add(src.len()).ok_or(Error::new(ErrorCode::NoRoom, layer, at, "offset overflow"))?;
    let got = buf.len();
    match buf.get_mut(at..end) {
        Some(d) => {
            d.copy_from_slice(src);
            Ok(())
        }
        None => Err(Error { code: ErrorCode::NoRoom, layer, offset: at, needed: end, got, what: "emit buffer too short" }),
    }
}

/// Checks that `buf` has at least `need` bytes before an `emit`.
#[inline]
pub(crate) fn need_room(buf: &[u8], need: usize, layer: Layer) -> Result<()> {
    if buf.len() < need {
        Err(Error { code: ErrorCode::NoRoom, layer, offset: 0, needed: need, got: buf.len(), what: "emit buffer too short" })
    } else {
        Ok(())
    }
}

/// Serde helpers for the JSON schema (`SCHEMA.md`): u64 as decimal strings, bytes as hex.
#[cfg(feature = "serde")]
pub(crate) mod serde_util {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    fn to_hex(b: &[u8]) -> String {
        const H: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(b.len() * 2);
        for &x in b {
            s.push(H[usize::from(x >> 4)] as char);
            s.push(H[usize::from(x & 15)] as char);
        }
        s
    }

    fn from_hex(s: &str) -> Result<Vec<u8>, &'static str> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        if !s.len().is_multiple_of(2) {
            return Err("hex string of odd length");
        }
        fn nib(c: u8) -> Result<u8, &'static str> {
            match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                b'A'..=b'F' => Ok(c - b'A' + 10),
                _ => Err("non-hex character"),
            }
        }
        s.as_bytes().chunks(2).map(|p| Ok((nib(p[0])? << 4) | nib(p[1])?)).collect()
    }

    /// `Vec<u8>` ⇄ lowercase hex string.
    pub mod hex {
        use super::*;
        pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&to_hex(v))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let s = String::deserialize(d)?;
            from_hex(&s).map_err(D::Error::custom)
        }
    }

    /// `[u8; N]` ⇄ lowercase hex string of exactly 2N digits.
    pub mod hex_array {
        use super::*;
        pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&to_hex(v))
        }
        pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
            let s = String::deserialize(d)?;
            let v = from_hex(&s).map_err(D::Error::custom)?;
            v.try_into().map_err(|_| D::Error::custom("hex string of wrong length"))
        }
    }

    /// `Option<u64>` ⇄ decimal string (absent when `None`).
    pub mod opt_u64_str {
        use super::*;
        pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(x) => s.serialize_some(&x.to_string()),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(s) => parse_u64(&s).map(Some).map_err(D::Error::custom),
                None => Ok(None),
            }
        }
    }

    /// `Option<Vec<u8>>` ⇄ hex string (absent when `None`).
    pub mod opt_hex {
        use super::*;
        pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(x) => s.serialize_some(&to_hex(x)),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(s) => from_hex(&s).map(Some).map_err(D::Error::custom),
                None => Ok(None),
            }
        }
    }

    /// Decimal, or `0x` hex, u64 text.
    fn parse_u64(s: &str) -> Result<u64, String> {
        let r = match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16),
            None => s.parse::<u64>(),
        };
        r.map_err(|e| format!("invalid u64 string {s:?}: {e}"))
    }

    pub(crate) fn is_empty(v: &[u8]) -> bool {
        v.is_empty()
    }
}
