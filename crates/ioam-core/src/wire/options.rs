//! TLV options of the Hop-by-Hop and Destination Options headers, RFC 8200 §4.2, with the IOAM
//! option of RFC 9486 §3.
//!
//! ```text
//! Hop-by-Hop / Destination Options header:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |  Hdr Ext Len  |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! .                    Options (TLV, padded to 8n)                .
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Option TLV:                     Pad1:        PadN:
//! +-+-+-+-+-+-+-+-+- - - - - -    +-+-+-+-+    +-+-+-+-+-+-+-+-+- - -
//! |  Option Type  | Opt Data Len | data      |   0   |    |   1   |  N    | N zero octets
//! +-+-+-+-+-+-+-+-+- - - - - -    +-+-+-+-+    +-+-+-+-+-+-+-+-+- - -
//!  Option Type bits: AA (action if unknown: 00 skip, 01 discard, 10/11 discard + ICMP),
//!  C (data may change en route), then 5 bits.
//!
//! IOAM option (RFC 9486 §3), Option Type 0x31 (AA=00, C=1), alignment 4n:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Option Type  |  Opt Data Len |   Reserved    |   IOAM Opt-Type |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     IOAM option data ...                      |
//! ```
//! Linux knows only 0x31 (`IPV6_TLV_IOAM`); IANA's 0x11 (C=0) is an unknown skip-option to
//! Linux and Wireshark 4.0, and so it is here (kept as [`OptionRepr::Unknown`]).

use super::ioam::IoamRepr;
use super::{need_room, rd_u8, wr, TraceLayout};
use crate::error::{Error, ErrorCode, Layer, Result};

mod field {
    pub const TYPE: usize = 0;
    pub const LEN: usize = 1;
    pub const DATA: usize = 2;
}

pub const OPT_PAD1: u8 = 0x00;
pub const OPT_PADN: u8 = 0x01;
/// IOAM option, RFC 9486 (Linux `IPV6_TLV_IOAM`).
pub const OPT_IOAM: u8 = 0x31;
/// IANA's second IOAM code point (C=0); unknown to Linux.
pub const OPT_IOAM_CHG0: u8 = 0x11;

/// Zero-copy view of one TLV option (not Pad1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> OptionView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        OptionView { buffer }
    }

    /// Checks the type, the length byte and `Opt Data Len` data bytes are present. A Pad1 view
    /// (type 0) only needs one byte.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        let t = rd_u8(b, 0).ok_or(Error::truncated(Layer::Option, 0, 1, 0, "option type"))?;
        if t != OPT_PAD1 {
            let l = rd_u8(b, 1).ok_or(Error::truncated(Layer::Option, 0, 2, b.len(), "option length"))?;
            let need = 2 + usize::from(l);
            if b.len() < need {
                return Err(Error::truncated(Layer::Option, 0, need, b.len(), "option data beyond header"));
            }
        }
        Ok(OptionView { buffer })
    }

    pub fn option_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    /// Opt Data Len (0 for Pad1).
    pub fn data_len(&self) -> u8 {
        if self.option_type() == OPT_PAD1 {
            0
        } else {
            self.buffer.as_ref()[field::LEN]
        }
    }
    /// Total octets of this option including the type (and length) byte.
    pub fn total_len(&self) -> usize {
        if self.option_type() == OPT_PAD1 {
            1
        } else {
            2 + usize::from(self.data_len())
        }
    }
    pub fn data(&self) -> &[u8] {
        if self.option_type() == OPT_PAD1 {
            return &[];
        }
        self.buffer.as_ref().get(field::DATA..self.total_len()).unwrap_or(&[])
    }
    /// The two high bits: what a node that does not know the option does (RFC 8200 §4.2).
    pub fn action(&self) -> u8 {
        action_bits(self.option_type())
    }
    /// The change bit: data may change en route.
    pub fn may_change(&self) -> bool {
        self.option_type() & 0x20 != 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> OptionView<T> {
    pub fn set_option_type(&mut self, t: u8) {
        self.buffer.as_mut()[field::TYPE] = t;
    }
    pub fn set_data_len(&mut self, l: u8) {
        self.buffer.as_mut()[field::LEN] = l;
    }
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[field::DATA..end]
    }
}

