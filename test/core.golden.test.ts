// Golden tests against the real Linux 6.18 captures (test/fixtures/linux-6.18, MANIFEST.md):
// 1. decode() of every captured packet gives the fields the independent decode in
//    decoded-summary.txt shows (namespace, NodeLen, flags, RemainingLen, Trace-Type, every node field),
//    and encode() gives the captured bytes back;
// 2. the batch API reproduces what r1, r2 and h2 did, byte for byte: r1 on the injected packet →
//    the packet captured at r2's ingress, r2 on that → the packet at h2's wire, h2 (local delivery)
//    on that → the Hop-by-Hop header h2's socket saw; drops where the kernel dropped. The
//    timestamps and queue depths the kernel wrote are fed in as meta (they come from its clock and
//    qdisc); the IPv6 Hop Limit decrement is the forwarder's, applied here.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IF_NONE, Node, PacketBatch, ReasonName, UNAVAILABLE, decode, encode } from '../src/index';
import {
  CAPTURES,
  SummaryCase,
  SummaryNode,
  captureCases,
  flowPacket,
  h2Config,
  hbhOf,
  ipv6Packets,
  r1Config,
  r2Config,
  readSocketView,
  readSummary,
  toHex,
} from './core.helpers';
import { checkDecodedAgainstSummary } from './core.golden.decode';

if (!existsSync(join(CAPTURES, 'MANIFEST.md'))) throw new Error(`captures not found at ${CAPTURES} (set IOAMSIM_CAPTURES)`);

const summary = readSummary();
const socketView = readSocketView();
const cases = captureCases();

/** What r1 (then r2, then h2) must report, from MANIFEST.md's "result on the real kernel". */
const EXPECTED: Record<string, [ReasonName, ReasonName?, ReasonName?]> = {
  a_full_trace: ['Written', 'Written', 'Written'],
  a2_basic_bits0_1: ['Written', 'Written', 'Written'],
  b_overflow_midpath: ['Written', 'OverflowSet', 'OverflowPreset'],
  b3_oss_no_room: ['OverflowSet', 'OverflowPreset', 'OverflowPreset'],
  c_unknown_namespace: ['IgnoredNamespace', 'IgnoredNamespace', 'IgnoredNamespace'],
  c2_ns_known_only_r2: ['IgnoredNamespace', 'Written', 'IgnoredNamespace'],
  d_ioam_disabled_r1: ['IgnoredDisabled', 'Written', 'Written'],
  e_misaligned_no_pad: ['DropMisaligned'],
  e2_misaligned_r1_disabled: ['DropMisaligned'],
  e4_misaligned_unknown_ns: ['DropMisaligned'],
  e5_misaligned_code_0x11: ['NoIoam', 'NoIoam', 'NoIoam'],
  f_undef_bit12: ['Written', 'Written', 'Written'],
  f3_undef_bit12_nodelen1: ['DropNodeLen'],
  f4_bit23_reserved: ['Written', 'Written', 'Written'],
  f6_bad_nodelen_unknown_ns: ['DropNodeLen'],
  g_overflow_preset: ['OverflowPreset', 'OverflowPreset', 'OverflowPreset'],
  g2_loopback_active_flags: ['Written', 'Written', 'Written'],
  h_incremental_type1: ['IgnoredOptionType', 'IgnoredOptionType', 'IgnoredOptionType'],
  i_dex_type4: ['IgnoredOptionType', 'IgnoredOptionType', 'IgnoredOptionType'],
  i2_pot_type2: ['IgnoredOptionType', 'IgnoredOptionType', 'IgnoredOptionType'],
  i3_e2e_type3: ['IgnoredOptionType', 'IgnoredOptionType', 'IgnoredOptionType'],
  i4_code_0x11_in_hbh: ['NoIoam', 'NoIoam', 'NoIoam'],
  j_in_dest_opts: ['NoIoam', 'NoIoam', 'NoIoam'],
  k_remlen_exceeds_optlen: ['DropRemainingLen'],
  k2_optlen_truncated_trace_hdr: ['DropTraceTruncated'],
  k4_remlen_gt_61: ['DropRemainingLen'],
  k5_optlen_lt_2: ['DropOptLenShort'],
  k6_malformed_r1_disabled: ['IgnoredDisabled', 'DropRemainingLen'],
  l2_hoplimit_2: ['Written', 'Written'],
  l3_hoplimit_255: ['Written', 'Written', 'Written'],
  o_no_ioam_baseline: ['NoIoam', 'NoIoam', 'NoIoam'],
  q_queue_depth_tbf: ['Written', 'Written', 'Written'],
};

/** Meta for a hop from the node data that hop wrote (node[0] of the next view), if any. */
function metaFrom(n: SummaryNode | undefined, egressIf: number): { tsSec: number; tsNsec: number; queueDepth: number } {
  const num = (k: string) => (n?.has(k) ? Number(n.get(k)) : undefined);
  return {
    tsSec: num('ts_sec') ?? 0,
    tsNsec: (num('ts_frac') ?? 0) * 1000,
    queueDepth: egressIf === IF_NONE ? UNAVAILABLE : (num('queue_depth') ?? 0),
  };
}

