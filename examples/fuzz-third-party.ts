/**
 * Fuzzing a third-party IOAM parser with `ioamsim/arbitraries`.
 *
 * `naiveTraceParser` below is a deliberately naive parser of the kind often written in a hurry:
 * it finds the first IOAM option in the Hop-by-Hop header and reads its Pre-allocated trace,
 * trusting NodeLen and the Opt Data Len. Two properties are checked:
 *  1. on well-formed packets it returns what was generated (the arbitraries carry the truth);
 *  2. on mutated packets it either returns or throws its own `ParseError` — never a TypeError /
 *     RangeError / garbage.
 * fast-check finds a counterexample and shrinks it to a minimal packet, printed with the seed
 * and path that replay it.
 *
 * Run: node --import tsx examples/fuzz-third-party.ts
 */
import fc from 'fast-check';
import { mutatedPacketArb, packetArb } from '../src/arbitraries';
import type { TraceSpec } from '../src/arbitraries';

class ParseError extends Error {}

interface NaiveTrace {
  namespaceId: number;
  nodeLen: number;
  remainingLen: number;
  traceType: number;
  /** First word of every node element (Hop_Lim + node_id when bit 0 is set). */
  firstWords: number[];
}

/** The parser under test (third-party code, not ioamsim's). */
function naiveTraceParser(pkt: Uint8Array): NaiveTrace | undefined {
  if (pkt.length < 40 || pkt[0]! >> 4 !== 6) throw new ParseError('not IPv6');
  if (pkt[6] !== 0) return undefined; // no Hop-by-Hop
  const hbhLen = (pkt[41]! + 1) * 8;
  let p = 42;
  while (p < 40 + hbhLen) {
    const type = pkt[p]!;
    if (type === 0) {
      p++;
      continue;
    }
    const len = pkt[p + 1]!;
    if (type === 0x31 && pkt[p + 3] === 0) {
      const t = p + 4;
      const nodeLen = pkt[t + 2]! >> 3;
      const remainingLen = pkt[t + 3]! & 0x7f;
      const traceType = (pkt[t + 4]! << 16) | (pkt[t + 5]! << 8) | pkt[t + 6]!;
      const view = new DataView(pkt.buffer, pkt.byteOffset, pkt.byteLength);
      const firstWords: number[] = [];
      if (nodeLen === 0) throw new ParseError('NodeLen 0'); // (at least it does not loop forever)
      // BUG (on purpose): trusts NodeLen and Opt Data Len, no bounds checks, ignores the OSS.
      for (let q = t + 8 + remainingLen * 4; q < p + 2 + len; q += nodeLen * 4) firstWords.push(view.getUint32(q));
      return { namespaceId: (pkt[t]! << 8) | pkt[t + 1]!, nodeLen, remainingLen, traceType, firstWords };
    }
    p += 2 + len;
  }
  return undefined;
}

/** Property 1: well-formed packets with one Pre-allocated trace in the HbH. */
const wellFormed = fc.property(
  packetArb({ headers: ['hop-by-hop'], types: ['preallocated-trace'], maxIoamPerHeader: 1, otherOptions: false }),
  (g) => {
    const got = naiveTraceParser(g.bytes);
    const want = g.layout.ioam[0]?.spec as TraceSpec | undefined;
    if (!want) return got === undefined;
    return got !== undefined && got.namespaceId === want.namespaceId && got.nodeLen === want.nodeLen && got.firstWords.length === want.nodes.length;
  },
);

/** Property 2: mutated packets only ever produce a ParseError. */
const robust = fc.property(mutatedPacketArb({ headers: ['hop-by-hop'], types: ['preallocated-trace'], maxIoamPerHeader: 1 }), (m) => {
  try {
    naiveTraceParser(m.bytes);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
});

for (const [name, prop] of [
  ['well-formed packets decode to the generated trace', wellFormed],
  ['mutated packets only throw ParseError', robust],
] as const) {
  const r = fc.check(prop as fc.IProperty<unknown[]>, { seed: 42, numRuns: 2000 });
  if (!r.failed) {
    console.log(`✔ ${name} (${r.numRuns} runs)`);
    continue;
  }
  const [ce] = r.counterexample as [{ bytes: Uint8Array; mutation?: unknown }];
  console.log(`✘ ${name}: failed after ${r.numRuns} runs, shrunk ${r.numShrinks} times`);
  console.log(`  replay: fc.check(prop, { seed: ${r.seed}, path: "${r.counterexamplePath}" })`);
  console.log(`  packet: ${Buffer.from(ce.bytes).toString('hex')}`);
  if (ce.mutation) console.log(`  mutation: ${JSON.stringify(ce.mutation)}`);
  console.log(`  error: ${r.errorInstance instanceof Error ? r.errorInstance.message : 'property returned false'}`);
}
