//! The contract with the JS side, in one place: the batch and per-packet table layouts, flags,
//! the [`Reason`] table, the error code and layer strings. `ioam-napi`'s `gen-abi` renders this
//! module as `src/generated/abi.ts` (checked in; `crates/ioam-core/tests/abi_ts.rs` fails when
//! the checked-in file differs from what this module renders), so the TypeScript never restates
//! a number or a string of the ABI by hand.
use crate::config::IF_NONE;
use crate::dataplane::{self, Node, Reason, DESC_STRIDE, META_F_NO_TSTAMP, META_STRIDE, OUT_F_LOOPBACK, OUT_STRIDE};
use crate::{ErrorCode, Layer};
use core::fmt::Write;

/// u32 words per packet in the decap `traceDesc` table: `[arena offset, length]`.
pub const TRACE_DESC_STRIDE: usize = 2;
/// Bytes per packet in the encap `clt` table: trace ID (16) + span ID (8).
pub const CLT_STRIDE: usize = 24;
/// u32 words of a per-packet call's `out`: `[reason, offset, aux, newStart, newLen]`.
pub const PKT_OUT_WORDS: usize = 5;
/// The all-ones "unavailable" value of the u32 meta fields.
pub const UNAVAILABLE: u32 = u32::MAX;
/// Reasons from this value up go with a drop verdict.
pub const REASON_DROP_MIN: u32 = 32;

/// Headroom (bytes before the packet) [`dataplane::encap::encap`] needs for `node`'s
/// configuration: the inserted Hop-by-Hop header, the outer IPv6 header (40) in encap/auto mode,
/// and an Incremental trace's own element (+4). With less, encap gives `DropNoRoom` and leaves
/// the packet alone. 0 for a node without `encap`.
pub fn encap_headroom(node: &Node) -> usize {
    let Some(plan) = node.encap_plan() else { return 0 };
    let outer = if plan.mode == crate::config::EncapMode::Inline { 0 } else { 40 };
    let extra = if plan.incremental {
        node.namespace(plan.namespace).map_or(0, |ns| {
            (dataplane::fill::node_len(plan.trace_type) as usize + ns.sclen(plan.trace_type) as usize) * 4 + 4
        })
    } else {
        0
    };
    plan.hbh.len() + outer + extra
}

/// Per-packet scratch block (u32 words) a binding shares with JS: meta at [`SCRATCH_META`]
/// ([`META_STRIDE`] words), the outcome at [`SCRATCH_OUT`] ([`PKT_OUT_WORDS`] words), the CLT
/// length (0 or [`CLT_STRIDE`]) at [`SCRATCH_CLT_LEN`] and the CLT bytes from [`SCRATCH_CLT`].
pub const SCRATCH_META: usize = 0;
pub const SCRATCH_OUT: usize = SCRATCH_META + META_STRIDE;
pub const SCRATCH_CLT_LEN: usize = SCRATCH_OUT + PKT_OUT_WORDS;
pub const SCRATCH_CLT: usize = SCRATCH_CLT_LEN + 1;
pub const SCRATCH_WORDS: usize = SCRATCH_CLT + CLT_STRIDE / 4;

/// Bytes of decap trace arena per packet in the step tables (a Hop-by-Hop header is at most 2048 bytes).
pub const STEP_TRACE_BYTES: usize = 2048;
/// The tables of a node step ([`dataplane::batch::node_step`]) for up to `cap` packets, in one
/// buffer: these u32 regions (name, words per packet) in this order, each `cap` rows...
pub const STEP_U32_REGIONS: [(&str, usize); 7] = [
    ("desc", DESC_STRIDE),
    ("meta", META_STRIDE),
    ("meta2", META_STRIDE),
    ("out1", OUT_STRIDE),
    ("out2", OUT_STRIDE),
    ("flags", 1),
    ("traceDesc", TRACE_DESC_STRIDE),
];
/// ...then these byte regions (name, bytes per packet).
pub const STEP_U8_REGIONS: [(&str, usize); 3] = [("clt", CLT_STRIDE), ("status", 1), ("traceArena", STEP_TRACE_BYTES)];

/// The sum of `regions`' per-packet sizes.
const fn region_sum(regions: &[(&str, usize)]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < regions.len() {
        n += regions[i].1;
        i += 1;
    }
    n
}

/// u32 words per packet of the step tables' u32 regions.
pub const fn step_words_per_packet() -> usize {
    region_sum(&STEP_U32_REGIONS)
}

