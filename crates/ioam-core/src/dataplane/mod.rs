//! The in-place dataplane: what an encapsulating, transit or decapsulating IOAM node does to a
//! packet's bytes, with Linux's drop-versus-ignore decisions (net/ipv6/exthdrs.c
//! `ipv6_hop_ioam`, net/ipv6/ioam6.c `ioam6_fill_trace_data`, net/ipv6/ioam6_iptunnel.c).
//!
//! Everything works on a *slot*: `slot[..]` is the caller's memory for one packet, the packet's
//! bytes are `slot[off..off + len]` (starting with the IPv6 header), the bytes before `off` are
//! headroom and after `off + len` tailroom. Operations that insert bytes move the IPv6 header
//! (and any headers before the insertion point) down into the headroom, never the payload;
//! operations that remove bytes move them up. The new `(off, len)` is returned in the
//! [`Outcome`]. Nothing is allocated and nothing outside the slot is touched.
//!
//! Inputs that Linux would read from the machine (clock, qdisc backlog, routing result) come in
//! a [`Meta`]; the node's configuration comes compiled in a [`Node`].
//!
//! Operations (each returns an [`Outcome`]; a drop never panics and never writes outside the slot):
//! - [`transit::transit`]: receive path on the Hop-by-Hop header (`ip6_rcv_core` length checks,
//!   `ip6_parse_tlv`, `ipv6_hop_ioam`, `ioam6_fill_trace_data` with is_input = true). It does not
//!   forward: the caller decrements the hop limit afterwards, as the Linux forwarder does.
//! - [`encap::encap`]: `ioam6_iptunnel` (inline / encap / auto, freq k/n, CLT legacy block,
//!   rfc Incremental), then the encapsulating node's own fill (is_input = false).
//! - [`decap::decap`]: receive as above, then remove the outer header (ip6ip6) or the IOAM
//!   option(s) / whole HbH (inline), handing the HbH bytes back.
//! - [`batch`]: the same over the batch ABI tables (docs/DESIGN.md).
//! - [`fill`]: the table-driven per-bit fill; [`node`]: the compiled configuration.

pub mod batch;
pub mod decap;
pub mod encap;
pub mod fill;
pub mod node;
pub mod transit;

pub use node::Node;

use crate::config::IF_NONE;

/// Per-packet inputs. In the batch ABI a `Meta` is [`META_STRIDE`] u32 words, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Index into the node's `interfaces` the packet arrived on; [`IF_NONE`] = locally generated.
    pub ingress_if: u32,
    /// Index of the routed output interface; [`IF_NONE`] = local delivery (Linux: loopback).
    pub egress_if: u32,
    /// Receive time, POSIX seconds (u32 as Linux truncates) and nanoseconds.
    pub ts_sec: u32,
    pub ts_nsec: u32,
    /// Egress queue backlog in bytes (Linux: qdisc backlog incl. L2 header); u32::MAX = unavailable.
    pub queue_depth: u32,
    /// Transit delay in ns (rfc profile only; linux writes 0xFFFFFFFF); u32::MAX = unavailable.
    pub transit_delay_ns: u32,
    /// Buffer occupancy (rfc profile only; linux writes 0xFFFFFFFF); u32::MAX = unavailable.
    pub buffer_occupancy: u32,
    /// Per-packet flags, [`META_F_*`](META_F_HAS_TSTAMP).
    pub flags: u32,
}

/// Number of u32 words per packet in the batch `meta` table.
pub const META_STRIDE: usize = 8;
/// Number of u32 words per packet in the batch `desc` table: `[slot_start, slot_end, off, len]`,
/// `off`/`len` absolute in the batch buffer and updated in place.
pub const DESC_STRIDE: usize = 4;
/// Number of u32 words per packet in the batch `out` table: `[verdict, reason, offset, aux]`.
pub const OUT_STRIDE: usize = 4;

/// Meta flag: the packet carries no RX timestamp and no clock is available (timestamps are then
/// written as all-ones, as Linux does for packets without an ingress device).
pub const META_F_NO_TSTAMP: u32 = 1;
/// Placeholder to name the flags family in docs.
pub const META_F_HAS_TSTAMP: u32 = 0;

impl Default for Meta {
    fn default() -> Self {
        Meta {
            ingress_if: IF_NONE,
            egress_if: IF_NONE,
            ts_sec: 0,
            ts_nsec: 0,
            queue_depth: u32::MAX,
            transit_delay_ns: u32::MAX,
            buffer_occupancy: u32::MAX,
            flags: 0,
        }
    }
}

impl Meta {
    pub fn from_words(w: &[u32; META_STRIDE]) -> Meta {
        Meta {
            ingress_if: w[0],
            egress_if: w[1],
            ts_sec: w[2],
            ts_nsec: w[3],
            queue_depth: w[4],
            transit_delay_ns: w[5],
            buffer_occupancy: w[6],
            flags: w[7],
        }
    }
}

/// Whether the packet goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Verdict {
    /// Forward / deliver (possibly modified).
    Pass = 0,
    /// Drop (Linux: `kfree_skb`, counted as Ip6InHdrErrors for header errors).
    Drop = 1,
}

