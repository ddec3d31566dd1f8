//! Shared helpers of the ioam-core fuzz targets: turning fuzzer bytes into node configurations,
//! per-packet metadata and slots, and the invariants every target checks.
//!
//! Input layouts (fixed-size prefixes so that seeds can be built from real packets; see
//! `scripts/fuzz-seeds.ts`):
//! * `decode`, `roundtrip`: `[flags 1][packet]` (flags bit 0: CLT legacy layout).
//! * `transit`, `decap`: `[config 24][meta 32][room 2][packet]`.
//! * `encap`: `[config 24][meta 32][clt 24][room 2][packet]`.
//! * `batch`: `[op 1][config 24][n 1][n × (desc 16, meta 32)][buf]`.
use ioam_core::config::{
    EncapConfig, EncapMode, InterfaceConfig, NamespaceConfig, NodeConfig, Profile, SchemaConfig, IF_NONE,
};
use ioam_core::dataplane::{Meta, Node};

pub const CONFIG_LEN: usize = 24;
pub const META_LEN: usize = 32;
pub const ROOM_LEN: usize = 2;
pub const CLT_LEN: usize = 24;

/// Splits `n` bytes off the front (zero-padded when the input is shorter).
pub fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let k = data.len().min(N);
    out[..k].copy_from_slice(&data[..k]);
    *data = &data[k..];
    out
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u24_at(b: &[u8], i: usize) -> u32 {
    (u32::from(b[i]) << 16) | (u32::from(b[i + 1]) << 8) | u32::from(b[i + 2])
}

/// The three routers of the kernel captures (test/fixtures/linux-6.18/MANIFEST.md), so that
/// seeds from the captures exercise real fills: `which` 0 = r1, 1 = r2, 2 = h2.
fn capture_node(which: u8, b: &[u8; CONFIG_LEN]) -> NodeConfig {
    let (id, wide, iin, iout) = match which % 3 {
        0 => (1, 0x11111111111111, (101, 101101), (102, 102102)),
        1 => (2, 0x22222222222222, (201, 201201), (202, 202202)),
        _ => (3, 0x33333333333333, (301, 301301), (0xFFFF, 0xFFFF_FFFF)),
    };
    let mut c = NodeConfig {
        profile: if b[0] & 1 != 0 { Profile::Rfc } else { Profile::Linux },
        ioam6_id: id,
        ioam6_id_wide: wide,
        interfaces: vec![
            InterfaceConfig {
                name: "in".into(),
                ioam6_enabled: b[0] & 0x08 == 0,
                ioam6_id: iin.0,
                ioam6_id_wide: iin.1,
            },
            InterfaceConfig { name: "out".into(), ioam6_enabled: false, ioam6_id: iout.0, ioam6_id_wide: iout.1 },
        ],
        namespaces: vec![
            NamespaceConfig {
                id: 123,
                data: Some(0xdeadbeef),
                wide: Some(0xcafec0caf00dc0de),
                schema: Some(777),
                clt_legacy: b[0] & 0x40 != 0,
            },
            NamespaceConfig { id: 124, data: Some(0x24242424), ..Default::default() },
        ],
        schemas: vec![SchemaConfig { id: 777, data: b"something that will be 4n-aligned".to_vec() }],
        encap: None,
    };
    if b[0] & 0x80 != 0 {
        c.encap = Some(encap_from(b));
    }
    c
}

fn encap_from(b: &[u8; CONFIG_LEN]) -> EncapConfig {
    let mode = match b[12] % 3 {
        0 => EncapMode::Inline,
        1 => EncapMode::Encap,
        _ => EncapMode::Auto,
    };
    let mut tundst = [0u8; 16];
    tundst[0] = 0xfd;
    tundst[15] = 2;
    let mut tunsrc = [0u8; 16];
    if b[12] & 0x40 != 0 {
        tunsrc[0] = 0xfd;
        tunsrc[15] = 1;
    }
    let size = if b[16] & 0x80 != 0 { u16::from(b[16] & 0x7f) * 2 } else { (u16::from(b[16]) % 61 + 1) * 4 };
    EncapConfig {
        mode,
        tunsrc,
        tundst,
        trace_type: u24_at(b, 13),
        namespace: if b[19] & 0x80 != 0 { u16_at(b, 19) } else { [123, 124, 0, 7][usize::from(b[19] & 3)] },
        size,
        incremental: b[12] & 0x10 != 0,
        freq_k: u32::from(b[17] % 4) + 1,
        freq_n: u32::from(b[18] % 6) + 1,
        clt_legacy: b[12] & 0x20 != 0,
        clt_oss_schema: None,
    }
}