/// Bytes per packet of the step tables' byte regions.
pub const fn step_bytes_per_packet() -> usize {
    region_sum(&STEP_U8_REGIONS)
}

/// The `meta` words in order (core [`dataplane::Meta`] field names).
pub const META_FIELDS: [&str; META_STRIDE] =
    ["ingress_if", "egress_if", "ts_sec", "ts_nsec", "queue_depth", "transit_delay_ns", "buffer_occupancy", "flags"];
/// The batch `desc` words in order.
pub const DESC_FIELDS: [&str; DESC_STRIDE] = ["slot_start", "slot_end", "off", "len"];
/// The batch `out` words in order.
pub const OUT_FIELDS: [&str; OUT_STRIDE] = ["verdict", "reason", "offset", "aux"];
/// The per-packet `out` words in order.
pub const PKT_OUT_FIELDS: [&str; PKT_OUT_WORDS] = ["reason", "offset", "aux", "start", "len"];

/// Every [`Reason`], by value. (Adding a variant breaks [`reason_name`]'s match: add it here too.)
pub const REASONS: [Reason; 23] = [
    Reason::NoIoam,
    Reason::Written,
    Reason::OverflowSet,
    Reason::OverflowPreset,
    Reason::IgnoredDisabled,
    Reason::IgnoredOptionType,
    Reason::IgnoredNamespace,
    Reason::Encapsulated,
    Reason::SampledOut,
    Reason::SkippedHbhExists,
    Reason::Decapsulated,
    Reason::Appended,
    Reason::ExportRequested,
    Reason::DropMalformedIpv6,
    Reason::DropMisaligned,
    Reason::DropOptLenShort,
    Reason::DropTraceTruncated,
    Reason::DropRemainingLen,
    Reason::DropNodeLen,
    Reason::DropHbhMalformed,
    Reason::DropUnknownOption,
    Reason::DropNoRoom,
    Reason::DropBadDescriptor,
];

/// The variant's name (`Written`), as the TypeScript `Reason` object keys it.
pub const fn reason_name(r: Reason) -> &'static str {
    match r {
        Reason::NoIoam => "NoIoam",
        Reason::Written => "Written",
        Reason::OverflowSet => "OverflowSet",
        Reason::OverflowPreset => "OverflowPreset",
        Reason::IgnoredDisabled => "IgnoredDisabled",
        Reason::IgnoredOptionType => "IgnoredOptionType",
        Reason::IgnoredNamespace => "IgnoredNamespace",
        Reason::Encapsulated => "Encapsulated",
        Reason::SampledOut => "SampledOut",
        Reason::SkippedHbhExists => "SkippedHbhExists",
        Reason::Decapsulated => "Decapsulated",
        Reason::Appended => "Appended",
        Reason::ExportRequested => "ExportRequested",
        Reason::DropMalformedIpv6 => "DropMalformedIpv6",
        Reason::DropMisaligned => "DropMisaligned",
        Reason::DropOptLenShort => "DropOptLenShort",
        Reason::DropTraceTruncated => "DropTraceTruncated",
        Reason::DropRemainingLen => "DropRemainingLen",
        Reason::DropNodeLen => "DropNodeLen",
        Reason::DropHbhMalformed => "DropHbhMalformed",
        Reason::DropUnknownOption => "DropUnknownOption",
        Reason::DropNoRoom => "DropNoRoom",
        Reason::DropBadDescriptor => "DropBadDescriptor",
    }
}

/// Every [`ErrorCode`]. (Adding a variant breaks `ErrorCode::as_str`'s match: add it here too.)
pub const ERROR_CODES: [ErrorCode; 12] = [
    ErrorCode::Truncated,
    ErrorCode::BadLength,
    ErrorCode::NotIpv6,
    ErrorCode::Misaligned,
    ErrorCode::BadNodeLen,
    ErrorCode::BadRemainingLen,
    ErrorCode::BadPadding,
    ErrorCode::BadValue,
    ErrorCode::NoRoom,
    ErrorCode::NotFound,
    ErrorCode::Config,
    ErrorCode::BadDescriptor,
];