/// Why. Values below 32 go with [`Verdict::Pass`], from 32 up with [`Verdict::Drop`].
/// The numeric values are part of the batch ABI (mirrored in `src/reasons.ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
    /// No IOAM option in the Hop-by-Hop header (or no HbH at all): untouched.
    NoIoam = 0,
    /// This node's data was written into a Pre-allocated trace.
    Written = 1,
    /// No room: the Overflow bit was set, nothing else written.
    OverflowSet = 2,
    /// Overflow was already set: untouched.
    OverflowPreset = 3,
    /// IOAM disabled on the ingress interface: untouched.
    IgnoredDisabled = 4,
    /// IOAM Option-Type this node does not process (linux: anything but 0): untouched.
    IgnoredOptionType = 5,
    /// Namespace not configured on this node: untouched.
    IgnoredNamespace = 6,
    /// (encap) an IOAM option was inserted (inline or in a new outer header).
    Encapsulated = 7,
    /// (encap) not selected by k-of-n sampling: untouched.
    SampledOut = 8,
    /// (encap, inline) the packet already has a Hop-by-Hop header; Linux sends it without IOAM.
    SkippedHbhExists = 9,
    /// (decap) the IOAM option / HbH / outer header was removed.
    Decapsulated = 10,
    /// (rfc) this node's data was appended to an Incremental trace (the packet grew).
    Appended = 11,
    /// (rfc) Direct Export option (RFC 9326) in a configured namespace: the node should export
    /// its data out of band (the option is left untouched; the caller reads it from the packet).
    ExportRequested = 12,
    /// Drop: not an IPv6 packet, or the IPv6 header / payload length is inconsistent.
    DropMalformedIpv6 = 32,
    /// Drop: IOAM option not 4n-aligned from the IPv6 header start (checked first, always).
    DropMisaligned = 33,
    /// Drop: IOAM Opt Data Len < 2.
    DropOptLenShort = 34,
    /// Drop: trace option shorter than its 8-byte header (Opt Data Len < 10).
    DropTraceTruncated = 35,
    /// Drop: RemainingLen×4 beyond the option data.
    DropRemainingLen = 36,
    /// Drop: NodeLen ≠ the value the Trace-Type implies.
    DropNodeLen = 37,
    /// Drop: generic Hop-by-Hop TLV error (option beyond header, pad run > 7, non-zero PadN,
    /// more than 8 options, bad Router Alert length, jumbo).
    DropHbhMalformed = 38,
    /// Drop: unknown option whose action bits say discard (01, 10, 11).
    DropUnknownOption = 39,
    /// Drop: the operation needs more headroom/tailroom than the slot has, or an option > 255 B.
    DropNoRoom = 40,
    /// Drop: the batch descriptor for this packet is inconsistent (slot/offset/length).
    DropBadDescriptor = 41,
}

impl Reason {
    pub const fn verdict(self) -> Verdict {
        if (self as u32) < 32 { Verdict::Pass } else { Verdict::Drop }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::NoIoam => "no-ioam",
            Reason::Written => "written",
            Reason::OverflowSet => "overflow-set",
            Reason::OverflowPreset => "overflow-preset",
            Reason::IgnoredDisabled => "ignored-disabled",
            Reason::IgnoredOptionType => "ignored-option-type",
            Reason::IgnoredNamespace => "ignored-namespace",
            Reason::Encapsulated => "encapsulated",
            Reason::SampledOut => "sampled-out",
            Reason::SkippedHbhExists => "skipped-hbh-exists",
            Reason::Decapsulated => "decapsulated",
            Reason::Appended => "appended",
            Reason::ExportRequested => "export-requested",
            Reason::DropMalformedIpv6 => "drop-malformed-ipv6",
            Reason::DropMisaligned => "drop-misaligned",
            Reason::DropOptLenShort => "drop-optlen-short",
            Reason::DropTraceTruncated => "drop-trace-truncated",
            Reason::DropRemainingLen => "drop-remaininglen",
            Reason::DropNodeLen => "drop-nodelen",
            Reason::DropHbhMalformed => "drop-hbh-malformed",
            Reason::DropUnknownOption => "drop-unknown-option",
            Reason::DropNoRoom => "drop-no-room",
            Reason::DropBadDescriptor => "drop-bad-descriptor",
        }
    }
}

/// Outcome flags (the `aux` word's high bits in some operations; see each operation).
pub const OUT_F_LOOPBACK: u32 = 1 << 31;

/// What an operation did to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub reason: Reason,
    /// Byte offset in the packet (from the IPv6 header) the reason refers to (the IOAM option's
    /// start, or the malformed byte); 0 when not applicable.
    pub offset: u32,
    /// Operation-specific: transit = number of IOAM options (0x31) met in the Hop-by-Hop header,
    /// ignored ones included (| [`OUT_F_LOOPBACK`] in the rfc profile when a processed trace has
    /// the Loopback flag); decap = length of the trace handed back (0 if it did not fit);
    /// encap = bytes inserted. 0 on a drop.
    pub aux: u32,
    /// The packet's new position and length in the slot.
    pub off: usize,
    pub len: usize,
}

impl Outcome {
    pub fn verdict(&self) -> Verdict {
        self.reason.verdict()
    }
}