/** Runs one node over one packet through the batch API; returns [outcome, packet copy]. */
function hop(node: Node, pkt: Uint8Array, egressIf: number, next: SummaryNode | undefined) {
  const batch = new PacketBatch({ capacity: 1 });
  batch.push(pkt, { ingressIf: 0, egressIf, ...metaFrom(next, egressIf) });
  assert.equal(node.transit(batch), 1);
  return { outcome: batch.outcome(0), packet: new Uint8Array(batch.packet(0)) };
}

/** The forwarder's Hop Limit decrement (after the IOAM fill, Linux ip6_forward). */
function forwarded(p: Uint8Array): Uint8Array {
  const q = new Uint8Array(p);
  q[7] = q[7]! - 1;
  return q;
}

describe('golden: transit reproduces r1, r2, h2 of the kernel captures', () => {
  it('every case of MANIFEST.md has an expectation', () => {
    assert.deepEqual(cases.filter((c) => !(c in EXPECTED)), []);
    assert.equal(cases.length, 32, 'decoded-summary.txt holds the 32 recorded cases');
  });

  for (const name of cases) {
    it(name, () => {
      const s = summary.get(name)!;
      const exp = EXPECTED[name]!;
      const r2in = flowPacket(ipv6Packets(join(CAPTURES, `${name}.r2in.pcap`)), name);
      const h2wire = flowPacket(ipv6Packets(join(CAPTURES, `${name}.pcap`)), name);

      // r1: injected → r2 ingress
      const r1 = hop(new Node(r1Config(name)), s.injected, 1, s.r2in.nodes[0]);
      assert.equal(r1.outcome.reasonName, exp[0], `r1 reason (offset ${r1.outcome.offset})`);
      if (!r2in) {
        assert.equal(r1.outcome.verdict, 1, 'the kernel dropped at r1');
        return;
      }
      assert.equal(r1.outcome.verdict, 0);
      assert.equal(toHex(forwarded(r1.packet)), toHex(r2in), 'r1 output = captured at r2 ingress');

      // r2: r2 ingress → h2 wire
      const r2 = hop(new Node(r2Config()), r2in, 1, s.h2wire.nodes[0]);
      assert.equal(r2.outcome.reasonName, exp[1], 'r2 reason');
      if (!h2wire) {
        if (name === 'l2_hoplimit_2') {
          // r2 wrote, then its forwarder dropped (hop limit) and quoted the packet in Time Exceeded.
          assert.equal(r2.outcome.verdict, 0);
          const icmp = ipv6Packets(join(CAPTURES, `${name}.h1.pcap`)).find((p) => p[6] === 58 && p[40] === 3);
          assert.ok(icmp, 'Time Exceeded in h1 capture');
          const quote = icmp.subarray(48);
          assert.equal(toHex(quote), toHex(r2.packet.subarray(0, quote.length)), 'ICMP quote = r2 output (HL 1, r2 node data written)');
          return;
        }
        assert.equal(r2.outcome.verdict, 1, 'the kernel dropped at r2');
        return;
      }
      assert.equal(toHex(forwarded(r2.packet)), toHex(h2wire), 'r2 output = captured at h2 wire');

      // h2: h2 wire → local delivery; its socket saw the HbH after its own fill.
      const sock = socketView.get(name);
      const h2 = hop(new Node(h2Config()), h2wire, IF_NONE, s.h2sock.nodes[0]);
      assert.equal(h2.outcome.reasonName, exp[2], 'h2 reason');
      assert.equal(h2.outcome.verdict, 0);
      const ourHbh = hbhOf(h2.packet);
      if (sock && sock.hbh.length > 0) {
        assert.ok(ourHbh, 'h2 output has a Hop-by-Hop header');
        assert.equal(toHex(ourHbh), toHex(sock.hbh), 'h2 HbH = what its socket saw');
      } else {
        assert.equal(toHex(h2.packet), toHex(h2wire), 'no HbH: untouched');
      }
      // Only the HbH may change at h2: the rest is the wire packet.
      const start = 40 + (ourHbh?.length ?? 0);
      assert.equal(toHex(h2.packet.subarray(start)), toHex(h2wire.subarray(start)));
      assert.equal(toHex(h2.packet.subarray(0, 40)), toHex(h2wire.subarray(0, 40)), 'IPv6 header untouched (no decrement at the destination)');
    });
  }
});

describe('golden: decode() gives every field the kernel wrote', () => {
  for (const name of cases) {
    it(name, () => {
      const s: SummaryCase = summary.get(name)!;
      const views: [string, Uint8Array | undefined, SummaryCase['r2in']][] = [
        ['r2in', flowPacket(ipv6Packets(join(CAPTURES, `${name}.r2in.pcap`)), name), s.r2in],
        ['h2wire', flowPacket(ipv6Packets(join(CAPTURES, `${name}.pcap`)), name), s.h2wire],
      ];
      for (const [where, pkt, view] of views) {
        if (!pkt) {
          assert.equal(view.lines.length, 0, `${where}: summary shows a packet the capture lacks`);
          continue;
        }
        const d = decode(pkt);
        const n = checkDecodedAgainstSummary(d, view, `${name} ${where}`);
        assert.ok(n >= 3, `${name} ${where}: compared ${n} fields`);
        // and the captured bytes come back from encode() exactly
        assert.equal(toHex(encode(d)), toHex(pkt.subarray(0, 40 + d.ipv6.payloadLen)), `${name} ${where}: encode(decode(bytes))`);
      }
    });
  }
});

