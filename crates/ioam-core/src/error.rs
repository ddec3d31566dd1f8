//! Typed errors that say where: a code, the layer, the byte offset, and for length errors
//! how many bytes were needed and how many there were (after etherparse's habit).

use core::fmt;

/// What went wrong. `as_str()` gives the stable code string shown to users (`ERR_IOAM_...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Fewer bytes than the layer's fixed part or a length field requires.
    Truncated,
    /// A length field is inconsistent with the bytes or with another field.
    BadLength,
    /// Not an IPv6 packet (version nibble ≠ 6).
    NotIpv6,
    /// An option is not at the alignment its type requires (IOAM: 4n from the IPv6 header).
    Misaligned,
    /// NodeLen differs from the value the Trace-Type implies.
    BadNodeLen,
    /// RemainingLen points beyond the option data.
    BadRemainingLen,
    /// Padding is malformed (PadN longer than 7 bytes in a run, non-zero PadN payload).
    BadPadding,
    /// A field has a value the format forbids (e.g. reserved bit set where it must not be).
    BadValue,
    /// There is not enough room (headroom, option length ≤ 255, slot capacity) to do what was asked.
    NoRoom,
    /// An option or header that this operation requires is absent.
    NotFound,
    /// A configuration value is out of range or inconsistent.
    Config,
    /// A batch descriptor (offsets, lengths, strides) is inconsistent with its buffers.
    BadDescriptor,
}

impl ErrorCode {
    /// The stable code string, e.g. `ERR_IOAM_TRUNCATED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Truncated => "ERR_IOAM_TRUNCATED",
            ErrorCode::BadLength => "ERR_IOAM_BAD_LENGTH",
            ErrorCode::NotIpv6 => "ERR_IOAM_NOT_IPV6",
            ErrorCode::Misaligned => "ERR_IOAM_MISALIGNED",
            ErrorCode::BadNodeLen => "ERR_IOAM_BAD_NODELEN",
            ErrorCode::BadRemainingLen => "ERR_IOAM_BAD_REMAININGLEN",
            ErrorCode::BadPadding => "ERR_IOAM_BAD_PADDING",
            ErrorCode::BadValue => "ERR_IOAM_BAD_VALUE",
            ErrorCode::NoRoom => "ERR_IOAM_NO_ROOM",
            ErrorCode::NotFound => "ERR_IOAM_NOT_FOUND",
            ErrorCode::Config => "ERR_IOAM_CONFIG",
            ErrorCode::BadDescriptor => "ERR_IOAM_BAD_DESCRIPTOR",
        }
    }
}

/// Which layer of the packet (or of the API) the error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Ipv6,
    /// An extension header (Hop-by-Hop, Destination Options, Routing, Fragment, ...).
    ExtHeader,
    /// A TLV option inside a Hop-by-Hop or Destination Options header.
    Option,
    /// The IOAM option header (Reserved, IOAM Option-Type).
    Ioam,
    /// The trace option header (Namespace-ID .. Reserved).
    Trace,
    /// The node-data list of a trace.
    NodeData,
    /// An Opaque State Snapshot inside a node's data.
    Oss,
    /// Proof of Transit option.
    Pot,
    /// Edge-to-Edge option.
    E2e,
    /// Direct Export option.
    Dex,
    /// The CLT legacy trace/span ID block.
    Clt,
    Config,
    Batch,
}

impl Layer {
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Ipv6 => "ipv6",
            Layer::ExtHeader => "ext-header",
            Layer::Option => "option",
            Layer::Ioam => "ioam",
            Layer::Trace => "trace",
            Layer::NodeData => "node-data",
            Layer::Oss => "oss",
            Layer::Pot => "pot",
            Layer::E2e => "e2e",
            Layer::Dex => "dex",
            Layer::Clt => "clt",
            Layer::Config => "config",
            Layer::Batch => "batch",
        }
    }
}

/// An error with its code, layer and byte offset (from the start of the buffer the caller
/// passed, normally the IPv6 header). `needed`/`got` are byte counts for length errors, 0
/// otherwise. `what` names the field or rule in a few words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub layer: Layer,
    pub offset: usize,
    pub needed: usize,
    pub got: usize,
    pub what: &'static str,
}

impl Error {
    pub const fn new(code: ErrorCode, layer: Layer, offset: usize, what: &'static str) -> Self {
        Error { code, layer, offset, needed: 0, got: 0, what }
    }

    /// A length error: `needed` bytes were required at `offset`, only `got` were there.
    pub const fn truncated(layer: Layer, offset: usize, needed: usize, got: usize, what: &'static str) -> Self {
        Error { code: ErrorCode::Truncated, layer, offset, needed, got, what }
    }

    /// The same error with its offset shifted by `base` (when a sub-slice was parsed).
    pub const fn at(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {} at offset {}: {}", self.code.as_str(), self.layer.as_str(), self.offset, self.what)?;
        if self.code == ErrorCode::Truncated || self.needed != 0 || self.got != 0 {
            write!(f, " (needed {} bytes, got {})", self.needed, self.got)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;
