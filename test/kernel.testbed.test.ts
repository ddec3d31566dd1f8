/**
 * Testbed mode (app/kernel/testbed.ts, `ioamsim testbed`): simulator topologies on Linux network
 * namespaces with the kernel as transit/receiving nodes, compared packet by packet with the
 * simulation. Needs root and IPv6 IOAM; fails without them unless IOAMSIM_NO_KERNEL=1.
 * Bounded: the whole file runs in well under 60 s.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Network } from '../sim/network';
import { loadTopology, parseTopology } from '../sim/topology';
import { CliError } from '../app/cli/errors';
import { repoRoot } from '../src/shared';
import { createCommands } from '../app/kernel/testbed-cli';
import { unsupported } from '../app/kernel/testbed';

const optOut = process.env.IOAMSIM_NO_KERNEL === '1';
const ex = (f: string) => join(repoRoot(), 'examples', f);

/** OSS with a schema, ns data, queue depth, IOAM disabled on ingresses, hop-limit expiry at r2,
 * a burst that fills the 100 Mb/s queues, and traffic back without IOAM. */
export const FEATURES = `
name: features
seed: 4
duration: 2ms
defaults:
  link: { delay: 10us, bandwidth: 100Mbps, queue: { packets: 50 } }
nodes:
  - name: h1
    addresses: ["2001:db8:1::1"]
    ioam: { ioam6_id: 1, namespaces: [{ id: 7, data: 0x11 }] }
    roles: [{ ns: 7, role: encap }]
  - name: r1
    addresses: ["2001:db8:ff::1"]
    ioam:
      ioam6_id: 2
      ioam6_id_wide: 0x2222
      namespaces: [{ id: 7, data: 0x22, wide: 0x2222222222, schema: 9 }]
      schemas: [{ id: 9, data: "r1 schema" }]
    roles: [{ ns: 7, role: transit }]
  - name: r2
    addresses: ["2001:db8:ff::2"]
    ioam:
      ioam6_id: 3
      interfaces: [{ name: r2-r1, ioam6_enabled: true, ioam6_id: 31 }, { name: r2-r3, ioam6_enabled: false, ioam6_id: 32 }]
    roles: [{ ns: 7, role: transit }]
  - name: r3
    addresses: ["2001:db8:ff::3"]
    ioam: { ioam6_id: 4, interfaces: [{ name: r3-r2, ioam6_enabled: false }, { name: r3-h2, ioam6_enabled: true }] }
    roles: [{ ns: 7, role: transit }]
  - name: h2
    addresses: ["2001:db8:2::2"]
    ioam: { ioam6_id: 5, namespaces: [{ id: 7, data: 0x55 }] }
    roles: [{ ns: 7, role: decap }]
links:
  - { a: h1, b: r1 }
  - { a: r1, b: r2 }
  - { a: r2, b: r3 }
  - { a: r3, b: h2 }
domains:
  - { ns: 7, trace_type: 0xc60002, size: 120 }
traffic:
  flows:
    - { name: fwd, from: h1, to: h2, proto: udp, rate_pps: 20000, size: 300 }
    - { name: burst, from: h1, to: h2, proto: udp, rate_pps: 100000, size: 1200, start: 500us, stop: 700us }
    - { name: short, from: h1, to: h2, proto: udp, rate_pps: 5000, size: 100, hop_limit: 2 }
    - { name: back, from: h2, to: h1, proto: udp, rate_pps: 5000, size: 200 }
`;

function netnsOfThisProcess(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`ioamsim-${process.pid}-`));
}

describe('testbed mapping (no root needed)', () => {
  it('refuses what it cannot map, naming each feature', () => {
    const why = (f: string) => {
      const t = loadTopology(ex(f));
      return unsupported(new Network(t, { seed: 1n, batchSize: 16, hooks: {} }), t);
    };
    assert.deepEqual(why('linear.yaml'), []);
    assert.deepEqual(why('overflow.yaml'), []);
    const ls = why('leaf-spine.yaml');
    assert.equal(ls.length, 3);
    assert.match(ls[0]!, /nodes l1: decap role on a node with 4 links: Linux cannot remove an inline IOAM option before forwarding/);
    assert.deepEqual(why('ipv6-in-ipv6.yaml'), [], 'encap mode maps (End.DX6 at the endpoint)');
    const variant = (from: string, to: string) => {
      const t = parseTopology(readFileSync(ex('ipv6-in-ipv6.yaml'), 'utf8').replace(from, to), 'v.yaml');
      return unsupported(new Network(t, { seed: 1n, batchSize: 16, hooks: {} }), t);
    };
    const au = variant('mode: encap', 'mode: auto');
    assert.match(au[0]!, /^domains\[0\]\.mode auto: inline packets of the encapsulating node would be decapsulated/);
    assert.match(au[1]!, /^nodes r3: decap role on a node with 2 links/);
    assert.deepEqual(variant('{ name: f, from: h1, to: h2,', '{ name: f, from: h1, to: r3,'), [
      'traffic.flows[0]: traffic to r3, the IPv6-in-IPv6 tunnel endpoint (its address is the End.DX6 decapsulation route on the testbed); address another node or a second address of r3',
    ]);
    const t = parseTopology(FEATURES.replace('ioam6_id: 5,', 'ioam6_id: 5, profile: rfc,').replace('data: 0x22,', 'data: 0x22, clt_legacy: true,'), 'f.yaml');
    const f = unsupported(new Network(t, { seed: 1n, batchSize: 16, hooks: {} }), t);
    assert.deepEqual(f, ['nodes r1: namespace 7 clt_legacy: the kernel is not CLT-patched', 'nodes h2: profile rfc: the kernel nodes follow the linux profile only']);
  });

  it('the command refuses an unmappable topology with exit 1 and the reasons (before any root check)', async () => {
    const out = new PassThrough();
    const [cmd] = createCommands({ stdout: out, stderr: out, debug: false });
    cmd!.exitOverride();
    await assert.rejects(cmd!.parseAsync(['node', 'testbed', ex('leaf-spine.yaml')]), (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /leaf-spine\.yaml: cannot run on the kernel testbed:\n {2}- nodes l1: decap role/);
      return true;
    });
    await assert.rejects(cmd!.parseAsync(['node', 'testbed', ex('linear.yaml'), '--duration', 'soon']), /--duration must look like/);
  });
});