/// Action bits of an option type: 0 skip, 1 discard, 2 discard + ICMP, 3 discard + ICMP unless multicast.
pub const fn action_bits(option_type: u8) -> u8 {
    option_type >> 6
}

/// One option found by [`OptionsIter`]: `offset` is where its type byte is (base-relative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOption<'a> {
    pub offset: usize,
    pub option_type: u8,
    /// Option data (empty for Pad1).
    pub data: &'a [u8],
}

impl RawOption<'_> {
    /// Octets the option occupies.
    pub fn total_len(&self) -> usize {
        if self.option_type == OPT_PAD1 {
            1
        } else {
            2 + self.data.len()
        }
    }
}

/// Iterates the TLVs of an option area (the bytes after Next Header / Hdr Ext Len). Offsets are
/// `base` + position in the area; pass the area's offset in the packet as `base` to get packet
/// offsets. On a TLV that does not fit, yields one `Truncated` error and stops;
/// [`Self::position`] then says where undecodable bytes start.
#[derive(Debug, Clone)]
pub struct OptionsIter<'a> {
    area: &'a [u8],
    base: usize,
    pos: usize,
    failed: bool,
}

impl<'a> OptionsIter<'a> {
    pub fn new(area: &'a [u8], base: usize) -> Self {
        OptionsIter { area, base, pos: 0, failed: false }
    }
    /// Position (area-relative) of the next undecoded byte.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = Result<RawOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.area.len() {
            return None;
        }
        let at = self.pos;
        let rest = &self.area[at..];
        match OptionView::new_checked(rest) {
            Ok(v) => {
                let total = v.total_len();
                let data = if v.option_type() == OPT_PAD1 { &rest[..0] } else { rest.get(2..total).unwrap_or(&[]) };
                let o = RawOption { offset: self.base + at, option_type: v.option_type(), data };
                self.pos = at + total;
                Some(Ok(o))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e.at(self.base + at)))
            }
        }
    }
}

/// An owned option.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "camelCase")
)]
pub enum OptionRepr {
    /// One octet of padding.
    Pad1,
    /// `len` + 2 octets of padding; `len` is the Opt Data Len (the data is zeros on emit).
    #[cfg_attr(feature = "serde", serde(rename = "padn"))]
    PadN { len: u8 },
    /// The IOAM option (type 0x31).
    Ioam(IoamRepr),
    /// Any other option, kept intact: `option_type` keeps its action and change bits.
    Unknown {
        option_type: u8,
        #[cfg_attr(feature = "serde", serde(with = "super::serde_util::hex"))]
        data: Vec<u8>,
    },
}

impl OptionRepr {
    /// Parses one raw option. Never fails: problems inside an IOAM option come back as the second
    /// element (offsets relative to the option's type byte) with as much decoded as possible; an
    /// IOAM option too short for its 2-byte header becomes `Unknown` with that error. Non-zero PadN
    /// data is reported as `BadPadding` (RFC 8200 §4.2 says PadN data is zeros; Linux drops it).
    pub fn parse_lax(raw: &RawOption<'_>, layout: TraceLayout) -> (OptionRepr, Option<Error>) {
        match raw.option_type {
            OPT_PAD1 => (OptionRepr::Pad1, None),
            OPT_PADN => {
                let err = raw
                    .data
                    .iter()
                    .position(|&b| b != 0)
                    .map(|i| Error::new(ErrorCode::BadPadding, Layer::Option, 2 + i, "non-zero PadN data"));
                // data.len() <= 255 since it came from a length byte.
                (OptionRepr::PadN { len: raw.data.len().min(255) as u8 }, err)
            }
            OPT_IOAM => match IoamRepr::parse_lax(raw.data, layout) {
                Ok((r, e)) => (OptionRepr::Ioam(r), e.map(|e| e.at(2))),
                Err(e) => (OptionRepr::Unknown { option_type: raw.option_type, data: raw.data.to_vec() }, Some(e.at(2))),
            },
            t => (OptionRepr::Unknown { option_type: t, data: raw.data.to_vec() }, None),
        }
    }

