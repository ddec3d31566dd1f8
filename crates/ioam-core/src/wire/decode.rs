//! Whole-packet decode and encode: IPv6 header, every extension header, every option of HbH and
//! DOH with its offset, every IOAM option fully decoded, and the upper layer. The serde form of
//! [`PacketRepr`] is the documented JSON schema (`wire/SCHEMA.md`).
//!
//! # Error policy
//! * **Fatal** (`Err` from [`decode_packet`]): the IPv6 fixed header is short or not version 6,
//!   Payload Length runs past the buffer, or an extension header does not fit in the payload —
//!   without these the rest of the packet cannot be located.
//! * **Per header** (`ExtHeaderRepr::error` + `trailing`): an option TLV that runs past its
//!   header; the options before it are reported, the undecodable rest is kept as bytes.
//! * **Per option** (`OptionEntry::error`): a malformed IOAM option (short IOAM header, trace
//!   header, CLT block, POT/E2E/DEX fields; RemainingLen beyond the data; NodeLen ≠ Trace-Type;
//!   a node element that does not fit) or non-zero PadN data. The option is still reported with
//!   everything that could be decoded (`malformed` body, or a trace with its header, the nodes
//!   before the problem and the rest in `trailing`).
//!
//! Alignment is not an error here: the option offset is reported (Linux drops an IOAM option
//! whose offset is not 4n; the dataplane decides). Every offset is from the first octet of the
//! IPv6 header. Octets after `40 + Payload Length` (link-layer padding) are ignored.

use super::exthdr::{emit_raw, ExtHeaderIter, ExtHeaderKind};
use super::ipv6::{Ipv6Repr, Ipv6View, HEADER_LEN as IPV6_HEADER_LEN};
use super::options::{linux_padded, options_header_len, OptionRepr, OptionsIter};
use super::{wr, TraceLayout};
use crate::error::{Error, ErrorCode, Layer, Result};

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct DecodeOptions {
    /// Trace layout of Pre-allocated traces (CLT legacy only when the caller says so).
    pub clt: TraceLayout,
}

/// A [`crate::Error`] as data (owned strings), for per-option / per-header problems.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct ErrorRepr {
    /// `ERR_IOAM_*`.
    pub code: String,
    /// Layer name, e.g. `node-data`.
    pub layer: String,
    /// Octet offset from the IPv6 header.
    pub offset: usize,
    /// For length errors: octets needed / present (0 otherwise).
    pub needed: usize,
    pub got: usize,
    pub what: String,
}

impl From<Error> for ErrorRepr {
    fn from(e: Error) -> Self {
        ErrorRepr {
            code: e.code.as_str().to_string(),
            layer: e.layer.as_str().to_string(),
            offset: e.offset,
            needed: e.needed,
            got: e.got,
            what: e.what.to_string(),
        }
    }
}

/// One option of a HbH/DOH header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct OptionEntry {
    /// Offset of the Option Type octet from the IPv6 header (ignored by encode).
    #[cfg_attr(feature = "serde", serde(default))]
    pub offset: usize,
    pub option: OptionRepr,
    /// A problem inside this option (see the module's error policy); ignored by encode.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub error: Option<ErrorRepr>,
}

impl OptionEntry {
    /// An entry to build a packet with (offset filled in by decoding the result).
    pub fn new(option: OptionRepr) -> Self {
        OptionEntry { offset: 0, option, error: None }
    }
}

/// One extension header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct ExtHeaderRepr {
    pub kind: ExtHeaderKind,
    /// Offset from the IPv6 header (ignored by encode).
    #[cfg_attr(feature = "serde", serde(default))]
    pub offset: usize,
    /// Header length in octets (ignored by encode, which computes it).
    #[cfg_attr(feature = "serde", serde(default))]
    pub length: usize,
    /// Next Header as on the wire (encode writes the chain's actual next protocol).
    #[cfg_attr(feature = "serde", serde(default))]
    pub next_header: u8,
    /// HbH / DOH: the options in wire order, padding included.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub options: Vec<OptionEntry>,
    /// HbH / DOH: an option TLV ran past the header; `trailing` holds the rest of the option area.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub error: Option<ErrorRepr>,
    #[cfg_attr(feature = "serde", serde(default, with = "super::serde_util::hex", skip_serializing_if = "super::serde_util::is_empty"))]
    pub trailing: Vec<u8>,
    /// Routing / Fragment / AH: the octets after the Next Header octet (length octet included).
    #[cfg_attr(feature = "serde", serde(default, with = "super::serde_util::hex", skip_serializing_if = "super::serde_util::is_empty"))]
    pub data: Vec<u8>,
}

