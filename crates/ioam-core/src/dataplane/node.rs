//! A node's configuration compiled for the hot path: interface table, namespaces sorted for a
//! binary search, each bound schema pre-rendered as Linux stores it (header word + data
//! zero-padded to 4n, `ioam6_genl_addsc`), and the encapsulating node's Hop-by-Hop template
//! (`ioam6_build_state`). Built once; the per-packet code only reads it and never allocates.
use crate::config::{EncapMode, NodeConfig, Profile};
use crate::error::{Error, ErrorCode, Layer, Result};

use super::fill::{node_len, TRACE_BIT22};

/// One interface as the fill sees it (`net.ipv6.conf.<if>.ioam6_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfEntry {
    pub enabled: bool,
    pub id: u16,
    pub id_wide: u32,
}

/// What Linux reports for a device without configuration (and what we use for an interface
/// index beyond the configured list).
pub const IF_DEFAULTS: IfEntry = IfEntry { enabled: false, id: 0xFFFF, id_wide: 0xFFFF_FFFF };

/// One IOAM-Namespace (`ip ioam namespace add`), with its bound schema pre-rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsEntry {
    pub id: u16,
    /// `data` (all-ones when not configured).
    pub data: u32,
    /// `wide` (all-ones when not configured).
    pub wide: u64,
    /// This node expects the CLT legacy layout for this namespace (32-byte trace header).
    pub clt_legacy: bool,
    /// Range of the rendered Opaque State Snapshot (header word + padded data) in
    /// [`Node::oss_arena`]; `oss_len == 0` means no schema bound.
    oss_start: u32,
    oss_len: u32,
}

impl NsEntry {
    /// `sclen` of `ioam6_fill_trace_data` in 4-octet words: 0 without bit 22, else
    /// 1 (snapshot header) + schema words (unsigned int arithmetic, as after the 2026 fix).
    #[inline]
    pub fn sclen(&self, trace_type: u32) -> u32 {
        if trace_type & TRACE_BIT22 == 0 {
            0
        } else if self.oss_len == 0 {
            1
        } else {
            self.oss_len / 4
        }
    }
}

/// The encapsulating node's plan (`ioam6_lwt`), with the Hop-by-Hop header rendered once.
#[derive(Debug, Clone)]
pub struct EncapPlan {
    pub mode: EncapMode,
    pub tunsrc: [u8; 16],
    pub tundst: [u8; 16],
    pub freq_k: u32,
    pub freq_n: u32,
    pub namespace: u16,
    pub trace_type: u32,
    pub incremental: bool,
    pub clt_legacy: bool,
    /// Schema ID of the per-packet CLT snapshot (signalled encoding), only when bit 22 is set.
    pub clt_oss_schema: Option<u32>,
    /// The Hop-by-Hop header to insert (next header byte 0 is patched per packet).
    pub hbh: Vec<u8>,
}

/// Offset of the trace header (Namespace-ID) inside the inserted Hop-by-Hop header:
/// `[nh][hdrlen][01 00]` + `[31][optlen][00][type]`.
pub const ENCAP_TRACE_OFF: usize = 8;
/// Size of the trace header in the CLT legacy layout: 8 + trace ID 16 + span ID 8.
pub const CLT_TRACE_HDR: usize = 32;
/// Size of the RFC 9197 trace header.
pub const TRACE_HDR: usize = 8;

/// A validated, compiled node. Immutable: per-packet state (k-of-n counters) lives outside.
#[derive(Debug, Clone)]
pub struct Node {
    cfg: NodeConfig,
    pub(crate) profile: Profile,
    pub(crate) ioam6_id: u32,
    pub(crate) ioam6_id_wide: u64,
    ifs: Vec<IfEntry>,
    /// Sorted by id.
    ns: Vec<NsEntry>,
    oss_arena: Vec<u8>,
    pub(crate) encap: Option<EncapPlan>,
}

fn cfg_err(what: &'static str) -> Error {
    Error::new(ErrorCode::Config, Layer::Config, 0, what)
}