/// Every [`Layer`]. (Adding a variant breaks `Layer::as_str`'s match: add it here too.)
pub const LAYERS: [Layer; 13] = [
    Layer::Ipv6,
    Layer::ExtHeader,
    Layer::Option,
    Layer::Ioam,
    Layer::Trace,
    Layer::NodeData,
    Layer::Oss,
    Layer::Pot,
    Layer::E2e,
    Layer::Dex,
    Layer::Clt,
    Layer::Config,
    Layer::Batch,
];

/// Error code of a native failure that is not a core error (a caught panic: a bug to report).
pub const ERR_INTERNAL: &str = "ERR_IOAM_INTERNAL";
/// Layer of such a failure.
pub const LAYER_NATIVE: &str = "native";

// ---------------------------------------------------------------------------------------------
// Flat trace records (`wire::flat`): a removed Hop-by-Hop header's IOAM trace options as u32 words.

/// Declares word-index constants in order and the array of their names (rendered as a TS object).
macro_rules! words {
    ($names:ident, $count:ident; $($c:ident = $s:literal),* $(,)?) => {
        words!(@at 0usize; $($c),*);
        /// Number of words.
        pub const $count: usize = [$($s),*].len();
        /// Field names, by word index.
        pub const $names: [&str; $count] = [$($s),*];
    };
    (@at $i:expr; $c:ident $(, $rest:ident)*) => {
        pub const $c: usize = $i;
        words!(@at $i + 1; $($rest),*);
    };
    (@at $i:expr;) => {};
}

/// Record header words: `[words, options]` (words of the whole record, header included).
pub mod trace_rec {
    words!(FIELDS, WORDS; WORDS_USED = "words", OPTIONS = "options");
}

/// Per trace option, after the record header (options back to back, each followed by its hops).
/// `error` is 0 or 1 + an index into [`TRACE_ERRORS`]; `error_offset` is from the first octet of
/// the Hop-by-Hop header; `flags` uses the `TRACE_FLAG_*` bits.
pub mod trace_opt {
    words!(FIELDS, WORDS;
        OPTION_TYPE = "option_type", NS = "ns", NODE_LEN = "node_len", FLAGS = "flags",
        REMAINING_LEN = "remaining_len", TRACE_TYPE = "trace_type", HOPS = "hops", ERROR = "error",
        ERROR_OFFSET = "error_offset", ERROR_NEEDED = "error_needed", ERROR_GOT = "error_got");
}

/// Per hop (`trace_opt::HOPS` of them after the option's words, newest first as on the wire):
/// every field a Trace-Type can have, 0 when its bit is clear. 64-bit fields as hi/lo words;
/// `undef0..9` are the words of bits 12-21 that are set, in bit order (`undef_count` of them);
/// the Opaque State Snapshot's data is `oss_data_len` octets at `oss_data_off` from the first
/// octet of the Hop-by-Hop header.
pub mod trace_hop {
    words!(FIELDS, WORDS;
        HOP_LIMIT = "hop_limit", NODE_ID = "node_id", INGRESS_IF = "ingress_if", EGRESS_IF = "egress_if",
        TS_SEC = "ts_sec", TS_FRAC = "ts_frac", TRANSIT_DELAY = "transit_delay", NS_DATA = "ns_data",
        QUEUE_DEPTH = "queue_depth", CHECKSUM_COMPLEMENT = "checksum_complement",
        HOP_LIMIT_WIDE = "hop_limit_wide", NODE_ID_WIDE_HI = "node_id_wide_hi", NODE_ID_WIDE_LO = "node_id_wide_lo",
        INGRESS_IF_WIDE = "ingress_if_wide", EGRESS_IF_WIDE = "egress_if_wide",
        NS_DATA_WIDE_HI = "ns_data_wide_hi", NS_DATA_WIDE_LO = "ns_data_wide_lo", BUFFER_OCCUPANCY = "buffer_occupancy",
        UNDEF_COUNT = "undef_count", UNDEF0 = "undef0", UNDEF1 = "undef1", UNDEF2 = "undef2", UNDEF3 = "undef3",
        UNDEF4 = "undef4", UNDEF5 = "undef5", UNDEF6 = "undef6", UNDEF7 = "undef7", UNDEF8 = "undef8", UNDEF9 = "undef9",
        OSS_LEN = "oss_len", OSS_SCHEMA = "oss_schema", OSS_DATA_OFF = "oss_data_off", OSS_DATA_LEN = "oss_data_len");
}