describe('testbed on the live kernel', { timeout: 60_000 }, () => {
  it('has root and a kernel with IPv6 IOAM (or IOAMSIM_NO_KERNEL=1)', async () => {
    const { kernelCheckUnavailable } = await import('../app/kernel/check');
    const why = kernelCheckUnavailable();
    if (why && optOut) return;
    assert.equal(why, null, `${why}\nSet IOAMSIM_NO_KERNEL=1 to skip the live kernel tests explicitly.`);
  });

  const live = { skip: optOut && 'IOAMSIM_NO_KERNEL=1' };
  const t0 = Date.now();

  it('linear.yaml: every packet agrees (IOAM bytes, timestamps in the window, delivery)', live, async () => {
    const { runTestbed } = await import('../app/kernel/testbed');
    const r = await runTestbed(ex('linear.yaml'));
    assert.deepEqual(r.disagreements.map((d) => `${d.id} ${d.where}: ${d.problems.join('; ')}`), []);
    assert.equal(r.simulated, 120);
    assert.equal(r.replayed, 120);
    assert.equal(r.agree, 120);
    assert.equal(r.withIoam, 110, 'ping + rpc requests carry IOAM, responses do not');
    assert.equal(r.comparisons, 480, '3 ingresses per packet + socket view (UDP) or Ip6InDelivers (TCP)');
    assert.ok(r.timestampsChecked >= 300, `kernel timestamps checked: ${r.timestampsChecked}`);
    assert.equal(r.ok, true);
    assert.deepEqual(netnsOfThisProcess(), []);
  });

  it('overflow.yaml: r2 sets Overflow on the kernel as in the simulation', live, async () => {
    const { runTestbed } = await import('../app/kernel/testbed');
    const r = await runTestbed(ex('overflow.yaml'));
    assert.deepEqual(r.disagreements.map((d) => `${d.id} ${d.where}: ${d.problems.join('; ')}`), []);
    assert.equal(r.agree, r.replayed);
    assert.equal(r.replayed, 10);
    assert.equal(r.comparisons, 50);
  });

  it('features: OSS, disabled ingresses, hop-limit drops, queue depth, traffic without IOAM', live, async () => {
    const { runTestbed } = await import('../app/kernel/testbed');
    const r = await runTestbed(parseTopology(FEATURES, 'features.yaml'));
    assert.deepEqual(r.disagreements.map((d) => `${d.id} ${d.where}: ${d.problems.join('; ')}`), []);
    assert.equal(r.agree, r.replayed);
    assert.equal(r.outcomes['dropped hop-limit at r2'], 4, JSON.stringify(r.outcomes));
    assert.ok(r.queueDepthCompared > 100, `queue depth compared ${r.queueDepthCompared}`);
    assert.ok(r.withIoam > 0 && r.withIoam < r.replayed);
  });

  it('ipv6-in-ipv6.yaml: tunneled packets through r2, decapsulated at r3 (seg6local End.DX6), inner compared at h2', live, async () => {
    const { runTestbed } = await import('../app/kernel/testbed');
    const r = await runTestbed(ex('ipv6-in-ipv6.yaml'));
    assert.deepEqual(r.disagreements.map((d) => `${d.id} ${d.where}: ${d.problems.join('; ')}`), []);
    assert.equal(r.agree, r.replayed);
    assert.equal(r.tunneled, 20, 'freq 1/2: every other packet is tunneled');
    assert.ok(r.timestampsChecked >= 20, 'r2 wrote timestamps into the outer trace');
  });

  it('negative control: a node id changed on the kernel side only is caught at the next hop', live, async () => {
    const { runTestbed } = await import('../app/kernel/testbed');
    const r = await runTestbed(ex('overflow.yaml'), { kernelConfig: (n, c) => (n === 'r1' ? { ...c, ioam6_id: 0x99 } : c) });
    assert.equal(r.ok, false);
    assert.equal(r.agree, 0, 'every packet carries r1 data');
    assert.ok(r.disagreements.every((d) => /byte\(s\) differ/.test(d.problems.join(' '))), r.disagreements.map((d) => d.problems.join(';')).join('\n'));
    assert.ok(r.disagreements.some((d) => d.where === 'r2:r2-r1 ingress'));
    assert.deepEqual(netnsOfThisProcess(), [], 'namespaces removed');
    assert.ok(Date.now() - t0 < 55_000, 'bounded time');
  });
});
