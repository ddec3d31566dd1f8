//! The benchmark corpus of ioamsim, Rust side: the same nodes, packets and batch layout as
//! `bench/corpus.ts`, so the Rust floor, the criterion benches, the callgrind counts and the
//! JavaScript suites measure the same work.
//!
//! * Nodes: an encapsulating node `h1` (inline, namespace 123), a transit node `r1` (two
//!   IOAM-enabled interfaces) and a decapsulating node `h2` (the Linux selftest `ioam6.sh` roles).
//! * Packets: one IPv6/UDP packet (64 octets of UDP), encapsulated by `h1` with the trace type and
//!   size under test: that is what `r1` (transit) and `h2` (decap) receive.
//! * Batches: slots of [`SLOT`] octets with [`HEADROOM`] octets before each packet (as
//!   `PacketBatch` in `src/batch.ts`). Operations change packets in place, so before each round
//!   the bytes an operation changes are put back ([`Batch::reset`]); the reset is measured apart
//!   and subtracted.
use ioam_core::config::{EncapConfig, EncapMode, InterfaceConfig, NamespaceConfig, NodeConfig, Profile, IF_NONE};
use ioam_core::dataplane::batch::{decap_batch, encap_batch, transit_batch};
use ioam_core::dataplane::encap::{encap, EncapState};
use ioam_core::dataplane::{Meta, Node, META_STRIDE, OUT_STRIDE};

/// Octets per slot and headroom before each packet (the JS suites use the same).
pub const SLOT: usize = 768;
pub const HEADROOM: usize = 320;
/// Octets of UDP (header + data) in the base packet.
pub const UDP_LEN: usize = 64;
/// Namespace of the IOAM domain.
pub const NS: u16 = 123;
/// Receive time given to the transit and decap nodes.
pub const TS_SEC: u32 = 1_700_000_000;
pub const TS_NSEC: u32 = 123_456_789;

/// Trace types under test: 1 field (hop limit + node id), 4 fields (+ interface ids, timestamp
/// seconds and fraction), all fields Linux encapsulates (bits 0-11 and the Opaque State Snapshot).
pub const TRACE_TYPES: [(&str, u32); 3] = [("1", 0x80_0000), ("4", 0xF0_0000), ("all", 0xFF_F002)];

/// The operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `h1` inserts a Pre-allocated trace inline and fills its own element.
    Encap,
    /// `r1` fills its element into a Pre-allocated trace (linux profile).
    TransitPrealloc,
    /// `r1` appends its element to an Incremental trace (rfc profile; the packet grows).
    TransitIncremental,
    /// `h2` fills its element and removes the Hop-by-Hop header.
    Decap,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Encap, Op::TransitPrealloc, Op::TransitIncremental, Op::Decap];

    pub fn name(self) -> &'static str {
        match self {
            Op::Encap => "encap",
            Op::TransitPrealloc => "transit-prealloc",
            Op::TransitIncremental => "transit-incremental",
            Op::Decap => "decap",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// Trace type by its label (`1`, `4`, `all`) or as hex (`0xf00000`).
pub fn trace_type(s: &str) -> Option<u32> {
    TRACE_TYPES.iter().find(|(n, _)| *n == s).map(|(_, t)| *t).or_else(|| u32::from_str_radix(s.trim_start_matches("0x"), 16).ok())
}

fn iface(name: &str, id: u16, wide: u32) -> InterfaceConfig {
    InterfaceConfig { name: name.into(), ioam6_enabled: true, ioam6_id: id, ioam6_id_wide: wide }
}

/// `h1`: the encapsulating node (rfc + Incremental for the incremental corpus).
pub fn encap_node(trace_type: u32, size: u16, incremental: bool) -> Node {
    Node::new(NodeConfig {
        profile: if incremental { Profile::Rfc } else { Profile::Linux },
        ioam6_id: 1,
        ioam6_id_wide: 0x11_1111_1111,
        interfaces: vec![iface("h1-r1", 101, 101_101)],
        namespaces: vec![NamespaceConfig { id: NS, data: Some(0xdead_beef), wide: Some(0xcafe_c0ca_f00d_c0de), ..Default::default() }],
        encap: Some(EncapConfig { mode: EncapMode::Inline, trace_type, namespace: NS, size, incremental, ..Default::default() }),
        ..Default::default()
    })
    .expect("bench encap node config is valid")
}

/// `r1`: the transit node.
pub fn transit_node(rfc: bool) -> Node {
    Node::new(NodeConfig {
        profile: if rfc { Profile::Rfc } else { Profile::Linux },
        ioam6_id: 2,
        ioam6_id_wide: 0x22_2222_2222,
        interfaces: vec![iface("r1-h1", 201, 201_201), iface("r1-r2", 202, 202_202)],
        namespaces: vec![NamespaceConfig { id: NS, data: Some(0x1234_5678), wide: Some(0x1122_3344_5566_7788), ..Default::default() }],
        ..Default::default()
    })
    .expect("bench transit node config is valid")
}

/// `h2`: the decapsulating node.
pub fn decap_node() -> Node {
    Node::new(NodeConfig {
        ioam6_id: 4,
        ioam6_id_wide: 0x44_4444_4444,
        interfaces: vec![iface("h2-r2", 401, 401_401)],
        namespaces: vec![NamespaceConfig { id: NS, ..Default::default() }],
        ..Default::default()
    })
    .expect("bench decap node config is valid")
}

/// The node an operation runs on.
pub fn node_for(op: Op, trace_type: u32, size: u16) -> Node {
    match op {
        Op::Encap => encap_node(trace_type, size, false),
        Op::TransitPrealloc => transit_node(false),
        Op::TransitIncremental => transit_node(true),
        Op::Decap => decap_node(),
    }
}

/// IPv6/UDP 2001:db8:1::1 → 2001:db8:2::2, hop limit 64, [`UDP_LEN`] octets of UDP.
pub fn base_packet() -> Vec<u8> {
    let mut p = vec![0u8; 40 + UDP_LEN];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(UDP_LEN as u16).to_be_bytes());
    p[6] = 17;
    p[7] = 64;
    p[8..12].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    p[13] = 1;
    p[23] = 1;
    p[24..28].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    p[29] = 2;
    p[39] = 2;
    // UDP 4242 → 4243, length, checksum left 0, then a counting payload.
    p[40..42].copy_from_slice(&4242u16.to_be_bytes());
    p[42..44].copy_from_slice(&4243u16.to_be_bytes());
    p[44..46].copy_from_slice(&(UDP_LEN as u16).to_be_bytes());
    for (i, b) in p[48..].iter_mut().enumerate() {
        *b = i as u8;
    }
    p
}