impl Node {
    /// Validates `cfg` ([`NodeConfig::validate`]) and precomputes what the fill needs.
    /// Beyond `validate`, rejects a CLT legacy encap whose option would exceed 255 octets
    /// (34 + size > 255) and a CLT legacy Incremental trace (the CLT patch only knows
    /// Pre-allocated traces).
    pub fn new(cfg: NodeConfig) -> Result<Node> {
        cfg.validate()?;
        let ifs = cfg
            .interfaces
            .iter()
            .map(|i| IfEntry { enabled: i.ioam6_enabled, id: i.ioam6_id, id_wide: i.ioam6_id_wide })
            .collect();
        let mut oss_arena = Vec::new();
        let mut ns: Vec<NsEntry> = Vec::with_capacity(cfg.namespaces.len());
        for n in &cfg.namespaces {
            let (mut oss_start, mut oss_len) = (0u32, 0u32);
            if let Some(sid) = n.schema {
                let sc = cfg.schema(sid).ok_or_else(|| cfg_err("namespace is bound to a schema that is not configured"))?;
                // ioam6_genl_addsc: len_aligned = ALIGN(len, 4); hdr = id | (u8)(len_aligned/4) << 24.
                let aligned = (sc.data.len() + 3) & !3;
                let hdr = sc.id | (((aligned / 4) as u8 as u32) << 24);
                oss_start = oss_arena.len() as u32;
                oss_arena.extend_from_slice(&hdr.to_be_bytes());
                oss_arena.extend_from_slice(&sc.data);
                oss_arena.resize(oss_start as usize + 4 + aligned, 0);
                oss_len = (4 + aligned) as u32;
            }
            ns.push(NsEntry {
                id: n.id,
                data: n.data.unwrap_or(u32::MAX),
                wide: n.wide.unwrap_or(u64::MAX),
                clt_legacy: n.clt_legacy,
                oss_start,
                oss_len,
            });
        }
        ns.sort_by_key(|n| n.id);
        let encap = match &cfg.encap {
            None => None,
            Some(e) => Some(build_encap(e)?),
        };
        Ok(Node {
            profile: cfg.profile,
            ioam6_id: cfg.ioam6_id,
            ioam6_id_wide: cfg.ioam6_id_wide,
            ifs,
            ns,
            oss_arena,
            encap,
            cfg,
        })
    }

