//! Thin napi-rs binding of ioam-core: converts arguments, makes one call into the core, converts
//! the result. No protocol logic here.
//!
//! - [`NativeNode`]: a compiled node (`dataplane::Node`) built from the JSON that
//!   `src/config.ts` `toNativeConfig` writes, plus its k-of-n encap state; batch methods borrow the
//!   caller's typed arrays (zero-copy, also over a `SharedArrayBuffer`) for the duration of the call.
//! - `decodePacket` / `encodePacket`: the wire layer's JSON (see `crates/ioam-core/src/wire/SCHEMA.md`).
//!
//! Errors: a core [`ioam_core::Error`] becomes a JS `Error` whose message is the core's `Display`
//! (`ERR_IOAM_X in LAYER at offset N: what`), which `src/errors.ts` parses back into an `IoamError`.
//! Every entry point is `catch_unwind`: a panic becomes a JS error instead of aborting Node.
use ioam_core::config::{EncapConfig, EncapMode, InterfaceConfig, NamespaceConfig, NodeConfig, Profile, SchemaConfig};
use ioam_core::dataplane::{self, batch, encap::CltIds, encap::EncapState, Meta, META_STRIDE};
use ioam_core::{Error as CoreError, ErrorCode, Layer};
use napi::bindgen_prelude::{Buffer, Uint32ArraySlice, Uint8ArraySlice};
use napi::{Error, Result};
use napi_derive::napi;
use serde::Deserialize;
use std::net::Ipv6Addr;

mod netio;

/// Version of the native core.
#[napi]
pub fn core_version() -> String {
    ioam_core::version().to_string()
}

fn js_err(e: CoreError) -> Error {
    Error::from_reason(e.to_string())
}

fn misuse(code: ErrorCode, layer: Layer, what: &'static str) -> Error {
    js_err(CoreError::new(code, layer, 0, what))
}

/// Message in the core's error form for things the binding itself rejects with a dynamic reason.
fn config_err(reason: String) -> Error {
    Error::from_reason(format!("{} in {} at offset 0: {}", ErrorCode::Config.as_str(), Layer::Config.as_str(), reason))
}

// ---------------------------------------------------------------------------------------------
// JSON config (`src/config.ts` NativeNodeConfig) → core NodeConfig

/// A u64 given as a JSON number or a decimal string (JS numbers lose precision above 2^53).
#[derive(Deserialize)]
#[serde(untagged)]
enum U64Json {
    Num(u64),
    Str(String),
}