impl ExtHeaderRepr {
    /// A HbH or DOH header with these options (no padding added).
    pub fn with_options(kind: ExtHeaderKind, options: Vec<OptionRepr>) -> Self {
        ExtHeaderRepr {
            kind,
            offset: 0,
            length: 0,
            next_header: 0,
            options: options.into_iter().map(OptionEntry::new).collect(),
            error: None,
            trailing: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Octets this header occupies when encoded.
    pub fn buffer_len(&self) -> usize {
        if self.kind.has_options() {
            2 + self.options.iter().map(|o| o.option.buffer_len()).sum::<usize>() + self.trailing.len()
        } else {
            1 + self.data.len()
        }
    }

    fn emit(&self, next_header: u8, buf: &mut [u8]) -> Result<usize> {
        if !self.kind.has_options() {
            return emit_raw(self.kind, next_header, &self.data, buf);
        }
        let total = self.buffer_len();
        super::options::check_options_header_len(total)?;
        super::need_room(buf, total, Layer::ExtHeader)?;
        buf[0] = next_header;
        buf[1] = (total / 8 - 1) as u8;
        let mut pos = 2;
        for o in &self.options {
            pos += o.option.emit(&mut buf[pos..total]).map_err(|e| e.at(pos))?;
        }
        wr(buf, pos, &self.trailing, Layer::ExtHeader)?;
        Ok(total)
    }
}

/// What follows the extension headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct UpperLayerRepr {
    /// Protocol number (17 UDP, 58 ICMPv6, 59 No Next Header, 41 IPv6, ...).
    pub protocol: u8,
    /// Offset from the IPv6 header (ignored by encode).
    #[cfg_attr(feature = "serde", serde(default))]
    pub offset: usize,
    /// The upper-layer octets up to the end of the IPv6 payload.
    #[cfg_attr(feature = "serde", serde(default, with = "super::serde_util::hex"))]
    pub payload: Vec<u8>,
}

/// A whole decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct PacketRepr {
    pub ipv6: Ipv6Repr,
    #[cfg_attr(feature = "serde", serde(default))]
    pub ext_headers: Vec<ExtHeaderRepr>,
    pub upper_layer: UpperLayerRepr,
}

/// Decodes a packet starting at its IPv6 header. Never panics; see the module's error policy.
pub fn decode_packet(bytes: &[u8], opts: &DecodeOptions) -> Result<PacketRepr> {
    let v = Ipv6View::new_checked(bytes)?;
    v.check_payload_len()?;
    let ipv6 = Ipv6Repr::parse(&v)?;
    let end = IPV6_HEADER_LEN + usize::from(ipv6.payload_len);
    let pkt = bytes.get(..end).unwrap_or(bytes);
    let mut ext_headers = Vec::new();
    let mut it = ExtHeaderIter::new(pkt, ipv6.next_header, IPV6_HEADER_LEN);
    for h in it.by_ref() {
        let h = h?;
        let raw = pkt.get(h.offset..h.offset + h.len).unwrap_or(&[]);
        let mut x = ExtHeaderRepr {
            kind: h.kind,
            offset: h.offset,
            length: h.len,
            next_header: h.next_header,
            options: Vec::new(),
            error: None,
            trailing: Vec::new(),
            data: Vec::new(),
        };
        if h.kind.has_options() {
            let area = raw.get(2..).unwrap_or(&[]);
            let mut oi = OptionsIter::new(area, h.offset + 2);
            for r in oi.by_ref() {
                match r {
                    Ok(o) => {
                        let (option, err) = OptionRepr::parse_lax(&o, opts.clt);
                        x.options.push(OptionEntry { offset: o.offset, option, error: err.map(|e| e.at(o.offset).into()) });
                    }
                    Err(e) => x.error = Some(e.into()),
                }
            }
            if x.error.is_some() {
                x.trailing = area.get(oi.position()..).unwrap_or(&[]).to_vec();
            }
        } else {
            x.data = raw.get(1..).unwrap_or(&[]).to_vec();
        }
        ext_headers.push(x);
    }
    let (protocol, offset) = it.upper_layer();
    let payload = pkt.get(offset..).unwrap_or(&[]).to_vec();
    Ok(PacketRepr { ipv6, ext_headers, upper_layer: UpperLayerRepr { protocol, offset, payload } })
}