/// A node configuration from 24 bytes. Byte 0: bit 0 rfc profile, bits 1-2 interface count,
/// bits 3-5 enable mask, bit 6 CLT legacy namespace, bit 7 encap. Byte 4 bit 7 selects one of the
/// capture nodes instead of a synthetic one. Configurations `Node::new` rejects fall back to
/// the same configuration without encap, then to the defaults (so validation is fuzzed too).
pub fn node_config(b: &[u8; CONFIG_LEN]) -> NodeConfig {
    if b[4] & 0x80 != 0 {
        return capture_node(b[4] & 0x7f, b);
    }
    let n_if = usize::from((b[0] >> 1) & 3);
    let interfaces = (0..n_if)
        .map(|i| InterfaceConfig {
            name: format!("if{i}"),
            ioam6_enabled: (b[0] >> (3 + i)) & 1 != 0,
            ioam6_id: u16::from(b[21 + i]) * 257,
            ioam6_id_wide: u32::from(b[21 + i]) * 0x0101_0101,
        })
        .collect();
    let n_ns = usize::from(b[4] & 3);
    let mut namespaces = Vec::new();
    let mut schemas = Vec::new();
    for j in 0..n_ns {
        let id = match j {
            0 => [123, 0, 124, u16_at(b, 5)][usize::from((b[4] >> 4) & 3)],
            1 => 124,
            _ => u16_at(b, 5),
        };
        if namespaces.iter().any(|n: &NamespaceConfig| n.id == id) {
            continue;
        }
        let schema = if j == 0 && b[4] & 0x04 != 0 {
            let sid =
                u32::from_be_bytes([b[8], b[9], b[10], b[11]]) & if b[11] & 1 != 0 { u32::MAX } else { 0xFF_FFFF };
            let len = (usize::from(b[7]) * 4 + usize::from(b[7] & 3)).min(1020);
            schemas.push(SchemaConfig { id: sid, data: (0..len).map(|k| k as u8 ^ b[7]).collect() });
            Some(sid)
        } else {
            None
        };
        namespaces.push(NamespaceConfig {
            id,
            data: if b[4] & 0x08 != 0 { Some(u32::from_be_bytes([b[1], b[2], b[3], b[7]])) } else { None },
            wide: if b[4] & 0x08 != 0 { Some(u64::from(u24_at(b, 1)) << 20 | 0xabc) } else { None },
            schema,
            clt_legacy: j == 0 && b[0] & 0x40 != 0,
        });
    }
    NodeConfig {
        profile: if b[0] & 1 != 0 { Profile::Rfc } else { Profile::Linux },
        ioam6_id: u24_at(b, 1),
        ioam6_id_wide: u64::from(u24_at(b, 1)) * 0x0100_0001,
        interfaces,
        namespaces,
        schemas,
        encap: if b[0] & 0x80 != 0 { Some(encap_from(b)) } else { None },
    }
}

/// Compiles [`node_config`], falling back as documented there.
pub fn node(b: &[u8; CONFIG_LEN]) -> Node {
    let c = node_config(b);
    if let Ok(n) = Node::new(c.clone()) {
        return n;
    }
    let mut c2 = c;
    c2.encap = None;
    Node::new(c2).unwrap_or_else(|_| Node::new(NodeConfig::default()).expect("default config is valid"))
}

/// Per-packet metadata from 32 bytes; interface indexes land on 0..3 or IF_NONE.
pub fn meta(b: &[u8; META_LEN]) -> Meta {
    let w = |i: usize| u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
    let iface = |x: u32| if x & 0x8000_0000 != 0 { IF_NONE } else { x % 4 };
    Meta {
        ingress_if: iface(w(0)),
        egress_if: iface(w(1)),
        ts_sec: w(2),
        ts_nsec: w(3),
        queue_depth: w(4),
        transit_delay_ns: w(5),
        buffer_occupancy: w(6),
        flags: w(7) & 1,
    }
}

/// A slot: `head` bytes of headroom (filled with 0xEE), the packet, `tail` bytes of tailroom.
pub fn slot(room: [u8; ROOM_LEN], packet: &[u8]) -> (Vec<u8>, usize, usize) {
    let head = usize::from(room[0]);
    let tail = usize::from(room[1]);
    let mut s = vec![0xEEu8; head];
    s.extend_from_slice(packet);
    s.resize(head + packet.len() + tail, 0xDD);
    (s, head, packet.len())
}

/// `bytes[..40 + Payload Length]` when the IPv6 header is consistent with the buffer, else None.
pub fn consistent(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < 40 || bytes[0] >> 4 != 6 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
    (plen != 0 && 40 + plen == bytes.len()).then_some(bytes)
}

/// Whether the extension-header chain of `pkt` (from its IPv6 Next Header, through the headers
/// the decapsulating node walks: DOH, Routing, AH, Mobility, HIP, Shim6) reaches Next Header 41.
/// After inline insertion such a packet looks like encap mode to the decapsulating node
/// (`dataplane::decap`), which then removes everything before the (supposed) inner header.
pub fn chain_reaches_ipv6(pkt: &[u8]) -> bool {
    let at = |i: usize| pkt.get(i).copied().unwrap_or(0);
    let (mut nh, mut q) = (at(6), 40usize);
    loop {
        match nh {
            41 => return true,
            60 | 43 | 135 | 139 | 140 | 51 if q + 8 <= pkt.len() => {
                let l = if nh == 51 { (usize::from(at(q + 1)) + 2) * 4 } else { (usize::from(at(q + 1)) + 1) * 8 };
                nh = at(q);
                q += l;
            }
            _ => return false,
        }
    }
}
