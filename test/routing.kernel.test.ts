/**
 * The kernel side of ECMP: a Linux router in a network namespace with a two-way multipath route
 * and `net.ipv6.fib_multipath_hash_policy` set as in the simulator. Linux's hash values cannot be
 * reproduced (siphash with a random boot-time key, docs/ROUTING.md §7), so this checks the weaker
 * properties and the hash *inputs* the simulator models: each flow stays on one path; many flows
 * use both; policy 0 ignores ports and follows the flow label; policy 1 follows the ports and
 * ignores the flow label, also past a Hop-by-Hop header. Needs root; fails without it unless
 * IOAMSIM_NO_KERNEL=1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ipBatch, macStr, uniquePrefix } from '../app/kernel/chain';
import { netio, type PacketSocket } from '../app/kernel/native';
import { buildPacket } from '../sim/packet';
import { parseIpv6 } from '../sim/topology';

const optOut = process.env.IOAMSIM_NO_KERNEL === '1';
const P = uniquePrefix();
const NS = { h: `${P}h`, r: `${P}r`, b1: `${P}b1`, b2: `${P}b2` };
const mac = (k: number, side: number) => Uint8Array.of(0x02, 0, 0, 0, k, side);

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

const DST = Buffer.from(parseIpv6('fd00:c::1')!);
let sendSock: PacketSocket;
let recv: { b1: PacketSocket; b2: PacketSocket };

/** h — r — {b1, b2}: r routes fd00:c::/64 over both b1 and b2 (multipath). */
function setup(): void {
  for (const n of Object.values(NS)) ip(['netns', 'add', n]);
  const pairs: [string, string, string, string, number][] = [
    ['h-r', NS.h, 'r-h', NS.r, 1],
    ['b1-r', NS.b1, 'r-b1', NS.r, 2],
    ['b2-r', NS.b2, 'r-b2', NS.r, 3],
  ];
  for (const [a, na, b, nb, k] of pairs) {
    ip(['link', 'add', a, 'netns', na, 'address', macStr(mac(k, 1)), 'type', 'veth', 'peer', 'name', b, 'netns', nb, 'address', macStr(mac(k, 2))]);
    ipBatch(na, [`link set ${a} up`]);
    ipBatch(nb, [`link set ${b} up`]);
  }
  netio().netnsWriteFiles(NS.r, ['/proc/sys/net/ipv6/conf/all/forwarding'], ['1']);
  ipBatch(NS.r, [
    'addr add fd00:1::1/64 dev r-h nodad',
    'addr add fd00:b1::1/64 dev r-b1 nodad',
    'addr add fd00:b2::1/64 dev r-b2 nodad',
    `neigh replace fd00:b1::2 lladdr ${macStr(mac(2, 1))} dev r-b1 nud permanent`,
    `neigh replace fd00:b2::2 lladdr ${macStr(mac(3, 1))} dev r-b2 nud permanent`,
    'route add fd00:c::/64 nexthop via fd00:b1::2 dev r-b1 nexthop via fd00:b2::2 dev r-b2',
  ]);
  sendSock = netio().PacketSocket.open(NS.h, 'h-r');
  recv = { b1: netio().PacketSocket.open(NS.b1, 'b1-r'), b2: netio().PacketSocket.open(NS.b2, 'b2-r') };
}

function teardown(): void {
  for (const s of [sendSock, recv?.b1, recv?.b2]) s?.close();
  for (const n of Object.values(NS)) try { ip(['netns', 'del', n]); } catch { /* absent */ }
}

interface Flow { sport: number; dport: number; flowLabel: number; src?: string; hbh?: boolean }