/// `trace_opt::FLAGS` bits.
pub const TRACE_FLAG_OVERFLOW: u32 = 1;
pub const TRACE_FLAG_LOOPBACK: u32 = 2;
pub const TRACE_FLAG_ACTIVE: u32 = 4;
pub const TRACE_FLAG_BIT3: u32 = 8;
/// Trace layout codes of the batch call's per-packet `layouts` (anything else: skip the packet).
pub const TRACE_LAYOUT_STANDARD: u8 = 0;
pub const TRACE_LAYOUT_LEGACY: u8 = 1;
/// Largest record a Hop-by-Hop header can give: ≤ 2048 octets hold ≤ 204 options (10 octets
/// each) or ≤ 511 hops (4 octets each).
pub const TRACE_REC_MAX_WORDS: usize = trace_rec::WORDS + 204 * trace_opt::WORDS + 511 * trace_hop::WORDS;

/// Every problem a trace option can report (code, layer, `what`), by `trace_opt::ERROR` − 1.
pub const TRACE_ERRORS: [(ErrorCode, Layer, &str); 9] = [
    (ErrorCode::BadRemainingLen, Layer::Trace, "RemainingLen × 4 beyond the option data"),
    (ErrorCode::BadNodeLen, Layer::Trace, "NodeLen differs from the value the Trace-Type implies"),
    (ErrorCode::BadLength, Layer::NodeData, "node data present but the Trace-Type gives empty elements"),
    (ErrorCode::Truncated, Layer::NodeData, "node data element"),
    (ErrorCode::Truncated, Layer::Oss, "Opaque State Snapshot header"),
    (ErrorCode::Truncated, Layer::Oss, "Opaque State Snapshot data"),
    (ErrorCode::Truncated, Layer::NodeData, "node data field"),
    (ErrorCode::Truncated, Layer::Oss, "OSS header"),
    (ErrorCode::Truncated, Layer::Oss, "OSS data"),
];

/// 1 + the index of `e` in [`TRACE_ERRORS`], or `TRACE_ERRORS.len() + 1` for an error not listed
/// (a test keeps every reachable one listed).
pub fn trace_error_code(e: &crate::Error) -> u32 {
    let i = TRACE_ERRORS.iter().position(|(c, l, w)| *c == e.code && *l == e.layer && *w == e.what);
    i.map_or(TRACE_ERRORS.len() as u32 + 1, |i| i as u32 + 1)
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn words_object(out: &mut String, doc: &str, name: &str, fields: &[&str]) {
    let body: Vec<String> = fields.iter().enumerate().map(|(i, f)| format!("{}: {i}", camel(f))).collect();
    let _ = writeln!(out, "/** {doc} */\nexport const {name} = {{ {} }} as const;", body.join(", "));
}

fn render_trace_flat(o: &mut String) {
    o.push_str("// Flat trace records (core `wire::flat`; layout docs in crates/ioam-core/src/abi.rs).\n");
    let consts: [(&str, &str, String); 10] = [
        ("Words of a flat trace record's header", "TRACE_REC_WORDS", trace_rec::WORDS.to_string()),
        ("Words per trace option (before its hops)", "TRACE_OPT_WORDS", trace_opt::WORDS.to_string()),
        ("Words per hop", "TRACE_HOP_WORDS", trace_hop::WORDS.to_string()),
        ("Largest record a Hop-by-Hop header can give (words)", "TRACE_REC_MAX_WORDS", TRACE_REC_MAX_WORDS.to_string()),
        ("Trace option flag: Overflow", "TRACE_FLAG_OVERFLOW", TRACE_FLAG_OVERFLOW.to_string()),
        ("Trace option flag: Loopback", "TRACE_FLAG_LOOPBACK", TRACE_FLAG_LOOPBACK.to_string()),
        ("Trace option flag: Active", "TRACE_FLAG_ACTIVE", TRACE_FLAG_ACTIVE.to_string()),
        ("Trace option flag: bit 3 (unassigned)", "TRACE_FLAG_BIT3", TRACE_FLAG_BIT3.to_string()),
        ("Batch layout code: standard (RFC 9197)", "TRACE_LAYOUT_STANDARD", TRACE_LAYOUT_STANDARD.to_string()),
        ("Batch layout code: legacy (CLT ID block)", "TRACE_LAYOUT_LEGACY", TRACE_LAYOUT_LEGACY.to_string()),
    ];
    for (doc, name, v) in consts {
        let _ = writeln!(o, "/** {doc}. */\nexport const {name} = {v};");
    }
    words_object(o, "Word index of each flat trace record header field", "TRACE_REC_WORD", &trace_rec::FIELDS);
    words_object(o, "Word index (from the option's first word) of each trace option field", "TRACE_OPT_WORD", &trace_opt::FIELDS);
    words_object(o, "Word index (from the hop's first word) of each hop field", "TRACE_HOP_WORD", &trace_hop::FIELDS);
    o.push_str("/** Trace option problems by `error` − 1: code, layer, what (core `abi::TRACE_ERRORS`). */\nexport const TRACE_ERRORS = [\n");
    for (c, l, w) in TRACE_ERRORS {
        let _ = writeln!(o, "  {{ code: '{}', layer: '{}', what: '{}' }},", c.as_str(), l.as_str(), w);
    }
    o.push_str("] as const;\n");
}

fn render_step(o: &mut String) {
    use dataplane::batch::*;
    let regions = |r: &[(&str, usize)]| r.iter().map(|(n, k)| format!("['{n}', {k}]")).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        o,
        "/** Node step tables (core `dataplane::batch::node_step`), one buffer for `cap` packets: u32 regions [name, words per packet] in order, each `cap` rows. */\nexport const STEP_U32_REGIONS = [{}] as const;",
        regions(&STEP_U32_REGIONS)
    );
    let _ = writeln!(o, "/** ...then byte regions [name, bytes per packet]. */\nexport const STEP_U8_REGIONS = [{}] as const;", regions(&STEP_U8_REGIONS));
    let _ = writeln!(
        o,
        "/** Node step plan flags per packet. */\nexport const STEP_F = {{ transit: {STEP_F_TRANSIT}, decap: {STEP_F_DECAP}, hopLimit: {STEP_F_HOPLIMIT}, encap: {STEP_F_ENCAP}, clt: {STEP_F_CLT} }} as const;"
    );
    let _ = writeln!(
        o,
        "/** Node step status per packet. */\nexport const STEP_S = {{ alive: {STEP_S_ALIVE}, dropInput: {STEP_S_DROP_INPUT}, dropHopLimit: {STEP_S_DROP_HOPLIMIT}, dropEncap: {STEP_S_DROP_ENCAP} }} as const;\n"
    );
}

