//! IPv6 fixed header, RFC 8200 §3.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                         Source Address                        +
//! |                          (128 bits)                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                      Destination Address                      +
//! |                          (128 bits)                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::{need_room, rd, rd_u16};
use crate::error::{Error, ErrorCode, Layer, Result};
use core::net::Ipv6Addr;

mod field {
    use core::ops::Range;
    pub const VER_TC_FL: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

/// Length of the fixed header in octets.
pub const HEADER_LEN: usize = 40;

/// Zero-copy view of an IPv6 header (and whatever follows it in the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6View<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6View<T> {
    /// Wraps without checking (for emitting into a buffer of at least [`HEADER_LEN`] bytes).
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6View { buffer }
    }

    /// Wraps after checking the 40-byte fixed header is present and the version is 6.
    /// The payload length is *not* checked against the buffer here (see [`Self::check_payload_len`]).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let v = Ipv6View { buffer };
        v.check_len()?;
        Ok(v)
    }

    /// Checks the fixed header fits and the version nibble is 6.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::truncated(Layer::Ipv6, 0, HEADER_LEN, b.len(), "IPv6 fixed header"));
        }
        if b[0] >> 4 != 6 {
            return Err(Error::new(ErrorCode::NotIpv6, Layer::Ipv6, 0, "version nibble is not 6"));
        }
        Ok(())
    }

    /// Checks that `40 + Payload Length` bytes are in the buffer (extra bytes, e.g. link-layer
    /// padding, are allowed and ignored).
    pub fn check_payload_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        let need = HEADER_LEN + usize::from(self.payload_len());
        if have < need {
            return Err(Error {
                code: ErrorCode::Truncated,
                layer: Layer::Ipv6,
                offset: field::PAYLOAD_LEN.start,
                needed: need,
                got: have,
                what: "Payload Length beyond the buffer",
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    pub fn traffic_class(&self) -> u8 {
        let b = self.buffer.as_ref();
        (b[0] << 4) | (b[1] >> 4)
    }

    /// 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        let b = self.buffer.as_ref();
        (u32::from(b[1] & 0x0f) << 16) | (u32::from(b[2]) << 8) | u32::from(b[3])
    }

    pub fn payload_len(&self) -> u16 {
        rd_u16(self.buffer.as_ref(), field::PAYLOAD_LEN.start).unwrap_or(0)
    }

    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(rd::<16>(self.buffer.as_ref(), field::SRC.start).unwrap_or([0; 16]))
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(rd::<16>(self.buffer.as_ref(), field::DST.start).unwrap_or([0; 16]))
    }

    /// Bytes after the fixed header, limited to Payload Length (and to the buffer).
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = (HEADER_LEN + usize::from(self.payload_len())).min(b.len());
        b.get(HEADER_LEN..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6View<T> {
    /// Sets version 6, traffic class and flow label at once.
    pub fn set_ver_tc_fl(&mut self, traffic_class: u8, flow_label: u32) {
        let w = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        self.buffer.as_mut()[field::VER_TC_FL].copy_from_slice(&w.to_be_bytes());
    }
    pub fn set_payload_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::PAYLOAD_LEN].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = v;
    }
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.octets());
    }
}

/// Owned IPv6 fixed header. Addresses serialize as RFC 5952 text (`"fd00:aa:1::1"`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct Ipv6Repr {
    #[cfg_attr(feature = "serde", serde(default))]
    pub traffic_class: u8,
    /// 20-bit flow label.
    #[cfg_attr(feature = "serde", serde(default))]
    pub flow_label: u32,
    /// Octets after the fixed header. [`super::encode_packet`] recomputes it.
    #[cfg_attr(feature = "serde", serde(default))]
    pub payload_len: u16,
    /// Next Header of the fixed header ([`super::encode_packet`] recomputes it).
    #[cfg_attr(feature = "serde", serde(default))]
    pub next_header: u8,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
}

