//! Thin napi-rs binding of ioam-core: converts arguments, makes one call into the core, converts
//! the result. No protocol logic here.
//!
//! - [`NativeNode`]: a compiled node (`dataplane::Node`) built from the JSON that
//!   `src/config.ts` `toNativeConfig` writes (deserialised and validated by the core: see
//!   `ioam_core::config`), plus its k-of-n encap state; batch methods borrow the caller's typed
//!   arrays (zero-copy, also over a `SharedArrayBuffer`) for the duration of the call; the
//!   per-packet in-place functions are in `inplace.rs`.
//! - `decodePacket` / `encodePacket`: the wire layer's JSON (see `crates/ioam-core/src/wire/SCHEMA.md`).
//! - `netio`: AF_PACKET sockets for the kernel check (forwarding to the `ioam-netio` crate).
//!
//! Errors: a core [`ioam_core::Error`] becomes a JS `Error` carrying `code`, `layer`, `offset`,
//! `needed`, `got`, `what` as properties (`jserr.rs`), which `src/errors.ts` maps to an
//! `IoamError`. Every entry point catches panics: a panic becomes a JS error instead of aborting Node.
use inplace::Shared;
use ioam_core::config::NodeConfig;
use ioam_core::dataplane::{self, batch};
use ioam_core::{Error as CoreError, ErrorCode, Layer};
use jserr::Fault;
use napi::bindgen_prelude::{Buffer, Uint32ArraySlice, Uint8ArraySlice};
use napi::{Env, Error, Result};
use std::rc::Rc;
use napi_derive::napi;

mod inplace;
mod jserr;
mod netio;

/// Version of the native core.
#[napi]
pub fn core_version() -> String {
    ioam_core::version().to_string()
}

fn js_err(env: &Env) -> impl Fn(CoreError) -> Error + '_ {
    move |e| jserr::to_napi(env, e)
}

fn misuse(env: &Env, code: ErrorCode, layer: Layer, what: &'static str) -> Error {
    jserr::to_napi(env, Fault::new(code, layer, what))
}

// ---------------------------------------------------------------------------------------------
// Argument checks

