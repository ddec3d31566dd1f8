//! CLT (Cross-Layer Telemetry) legacy trace layout — an explicit opt-in, never guessed.
//!
//! Source: Advanced-Observability/cross-layer-telemetry, `CLT.patch` and `patches/CLT.patch`
//! (Justin Iurman's kernel patch). Both versions add to `struct ioam6_trace_hdr` in
//! `include/uapi/linux/ioam6.h`, after the Trace-Type/Reserved word and before `data[]`:
//! `__be64 traceId[2]; __be64 spanId;` (newer: `struct { __be64 high, low; } pkt_id; __be64
//! pkt_sid;`). `ioam6_iptunnel.c` copies the socket's IDs into them at encapsulation, and the
//! unchanged fill code writes node data at `trace->data + RemainingLen × 4`, so RemainingLen
//! counts only the node-data space after the IDs, and every `sizeof(*trace)`-based length check
//! grows by 24 octets. The project's CLT demo agent (`demo/images/src/aramis/ioam-agent.py`)
//! reads the same layout: `>u16 u5 u4 u7 u32 u128 u64` (32 octets), node data from 32 +
//! RemainingLen × 4.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  8-octet trace header (Namespace-ID .. Reserved), RFC 9197    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Trace ID (128 bits: high 64, low 64)           |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Span ID (64 bits)                              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  RemainingLen × 4 octets free, then node data (newest first)  |
//! ```
//! Applies only to the Pre-allocated Trace (the only type the patched kernel builds).

use super::{need_room, rd};
use crate::error::{Error, Layer, Result};

mod field {
    use core::ops::Range;
    pub const TRACE_ID: Range<usize> = 0..16;
    pub const SPAN_ID: Range<usize> = 16..24;
}

/// Octets of the CLT block.
pub const CLT_LEN: usize = 24;

/// Which trace layout the caller says the packet uses. Nothing is inferred from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "kebab-case"))]
pub enum TraceLayout {
    /// RFC 9197: node-data space right after the 8-octet header.
    #[default]
    Standard,
    /// CLT kernel patch: a 24-octet trace/span ID block before the node-data space.
    CltLegacy,
}

/// Zero-copy view of the 24-octet CLT block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CltView<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> CltView<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        CltView { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let n = buffer.as_ref().len();
        if n < CLT_LEN {
            return Err(Error::truncated(Layer::Clt, 0, CLT_LEN, n, "CLT trace/span ID block"));
        }
        Ok(CltView { buffer })
    }
    /// 128-bit trace ID, big-endian octets (high 64 then low 64).
    pub fn trace_id(&self) -> [u8; 16] {
        rd::<16>(self.buffer.as_ref(), field::TRACE_ID.start).unwrap_or([0; 16])
    }
    /// 64-bit span ID, big-endian octets.
    pub fn span_id(&self) -> [u8; 8] {
        rd::<8>(self.buffer.as_ref(), field::SPAN_ID.start).unwrap_or([0; 8])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> CltView<T> {
    pub fn set_trace_id(&mut self, id: &[u8; 16]) {
        self.buffer.as_mut()[field::TRACE_ID].copy_from_slice(id);
    }
    pub fn set_span_id(&mut self, id: &[u8; 8]) {
        self.buffer.as_mut()[field::SPAN_ID].copy_from_slice(id);
    }
}

/// Owned CLT IDs. JSON: lowercase hex (32 and 16 digits), as OpenTelemetry/W3C write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "camelCase"))]
pub struct CltRepr {
    #[cfg_attr(feature = "serde", serde(with = "super::serde_util::hex_array"))]
    pub trace_id: [u8; 16],
    #[cfg_attr(feature = "serde", serde(with = "super::serde_util::hex_array"))]
    pub span_id: [u8; 8],
}

impl CltRepr {
    pub fn parse<T: AsRef<[u8]>>(v: &CltView<T>) -> CltRepr {
        CltRepr { trace_id: v.trace_id(), span_id: v.span_id() }
    }
    pub fn parse_bytes(b: &[u8]) -> Result<CltRepr> {
        Ok(Self::parse(&CltView::new_checked(b)?))
    }
    pub const fn buffer_len(&self) -> usize {
        CLT_LEN
    }
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        need_room(buf, CLT_LEN, Layer::Clt)?;
        let mut v = CltView::new_unchecked(&mut buf[..CLT_LEN]);
        v.set_trace_id(&self.trace_id);
        v.set_span_id(&self.span_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::wire::trace::{TraceKind, TraceRepr};

    /// A CLT trace: header (ns 123, type 0x800000, NodeLen 1, RemLen 1), IDs, 4 free octets,
    /// one node (HL 63, id 1).
    const CLT_TRACE: [u8; 40] = [
        0x00, 0x7b, 0x08, 0x01, 0x80, 0x00, 0x00, 0x00, //
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, //
        0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, //
        0x00, 0x00, 0x00, 0x00, //
        0x3f, 0x00, 0x00, 0x01,
    ];

    #[test]
    fn clt_layout_is_opt_in() {
        let t = TraceRepr::parse(&CLT_TRACE, TraceKind::Preallocated, TraceLayout::CltLegacy).unwrap();
        let c = t.clt.unwrap();
        assert_eq!(c.trace_id[0], 0x01);
        assert_eq!(c.trace_id[15], 0x10);
        assert_eq!(c.span_id, [0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8]);
        assert_eq!(t.free_space, Some(vec![0; 4]));
        assert_eq!(t.nodes.len(), 1);
        assert_eq!((t.nodes[0].hop_limit, t.nodes[0].node_id), (Some(63), Some(1)));
        let mut out = [0u8; 40];
        t.emit(TraceKind::Preallocated, &mut out).unwrap();
        assert_eq!(out, CLT_TRACE);
        // Read as a standard trace the same bytes are something else entirely (8 nodes).
        let s = TraceRepr::parse(&CLT_TRACE, TraceKind::Preallocated, TraceLayout::Standard).unwrap();
        assert!(s.clt.is_none());
        assert_eq!(s.nodes.len(), 7);
    }

    #[test]
    fn truncated_clt_block() {
        for n in 8..32 {
            let e = TraceRepr::parse_lax(&CLT_TRACE[..n], TraceKind::Preallocated, TraceLayout::CltLegacy).unwrap_err();
            assert_eq!((e.code, e.layer, e.offset, e.needed, e.got), (ErrorCode::Truncated, Layer::Clt, 8, 24, n - 8));
        }
    }
}
