// GENERATED from crates/ioam-core/src/abi.rs by `cargo run -p ioam-core --example gen-abi` — do not edit.
// crates/ioam-core/tests/abi_ts.rs fails when this file differs from what the Rust renders.

/** u32 words per packet in the batch `desc` table. */
export const DESC_STRIDE = 4;
/** u32 words per packet in the batch `meta` table (and in a per-packet call). */
export const META_STRIDE = 8;
/** u32 words per packet in the batch `out` table. */
export const OUT_STRIDE = 4;
/** u32 words per packet in the decap `traceDesc` table: `[arena offset, length]`. */
export const TRACE_DESC_STRIDE = 2;
/** Bytes per packet in the encap `clt` table: trace ID (16) + span ID (8). */
export const CLT_STRIDE = 24;
/** u32 words of a per-packet call's `out`. */
export const PKT_OUT_WORDS = 5;
/** Interface index "none" (ingress: locally generated; egress: local delivery). */
export const IF_NONE = 0xffffffff;
/** The all-ones "unavailable" value of the u32 meta fields. */
export const UNAVAILABLE = 0xffffffff;
/** Meta flag: no RX timestamp (timestamps are written as all-ones). */
export const META_F_NO_TSTAMP = 1;
/** Transit `aux` flag: the node was asked to loop a copy back (RFC 9322 Loopback). */
export const OUT_F_LOOPBACK = 0x80000000;
/** Reasons from this value up go with verdict drop. */
export const REASON_DROP_MIN = 32;
/** Scratch block (u32 words): the meta words start here. */
export const SCRATCH_META = 0;
/** Scratch block: the per-packet outcome words start here. */
export const SCRATCH_OUT = 8;
/** Scratch block: the CLT length word (0 or CLT_STRIDE). */
export const SCRATCH_CLT_LEN = 13;
/** Scratch block: the CLT bytes start at this word. */
export const SCRATCH_CLT = 14;
/** Scratch block: u32 words in all. */
export const SCRATCH_WORDS = 20;

/** Node step tables (core `dataplane::batch::node_step`), one buffer for `cap` packets: u32 regions [name, words per packet] in order, each `cap` rows. */
export const STEP_U32_REGIONS = [['desc', 4], ['meta', 8], ['meta2', 8], ['out1', 4], ['out2', 4], ['flags', 1], ['traceDesc', 2]] as const;
/** ...then byte regions [name, bytes per packet]. */
export const STEP_U8_REGIONS = [['clt', 24], ['status', 1], ['traceArena', 2048]] as const;
/** Node step plan flags per packet. */
export const STEP_F = { transit: 1, decap: 2, hopLimit: 4, encap: 8, clt: 16 } as const;
/** Node step status per packet. */
export const STEP_S = { alive: 0, dropInput: 1, dropHopLimit: 2, dropEncap: 3 } as const;

/** Word index of each `meta` field */
export const META_WORD = { ingressIf: 0, egressIf: 1, tsSec: 2, tsNsec: 3, queueDepth: 4, transitDelayNs: 5, bufferOccupancy: 6, flags: 7 } as const;
/** Word index of each batch `desc` field */
export const DESC_WORD = { slotStart: 0, slotEnd: 1, off: 2, len: 3 } as const;
/** Word index of each batch `out` field */
export const OUT_WORD = { verdict: 0, reason: 1, offset: 2, aux: 3 } as const;
/** Word index of each per-packet `out` field */
export const PKT_OUT_WORD = { reason: 0, offset: 1, aux: 2, start: 3, len: 4 } as const;

/** Whether the packet goes on (core `Verdict`). */
export const Verdict = { Pass: 0, Drop: 1 } as const;

/** Why (core `dataplane::Reason`; docs there). Values below REASON_DROP_MIN go with Pass. */
export const Reason = {
  NoIoam: 0,
  Written: 1,
  OverflowSet: 2,
  OverflowPreset: 3,
  IgnoredDisabled: 4,
  IgnoredOptionType: 5,
  IgnoredNamespace: 6,
  Encapsulated: 7,
  SampledOut: 8,
  SkippedHbhExists: 9,
  Decapsulated: 10,
  Appended: 11,
  ExportRequested: 12,
  DropMalformedIpv6: 32,
  DropMisaligned: 33,
  DropOptLenShort: 34,
  DropTraceTruncated: 35,
  DropRemainingLen: 36,
  DropNodeLen: 37,
  DropHbhMalformed: 38,
  DropUnknownOption: 39,
  DropNoRoom: 40,
  DropBadDescriptor: 41,
} as const;

/** The core's kebab-case names (`Reason::as_str`), by value. */
export const REASON_STRINGS = {
  0: 'no-ioam',
  1: 'written',
  2: 'overflow-set',
  3: 'overflow-preset',
  4: 'ignored-disabled',
  5: 'ignored-option-type',
  6: 'ignored-namespace',
  7: 'encapsulated',
  8: 'sampled-out',
  9: 'skipped-hbh-exists',
  10: 'decapsulated',
  11: 'appended',
  12: 'export-requested',
  32: 'drop-malformed-ipv6',
  33: 'drop-misaligned',
  34: 'drop-optlen-short',
  35: 'drop-trace-truncated',
  36: 'drop-remaininglen',
  37: 'drop-nodelen',
  38: 'drop-hbh-malformed',
  39: 'drop-unknown-option',
  40: 'drop-no-room',
  41: 'drop-bad-descriptor',
} as const;