/// `src/generated/abi.ts`: this module as TypeScript.
pub fn render_ts() -> String {
    let mut o = String::new();
    o.push_str("// GENERATED from crates/ioam-core/src/abi.rs by `cargo run -p ioam-core --example gen-abi` — do not edit.\n");
    o.push_str("// crates/ioam-core/tests/abi_ts.rs fails when this file differs from what the Rust renders.\n\n");
    let consts: [(&str, &str, String); 15] = [
        ("u32 words per packet in the batch `desc` table", "DESC_STRIDE", DESC_STRIDE.to_string()),
        ("u32 words per packet in the batch `meta` table (and in a per-packet call)", "META_STRIDE", META_STRIDE.to_string()),
        ("u32 words per packet in the batch `out` table", "OUT_STRIDE", OUT_STRIDE.to_string()),
        ("u32 words per packet in the decap `traceDesc` table: `[arena offset, length]`", "TRACE_DESC_STRIDE", TRACE_DESC_STRIDE.to_string()),
        ("Bytes per packet in the encap `clt` table: trace ID (16) + span ID (8)", "CLT_STRIDE", CLT_STRIDE.to_string()),
        ("u32 words of a per-packet call's `out`", "PKT_OUT_WORDS", PKT_OUT_WORDS.to_string()),
        ("Interface index \"none\" (ingress: locally generated; egress: local delivery)", "IF_NONE", format!("0x{IF_NONE:x}")),
        ("The all-ones \"unavailable\" value of the u32 meta fields", "UNAVAILABLE", format!("0x{UNAVAILABLE:x}")),
        ("Meta flag: no RX timestamp (timestamps are written as all-ones)", "META_F_NO_TSTAMP", META_F_NO_TSTAMP.to_string()),
        ("Transit `aux` flag: the node was asked to loop a copy back (RFC 9322 Loopback)", "OUT_F_LOOPBACK", format!("0x{OUT_F_LOOPBACK:x}")),
        ("Reasons from this value up go with verdict drop", "REASON_DROP_MIN", REASON_DROP_MIN.to_string()),
        ("Scratch block (u32 words): the meta words start here", "SCRATCH_META", SCRATCH_META.to_string()),
        ("Scratch block: the per-packet outcome words start here", "SCRATCH_OUT", SCRATCH_OUT.to_string()),
        ("Scratch block: the CLT length word (0 or CLT_STRIDE)", "SCRATCH_CLT_LEN", SCRATCH_CLT_LEN.to_string()),
        ("Scratch block: the CLT bytes start at this word", "SCRATCH_CLT", SCRATCH_CLT.to_string()),
    ];
    for (doc, name, v) in consts {
        let _ = writeln!(o, "/** {doc}. */\nexport const {name} = {v};");
    }
    let _ = writeln!(o, "/** Scratch block: u32 words in all. */\nexport const SCRATCH_WORDS = {SCRATCH_WORDS};\n");
    render_step(&mut o);
    words_object(&mut o, "Word index of each `meta` field", "META_WORD", &META_FIELDS);
    words_object(&mut o, "Word index of each batch `desc` field", "DESC_WORD", &DESC_FIELDS);
    words_object(&mut o, "Word index of each batch `out` field", "OUT_WORD", &OUT_FIELDS);
    words_object(&mut o, "Word index of each per-packet `out` field", "PKT_OUT_WORD", &PKT_OUT_FIELDS);
    o.push_str("\n/** Whether the packet goes on (core `Verdict`). */\nexport const Verdict = { Pass: 0, Drop: 1 } as const;\n\n");
    o.push_str("/** Why (core `dataplane::Reason`; docs there). Values below REASON_DROP_MIN go with Pass. */\nexport const Reason = {\n");
    for r in REASONS {
        let _ = writeln!(o, "  {}: {},", reason_name(r), r as u32);
    }
    o.push_str("} as const;\n\n/** The core's kebab-case names (`Reason::as_str`), by value. */\nexport const REASON_STRINGS = {\n");
    for r in REASONS {
        let _ = writeln!(o, "  {}: '{}',", r as u32, r.as_str());
    }
    o.push_str("} as const;\n\n/** Stable error codes (core `ErrorCode::as_str`). */\nexport const ERROR_CODES = [\n");
    for c in ERROR_CODES {
        let _ = writeln!(o, "  '{}',", c.as_str());
    }
    o.push_str("] as const;\n\n/** Layers an error can be in (core `Layer::as_str`). */\nexport const LAYERS = [\n");
    for l in LAYERS {
        let _ = writeln!(o, "  '{}',", l.as_str());
    }
    o.push_str("] as const;\n\n");
    render_trace_flat(&mut o);
    let _ = writeln!(o, "\n/** Code and layer of a native failure that is not a core error (a caught panic). */");
    let _ = writeln!(o, "export const ERR_INTERNAL = '{ERR_INTERNAL}';\nexport const LAYER_NATIVE = '{LAYER_NATIVE}';");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::{Meta, Verdict};

    #[test]
    fn tables_are_complete_and_ordered() {
        for w in REASONS.windows(2) {
            assert!((w[0] as u32) < (w[1] as u32));
        }
        for r in REASONS {
            assert_eq!(r.verdict() == Verdict::Drop, r as u32 >= REASON_DROP_MIN, "{}", r.as_str());
        }
        for (i, c) in ERROR_CODES.iter().enumerate() {
            assert!(!ERROR_CODES[..i].iter().any(|o| o.as_str() == c.as_str()));
        }
        for (i, l) in LAYERS.iter().enumerate() {
            assert!(!LAYERS[..i].iter().any(|o| o.as_str() == l.as_str()));
        }
    }

    #[test]
    fn meta_fields_follow_from_words() {
        let w: [u32; META_STRIDE] = core::array::from_fn(|i| i as u32 + 100);
        let m = Meta::from_words(&w);
        let by_name = |f: &str| match f {
            "ingress_if" => m.ingress_if,
            "egress_if" => m.egress_if,
            "ts_sec" => m.ts_sec,
            "ts_nsec" => m.ts_nsec,
            "queue_depth" => m.queue_depth,
            "transit_delay_ns" => m.transit_delay_ns,
            "buffer_occupancy" => m.buffer_occupancy,
            "flags" => m.flags,
            _ => u32::MAX,
        };
        for (i, f) in META_FIELDS.iter().enumerate() {
            assert_eq!(by_name(f), i as u32 + 100, "{f}");
        }
        assert_eq!(SCRATCH_WORDS * 4, 80);
    }
}
