//! Decapsulating node: fill own data on input (as a receiving node), then remove the IOAM
//! option / Hop-by-Hop header (inline) or the outer IPv6 header (IPv6-in-IPv6).
//! (STUB: to be implemented by core-dataplane.)
use super::{Meta, Node, Outcome, Reason};

/// Decapsulates; copies the removed Hop-by-Hop header (the trace) into `trace_out` when it fits
/// and reports its length in `Outcome::aux` (0 if there was none).
pub fn decap(node: &Node, slot: &mut [u8], off: usize, len: usize, meta: &Meta, trace_out: &mut [u8]) -> Outcome {
    let _ = (node, slot, meta, trace_out);
    Outcome { reason: Reason::NoIoam, offset: 0, aux: 0, off, len }
}
