/**
 * Outcome reasons of the dataplane, mirroring core `crates/ioam-core/src/dataplane/mod.rs`
 * (`Reason`, `Verdict`): the numeric values are part of the batch ABI (`out[1]`).
 * Values below 32 go with verdict pass, from 32 up with drop.
 * @module
 */

/** Whether the packet goes on (`out[0]`). */
export const Verdict = {
  /** Forward / deliver (possibly modified). */
  Pass: 0,
  /** Drop (Linux: `kfree_skb`, Ip6InHdrErrors for header errors). */
  Drop: 1,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Why (`out[1]`). */
export const Reason = {
  /** No IOAM option in the Hop-by-Hop header (or no HbH at all): untouched. */
  NoIoam: 0,
  /** This node's data was written into a Pre-allocated trace. */
  Written: 1,
  /** No room: the Overflow bit was set, nothing else written. */
  OverflowSet: 2,
  /** Overflow was already set: untouched. */
  OverflowPreset: 3,
  /** IOAM disabled on the ingress interface: untouched. */
  IgnoredDisabled: 4,
  /** IOAM Option-Type this node does not process (linux: anything but 0): untouched. */
  IgnoredOptionType: 5,
  /** Namespace not configured on this node: untouched. */
  IgnoredNamespace: 6,
  /** (encap) an IOAM option was inserted (inline or in a new outer header). */
  Encapsulated: 7,
  /** (encap) not selected by k-of-n sampling: untouched. */
  SampledOut: 8,
  /** (encap, inline) the packet already has a Hop-by-Hop header; Linux sends it without IOAM. */
  SkippedHbhExists: 9,
  /** (decap) the IOAM option / HbH / outer header was removed. */
  Decapsulated: 10,
  /** (rfc) this node's data was appended to an Incremental trace (the packet grew). */
  Appended: 11,
  /** (rfc) Direct Export option: the node should export its data out of band (aux = trace type). */
  ExportRequested: 12,
  /** Drop: not an IPv6 packet, or the IPv6 header / payload length is inconsistent. */
  DropMalformedIpv6: 32,
  /** Drop: IOAM option not 4n-aligned from the IPv6 header start (checked first, always). */
  DropMisaligned: 33,
  /** Drop: IOAM Opt Data Len < 2. */
  DropOptLenShort: 34,
  /** Drop: trace option shorter than its 8-byte header (Opt Data Len < 10). */
  DropTraceTruncated: 35,
  /** Drop: RemainingLen×4 beyond the option data. */
  DropRemainingLen: 36,
  /** Drop: NodeLen ≠ the value the Trace-Type implies. */
  DropNodeLen: 37,
  /** Drop: generic Hop-by-Hop TLV error (option beyond header, pad run > 7, non-zero PadN, too many options, ...). */
  DropHbhMalformed: 38,
  /** Drop: unknown option whose action bits say discard (01, 10, 11). */
  DropUnknownOption: 39,
  /** Drop: the operation needs more headroom/tailroom than the slot has, or an option > 255 B. */
  DropNoRoom: 40,
  /** Drop: the batch descriptor for this packet is inconsistent (slot/offset/length). */
  DropBadDescriptor: 41,
} as const;
export type ReasonName = keyof typeof Reason;
export type Reason = (typeof Reason)[ReasonName];

/** Kebab-case names (core `Reason::as_str`), by value. */
export const REASON_STRINGS: Readonly<Record<Reason, string>> = {
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
};

const BY_VALUE = new Map<number, ReasonName>(Object.entries(Reason).map(([k, v]) => [v, k as ReasonName]));

/** `Reason` name (e.g. `'Written'`) of a numeric value, or `undefined` for an unknown value. */
export function reasonName(value: number): ReasonName | undefined {
  return BY_VALUE.get(value);
}

/** The core's kebab-case string (e.g. `'written'`), or `reason-<n>` for an unknown value. */
export function reasonString(value: number): string {
  return (REASON_STRINGS as Record<number, string>)[value] ?? `reason-${value}`;
}

/** The verdict that goes with a reason (below 32 pass, else drop). */
export function verdictOf(reason: number): Verdict {
  return reason < 32 ? Verdict.Pass : Verdict.Drop;
}

/** Transit `aux` flag: the node was asked to loop a copy back (RFC 9322 Loopback). */
export const OUT_F_LOOPBACK = 0x8000_0000;
