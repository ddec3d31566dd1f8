/**
 * Outcome reasons of the dataplane (core `crates/ioam-core/src/dataplane/mod.rs` `Reason`,
 * `Verdict`): the numeric values are part of the batch ABI (`out[1]`) and come from
 * src/generated/abi.ts (rendered from the Rust). Values below `REASON_DROP_MIN` (32) go with
 * verdict pass, from 32 up with drop.
 * @module
 */
import * as abi from './generated/abi';

// Plain module constants (a CommonJS build reads imported bindings through getters).
/** Transit `aux` flag: the node was asked to loop a copy back (RFC 9322 Loopback). */
export const OUT_F_LOOPBACK = abi.OUT_F_LOOPBACK;
export const Reason = abi.Reason;
export const Verdict = abi.Verdict;
const REASON_DROP_MIN = abi.REASON_DROP_MIN;
/** Whether the packet goes on (`out[0]`). */
export type Verdict = (typeof Verdict)[keyof typeof Verdict];
export type ReasonName = keyof typeof Reason;
/** Why (`out[1]`). */
export type Reason = (typeof Reason)[ReasonName];

/** Kebab-case names (core `Reason::as_str`), by value. */
export const REASON_STRINGS: Readonly<Record<Reason, string>> = abi.REASON_STRINGS;

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
  return reason < REASON_DROP_MIN ? Verdict.Pass : Verdict.Drop;
}