/** Sends `n` packets of each flow through r and returns, per flow index, the set of paths they took. */
function paths(policy: 0 | 1, flows: Flow[], n: number): Set<string>[] {
  netio().netnsWriteFiles(NS.r, ['/proc/sys/net/ipv6/fib_multipath_hash_policy'], [String(policy)]);
  recv.b1.drain();
  recv.b2.drain();
  flows.forEach((f, i) => {
    for (let k = 0; k < n; k++) {
      let p = buildPacket({ src: parseIpv6(f.src ?? 'fd00:1::10')!, dst: parseIpv6('fd00:c::1')!, proto: 'udp', sport: f.sport, dport: f.dport, size: 100, hopLimit: 64, trafficClass: 0, flowLabel: f.flowLabel, tcpSeq: 0, tag: i * 1000 + k });
      if (f.hbh) {
        // Hop-by-Hop with PadN only (8 bytes) between the IPv6 header and UDP.
        const q = new Uint8Array(p.length + 8);
        q.set(p.subarray(0, 40));
        q[6] = 0;
        q[40] = 17; q[41] = 0; q[42] = 1; q[43] = 4;
        q.set(p.subarray(40), 48);
        const plen = q.length - 40;
        q[4] = plen >> 8; q[5] = plen & 0xff;
        p = q;
      }
      const frame = new Uint8Array(14 + p.length);
      frame.set(mac(1, 2), 0);
      frame.set(mac(1, 1), 6);
      frame[12] = 0x86; frame[13] = 0xdd;
      frame.set(p, 14);
      sendSock.send(frame);
    }
  });
  const out = flows.map(() => new Set<string>());
  const want = flows.length * n;
  let got = 0;
  for (let round = 0; round < 50 && got < want; round++) {
    for (const [name, s] of Object.entries(recv)) {
      for (const fr of s.recv(20, 4096)) {
        // Only our forwarded UDP packets to fd00:c::1 (not the kernel's own ND/MLD frames on these links).
        if (fr.data.length < 14 + 48 + 16 || fr.data[12] !== 0x86 || fr.data[13] !== 0xdd || fr.pktType === 4) continue;
        if (!Buffer.from(fr.data.subarray(14 + 24, 14 + 40)).equals(DST)) continue;
        const hbh = fr.data[14 + 6] === 0;
        if ((hbh ? fr.data[14 + 40] : fr.data[14 + 6]) !== 17) continue;
        const l4 = 14 + 40 + (hbh ? 8 : 0);
        const tag = fr.data.readUInt32BE(l4 + 8 + 4);
        const i = Math.floor(tag / 1000);
        if (i < flows.length) {
          out[i]!.add(name);
          got++;
        }
      }
    }
  }
  assert.equal(got, want, `received ${got} of ${want} forwarded packets`);
  return out;
}

describe('kernel multipath routes (Linux fib_multipath_hash_policy)', { skip: optOut && 'IOAMSIM_NO_KERNEL=1' }, () => {
  before(setup);
  after(teardown);

  it('policy 1: each flow on one path, 256 flows differing only in source port spread over both', () => {
    const flows = Array.from({ length: 256 }, (_, i) => ({ sport: 20000 + i, dport: 5001, flowLabel: 0x11111 }));
    const p = paths(1, flows, 4);
    for (const [i, s] of p.entries()) assert.equal(s.size, 1, `flow ${i} took ${[...s].join(' and ')}`);
    const onB1 = p.filter((s) => s.has('b1')).length;
    assert.ok(onB1 > 256 * 0.35 && onB1 < 256 * 0.65, `${onB1} of 256 flows on b1`);
  });

  it('policy 1 ignores the flow label and skips a Hop-by-Hop header', () => {
    const flows = Array.from({ length: 64 }, (_, i) => ({ sport: 30000, dport: 5001, flowLabel: i + 1 }));
    const p = paths(1, flows, 1);
    assert.equal(new Set(p.map((s) => [...s][0])).size, 1, 'one 5-tuple, 64 flow labels: one path');
    const hbh = Array.from({ length: 128 }, (_, i) => ({ sport: 21000 + i, dport: 5001, flowLabel: 7, hbh: true }));
    const q = paths(1, hbh, 2);
    for (const s of q) assert.equal(s.size, 1);
    assert.equal(new Set(q.map((s) => [...s][0])).size, 2, 'ports past Hop-by-Hop still spread flows');
  });

  it('policy 0 ignores ports and follows the flow label', () => {
    const ports = Array.from({ length: 64 }, (_, i) => ({ sport: 20000 + i, dport: 6000 + i, flowLabel: 0x2222 }));
    assert.equal(new Set(paths(0, ports, 1).map((s) => [...s][0])).size, 1, 'same addresses and flow label, 64 port pairs: one path');
    const labels = Array.from({ length: 128 }, (_, i) => ({ sport: 20000, dport: 5001, flowLabel: 0x1000 + i }));
    const p = paths(0, labels, 2);
    for (const s of p) assert.equal(s.size, 1);
    assert.equal(new Set(p.map((s) => [...s][0])).size, 2, '128 flow labels spread over both paths');
  });
});