impl U64Json {
    fn get(&self) -> std::result::Result<u64, String> {
        match self {
            U64Json::Num(n) => Ok(*n),
            U64Json::Str(s) => s.parse::<u64>().map_err(|_| format!("not a u64: {s:?}")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonInterface {
    name: String,
    ioam6_enabled: bool,
    ioam6_id: u16,
    ioam6_id_wide: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonNamespace {
    id: u16,
    data: Option<u32>,
    wide: Option<U64Json>,
    schema: Option<u32>,
    #[serde(default)]
    clt_legacy: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSchema {
    id: u32,
    data_hex: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEncap {
    mode: String,
    tunsrc: String,
    tundst: String,
    trace_type: u32,
    namespace: u16,
    size: u16,
    incremental: bool,
    freq_k: u32,
    freq_n: u32,
    clt_legacy: bool,
    /// Signalled CLT encoding (core `EncapConfig::clt_oss_schema`); absent = off.
    #[serde(default)]
    clt_oss_schema: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonNode {
    profile: String,
    ioam6_id: u32,
    ioam6_id_wide: U64Json,
    #[serde(default)]
    interfaces: Vec<JsonInterface>,
    #[serde(default)]
    namespaces: Vec<JsonNamespace>,
    #[serde(default)]
    schemas: Vec<JsonSchema>,
    encap: Option<JsonEncap>,
}

fn hex_bytes(s: &str) -> std::result::Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("schema data_hex is not hex: {s:?}"));
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

fn ipv6(s: &str) -> std::result::Result<[u8; 16], String> {
    s.parse::<Ipv6Addr>().map(|a| a.octets()).map_err(|_| format!("not an IPv6 address: {s:?}"))
}

fn node_config(json: &str) -> std::result::Result<NodeConfig, String> {
    let j: JsonNode = serde_json::from_str(json).map_err(|e| format!("bad node JSON: {e}"))?;
    let profile = match j.profile.as_str() {
        "linux" => Profile::Linux,
        "rfc" => Profile::Rfc,
        p => return Err(format!("unknown profile {p:?}")),
    };
    let encap = match j.encap {
        None => None,
        Some(e) => Some(EncapConfig {
            mode: match e.mode.as_str() {
                "inline" => EncapMode::Inline,
                "encap" => EncapMode::Encap,
                "auto" => EncapMode::Auto,
                m => return Err(format!("unknown encap mode {m:?}")),
            },
            tunsrc: ipv6(&e.tunsrc)?,
            tundst: ipv6(&e.tundst)?,
            trace_type: e.trace_type,
            namespace: e.namespace,
            size: e.size,
            incremental: e.incremental,
            freq_k: e.freq_k,
            freq_n: e.freq_n,
            clt_legacy: e.clt_legacy,
            clt_oss_schema: e.clt_oss_schema,
        }),
    };
    Ok(NodeConfig {
        profile,
        ioam6_id: j.ioam6_id,
        ioam6_id_wide: j.ioam6_id_wide.get()?,
        interfaces: j
            .interfaces
            .into_iter()
            .map(|i| InterfaceConfig { name: i.name, ioam6_enabled: i.ioam6_enabled, ioam6_id: i.ioam6_id, ioam6_id_wide: i.ioam6_id_wide })
            .collect(),
        namespaces: j
            .namespaces
            .into_iter()
            .map(|n| {
                Ok(NamespaceConfig {
                    id: n.id,
                    data: n.data,
                    wide: n.wide.map(|w| w.get()).transpose()?,
                    schema: n.schema,
                    clt_legacy: n.clt_legacy,
                })
            })
            .collect::<std::result::Result<_, String>>()?,
        schemas: j
            .schemas
            .into_iter()
            .map(|s| Ok(SchemaConfig { id: s.id, data: hex_bytes(&s.data_hex)? }))
            .collect::<std::result::Result<_, String>>()?,
        encap,
    })
}

// ---------------------------------------------------------------------------------------------
// Argument checks

/// Refuses typed arrays whose memory overlaps (two `&mut` views of the same bytes would let the
/// core's writes to one table change another behind its back).
fn disjoint(ranges: &[(usize, usize)]) -> Result<()> {
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            if a.1 > a.0 && b.1 > b.0 && a.0 < b.1 && b.0 < a.1 {
                return Err(misuse(ErrorCode::BadDescriptor, Layer::Batch, "batch tables overlap in memory"));
            }
        }
    }
    Ok(())
}

// Borrowing JS memory (`borrow`): a sync napi call runs on the JS thread, which cannot touch the
// typed arrays until the call returns, so the core gets exclusive `&mut` access for the call. A
// `SharedArrayBuffer` may also be visible to other threads: the caller (src/batch.ts, the
// simulator's pool) hands a batch to one thread at a time. `disjoint` refuses tables that share
// memory, so the `&mut` slices never alias.

fn span<T>(s: &[T]) -> (usize, usize) {
    let p = s.as_ptr() as usize;
    (p, p + std::mem::size_of_val(s))
}

fn meta_of(words: &[u32]) -> Result<Meta> {
    let w: &[u32; META_STRIDE] = words
        .get(..META_STRIDE)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| misuse(ErrorCode::BadDescriptor, Layer::Batch, "meta needs 8 u32 words"))?;
    Ok(Meta::from_words(w))
}

// ---------------------------------------------------------------------------------------------
// Node

/// Outcome of a one-packet operation. `packet` is a copy of the resulting packet bytes.
#[napi(object)]
pub struct PacketOutcome {
    pub packet: Buffer,
    /// 0 pass, 1 drop
    pub verdict: u32,
    /// `Reason` (src/reasons.ts)
    pub reason: u32,
    /// byte offset in the packet the reason refers to
    pub offset: u32,
    /// operation-specific (see docs/DESIGN.md batch ABI)
    pub aux: u32,
    /// decap: the removed Hop-by-Hop header bytes (empty if none)
    pub trace: Option<Buffer>,
}

/// Headroom a one-packet call gives the packet: enough for an outer IPv6 header plus the largest
/// Hop-by-Hop header an encapsulating node inserts (40 + 16 + 248 + CLT block).
const ONE_PACKET_HEADROOM: usize = 512;

/// A compiled IOAM node (core `dataplane::Node`) and its k-of-n encap counter.
#[napi]
pub struct NativeNode {
    node: dataplane::Node,
    state: EncapState,
}

#[napi]
impl NativeNode {
    /// Builds a node from the JSON of `toNativeConfig` (src/config.ts). Throws `ERR_IOAM_CONFIG`.
    #[napi(constructor, catch_unwind)]
    pub fn new(config_json: String) -> Result<Self> {
        let cfg = node_config(&config_json).map_err(config_err)?;
        let node = dataplane::Node::new(cfg).map_err(js_err)?;
        Ok(NativeNode { node, state: EncapState::default() })
    }

    /// Number of packets the encapsulating node has counted for k-of-n sampling.
    #[napi(getter)]
    pub fn encap_count(&self) -> f64 {
        self.state.count as f64
    }

    /// Resets the k-of-n counter (a fresh route).
    #[napi]
    pub fn reset_encap_state(&mut self) {
        self.state = EncapState::default();
    }

    /// Transit (receiving) node over a batch; returns the packet count. `desc` off/len and `out`
    /// are updated in place.
    #[napi(catch_unwind)]
    pub fn transit_batch(&self, mut buf: Uint8ArraySlice, mut desc: Uint32ArraySlice, meta: Uint32ArraySlice, mut out: Uint32ArraySlice) -> Result<u32> {
        disjoint(&[span(&buf), span(&desc), span(&meta), span(&out)])?;
        // SAFETY: see `borrow`: the views are disjoint (checked above) and live for this call.
        let (buf, desc, out) = unsafe { (buf.as_mut(), desc.as_mut(), out.as_mut()) };
        batch::transit_batch(&self.node, buf, desc, &meta, out).map(|n| n as u32).map_err(js_err)
    }

    /// Encapsulating node over a batch. `clt`: empty or 24 bytes per packet (trace ID, span ID).
    #[napi(catch_unwind)]
    pub fn encap_batch(
        &mut self,
        mut buf: Uint8ArraySlice,
        mut desc: Uint32ArraySlice,
        meta: Uint32ArraySlice,
        clt: Uint8ArraySlice,
        mut out: Uint32ArraySlice,
    ) -> Result<u32> {
        disjoint(&[span(&buf), span(&desc), span(&meta), span(&clt), span(&out)])?;
        // SAFETY: see `borrow`.
        let (buf, desc, out) = unsafe { (buf.as_mut(), desc.as_mut(), out.as_mut()) };
        batch::encap_batch(&self.node, &mut self.state, buf, desc, &meta, &clt, out).map(|n| n as u32).map_err(js_err)
    }

    /// Decapsulating node over a batch; removed Hop-by-Hop headers go to `traceArena`, located by
    /// `traceDesc` (2 words per packet: offset, length).
    #[napi(catch_unwind)]
    pub fn decap_batch(
        &self,
        mut buf: Uint8ArraySlice,
        mut desc: Uint32ArraySlice,
        meta: Uint32ArraySlice,
        mut out: Uint32ArraySlice,
        mut trace_arena: Uint8ArraySlice,
        mut trace_desc: Uint32ArraySlice,
    ) -> Result<u32> {
        disjoint(&[span(&buf), span(&desc), span(&meta), span(&out), span(&trace_arena), span(&trace_desc)])?;
        // SAFETY: see `borrow`.
        let (buf, desc, out, arena, tdesc) =
            unsafe { (buf.as_mut(), desc.as_mut(), out.as_mut(), trace_arena.as_mut(), trace_desc.as_mut()) };
        batch::decap_batch(&self.node, buf, desc, &meta, out, arena, tdesc).map(|n| n as u32).map_err(js_err)
    }

    /// One packet through the transit node (copies; for tests and tools, not the hot path).
    #[napi(catch_unwind)]
    pub fn transit_packet(&self, packet: Uint8ArraySlice, meta: Uint32ArraySlice) -> Result<PacketOutcome> {
        let meta = meta_of(&meta)?;
        let (mut slot, off) = one_slot(&packet, ONE_PACKET_HEADROOM);
        let o = dataplane::transit::transit(&self.node, &mut slot, off, packet.len(), &meta);
        Ok(outcome(&slot, o, None))
    }

    /// One packet through the encapsulating node (advances the k-of-n counter). `clt`: empty or 24 bytes.
    #[napi(catch_unwind)]
    pub fn encap_packet(&mut self, packet: Uint8ArraySlice, meta: Uint32ArraySlice, clt: Uint8ArraySlice) -> Result<PacketOutcome> {
        let meta = meta_of(&meta)?;
        let ids = match clt.len() {
            0 => None,
            24 => {
                let mut ids = CltIds::default();
                ids.trace_id.copy_from_slice(&clt[..16]);
                ids.span_id.copy_from_slice(&clt[16..24]);
                Some(ids)
            }
            _ => return Err(misuse(ErrorCode::BadLength, Layer::Clt, "clt must be empty or 24 bytes (trace ID 16, span ID 8)")),
        };
        let (mut slot, off) = one_slot(&packet, ONE_PACKET_HEADROOM);
        let o = dataplane::encap::encap(&self.node, &mut self.state, &mut slot, off, packet.len(), &meta, ids.as_ref());
        Ok(outcome(&slot, o, None))
    }

    /// One packet through the decapsulating node; `trace` gets the removed Hop-by-Hop header.
    #[napi(catch_unwind)]
    pub fn decap_packet(&self, packet: Uint8ArraySlice, meta: Uint32ArraySlice) -> Result<PacketOutcome> {
        let meta = meta_of(&meta)?;
        let (mut slot, off) = one_slot(&packet, ONE_PACKET_HEADROOM);
        let mut trace = vec![0u8; 2048];
        let o = dataplane::decap::decap(&self.node, &mut slot, off, packet.len(), &meta, &mut trace);
        let n = (o.aux as usize).min(trace.len());
        trace.truncate(n);
        Ok(outcome(&slot, o, Some(trace)))
    }
}

/// A slot holding `packet` after `headroom` bytes (and a little tailroom).
fn one_slot(packet: &[u8], headroom: usize) -> (Vec<u8>, usize) {
    let mut slot = vec![0u8; headroom + packet.len() + 64];
    slot[headroom..headroom + packet.len()].copy_from_slice(packet);
    (slot, headroom)
}

fn outcome(slot: &[u8], o: dataplane::Outcome, trace: Option<Vec<u8>>) -> PacketOutcome {
    let end = o.off.saturating_add(o.len).min(slot.len());
    let start = o.off.min(end);
    PacketOutcome {
        packet: slot[start..end].to_vec().into(),
        verdict: o.reason.verdict() as u32,
        reason: o.reason as u32,
        offset: o.offset,
        aux: o.aux,
        trace: trace.map(Buffer::from),
    }
}

/// Strides of the batch ABI tables (u32 words per packet), for the TS side to check its mirror.
#[napi(object)]
pub struct AbiInfo {
    pub desc_stride: u32,
    pub meta_stride: u32,
    pub out_stride: u32,
    pub if_none: u32,
}

#[napi]
pub fn abi_info() -> AbiInfo {
    AbiInfo {
        desc_stride: dataplane::DESC_STRIDE as u32,
        meta_stride: dataplane::META_STRIDE as u32,
        out_stride: dataplane::OUT_STRIDE as u32,
        if_none: ioam_core::config::IF_NONE,
    }
}

// ---------------------------------------------------------------------------------------------
// Wire layer: whole-packet decode / encode (JSON schema: crates/ioam-core/src/wire/SCHEMA.md)

mod wire_api {
    use super::*;
    use ioam_core::wire::{decode_packet as core_decode, encode_packet as core_encode, DecodeOptions, PacketRepr, TraceLayout};

    fn layout(s: &str) -> Result<TraceLayout> {
        match s {
            "standard" | "" => Ok(TraceLayout::Standard),
            "legacy" | "clt-legacy" => Ok(TraceLayout::CltLegacy),
            _ => Err(misuse(ErrorCode::BadValue, Layer::Clt, "layout must be standard or legacy")),
        }
    }

    /// Decodes a packet (IPv6 header first) into the JSON of SCHEMA.md. `layout`: `standard`
    /// (RFC 9197) or `legacy` (CLT trace/span ID block before the node data). Throws the core's
    /// error when the packet cannot be located (see the wire layer's error policy).
    #[napi(catch_unwind)]
    pub fn decode_packet(bytes: Uint8ArraySlice, layout_name: String) -> Result<String> {
        let p = core_decode(&bytes, &DecodeOptions { clt: layout(&layout_name)? }).map_err(js_err)?;
        serde_json::to_string(&p).map_err(|e| Error::from_reason(format!("ERR_IOAM_BAD_VALUE in ipv6 at offset 0: JSON output failed: {e}")))
    }

    /// Encodes the JSON of SCHEMA.md into packet bytes; `linuxPadding` first pads HbH/DOH option
    /// lists as Linux does (IOAM options 4n-aligned, headers 8n long).
    #[napi(catch_unwind)]
    pub fn encode_packet(json: String, linux_padding: bool) -> Result<Buffer> {
        let p: PacketRepr = serde_json::from_str(&json)
            .map_err(|e| Error::from_reason(format!("ERR_IOAM_BAD_VALUE in ipv6 at offset 0: bad packet JSON: {e}")))?;
        let p = if linux_padding { p.with_linux_padding() } else { p };
        core_encode(&p).map(Buffer::from).map_err(js_err)
    }
}
