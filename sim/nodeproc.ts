/**
 * One node's dataplane step for one flush (all packets at that node at one instant), as a pure
 * function of the node's dataplane state and the step tables: one native call (`Node.step`,
 * src/node.ts; the core's `dataplane::batch::node_step`). Runs inline (workers = 0) or inside a
 * pool worker (sim/worker.ts); both run exactly this code, so results never depend on where.
 *
 * Order per packet, as Linux: Hop-by-Hop processing on input (`transit`, or `decap` at the
 * domain's decapsulating node, which fills and then removes) → forwarding hop-limit check and
 * decrement (`ip6_forward`: HL ≤ 1 → drop, else HL − 1; after the IOAM fill) → output
 * encapsulation (`ioam6_output`, k-of-n counted in packet order).
 *
 * Zero copy: the packets stay in the packet slab (sim/packets.ts); the step's `desc` rows point
 * into it (batch ABI, src/batch.ts). All tables but the slab live in one buffer
 * (src/step.ts `stepTables`, the core's layout), a SharedArrayBuffer when a worker runs the step.
 * @module
 */
import { STEP_F, STEP_S, stepTables, type StepTables } from '../src/step';
import type { DataplaneNode } from './dataplane';

export { stepTables, type StepTables };

/** Per-packet plan flags (the core's `STEP_F_*`). */
export const F_TRANSIT: number = STEP_F.transit;
export const F_DECAP: number = STEP_F.decap;
export const F_HOPLIMIT: number = STEP_F.hopLimit;
export const F_ENCAP: number = STEP_F.encap;
export const F_CLT: number = STEP_F.clt;

/** Per-packet status after the step (the core's `STEP_S_*`). */
export const S_ALIVE: number = STEP_S.alive;
export const S_DROP_INPUT: number = STEP_S.dropInput;
export const S_DROP_HOPLIMIT: number = STEP_S.dropHopLimit;
export const S_DROP_ENCAP: number = STEP_S.dropEncap;

/** The node step (see module doc): `n` packets. Mutates the desc rows, the slab and the outputs. */
export function processNode(dp: DataplaneNode, buf: Uint8Array, t: StepTables, n: number): void {
  dp.step(buf, t, n);
}
