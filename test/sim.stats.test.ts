/**
 * Distributions handed between threads (sim/stats.ts `Dist.toState` / `merge`, used when a
 * partitioned run hands its statistics to the main thread): a distribution split in parts and
 * merged back answers exactly as the whole one, whatever the samples (zeros, the small integers
 * counted aside, large and fractional values that go straight to the sketch) and however merged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Dist } from '../sim/stats';

// Sums are exact only while they fit a double's 53 bits (the simulator's samples are integers of ns
// or bytes): large values up to 2^32 and fractions of 10 bits keep 300 samples' sums exact in any
// order, so the test compares sums exactly (a double in general would round differently by order).
const sample = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 65535 }),
  fc.integer({ min: 65536, max: 2 ** 32 }),
  fc.integer({ min: 1, max: 2 ** 30 }).map((x) => x / 1024),
);

test('Dist: merging the parts\' states = the whole distribution (JSON and state)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(sample, fc.nat({ max: 3 })), { maxLength: 300 }), fc.boolean(), (xs, readFirst) => {
      const whole = new Dist();
      const parts = [new Dist(), new Dist(), new Dist(), new Dist()];
      for (const [x, p] of xs) {
        whole.add(x);
        parts[p]!.add(x);
      }
      // Reading a part first moves its pending counts into its sketch: the state must not change.
      if (readFirst) parts[0]!.toJSON();
      const merged = new Dist();
      merged.add(7); // a sample of its own before the merges (then added to the whole as well)
      whole.add(7);
      for (const p of parts) merged.merge(p.toState());
      assert.deepEqual(merged.toState(), whole.toState());
      assert.deepEqual(merged.toJSON(), whole.toJSON());
    }),
    { numRuns: 300 },
  );
});

test('Dist.toState: bins in key order, no zero counts; the zero bucket apart', () => {
  const d = new Dist();
  for (const x of [0, 0, 5, 5, 1000, 70000, 2.5]) d.add(x);
  const s = d.toState();
  assert.equal(s.n, 7);
  assert.equal(s.zero, 2);
  for (let i = 2; i < s.bins.length; i += 2) assert.ok(s.bins[i]! > s.bins[i - 2]!, 'keys ascend');
  for (let i = 1; i < s.bins.length; i += 2) assert.ok(s.bins[i]! > 0);
  assert.equal(s.bins.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0), 5);
});