/// Meta of each operation: encap = locally generated, out on interface 0; transit = in on 0,
/// out on 1 with 1500 octets queued; decap = in on 0, local delivery.
pub fn meta_for(op: Op) -> Meta {
    let m = Meta { ts_sec: TS_SEC, ts_nsec: TS_NSEC, ..Default::default() };
    match op {
        Op::Encap => Meta { ingress_if: IF_NONE, egress_if: 0, ..m },
        Op::TransitPrealloc | Op::TransitIncremental => Meta { ingress_if: 0, egress_if: 1, queue_depth: 1500, ..m },
        Op::Decap => Meta { ingress_if: 0, egress_if: IF_NONE, ..m },
    }
}

fn meta_words(m: &Meta) -> [u32; META_STRIDE] {
    [m.ingress_if, m.egress_if, m.ts_sec, m.ts_nsec, m.queue_depth, m.transit_delay_ns, m.buffer_occupancy, m.flags]
}

/// The packet an operation's node receives: the base packet, or the base packet as `h1`
/// encapsulated it (Pre-allocated or Incremental).
pub fn input_packet(op: Op, trace_type: u32, size: u16) -> Vec<u8> {
    let base = base_packet();
    if op == Op::Encap {
        return base;
    }
    let h1 = encap_node(trace_type, size, op == Op::TransitIncremental);
    let mut slot = vec![0u8; SLOT];
    slot[HEADROOM..HEADROOM + base.len()].copy_from_slice(&base);
    let o = encap(&h1, &mut EncapState::default(), &mut slot, HEADROOM, base.len(), &meta_for(Op::Encap), None);
    assert_eq!(o.reason, ioam_core::dataplane::Reason::Encapsulated, "bench corpus: h1 must encapsulate");
    slot[o.off..o.off + o.len].to_vec()
}

/// Octets of the packet an operation changes, from the packet start (what [`Batch::reset`]
/// puts back): encap = the IPv6 header (the inserted header overwrites it); Pre-allocated
/// transit = the trace header word holding RemainingLen (the element is rewritten with the same
/// bytes); Incremental transit and decap = IPv6 + Hop-by-Hop headers (moved).
pub fn reset_range(op: Op, pkt: &[u8]) -> (usize, usize) {
    let hbh = (pkt.get(41).copied().unwrap_or(0) as usize + 1) * 8;
    match op {
        Op::Encap => (0, 40),
        Op::TransitPrealloc => (48, 52),
        Op::TransitIncremental | Op::Decap => (0, 40 + hbh),
    }
}

