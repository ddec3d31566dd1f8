//! Transit / receiving node: Linux `ipv6_parse_hopopts` → `ip6_parse_tlv` → `ipv6_hop_ioam`.
//! (STUB: to be implemented by core-dataplane.)
use super::{Meta, Node, Outcome, Reason};

/// Processes every IOAM option of the packet's Hop-by-Hop header as the node would on input.
/// `slot[off..off+len]` is the packet (IPv6 header first).
pub fn transit(node: &Node, slot: &mut [u8], off: usize, len: usize, meta: &Meta) -> Outcome {
    let _ = (node, slot, meta);
    Outcome { reason: Reason::NoIoam, offset: 0, aux: 0, off, len }
}