impl PacketRepr {
    /// A packet with no extension headers.
    pub fn new(ipv6: Ipv6Repr, protocol: u8, payload: Vec<u8>) -> Self {
        PacketRepr { ipv6, ext_headers: Vec::new(), upper_layer: UpperLayerRepr { protocol, offset: 0, payload } }
    }

    /// Octets of the encoded packet.
    pub fn buffer_len(&self) -> usize {
        IPV6_HEADER_LEN + self.ext_headers.iter().map(ExtHeaderRepr::buffer_len).sum::<usize>() + self.upper_layer.payload.len()
    }

    /// Inserts Linux-style padding into every HbH/DOH option list ([`linux_padded`]): IOAM options
    /// 4n-aligned, headers 8n long. Already padded lists are unchanged.
    pub fn with_linux_padding(mut self) -> Self {
        for h in self.ext_headers.iter_mut().filter(|h| h.kind.has_options()) {
            let opts: Vec<OptionRepr> = h.options.iter().map(|o| o.option.clone()).collect();
            if opts.iter().all(|o| matches!(o, OptionRepr::Pad1 | OptionRepr::PadN { .. })) && options_header_len(&opts).is_multiple_of(8) {
                continue;
            }
            h.options = linux_padded(&opts).into_iter().map(OptionEntry::new).collect();
        }
        self
    }

    /// `decode(encode(self))`: fills in offsets, lengths, next headers and Payload Length.
    pub fn normalized(&self, opts: &DecodeOptions) -> Result<PacketRepr> {
        decode_packet(&encode_packet(self)?, opts)
    }
}

/// Encodes into a new vector. See [`encode_packet_into`].
pub fn encode_packet(p: &PacketRepr) -> Result<Vec<u8>> {
    let mut v = vec![0u8; p.buffer_len()];
    let n = encode_packet_into(p, &mut v)?;
    v.truncate(n);
    Ok(v)
}