    pub fn config(&self) -> &NodeConfig {
        &self.cfg
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The interface at `index`; [`IF_DEFAULTS`] for an index beyond the list (including IF_NONE).
    #[inline]
    pub fn iface(&self, index: u32) -> &IfEntry {
        self.ifs.get(index as usize).unwrap_or(&IF_DEFAULTS)
    }

    /// The configured namespace with this Namespace-ID (Linux `ioam6_namespace`).
    #[inline(always)]
    pub fn namespace(&self, id: u16) -> Option<&NsEntry> {
        if self.ns.len() <= 8 {
            self.ns.iter().find(|n| n.id == id)
        } else {
            self.ns.binary_search_by_key(&id, |n| n.id).ok().and_then(|i| self.ns.get(i))
        }
    }

    /// The rendered snapshot (schema header word + zero-padded data) of `ns`; empty if none.
    #[inline]
    pub fn oss_bytes(&self, ns: &NsEntry) -> &[u8] {
        let s = ns.oss_start as usize;
        self.oss_arena.get(s..s + ns.oss_len as usize).unwrap_or(&[])
    }

    /// The encapsulating node's plan, if configured.
    pub fn encap_plan(&self) -> Option<&EncapPlan> {
        self.encap.as_ref()
    }
}

/// Renders the Hop-by-Hop header Linux's `ioam6_build_state` builds:
/// `[nh][hdrlen][01 00][31][optlen][00][type]` + trace header (NodeLen computed, flags 0,
/// RemainingLen = size/4) + [CLT IDs] + size zero octets + `01 02 00 00` when size % 8 == 4.
/// Incremental (rfc): the same carrier with IOAM Option-Type 1 and no data space (the
/// RemainingLen budget is size/4).
fn build_encap(e: &crate::config::EncapConfig) -> Result<EncapPlan> {
    if e.incremental && e.clt_legacy {
        return Err(cfg_err("the CLT legacy layout only exists for Pre-allocated traces"));
    }
    let size = e.size as usize;
    let hdr = if e.clt_legacy { CLT_TRACE_HDR } else { TRACE_HDR };
    let space = if e.incremental { 0 } else { size };
    let opt_len = 2 + hdr + space;
    if opt_len > 255 {
        return Err(cfg_err("encap option longer than 255 octets (CLT legacy needs size <= 220)"));
    }
    let aligned = (space + 7) & !7;
    let total = 8 + hdr + aligned;
    let mut h = vec![0u8; total];
    h[1] = (total / 8 - 1) as u8;
    h[2] = 1; // PadN, length 0
    h[4] = 0x31;
    h[5] = opt_len as u8;
    h[7] = if e.incremental { 1 } else { 0 };
    let t = ENCAP_TRACE_OFF;
    h[t..t + 2].copy_from_slice(&e.namespace.to_be_bytes());
    h[t + 2] = node_len(e.trace_type) << 3;
    h[t + 3] = ((size / 4) as u8) & 0x7F;
    let ty = (e.trace_type & 0x00FF_FFFF) << 8;
    h[t + 4..t + 8].copy_from_slice(&ty.to_be_bytes());
    if aligned != space {
        let p = t + hdr + space;
        h[p] = 1;
        h[p + 1] = 2;
    }
    Ok(EncapPlan {
        mode: e.mode,
        tunsrc: e.tunsrc,
        tundst: e.tundst,
        freq_k: e.freq_k,
        freq_n: e.freq_n,
        namespace: e.namespace,
        trace_type: e.trace_type & 0x00FF_FFFF,
        incremental: e.incremental,
        clt_legacy: e.clt_legacy,
        clt_oss_schema: e.clt_oss_schema.filter(|_| e.trace_type & TRACE_BIT22 != 0),
        hbh: h,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    fn cfg() -> NodeConfig {
        NodeConfig {
            ioam6_id: 1,
            namespaces: vec![
                NamespaceConfig { id: 123, data: Some(0xdeadbeef), wide: None, schema: Some(777), clt_legacy: false },
                NamespaceConfig { id: 5, ..Default::default() },
            ],
            schemas: vec![SchemaConfig { id: 777, data: b"something that will be 4n-aligned".to_vec() }],
            ..Default::default()
        }
    }

    #[test]
    fn schema_rendered_like_linux() {
        let n = Node::new(cfg()).unwrap();
        let ns = n.namespace(123).unwrap();
        let oss = n.oss_bytes(ns);
        assert_eq!(&oss[..4], &[9, 0, 0x03, 0x09]);
        assert_eq!(oss.len(), 40);
        assert_eq!(&oss[4..37], b"something that will be 4n-aligned");
        assert_eq!(&oss[37..], &[0, 0, 0]);
        assert_eq!(ns.sclen(TRACE_BIT22), 10);
        assert_eq!(ns.sclen(0x800000), 0);
        let ns5 = n.namespace(5).unwrap();
        assert_eq!(ns5.sclen(TRACE_BIT22), 1);
        assert_eq!((ns5.data, ns5.wide), (u32::MAX, u64::MAX));
        assert!(n.namespace(6).is_none());
    }

    #[test]
    fn schema_id_above_24_bits_ors_into_length() {
        let mut c = cfg();
        c.schemas[0].id = 0x0100_0309;
        c.namespaces[0].schema = Some(0x0100_0309);
        let n = Node::new(c).unwrap();
        let oss = n.oss_bytes(n.namespace(123).unwrap());
        assert_eq!(&oss[..4], &[9 | 1, 0, 0x03, 0x09]);
    }

    #[test]
    fn encap_template_matches_ioam6_build_state() {
        let mut c = cfg();
        c.encap = Some(EncapConfig { trace_type: 0xc00000, namespace: 123, size: 12, ..Default::default() });
        let n = Node::new(c).unwrap();
        let h = &n.encap_plan().unwrap().hbh;
        // 16 + ALIGN(12, 8) = 32 bytes, hdrlen 3, opt_len 22, NodeLen 2, RemLen 3, pad 01 02 00 00.
        let want: [u8; 32] = [
            0, 3, 1, 0, 0x31, 22, 0, 0, 0, 123, 2 << 3, 3, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0,
        ];
        assert_eq!(h.as_slice(), &want);
    }

    #[test]
    fn many_namespaces_binary_search() {
        let mut c = NodeConfig::default();
        for i in 0..40u16 {
            c.namespaces.push(NamespaceConfig { id: i * 3, data: Some(i as u32), ..Default::default() });
        }
        let n = Node::new(c).unwrap();
        for i in 0..40u16 {
            assert_eq!(n.namespace(i * 3).unwrap().data, i as u32);
            assert!(n.namespace(i * 3 + 1).is_none());
        }
        assert_eq!(n.iface(7), &IF_DEFAULTS);
        assert_eq!(n.iface(u32::MAX), &IF_DEFAULTS);
    }
}
