//! IPv6 extension-header chain, RFC 8200 §4 (AH: RFC 4302 §2).
//!
//! ```text
//! Hop-by-Hop (0), Routing (43), Destination Options (60):   Fragment (44), 8 octets:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                         +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |  Hdr Ext Len  |  ...                    |  Next Header  |   Reserved    | ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                         +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!   length = (Hdr Ext Len + 1) × 8 octets                     length = 8 octets
//!
//! Authentication Header (51), RFC 4302 §2:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |  Payload Len  |  ...   length = (Payload Len + 2) × 4 octets
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! The walk stops at the first protocol that is not one of these (the upper layer), including
//! No Next Header (59) and ESP (50), whose contents cannot be walked.

use super::{rd_u8, need_room, wr};
use crate::error::{Error, ErrorCode, Layer, Result};

mod field {
    pub const NEXT_HEADER: usize = 0;
    pub const LENGTH: usize = 1;
}

pub const PROTO_HOP_BY_HOP: u8 = 0;
pub const PROTO_ROUTING: u8 = 43;
pub const PROTO_FRAGMENT: u8 = 44;
pub const PROTO_AH: u8 = 51;
pub const PROTO_NO_NEXT_HEADER: u8 = 59;
pub const PROTO_DEST_OPTS: u8 = 60;
pub const PROTO_IPV6: u8 = 41;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

/// The extension headers this walker understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "kebab-case"))]
pub enum ExtHeaderKind {
    HopByHop,
    Routing,
    Fragment,
    DestinationOptions,
    Ah,
}

impl ExtHeaderKind {
    /// The kind for a Next Header value, `None` for an upper layer (or unwalkable) protocol.
    pub const fn from_protocol(p: u8) -> Option<ExtHeaderKind> {
        match p {
            PROTO_HOP_BY_HOP => Some(ExtHeaderKind::HopByHop),
            PROTO_ROUTING => Some(ExtHeaderKind::Routing),
            PROTO_FRAGMENT => Some(ExtHeaderKind::Fragment),
            PROTO_DEST_OPTS => Some(ExtHeaderKind::DestinationOptions),
            PROTO_AH => Some(ExtHeaderKind::Ah),
            _ => None,
        }
    }

    pub const fn protocol(self) -> u8 {
        match self {
            ExtHeaderKind::HopByHop => PROTO_HOP_BY_HOP,
            ExtHeaderKind::Routing => PROTO_ROUTING,
            ExtHeaderKind::Fragment => PROTO_FRAGMENT,
            ExtHeaderKind::DestinationOptions => PROTO_DEST_OPTS,
            ExtHeaderKind::Ah => PROTO_AH,
        }
    }

    /// True for the two headers that carry TLV options (HbH, DOH).
    pub const fn has_options(self) -> bool {
        matches!(self, ExtHeaderKind::HopByHop | ExtHeaderKind::DestinationOptions)
    }

    /// Header length in octets from its second byte (Hdr Ext Len / AH Payload Len).
    pub const fn header_len(self, len_byte: u8) -> usize {
        match self {
            ExtHeaderKind::Fragment => 8,
            ExtHeaderKind::Ah => (len_byte as usize + 2) * 4,
            _ => (len_byte as usize + 1) * 8,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            ExtHeaderKind::HopByHop => "hop-by-hop",
            ExtHeaderKind::Routing => "routing",
            ExtHeaderKind::Fragment => "fragment",
            ExtHeaderKind::DestinationOptions => "destination-options",
            ExtHeaderKind::Ah => "ah",
        }
    }
}

/// Zero-copy view of one extension header (at least its first two bytes, and its whole length
/// once checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtHeaderView<T: AsRef<[u8]>> {
    buffer: T,
    kind: ExtHeaderKind,
}

impl<T: AsRef<[u8]>> ExtHeaderView<T> {
    pub const fn new_unchecked(buffer: T, kind: ExtHeaderKind) -> Self {
        ExtHeaderView { buffer, kind }
    }

    /// Checks the two leading bytes and the whole header length fit in the buffer.
    pub fn new_checked(buffer: T, kind: ExtHeaderKind) -> Result<Self> {
        let v = ExtHeaderView { buffer, kind };
        let b = v.buffer.as_ref();
        if b.len() < 2 {
            return Err(Error::truncated(Layer::ExtHeader, 0, 2, b.len(), kind_what(kind)));
        }
        let need = kind.header_len(b[field::LENGTH]);
        if b.len() < need {
            return Err(Error::truncated(Layer::ExtHeader, 0, need, b.len(), kind_what(kind)));
        }
        Ok(v)
    }