    /// The Option Type byte this repr emits.
    pub fn option_type(&self) -> u8 {
        match self {
            OptionRepr::Pad1 => OPT_PAD1,
            OptionRepr::PadN { .. } => OPT_PADN,
            OptionRepr::Ioam(_) => OPT_IOAM,
            OptionRepr::Unknown { option_type, .. } => *option_type,
        }
    }

    /// Total octets including type and length bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            OptionRepr::Pad1 => 1,
            OptionRepr::PadN { len } => 2 + usize::from(*len),
            OptionRepr::Ioam(r) => 2 + r.buffer_len(),
            OptionRepr::Unknown { data, .. } => 2 + data.len(),
        }
    }

    fn is_pad(&self) -> bool {
        matches!(self, OptionRepr::Pad1 | OptionRepr::PadN { .. })
    }

    /// Alignment of the option's type byte from the header start: 4 for IOAM (RFC 9486 §3, both
    /// code points), 1 otherwise.
    pub fn alignment(&self) -> usize {
        match self.option_type() {
            OPT_IOAM | OPT_IOAM_CHG0 => 4,
            _ => 1,
        }
    }

    /// Writes the option into `buf`, returns the octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let n = self.buffer_len();
        need_room(buf, n, Layer::Option)?;
        match self {
            OptionRepr::Pad1 => buf[0] = OPT_PAD1,
            OptionRepr::PadN { len } => {
                buf[0] = OPT_PADN;
                buf[1] = *len;
                buf[2..n].fill(0);
            }
            OptionRepr::Ioam(r) => {
                let l = opt_len(n - 2)?;
                buf[0] = OPT_IOAM;
                buf[1] = l;
                r.emit(&mut buf[2..n])?;
            }
            OptionRepr::Unknown { option_type, data } => {
                if *option_type == OPT_PAD1 {
                    return Err(Error::new(ErrorCode::BadValue, Layer::Option, 0, "unknown option with type 0 (Pad1)"));
                }
                let l = opt_len(data.len())?;
                buf[0] = *option_type;
                buf[1] = l;
                wr(buf, 2, data, Layer::Option)?;
            }
        }
        Ok(n)
    }
}

fn opt_len(n: usize) -> Result<u8> {
    u8::try_from(n).map_err(|_| Error {
        code: ErrorCode::NoRoom,
        layer: Layer::Option,
        offset: 1,
        needed: n,
        got: 255,
        what: "option data longer than 255 octets",
    })
}

/// The padding Linux writes for `n` octets: nothing, Pad1, or PadN with `n − 2` zeros
/// (`ioam6_iptunnel.c` uses PadN len 0 to align the IOAM option and PadN len 2 at the tail).
pub fn pad(n: usize) -> Option<OptionRepr> {
    match n {
        0 => None,
        1 => Some(OptionRepr::Pad1),
        _ => Some(OptionRepr::PadN { len: (n - 2).min(255) as u8 }),
    }
}

/// Inserts Linux-style padding: before each option that needs alignment (IOAM: type byte at 4n
/// from the header start, assuming the header itself starts at 8n) and at the end so the header
/// is a multiple of 8 octets. Existing pads are kept (so an already padded list is unchanged).
pub fn linux_padded(options: &[OptionRepr]) -> Vec<OptionRepr> {
    let mut out = Vec::with_capacity(options.len() + 2);
    let mut pos = 2usize; // after Next Header + Hdr Ext Len
    for o in options {
        if !o.is_pad() {
            let a = o.alignment();
            let need = (a - pos % a) % a;
            if let Some(p) = pad(need) {
                pos += p.buffer_len();
                out.push(p);
            }
        }
        pos += o.buffer_len();
        out.push(o.clone());
    }
    if let Some(p) = pad((8 - pos % 8) % 8) {
        out.push(p);
    }
    out
}

/// Length in octets of an HbH/DOH header holding `options` (2 + sum of the options).
pub fn options_header_len(options: &[OptionRepr]) -> usize {
    2 + options.iter().map(OptionRepr::buffer_len).sum::<usize>()
}

