/**
 * Plain-TypeScript baseline of a decapsulating node: the transit fill, then the removed
 * Hop-by-Hop header is copied out (the trace) and the IOAM options are removed (inline: the
 * other options keep their offset modulo 8; only padding left → the whole header goes;
 * IPv6-in-IPv6: everything before the inner header goes).
 * @module
 */
import { Reason } from '../../src/index';
import { Tables, setOut, transitOne } from './transit';

export interface DecapTables extends Tables {
  arena: Uint8Array;
  traceDesc: Uint32Array;
}

export function decapBatch(t: DecapTables, n: number, node: import('./node').TsNode): void {
  let cursor = 0;
  t.traceDesc.fill(0, 0, n * 2);
  for (let i = 0; i < n; i++) {
    const aux = decapOne(node, t, i, cursor);
    t.traceDesc[i * 2] = cursor;
    t.traceDesc[i * 2 + 1] = aux;
    cursor += aux;
  }
}

/** Returns the trace length handed back (the outcome's aux). */
function decapOne(node: import('./node').TsNode, t: DecapTables, i: number, cursor: number): number {
  transitOne(node, t, i);
  const { buf, dv, desc, out } = t;
  if (out[i * 4] === 1) {
    out[i * 4 + 3] = 0;
    return 0;
  }
  const off = desc[i * 4 + 2]!;
  const len = desc[i * 4 + 3]!;
  if (len < 48 || buf[off + 6] !== 0) return out[i * 4 + 3]!;
  const hbhLen = (buf[off + 41]! + 1) * 8;
  const end = 40 + hbhLen;
  if (end > len || !hasIoam(buf, off, end)) return out[i * 4 + 3]!;
  let aux = 0;
  if (cursor + hbhLen <= t.arena.length) {
    t.arena.set(buf.subarray(off + 40, off + end), cursor);
    aux = hbhLen;
  }
  // IPv6-in-IPv6: follow the chain to the inner header
  let nh = buf[off + 40]!;
  let q = end;
  for (;;) {
    if (nh === 41) {
      if (q + 40 > len || buf[off + q]! >> 4 !== 6) {
        setOut(t, i, Reason.DropMalformedIpv6, q, 0, off, len);
        return 0;
      }
      setOut(t, i, Reason.Decapsulated, 0, aux, off + q, len - q);
      return aux;
    }
    if ((nh === 60 || nh === 43 || nh === 135 || nh === 139 || nh === 140 || nh === 51) && q + 8 <= len) {
      const l = nh === 51 ? (buf[off + q + 1]! + 2) * 4 : (buf[off + q + 1]! + 1) * 8;
      nh = buf[off + q]!;
      q += l;
      continue;
    }
    break;
  }
  // inline: compact the HbH without its IOAM options
  const newLen = compact(buf, off, end);
  const d = hbhLen - newLen;
  const plen = dv.getUint16(off + 4);
  if (newLen === 0) buf[off + 6] = buf[off + 40]!;
  else buf[off + 41] = newLen / 8 - 1;
  dv.setUint16(off + 4, plen === 0 ? 0 : Math.max(0, plen - d));
  buf.copyWithin(off + d, off, off + 40 + newLen);
  setOut(t, i, Reason.Decapsulated, 0, aux, off + d, len - d);
  return aux;
}

function hasIoam(buf: Uint8Array, off: number, end: number): boolean {
  let q = 42;
  while (q < end) {
    const ty = buf[off + q]!;
    if (ty === 0) {
      q++;
      continue;
    }
    if (ty === 0x31) return true;
    q += buf[off + q + 1]! + 2;
  }
  return false;
}

/** Rewrites the HbH without IOAM options and padding; returns its new length (0: nothing left). */
function compact(buf: Uint8Array, off: number, end: number): number {
  let q = 42;
  let c = 42;
  let kept = 0;
  while (q < end) {
    const ty = buf[off + q]!;
    if (ty === 0) {
      q++;
      continue;
    }
    const l = buf[off + q + 1]! + 2;
    if (q + l > end) break;
    if (ty !== 1 && ty !== 0x31) {
      const p = (q - c) % 8;
      pad(buf, off + c, p);
      c += p;
      buf.copyWithin(off + c, off + q, off + q + l);
      c += l;
      kept++;
    }
    q += l;
  }
  if (kept === 0) return 0;
  const p = (8 - ((c - 40) % 8)) % 8;
  pad(buf, off + c, p);
  return c + p - 40;
}

function pad(buf: Uint8Array, at: number, p: number): void {
  buf.fill(0, at, at + p);
  if (p >= 2) {
    buf[at] = 1;
    buf[at + 1] = p - 2;
  }
}