    pub fn kind(&self) -> ExtHeaderKind {
        self.kind
    }
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }
    /// The raw second byte (Hdr Ext Len; Reserved for Fragment; Payload Len for AH).
    pub fn length_field(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }
    /// Header length in octets.
    pub fn header_len(&self) -> usize {
        self.kind.header_len(self.length_field())
    }
    /// The bytes after Next Header and Hdr Ext Len (for HbH/DOH: the option area).
    pub fn body(&self) -> &[u8] {
        self.buffer.as_ref().get(2..self.header_len()).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ExtHeaderView<T> {
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = v;
    }
    pub fn set_length_field(&mut self, v: u8) {
        self.buffer.as_mut()[field::LENGTH] = v;
    }
}

const fn kind_what(k: ExtHeaderKind) -> &'static str {
    match k {
        ExtHeaderKind::HopByHop => "Hop-by-Hop header",
        ExtHeaderKind::Routing => "Routing header",
        ExtHeaderKind::Fragment => "Fragment header",
        ExtHeaderKind::DestinationOptions => "Destination Options header",
        ExtHeaderKind::Ah => "Authentication Header",
    }
}

/// One header of the chain, as found by [`ExtHeaderIter`]. Offsets are from the start of the
/// buffer given to the iterator (normally the IPv6 header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtHeaderInfo {
    pub kind: ExtHeaderKind,
    pub offset: usize,
    /// Header length in octets.
    pub len: usize,
    pub next_header: u8,
}

/// Walks the extension-header chain of a packet. Yields each header, or one error (then stops).
/// After the iterator returns `None` without error, [`Self::upper_layer`] gives the upper-layer
/// protocol and its offset.
#[derive(Debug, Clone)]
pub struct ExtHeaderIter<'a> {
    buf: &'a [u8],
    next: u8,
    offset: usize,
    failed: bool,
}

impl<'a> ExtHeaderIter<'a> {
    /// Starts at `offset` in `buf` with `first` the Next Header value that announced it
    /// (normally the IPv6 header's, with `offset` = 40). `buf` should end where the IPv6 payload
    /// ends.
    pub fn new(buf: &'a [u8], first: u8, offset: usize) -> Self {
        ExtHeaderIter { buf, next: first, offset, failed: false }
    }

    /// `(protocol, offset)` of what follows the last extension header; meaningful once the
    /// iterator is exhausted without error.
    pub fn upper_layer(&self) -> (u8, usize) {
        (self.next, self.offset)
    }
}

impl<'a> Iterator for ExtHeaderIter<'a> {
    type Item = Result<ExtHeaderInfo>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let kind = ExtHeaderKind::from_protocol(self.next)?;
        let at = self.offset;
        let rest = self.buf.get(at..).unwrap_or(&[]);
        match ExtHeaderView::new_checked(rest, kind) {
            Ok(v) => {
                let len = v.header_len();
                let info = ExtHeaderInfo { kind, offset: at, len, next_header: v.next_header() };
                self.next = v.next_header();
                self.offset = at + len;
                Some(Ok(info))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e.at(at)))
            }
        }
    }
}