/** Stable error codes (core `ErrorCode::as_str`). */
export const ERROR_CODES = [
  'ERR_IOAM_TRUNCATED',
  'ERR_IOAM_BAD_LENGTH',
  'ERR_IOAM_NOT_IPV6',
  'ERR_IOAM_MISALIGNED',
  'ERR_IOAM_BAD_NODELEN',
  'ERR_IOAM_BAD_REMAININGLEN',
  'ERR_IOAM_BAD_PADDING',
  'ERR_IOAM_BAD_VALUE',
  'ERR_IOAM_NO_ROOM',
  'ERR_IOAM_NOT_FOUND',
  'ERR_IOAM_CONFIG',
  'ERR_IOAM_BAD_DESCRIPTOR',
] as const;

/** Layers an error can be in (core `Layer::as_str`). */
export const LAYERS = [
  'ipv6',
  'ext-header',
  'option',
  'ioam',
  'trace',
  'node-data',
  'oss',
  'pot',
  'e2e',
  'dex',
  'clt',
  'config',
  'batch',
] as const;

// Flat trace records (core `wire::flat`; layout docs in crates/ioam-core/src/abi.rs).
/** Words of a flat trace record's header. */
export const TRACE_REC_WORDS = 2;
/** Words per trace option (before its hops). */
export const TRACE_OPT_WORDS = 11;
/** Words per hop. */
export const TRACE_HOP_WORDS = 33;
/** Largest record a Hop-by-Hop header can give (words). */
export const TRACE_REC_MAX_WORDS = 19109;
/** Trace option flag: Overflow. */
export const TRACE_FLAG_OVERFLOW = 1;
/** Trace option flag: Loopback. */
export const TRACE_FLAG_LOOPBACK = 2;
/** Trace option flag: Active. */
export const TRACE_FLAG_ACTIVE = 4;
/** Trace option flag: bit 3 (unassigned). */
export const TRACE_FLAG_BIT3 = 8;
/** Batch layout code: standard (RFC 9197). */
export const TRACE_LAYOUT_STANDARD = 0;
/** Batch layout code: legacy (CLT ID block). */
export const TRACE_LAYOUT_LEGACY = 1;
/** Word index of each flat trace record header field */
export const TRACE_REC_WORD = { words: 0, options: 1 } as const;
/** Word index (from the option's first word) of each trace option field */
export const TRACE_OPT_WORD = { optionType: 0, ns: 1, nodeLen: 2, flags: 3, remainingLen: 4, traceType: 5, hops: 6, error: 7, errorOffset: 8, errorNeeded: 9, errorGot: 10 } as const;
/** Word index (from the hop's first word) of each hop field */
export const TRACE_HOP_WORD = { hopLimit: 0, nodeId: 1, ingressIf: 2, egressIf: 3, tsSec: 4, tsFrac: 5, transitDelay: 6, nsData: 7, queueDepth: 8, checksumComplement: 9, hopLimitWide: 10, nodeIdWideHi: 11, nodeIdWideLo: 12, ingressIfWide: 13, egressIfWide: 14, nsDataWideHi: 15, nsDataWideLo: 16, bufferOccupancy: 17, undefCount: 18, undef0: 19, undef1: 20, undef2: 21, undef3: 22, undef4: 23, undef5: 24, undef6: 25, undef7: 26, undef8: 27, undef9: 28, ossLen: 29, ossSchema: 30, ossDataOff: 31, ossDataLen: 32 } as const;
/** Trace option problems by `error` − 1: code, layer, what (core `abi::TRACE_ERRORS`). */
export const TRACE_ERRORS = [
  { code: 'ERR_IOAM_BAD_REMAININGLEN', layer: 'trace', what: 'RemainingLen × 4 beyond the option data' },
  { code: 'ERR_IOAM_BAD_NODELEN', layer: 'trace', what: 'NodeLen differs from the value the Trace-Type implies' },
  { code: 'ERR_IOAM_BAD_LENGTH', layer: 'node-data', what: 'node data present but the Trace-Type gives empty elements' },
  { code: 'ERR_IOAM_TRUNCATED', layer: 'node-data', what: 'node data element' },
  { code: 'ERR_IOAM_TRUNCATED', layer: 'oss', what: 'Opaque State Snapshot header' },
  { code: 'ERR_IOAM_TRUNCATED', layer: 'oss', what: 'Opaque State Snapshot data' },
  { code: 'ERR_IOAM_TRUNCATED', layer: 'node-data', what: 'node data field' },
  { code: 'ERR_IOAM_TRUNCATED', layer: 'oss', what: 'OSS header' },
  { code: 'ERR_IOAM_TRUNCATED', layer: 'oss', what: 'OSS data' },
] as const;

/** Code and layer of a native failure that is not a core error (a caught panic). */
export const ERR_INTERNAL = 'ERR_IOAM_INTERNAL';
export const LAYER_NATIVE = 'native';