/// Refuses typed arrays whose memory overlaps (two `&mut` views of the same bytes would let the
/// core's writes to one table change another behind its back).
fn disjoint(env: &Env, ranges: &[(usize, usize)]) -> Result<()> {
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            if a.1 > a.0 && b.1 > b.0 && a.0 < b.1 && b.0 < a.1 {
                return Err(misuse(env, ErrorCode::BadDescriptor, Layer::Batch, "batch tables overlap in memory"));
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

// ---------------------------------------------------------------------------------------------
// Node

/// A compiled IOAM node (core `dataplane::Node`) and its k-of-n encap counter, shared with the
/// node's per-packet functions (`inplace.rs`).
#[napi]
pub struct NativeNode {
    shared: Rc<Shared>,
}

#[napi]
impl NativeNode {
    /// Builds a node from the JSON of `toNativeConfig` (src/config.ts). Throws `ERR_IOAM_CONFIG`.
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, config_json: String) -> Result<Self> {
        // The core deserialises (types, widths) and `Node::new` validates (Linux's ranges and rules).
        let cfg: NodeConfig = serde_json::from_str(&config_json)
            .map_err(|e| jserr::to_napi(&env, Fault::new(ErrorCode::Config, Layer::Config, format!("bad node JSON: {e}"))))?;
        let node = dataplane::Node::new(cfg).map_err(js_err(&env))?;
        Ok(NativeNode { shared: Rc::new(Shared::new(node)) })
    }

    /// Number of packets the encapsulating node has counted for k-of-n sampling.
    #[napi(getter)]
    pub fn encap_count(&self) -> f64 {
        self.shared.count.get() as f64
    }

    /// Resets the k-of-n counter (a fresh route).
    #[napi]
    pub fn reset_encap_state(&self) {
        self.shared.count.set(0);
    }

    /// Transit (receiving) node over a batch; returns the packet count. `desc` off/len and `out`
    /// are updated in place.
    #[napi(catch_unwind)]
    pub fn transit_batch(
        &self,
        env: Env,
        mut buf: Uint8ArraySlice,
        mut desc: Uint32ArraySlice,
        meta: Uint32ArraySlice,
        mut out: Uint32ArraySlice,
    ) -> Result<u32> {
        disjoint(&env, &[span(&buf), span(&desc), span(&meta), span(&out)])?;
        // SAFETY: see `borrow`: the views are disjoint (checked above) and live for this call.
        let (buf, desc, out) = unsafe { (buf.as_mut(), desc.as_mut(), out.as_mut()) };
        batch::transit_batch(&self.shared.node, buf, desc, &meta, out).map(|n| n as u32).map_err(js_err(&env))
    }

    /// Encapsulating node over a batch. `clt`: empty or 24 bytes per packet (trace ID, span ID).
    #[napi(catch_unwind)]
    pub fn encap_batch(
        &self,
        env: Env,
        mut buf: Uint8ArraySlice,
        mut desc: Uint32ArraySlice,
        meta: Uint32ArraySlice,
        clt: Uint8ArraySlice,
        mut out: Uint32ArraySlice,
    ) -> Result<u32> {
        disjoint(&env, &[span(&buf), span(&desc), span(&meta), span(&clt), span(&out)])?;
        // SAFETY: see `borrow`.
        let (buf, desc, out) = unsafe { (buf.as_mut(), desc.as_mut(), out.as_mut()) };
        self.shared
            .with_state(|node, st| batch::encap_batch(node, st, buf, desc, &meta, &clt, out))
            .map(|n| n as u32)
            .map_err(js_err(&env))
    }

    /// Decapsulating node over a batch; removed Hop-by-Hop headers go to `traceArena`, located by
    /// `traceDesc` (2 words per packet: offset, length).
    #[napi(catch_unwind)]
    pub fn decap_batch(
        &self,
        env: Env,
        mut buf: Uint8ArraySlice,
        mut desc: Uint32ArraySlice,
        meta: Uint32ArraySlice,
        mut out: Uint32ArraySlice,
        mut trace_arena: Uint8ArraySlice,
        mut trace_desc: Uint32ArraySlice,
    ) -> Result<u32> {
        disjoint(&env, &[span(&buf), span(&desc), span(&meta), span(&out), span(&trace_arena), span(&trace_desc)])?;
        // SAFETY: see `borrow`.
        let (buf, desc, out, arena, tdesc) =
            unsafe { (buf.as_mut(), desc.as_mut(), out.as_mut(), trace_arena.as_mut(), trace_desc.as_mut()) };
        batch::decap_batch(&self.shared.node, buf, desc, &meta, out, arena, tdesc).map(|n| n as u32).map_err(js_err(&env))
    }

    /// `{ transit, encap, decap, scratch }`: the per-packet calls of this node and their scratch
    /// block (see `inplace.rs`; src/node.ts keeps them).
    #[napi(ts_return_type = "NativeInPlace")]
    pub fn in_place_functions(&self, env: Env) -> Result<inplace::Raw> {
        inplace::functions(&env, &self.shared)
    }

    /// Headroom (bytes before `start`) `encapInPlace` needs for this node's configuration
    /// (core `abi::encap_headroom`); 0 for a node without `encap`.
    #[napi(getter)]
    pub fn encap_headroom(&self) -> u32 {
        ioam_core::abi::encap_headroom(&self.shared.node) as u32
    }
}

// ---------------------------------------------------------------------------------------------
// Flat trace records (core `wire::flat`; layout in `ioam_core::abi`, src/generated/abi.ts)

/// Decodes the removed Hop-by-Hop headers of `count` packets of a decap step (`arena` +
/// `traceDesc`, 2 words per packet) into `out`, one record per packet whose `layouts` byte is
/// standard (0) or legacy (1); `index[j]` = where packet j's record starts (`0xFFFFFFFF`:
/// skipped). Returns how many packets are done: fewer than `count` when `out` ran short (grow
/// it and call again from there). One call per step, no allocation.
#[napi(catch_unwind)]
pub fn decode_trace_batch(
    env: Env,
    arena: Uint8ArraySlice,
    desc: Uint32ArraySlice,
    layouts: Uint8ArraySlice,
    count: u32,
    mut out: Uint32ArraySlice,
    mut index: Uint32ArraySlice,
) -> Result<u32> {
    disjoint(&env, &[span(&out), span(&index), span(&arena), span(&desc), span(&layouts)])?;
    // SAFETY: see `borrow`: `out` and `index` are disjoint from each other and from the inputs.
    let (out, index) = unsafe { (out.as_mut(), index.as_mut()) };
    Ok(ioam_core::wire::flat::decode_trace_batch(&arena, &desc, &layouts, count as usize, out, index) as u32)
}

// ---------------------------------------------------------------------------------------------
// Wire layer: whole-packet decode / encode (JSON schema: crates/ioam-core/src/wire/SCHEMA.md)

mod wire_api {
    use super::*;
    use ioam_core::wire::{decode_packet as core_decode, encode_packet as core_encode, DecodeOptions, PacketRepr, TraceLayout};

    fn layout(env: &Env, s: &str) -> Result<TraceLayout> {
        match s {
            "standard" | "" => Ok(TraceLayout::Standard),
            "legacy" | "clt-legacy" => Ok(TraceLayout::CltLegacy),
            _ => Err(misuse(env, ErrorCode::BadValue, Layer::Clt, "layout must be standard or legacy")),
        }
    }

    fn json_err(env: &Env, what: String) -> Error {
        jserr::to_napi(env, Fault::new(ErrorCode::BadValue, Layer::Ipv6, what))
    }

    /// Decodes a packet (IPv6 header first) into the JSON of SCHEMA.md. `layout`: `standard`
    /// (RFC 9197) or `legacy` (CLT trace/span ID block before the node data). Throws the core's
    /// error when the packet cannot be located (see the wire layer's error policy).
    #[napi(catch_unwind)]
    pub fn decode_packet(env: Env, bytes: Uint8ArraySlice, layout_name: String) -> Result<String> {
        let p = core_decode(&bytes, &DecodeOptions { clt: layout(&env, &layout_name)? }).map_err(js_err(&env))?;
        serde_json::to_string(&p).map_err(|e| json_err(&env, format!("JSON output failed: {e}")))
    }

    /// Encodes the JSON of SCHEMA.md into packet bytes; `linuxPadding` first pads HbH/DOH option
    /// lists as Linux does (IOAM options 4n-aligned, headers 8n long).
    #[napi(catch_unwind)]
    pub fn encode_packet(env: Env, json: String, linux_padding: bool) -> Result<Buffer> {
        let p: PacketRepr = serde_json::from_str(&json).map_err(|e| json_err(&env, format!("bad packet JSON: {e}")))?;
        let p = if linux_padding { p.with_linux_padding() } else { p };
        core_encode(&p).map(Buffer::from).map_err(js_err(&env))
    }
}