/// An options header's length must be a multiple of 8 octets and at most 2048 (Hdr Ext Len is
/// one octet of 8-octet units).
pub(crate) fn check_options_header_len(total: usize) -> Result<()> {
    if !total.is_multiple_of(8) || total > 2048 {
        return Err(Error {
            code: ErrorCode::BadLength,
            layer: Layer::ExtHeader,
            offset: 1,
            needed: total.div_ceil(8) * 8,
            got: total,
            what: "options header length not a multiple of 8 (or > 2048): pad the options",
        });
    }
    Ok(())
}

/// Emits a Hop-by-Hop or Destination Options header with exactly these options (no padding is
/// added: use [`linux_padded`] first). Errors if the length is not a multiple of 8 or above
/// 2048 octets. Returns the octets written.
pub fn emit_options_header(next_header: u8, options: &[OptionRepr], buf: &mut [u8]) -> Result<usize> {
    let total = options_header_len(options);
    check_options_header_len(total)?;
    need_room(buf, total, Layer::ExtHeader)?;
    buf[0] = next_header;
    buf[1] = (total / 8 - 1) as u8;
    let mut pos = 2;
    for o in options {
        pos += o.emit(&mut buf[pos..total]).map_err(|e| e.at(pos))?;
    }
    Ok(total)
}

