/**
 * Robustness of the dataplane through the public TS API (Node + PacketBatch → napi → core) with
 * the arbitraries of `src/arbitraries.ts`:
 * - mutated packets through transit / encap / decap (linux and rfc profiles): no exception,
 *   verdict consistent with the reason, the packet stays inside its slot, deterministic;
 * - well-formed packets (every IOAM Option-Type, HbH and DOH) are never dropped by a transit node
 *   (Linux drops only malformed IOAM options, RFC 9486 §3 / exthdrs.c `ipv6_hop_ioam`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Node, PacketBatch } from '../src/index';
import type { NodeConfigInput } from '../src/index';
import { mutatedPacketArb, noisyIpv6Arb, packetArb } from '../src/arbitraries';

const SEED = Number(process.env.IOAMSIM_FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.IOAMSIM_FUZZ_RUNS ?? 400);
const BATCH = 32;

function nodeConfig(profile: 'linux' | 'rfc', encap: boolean): NodeConfigInput {
  return {
    name: `r-${profile}`,
    profile,
    ioam6_id: 2,
    ioam6_id_wide: 0x22222222222222n,
    interfaces: [
      { name: 'in', ioam6_enabled: true, ioam6_id: 201, ioam6_id_wide: 201201 },
      { name: 'out', ioam6_id: 202, ioam6_id_wide: 202202 },
    ],
    namespaces: [
      { id: 123, data: 0xdeadbeef, schema: 777 },
      { id: 0 },
      { id: 0x8000, wide: 0xcafec0caf00dc0den },
    ],
    schemas: [{ id: 777, data: 'something that will be 4n-aligned' }],
    ...(encap ? { encap: { mode: 'auto' as const, tunsrc: 'fd00:aa:1::1', tundst: 'fd00:aa:2::2', trace: { type: 0xfff002, ns: 123, size: 176 } } } : {}),
  } as NodeConfigInput;
}

const NODES = {
  linux: Node.fromConfig(nodeConfig('linux', true)),
  rfc: Node.fromConfig(nodeConfig('rfc', true)),
};

type Op = 'transit' | 'encap' | 'decap';

/** Runs `op` on the packets; returns outcomes and resulting bytes. */
function run(node: Node, op: Op, packets: Uint8Array[]) {
  const batch = new PacketBatch({ capacity: packets.length, slotSize: 2048, headroom: 384 });
  packets.forEach((p, i) => batch.push(p, { ingressIf: i % 3 === 0 ? 0xffffffff : 0, egressIf: i % 2, tsSec: 1_764_000_000 + i, tsNsec: i * 1000, queueDepth: i }));
  node[op](batch);
  return packets.map((_, i) => ({ out: batch.outcome(i), bytes: Buffer.from(batch.packet(i)).toString('hex') }));
}

function checkOps(packets: Uint8Array[]): void {
  for (const node of Object.values(NODES)) {
    for (const op of ['transit', 'encap', 'decap'] as const) {
      const a = run(node, op, packets);
      const b = run(node, op, packets);
      assert.deepEqual(a, b, `${op} is deterministic`);
      for (const { out, bytes } of a) {
        assert.equal(out.verdict, out.reason >= 32 ? 1 : 0, `${op}: verdict of reason ${out.reason}`);
        assert.ok(out.reasonName, `${op}: known reason ${out.reason}`);
        assert.ok(bytes.length / 2 <= 2048, `${op}: packet inside its slot`);
      }
    }
  }
}

test('mutated packets through transit/encap/decap (linux, rfc): no exception, consistent outcomes', () => {
  fc.assert(fc.property(fc.array(mutatedPacketArb().map((m) => m.bytes), { minLength: 1, maxLength: BATCH }), checkOps), { seed: SEED, numRuns: Math.ceil(RUNS / 8) });
});

test('noise through transit/encap/decap: no exception, consistent outcomes', () => {
  fc.assert(fc.property(fc.array(noisyIpv6Arb(400), { minLength: 1, maxLength: BATCH }), checkOps), { seed: SEED + 1, numRuns: Math.ceil(RUNS / 8) });
});

test('well-formed packets are never dropped by a transit node (linux and rfc)', () => {
  fc.assert(
    fc.property(fc.array(packetArb(), { minLength: 1, maxLength: BATCH }), (gens) => {
      for (const [name, node] of Object.entries(NODES)) {
        const r = run(node, 'transit', gens.map((g) => g.bytes));
        r.forEach(({ out }, i) => assert.equal(out.verdict, 0, `${name}: well-formed packet ${i} dropped (${out.reasonName} at ${out.offset}): ${Buffer.from(gens[i]!.bytes).toString('hex')}`));
      }
    }),
    { seed: SEED + 2, numRuns: Math.ceil(RUNS / 8) },
  );
});