impl Ipv6Repr {
    /// Parses the fixed header (version and length checked; payload length is not).
    pub fn parse<T: AsRef<[u8]>>(v: &Ipv6View<T>) -> Result<Ipv6Repr> {
        v.check_len()?;
        Ok(Ipv6Repr {
            traffic_class: v.traffic_class(),
            flow_label: v.flow_label(),
            payload_len: v.payload_len(),
            next_header: v.next_header(),
            hop_limit: v.hop_limit(),
            src: v.src_addr(),
            dst: v.dst_addr(),
        })
    }

    /// Parses from raw bytes.
    pub fn parse_bytes(b: &[u8]) -> Result<Ipv6Repr> {
        Self::parse(&Ipv6View::new_unchecked(b))
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 40-byte header into `buf[..40]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        need_room(buf, HEADER_LEN, Layer::Ipv6)?;
        if self.flow_label > 0x000f_ffff {
            return Err(Error::new(ErrorCode::BadValue, Layer::Ipv6, 1, "flow label wider than 20 bits"));
        }
        let mut v = Ipv6View::new_unchecked(&mut buf[..HEADER_LEN]);
        v.set_ver_tc_fl(self.traffic_class, self.flow_label);
        v.set_payload_len(self.payload_len);
        v.set_next_header(self.next_header);
        v.set_hop_limit(self.hop_limit);
        v.set_src_addr(self.src);
        v.set_dst_addr(self.dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First 40 bytes of the `a2_basic_bits0_1` injected packet (captures/decoded-summary.txt).
    const A2_HDR: [u8; 40] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x40, //
        0xfd, 0x00, 0x00, 0xaa, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, //
        0xfd, 0x00, 0x00, 0xaa, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    ];

    #[test]
    fn parse_fields() {
        let v = Ipv6View::new_checked(&A2_HDR[..]).unwrap();
        assert_eq!(v.version(), 6);
        assert_eq!(v.traffic_class(), 0);
        assert_eq!(v.flow_label(), 0);
        assert_eq!(v.payload_len(), 64);
        assert_eq!(v.next_header(), 0);
        assert_eq!(v.hop_limit(), 64);
        assert_eq!(v.src_addr(), "fd00:aa:1::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(v.dst_addr(), "fd00:aa:2::2".parse::<Ipv6Addr>().unwrap());
        // Payload Length 64 but only the header here.
        let e = v.check_payload_len().unwrap_err();
        assert_eq!((e.code, e.layer, e.offset, e.needed, e.got), (ErrorCode::Truncated, Layer::Ipv6, 4, 104, 40));
    }

    #[test]
    fn tc_and_flow_label_round_trip() {
        let r = Ipv6Repr {
            traffic_class: 0xab,
            flow_label: 0xc_def0,
            payload_len: 7,
            next_header: 17,
            hop_limit: 1,
            src: Ipv6Addr::LOCALHOST,
            dst: "2001:db8::1".parse().unwrap(),
        };
        let mut b = [0u8; 40];
        r.emit(&mut b).unwrap();
        assert_eq!(&b[..4], &[0x6a, 0xbc, 0xde, 0xf0]);
        assert_eq!(Ipv6Repr::parse_bytes(&b).unwrap(), r);
        let bad = Ipv6Repr { flow_label: 0x10_0000, ..r };
        assert_eq!(bad.emit(&mut b).unwrap_err().code, ErrorCode::BadValue);
        assert_eq!(r.emit(&mut b[..39]).unwrap_err().code, ErrorCode::NoRoom);
    }

    #[test]
    fn truncated_at_every_length_and_bad_version() {
        for n in 0..HEADER_LEN {
            let e = Ipv6View::new_checked(&A2_HDR[..n]).unwrap_err();
            assert_eq!((e.code, e.layer, e.needed, e.got), (ErrorCode::Truncated, Layer::Ipv6, 40, n));
        }
        let mut b = A2_HDR;
        b[0] = 0x45;
        assert_eq!(Ipv6View::new_checked(&b[..]).unwrap_err().code, ErrorCode::NotIpv6);
    }
}
