//! Encapsulating node: Linux `ioam6_iptunnel.c` (inline / encap / auto, freq k/n), in user space.
//! (STUB: to be implemented by core-dataplane.)
use super::{Meta, Node, Outcome, Reason};

/// k-of-n sampling state of one encapsulating node (Linux keeps `pkt_cnt` per route).
#[derive(Debug, Clone, Default)]
pub struct EncapState {
    pub count: u64,
}

/// The CLT IDs a packet carries (legacy layout or snapshot encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CltIds {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

/// Inserts the node's configured IOAM option (see [`crate::config::EncapConfig`]) and fills
/// the encapsulating node's own data (Linux: `is_input = false`).
pub fn encap(node: &Node, state: &mut EncapState, slot: &mut [u8], off: usize, len: usize, meta: &Meta, clt: Option<&CltIds>) -> Outcome {
    let _ = (node, state, slot, meta, clt);
    Outcome { reason: Reason::SampledOut, offset: 0, aux: 0, off, len }
}
