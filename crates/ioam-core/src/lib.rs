//! # ioam-core
//!
//! IPv6 In-situ OAM (IOAM) for ioamsim: wire formats (RFC 9197 data fields, RFC 9486 IPv6
//! options, RFC 9322 flags, RFC 9326 Direct Export) and an in-place dataplane (encapsulating,
//! transit and decapsulating node) that matches Linux 6.18 byte for byte in its `linux` profile.
//!
//! Layering (dependencies point one way):
//! - [`wire`] describes bytes: zero-copy views (`*View<T: AsRef<[u8]>>`) and owned
//!   representations (`*Repr` with `parse`, `emit`, `buffer_len`). It decides nothing.
//! - [`config`] holds a node's configuration with Linux's names and validates it once.
//! - [`dataplane`] decides: drop, ignore, fill, insert, remove — on packet bytes, in place,
//!   without allocating per packet, with time, queue depth and interfaces as inputs.
//!
//! This crate does no I/O, reads no clock, and never panics on any input bytes: every
//! function that reads packet bytes checks lengths first and returns a typed [`Error`]
//! (code, layer, offset) or a dataplane [`dataplane::Outcome`].
#![forbid(unsafe_code)]

pub mod abi;
pub mod config;
pub mod dataplane;
pub mod error;
pub mod wire;

pub use error::{Error, ErrorCode, Layer, Result};

/// Version of this crate.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
