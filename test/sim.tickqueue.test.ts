/** The tick queue (sim/tickqueue.ts): packets in the engine's order, a late arrival put in its place. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TickQueue } from '../sim/tickqueue';

const drain = (q: TickQueue, before: number) => {
  const out: number[] = [];
  for (let h = q.take(before); h >= 0; h = q.take(before)) out.push(h);
  return out;
};

test('packets leave by (time, tie key); a late arrival is inserted where the one-queue run had it; take() stops at the tick', () => {
  const q = new TickQueue();
  q.add(1, 100, 0, 5, 1000, 1000); // a closure (hi 0) at 100
  q.add(2, 100, 3, 0, 1000, 1000);
  q.add(3, 150, 2, 7, 1000, 1000);
  q.add(4, 190, 1, 0, 1000, 1000);
  // Late arrivals learned at a window barrier: between 2 and 3, and tied in time with 3 but a smaller key.
  q.add(5, 120, 9, 1, 1000, 1000);
  q.add(6, 150, 2, 6, 1000, 1000);
  q.add(7, 100, 3, 1, 1000, 1000);
  assert.deepEqual(drain(q, 150), [1, 2, 7, 5]);
  assert.deepEqual(drain(q, 200), [6, 3, 4]);
  assert.equal(q.take(1e9), -1);
});

test('grows past its first capacity and keeps the order', () => {
  const q = new TickQueue();
  for (let i = 0; i < 100; i++) q.add(i, 1000 - i, 1, 0, 1001, 1001); // newest first: every add moves back
  assert.deepEqual(drain(q, 2000), Array.from({ length: 100 }, (_, i) => 99 - i));
});

test('add() says when a packet is the first waiting for its tick, whatever the order packets join in', () => {
  const q = new TickQueue();
  // Tick period 100: ticks at 100, 200, 300. Packets join out of time order (ahead of arrival).
  assert.equal(q.add(1, 250, 1, 0, 300, 100), true); // tick 300: first
  assert.equal(q.add(2, 150, 1, 1, 200, 100), true); // tick 200: first, before 1
  assert.equal(q.add(3, 260, 2, 0, 300, 100), false); // tick 300 again
  assert.equal(q.add(4, 120, 3, 0, 200, 100), false); // tick 200 again, at the front
  assert.equal(q.add(5, 50, 1, 2, 100, 100), true); // tick 100
  assert.equal(q.add(6, 199, 1, 3, 200, 100), false); // tick 200, between 2 and 1
  assert.deepEqual(drain(q, 100), [5]);
  assert.deepEqual(drain(q, 200), [4, 2, 6]);
  assert.equal(q.add(7, 201, 1, 4, 300, 100), false, 'tick 300 still has 1 and 3 waiting');
  assert.deepEqual(drain(q, 300), [7, 1, 3]);
  assert.equal(q.add(8, 301, 1, 5, 400, 100), true, 'an empty queue: first again');
});