/// Encodes into `buf`, returns the octets written. Payload Length and every Next Header are
/// computed from the structure (the `payloadLen`, `nextHeader`, `offset` and `length` fields are
/// ignored); options are written exactly as listed (use [`PacketRepr::with_linux_padding`] to
/// pad). For a well-formed packet `decode_packet(encode_packet(x)) == x`.
pub fn encode_packet_into(p: &PacketRepr, buf: &mut [u8]) -> Result<usize> {
    let total = p.buffer_len();
    super::need_room(buf, total, Layer::Ipv6)?;
    let plen = u16::try_from(total - IPV6_HEADER_LEN).map_err(|_| Error {
        code: ErrorCode::NoRoom,
        layer: Layer::Ipv6,
        offset: 4,
        needed: total - IPV6_HEADER_LEN,
        got: 65535,
        what: "payload longer than 65535 octets (jumbograms not supported)",
    })?;
    let first = p.ext_headers.first().map_or(p.upper_layer.protocol, |h| h.kind.protocol());
    let ip = Ipv6Repr { payload_len: plen, next_header: first, ..p.ipv6.clone() };
    ip.emit(buf)?;
    let mut pos = IPV6_HEADER_LEN;
    for (i, h) in p.ext_headers.iter().enumerate() {
        let next = p.ext_headers.get(i + 1).map_or(p.upper_layer.protocol, |n| n.kind.protocol());
        pos += h.emit(next, &mut buf[pos..total]).map_err(|e| e.at(pos))?;
    }
    wr(buf, pos, &p.upper_layer.payload, Layer::Ipv6)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ioam::{IoamData, IoamRepr};
    use crate::wire::trace::{NodeData, TraceRepr};

    fn ip() -> Ipv6Repr {
        Ipv6Repr {
            traffic_class: 0,
            flow_label: 0,
            payload_len: 0,
            next_header: 0,
            hop_limit: 64,
            src: "fd00:aa:1::1".parse().unwrap(),
            dst: "fd00:aa:2::2".parse().unwrap(),
        }
    }

    #[test]
    fn build_pad_encode_decode() {
        let trace = TraceRepr {
            namespace_id: 123,
            node_len: 2,
            remaining_len: 2,
            trace_type: 0xc00000,
            nodes: vec![NodeData { hop_limit: Some(63), node_id: Some(1), ingress_if_id: Some(101), egress_if_id: Some(102), ..Default::default() }],
            ..Default::default()
        };
        let ioam = OptionRepr::Ioam(IoamRepr { reserved: 0, data: IoamData::PreallocatedTrace(trace) });
        let mut p = PacketRepr::new(ip(), 17, vec![1, 2, 3, 4]);
        p.ext_headers.push(ExtHeaderRepr::with_options(ExtHeaderKind::HopByHop, vec![ioam]));
        // Unpadded: 2 + 2 + 2 + 8 + 8 + 8 = 30 → refused.
        assert_eq!(encode_packet(&p).unwrap_err().code, ErrorCode::BadLength);
        let p = p.with_linux_padding();
        let b = encode_packet(&p).unwrap();
        assert_eq!(b.len(), 40 + 32 + 4);
        assert_eq!(&b[40..46], &[17, 3, 1, 0, 0x31, 26]);
        assert_eq!(&b[64..72], &[63, 0, 0, 1, 0, 101, 0, 102]);
        let d = decode_packet(&b, &DecodeOptions::default()).unwrap();
        assert_eq!(d.ipv6.payload_len, 36);
        assert_eq!(d.ext_headers[0].options[1].offset, 44);
        assert!(d.ext_headers[0].options.iter().all(|o| o.error.is_none()));
        assert_eq!((d.upper_layer.protocol, d.upper_layer.offset), (17, 72));
        assert_eq!(encode_packet(&d).unwrap(), b);
        assert_eq!(p.normalized(&DecodeOptions::default()).unwrap(), d);
        assert_eq!(decode_packet(&encode_packet(&d).unwrap(), &DecodeOptions::default()).unwrap(), d);
    }

    #[test]
    fn fatal_errors() {
        let p = PacketRepr::new(ip(), 59, vec![]);
        let mut b = encode_packet(&p).unwrap();
        assert_eq!(decode_packet(&b, &DecodeOptions::default()).unwrap().upper_layer.protocol, 59);
        b[5] = 8; // Payload Length 8 with nothing after the header.
        let e = decode_packet(&b, &DecodeOptions::default()).unwrap_err();
        assert_eq!((e.code, e.layer, e.offset), (ErrorCode::Truncated, Layer::Ipv6, 4));
        b.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 0]); // HbH claiming 16 octets in an 8-octet payload
        b[6] = 0;
        let e = decode_packet(&b, &DecodeOptions::default()).unwrap_err();
        assert_eq!((e.code, e.layer, e.offset, e.needed, e.got), (ErrorCode::Truncated, Layer::ExtHeader, 40, 16, 8));
    }

    #[test]
    fn tlv_overrun_is_per_header() {
        // HbH of 8 octets whose second option claims 9 data octets.
        let mut b = encode_packet(&PacketRepr::new(ip(), 59, vec![])).unwrap();
        b[5] = 8;
        b[6] = 0;
        b.extend_from_slice(&[59, 0, 1, 0, 0x3e, 9, 0xaa, 0xbb]);
        let d = decode_packet(&b, &DecodeOptions::default()).unwrap();
        let h = &d.ext_headers[0];
        assert_eq!(h.options.len(), 1);
        let e = h.error.as_ref().unwrap();
        assert_eq!((e.code.as_str(), e.layer.as_str(), e.offset, e.needed, e.got), ("ERR_IOAM_TRUNCATED", "option", 44, 11, 4));
        assert_eq!(h.trailing, vec![0x3e, 9, 0xaa, 0xbb]);
        assert_eq!(encode_packet(&d).unwrap(), b);
    }
}