/// Writes `[next_header][length byte]` and `body` (the bytes after the first two) for a header
/// that is not HbH/DOH; checks the length byte matches the body length.
pub(crate) fn emit_raw(kind: ExtHeaderKind, next_header: u8, data: &[u8], buf: &mut [u8]) -> Result<usize> {
    // `data` = everything after the Next Header byte, i.e. it starts with the length byte.
    let len_byte = rd_u8(data, 0).ok_or(Error::new(ErrorCode::BadLength, Layer::ExtHeader, 1, "extension header data is empty"))?;
    let total = 1 + data.len();
    if kind.header_len(len_byte) != total {
        return Err(Error {
            code: ErrorCode::BadLength,
            layer: Layer::ExtHeader,
            offset: 1,
            needed: kind.header_len(len_byte),
            got: total,
            what: "extension header length field disagrees with its data",
        });
    }
    need_room(buf, total, Layer::ExtHeader)?;
    buf[0] = next_header;
    wr(buf, 1, data, Layer::ExtHeader)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 40-byte IPv6 header (zeros; only the chain matters) + HbH(8) + Routing(16) + Fragment(8)
    /// + DOH(8) + AH(12) + UDP.
    fn chain() -> Vec<u8> {
        let mut b = vec![0u8; 40];
        b.extend_from_slice(&[PROTO_ROUTING, 0, 1, 4, 0, 0, 0, 0]); // HbH: PadN(4)
        b.extend_from_slice(&[PROTO_FRAGMENT, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // RH len 1
        b.extend_from_slice(&[PROTO_DEST_OPTS, 0, 0, 1, 0, 0, 0, 9]); // Fragment
        b.extend_from_slice(&[PROTO_AH, 0, 1, 4, 0, 0, 0, 0]); // DOH
        b.extend_from_slice(&[PROTO_UDP, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]); // AH len (1+2)*4 = 12
        b.extend_from_slice(&[0x0f, 0xa0, 0x13, 0x88, 0, 8, 0, 0]);
        b
    }

    #[test]
    fn walks_every_kind() {
        let b = chain();
        let mut it = ExtHeaderIter::new(&b, PROTO_HOP_BY_HOP, 40);
        let got: Vec<_> = it.by_ref().map(|r| r.unwrap()).collect();
        let want = [
            (ExtHeaderKind::HopByHop, 40, 8, PROTO_ROUTING),
            (ExtHeaderKind::Routing, 48, 16, PROTO_FRAGMENT),
            (ExtHeaderKind::Fragment, 64, 8, PROTO_DEST_OPTS),
            (ExtHeaderKind::DestinationOptions, 72, 8, PROTO_AH),
            (ExtHeaderKind::Ah, 80, 12, PROTO_UDP),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.kind, g.offset, g.len, g.next_header), w);
        }
        assert_eq!(it.upper_layer(), (PROTO_UDP, 92));
    }

    #[test]
    fn no_next_header_stops() {
        let mut b = vec![0u8; 40];
        b.extend_from_slice(&[PROTO_NO_NEXT_HEADER, 0, 1, 4, 0, 0, 0, 0, 0xde, 0xad]);
        let mut it = ExtHeaderIter::new(&b, PROTO_HOP_BY_HOP, 40);
        assert_eq!(it.next().unwrap().unwrap().kind, ExtHeaderKind::HopByHop);
        assert!(it.next().is_none());
        assert_eq!(it.upper_layer(), (PROTO_NO_NEXT_HEADER, 48));
    }

    #[test]
    fn truncated_at_every_boundary_names_header_and_offset() {
        let b = chain();
        // Every prefix shorter than the full chain must end in exactly one error, never a panic.
        for n in 40..92 {
            let mut it = ExtHeaderIter::new(&b[..n], PROTO_HOP_BY_HOP, 40);
            let mut errs = 0;
            for r in it.by_ref() {
                if let Err(e) = r {
                    errs += 1;
                    assert_eq!(e.code, ErrorCode::Truncated);
                    assert_eq!(e.layer, Layer::ExtHeader);
                    assert!(e.offset >= 40 && e.offset < 92, "offset {}", e.offset);
                    assert!(e.got < e.needed);
                }
            }
            assert_eq!(errs, 1, "prefix {n}");
        }
        let e = ExtHeaderIter::new(&b[..60], PROTO_HOP_BY_HOP, 40).nth(1).unwrap().unwrap_err();
        assert_eq!((e.offset, e.needed, e.got, e.what), (48, 16, 12, "Routing header"));
    }

    #[test]
    fn emit_raw_checks_length() {
        let mut buf = [0u8; 16];
        assert_eq!(emit_raw(ExtHeaderKind::Fragment, 17, &[0, 0, 1, 0, 0, 0, 9], &mut buf).unwrap(), 8);
        assert_eq!(&buf[..8], &[17, 0, 0, 1, 0, 0, 0, 9]);
        assert_eq!(emit_raw(ExtHeaderKind::Routing, 17, &[1, 0, 0], &mut buf).unwrap_err().code, ErrorCode::BadLength);
        assert_eq!(emit_raw(ExtHeaderKind::Routing, 17, &[], &mut buf).unwrap_err().code, ErrorCode::BadLength);
    }
}
