//! The batch ABI: one buffer, a descriptor table, a meta table and an outcome table per call.
//! (STUB: to be implemented by core-dataplane.)
//!
//! - `buf`: all packets' slots.
//! - `desc`: [`DESC_STRIDE`] u32 per packet: `[slot_start, slot_end, off, len]` (absolute in
//!   `buf`); `off`/`len` are updated in place.
//! - `meta`: [`META_STRIDE`] u32 per packet (see [`Meta`]).
//! - `out`: [`OUT_STRIDE`] u32 per packet: `[verdict, reason, offset, aux]`.
//!
//! Table-level misuse (tables of different packet counts) is an `Err`; per-packet problems are
//! outcomes (`DropBadDescriptor`).
use super::encap::EncapState;
use super::{Node, DESC_STRIDE, META_STRIDE, OUT_STRIDE};
use crate::error::{Error, ErrorCode, Layer, Result};

fn count(desc: &[u32], meta: &[u32], out: &[u32]) -> Result<usize> {
    let n = desc.len() / DESC_STRIDE;
    if desc.len() % DESC_STRIDE != 0 || meta.len() < n * META_STRIDE || out.len() < n * OUT_STRIDE {
        return Err(Error::new(ErrorCode::BadDescriptor, Layer::Batch, 0, "desc/meta/out tables disagree on the packet count"));
    }
    Ok(n)
}

pub fn transit_batch(node: &Node, buf: &mut [u8], desc: &mut [u32], meta: &[u32], out: &mut [u32]) -> Result<usize> {
    let _ = (node, buf);
    count(desc, meta, out)
}

/// `clt`: empty, or 24 bytes per packet (16-byte trace ID, 8-byte span ID).
pub fn encap_batch(node: &Node, state: &mut EncapState, buf: &mut [u8], desc: &mut [u32], meta: &[u32], clt: &[u8], out: &mut [u32]) -> Result<usize> {
    let _ = (node, state, buf, clt);
    count(desc, meta, out)
}

/// `trace_arena`/`trace_desc` (2 u32 per packet: offset, length in the arena) receive the removed
/// Hop-by-Hop headers.
pub fn decap_batch(node: &Node, buf: &mut [u8], desc: &mut [u32], meta: &[u32], out: &mut [u32], trace_arena: &mut [u8], trace_desc: &mut [u32]) -> Result<usize> {
    let _ = (node, buf, trace_arena, trace_desc);
    count(desc, meta, out)
}