/// A batch in the ABI layout plus what is needed to put it back.
pub struct Batch {
    pub op: Op,
    pub node: Node,
    pub state: EncapState,
    pub buf: Vec<u8>,
    pub desc: Vec<u32>,
    pub meta: Vec<u32>,
    pub out: Vec<u32>,
    pub arena: Vec<u8>,
    pub tdesc: Vec<u32>,
    pristine: Vec<u8>,
    pristine_desc: Vec<u32>,
    range: (usize, usize),
}

impl Batch {
    pub fn new(op: Op, trace_type: u32, size: u16, n: usize) -> Batch {
        let pkt = input_packet(op, trace_type, size);
        let mut buf = vec![0u8; n * SLOT];
        let mut desc = Vec::with_capacity(n * 4);
        let m = meta_words(&meta_for(op));
        let mut meta = Vec::with_capacity(n * META_STRIDE);
        for i in 0..n {
            let s = i * SLOT;
            buf[s + HEADROOM..s + HEADROOM + pkt.len()].copy_from_slice(&pkt);
            desc.extend_from_slice(&[s as u32, (s + SLOT) as u32, (s + HEADROOM) as u32, pkt.len() as u32]);
            meta.extend_from_slice(&m);
        }
        Batch {
            op,
            node: node_for(op, trace_type, size),
            state: EncapState::default(),
            pristine: buf.clone(),
            pristine_desc: desc.clone(),
            range: reset_range(op, &pkt),
            buf,
            desc,
            meta,
            out: vec![0; n * OUT_STRIDE],
            arena: vec![0; n * 512],
            tdesc: vec![0; n * 2],
        }
    }

    pub fn len(&self) -> usize {
        self.desc.len() / 4
    }

    pub fn is_empty(&self) -> bool {
        self.desc.is_empty()
    }

    /// Puts back the bytes and descriptors the operation changes.
    #[inline]
    pub fn reset(&mut self) {
        let (a, b) = self.range;
        for (d, p) in self.desc.chunks_exact_mut(4).zip(self.pristine_desc.chunks_exact(4)) {
            let off = p[2] as usize;
            self.buf[off + a..off + b].copy_from_slice(&self.pristine[off + a..off + b]);
            d[2] = p[2];
            d[3] = p[3];
        }
    }

    /// One pass of the operation over the whole batch (the same core call the binding makes).
    #[inline]
    pub fn run(&mut self) -> usize {
        let r = match self.op {
            Op::Encap => encap_batch(&self.node, &mut self.state, &mut self.buf, &mut self.desc, &self.meta, &[], &mut self.out),
            Op::TransitPrealloc | Op::TransitIncremental => transit_batch(&self.node, &mut self.buf, &mut self.desc, &self.meta, &mut self.out),
            Op::Decap => decap_batch(&self.node, &mut self.buf, &mut self.desc, &self.meta, &mut self.out, &mut self.arena, &mut self.tdesc),
        };
        r.unwrap_or(0)
    }

    /// The reason of packet `i` after the last run.
    pub fn reason(&self, i: usize) -> u32 {
        self.out.get(i * OUT_STRIDE + 1).copied().unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioam_core::dataplane::Reason;

    #[test]
    fn corpus_takes_the_intended_paths() {
        // Words per node: NodeLen (+1 for the snapshot header of "all", no schema bound).
        let words = |ty: u32| ioam_core::dataplane::fill::node_len(ty) as u16 + u16::from(ty & 2 != 0);
        for op in Op::ALL {
            for (_, ty) in TRACE_TYPES {
                for size in [16u16, 64, 244] {
                    let budget = size / 4;
                    let want = match op {
                        Op::Encap => Reason::Encapsulated,
                        Op::Decap => Reason::Decapsulated,
                        _ if budget < words(ty) => Reason::OverflowPreset,
                        _ if budget < 2 * words(ty) => Reason::OverflowSet,
                        Op::TransitPrealloc => Reason::Written,
                        Op::TransitIncremental => Reason::Appended,
                    };
                    let mut b = Batch::new(op, ty, size, 3);
                    for _ in 0..3 {
                        b.reset();
                        assert_eq!(b.run(), 3);
                        for i in 0..3 {
                            assert_eq!(b.reason(i), want as u32, "{} {ty:06x} {size}", op.name());
                        }
                    }
                }
            }
        }
    }
}