/// A whole HbH/DOH header with these options and Linux's padding, as bytes.
pub fn options_header_linux(next_header: u8, options: &[OptionRepr]) -> Result<Vec<u8>> {
    let padded = linux_padded(options);
    let mut v = vec![0u8; options_header_len(&padded)];
    emit_options_header(next_header, &padded, &mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ioam::IoamData;

    #[test]
    fn iterates_pads_ioam_unknown() {
        // PadN(0), an option 0x11 with 2 bytes, Pad1, an option 0xc2 (act=11), PadN(1).
        let area = [1, 0, 0x11, 2, 0xaa, 0xbb, 0, 0xc2, 1, 0x7f, 1, 1, 0];
        let got: Vec<_> = OptionsIter::new(&area, 42).map(|r| r.unwrap()).collect();
        assert_eq!(got.len(), 5);
        assert_eq!((got[0].offset, got[0].option_type, got[0].data), (42, 1, &[][..]));
        assert_eq!((got[1].offset, got[1].option_type, got[1].data), (44, 0x11, &[0xaa, 0xbb][..]));
        assert_eq!((got[2].offset, got[2].option_type), (48, 0));
        assert_eq!((got[3].offset, got[3].option_type, got[3].data), (49, 0xc2, &[0x7f][..]));
        assert_eq!(action_bits(got[3].option_type), 3);
        assert_eq!((got[4].offset, got[4].data), (52, &[0][..]));
        let (r, e) = OptionRepr::parse_lax(&got[1], TraceLayout::Standard);
        assert_eq!(r, OptionRepr::Unknown { option_type: 0x11, data: vec![0xaa, 0xbb] });
        assert!(e.is_none());
        let (r, e) = OptionRepr::parse_lax(&got[4], TraceLayout::Standard);
        assert_eq!(r, OptionRepr::PadN { len: 1 });
        assert!(e.is_none());
        let v = OptionView::new_checked(&area[7..]).unwrap();
        assert_eq!((v.option_type(), v.data_len(), v.action(), v.may_change(), v.total_len()), (0xc2, 1, 3, false, 3));
    }

    #[test]
    fn truncated_tlv_gives_one_error_with_offset() {
        let area = [1, 0, 0x31, 10, 0, 0];
        for n in 0..area.len() {
            let mut it = OptionsIter::new(&area[..n], 2);
            let res: Vec<_> = it.by_ref().collect();
            if n == 1 {
                // A PadN type octet without its length octet.
                let e = res[0].as_ref().unwrap_err();
                assert_eq!((e.code, e.offset, e.needed, e.got), (ErrorCode::Truncated, 2, 2, 1));
            } else if n >= 3 {
                let e = res.last().unwrap().as_ref().unwrap_err();
                assert_eq!((e.code, e.layer, e.offset), (ErrorCode::Truncated, Layer::Option, 4));
                assert_eq!(it.position(), 2);
            } else {
                assert!(res.iter().all(|r| r.is_ok()));
            }
        }
    }

    #[test]
    fn nonzero_padn_is_reported() {
        let raw = RawOption { offset: 0, option_type: 1, data: &[0, 5] };
        let (r, e) = OptionRepr::parse_lax(&raw, TraceLayout::Standard);
        assert_eq!(r, OptionRepr::PadN { len: 2 });
        let e = e.unwrap();
        assert_eq!((e.code, e.offset), (ErrorCode::BadPadding, 3));
    }

    #[test]
    fn short_ioam_becomes_unknown_with_error() {
        let raw = RawOption { offset: 0, option_type: OPT_IOAM, data: &[0] };
        let (r, e) = OptionRepr::parse_lax(&raw, TraceLayout::Standard);
        assert_eq!(r, OptionRepr::Unknown { option_type: OPT_IOAM, data: vec![0] });
        let e = e.unwrap();
        assert_eq!((e.code, e.layer, e.offset), (ErrorCode::Truncated, Layer::Ioam, 2));
    }

    #[test]
    fn linux_padding_matches_kernel_layout() {
        // An IOAM option with Opt Data Len 18 like the i_dex_type4 capture: `01 00` lead pad,
        // the option at 4, no tail pad needed for 24 octets.
        let dex = OptionRepr::Ioam(IoamRepr {
            reserved: 0,
            data: IoamData::Unknown { option_type: 9, data: vec![0; 16] },
        });
        let padded = linux_padded(core::slice::from_ref(&dex));
        assert_eq!(padded, vec![OptionRepr::PadN { len: 0 }, dex.clone()]);
        assert_eq!(options_header_len(&padded), 24);
        // Idempotent.
        assert_eq!(linux_padded(&padded), padded);
        // 2 + 18 octets → tail PadN len 2 (`01 02 00 00`), as ioam6_iptunnel.c when S % 8 == 4.
        let o = OptionRepr::Unknown { option_type: 0x3e, data: vec![0; 16] };
        let p = linux_padded(core::slice::from_ref(&o));
        assert_eq!(p, vec![o.clone(), OptionRepr::PadN { len: 2 }]);
        let mut buf = [0u8; 24];
        assert_eq!(emit_options_header(17, &p, &mut buf).unwrap(), 24);
        assert_eq!(buf[..2], [17, 2]);
        assert_eq!(buf[20..], [1, 2, 0, 0]);
        // Unpadded lists are refused.
        assert_eq!(emit_options_header(17, core::slice::from_ref(&o), &mut buf).unwrap_err().code, ErrorCode::BadLength);
        // The whole header in one call: what ioam6_iptunnel.c builds for a 4-octet 0x800000 trace
        // (`[nh][hdrlen][01 00][31][10+S][00][00]` + header + S zeros + `01 02 00 00`).
        let t = crate::wire::TraceRepr::preallocated(123, 0x800000, 4).unwrap();
        let o = OptionRepr::Ioam(IoamRepr { reserved: 0, data: IoamData::PreallocatedTrace(t) });
        let h = options_header_linux(41, &[o]).unwrap();
        assert_eq!(h, [41, 2, 1, 0, 0x31, 14, 0, 0, 0, 0x7b, 0x08, 0x01, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0]);
        // Pad1 for a single octet.
        assert_eq!(pad(1), Some(OptionRepr::Pad1));
    }

    #[test]
    fn emit_refuses_oversize_and_pad1_unknown() {
        let o = OptionRepr::Unknown { option_type: 0x3e, data: vec![0; 256] };
        let mut buf = vec![0u8; 300];
        assert_eq!(o.emit(&mut buf).unwrap_err().code, ErrorCode::NoRoom);
        let o = OptionRepr::Unknown { option_type: 0, data: vec![] };
        assert_eq!(o.emit(&mut buf).unwrap_err().code, ErrorCode::BadValue);
        let o = OptionRepr::PadN { len: 3 };
        assert_eq!(o.emit(&mut buf[..4]).unwrap_err().code, ErrorCode::NoRoom);
    }
}
