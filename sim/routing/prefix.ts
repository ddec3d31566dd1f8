/**
 * IPv6 prefixes (`2001:db8:1::/64`), interface addresses with a prefix length
 * (`2001:db8:1::1/64`) and their text forms.
 * @module
 */
import { formatIpv6, parseIpv6 } from '../topology';

export interface Prefix {
  /** 16 bytes, bits past `len` zero. */
  addr: Uint8Array;
  len: number;
}

/** An address with the prefix length of its subnet (`/128` when the text has none). */
export interface IfAddress {
  addr: Uint8Array;
  len: number;
}

/** Parses `addr[/len]`; undefined when malformed. `default` is `::/0`. */
export function parseAddrLen(text: string): IfAddress | undefined {
  if (text === 'default') return { addr: new Uint8Array(16), len: 0 };
  const m = /^([^/]+)(?:\/([0-9]{1,3}))?$/.exec(text.trim());
  if (!m) return undefined;
  const addr = parseIpv6(m[1]!);
  const len = m[2] === undefined ? 128 : Number(m[2]);
  if (!addr || len > 128) return undefined;
  return { addr, len };
}

/** The prefix of `addr/len` (bits past `len` cleared). */
export function maskPrefix(addr: Uint8Array, len: number): Prefix {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    out[i] = addr[i]! & ((0xff00 >> keep) & 0xff);
  }
  return { addr: out, len };
}

/** Parses a prefix (`2001:db8::/32`, `default`); host bits must be zero unless `loose`. */
export function parsePrefix(text: string, loose = false): Prefix | undefined {
  const a = parseAddrLen(text);
  if (!a) return undefined;
  const p = maskPrefix(a.addr, a.len);
  if (!loose && !sameBytes(p.addr, a.addr)) return undefined;
  return p;
}

/** `2001:db8::/32`. */
export function formatPrefix(p: Prefix): string {
  return `${formatIpv6(p.addr)}/${p.len}`;
}

/** Whether the 16-byte address at `b[off..]` is inside `p`. */
export function prefixContains(p: Prefix, b: Uint8Array, off = 0): boolean {
  for (let i = 0; i < p.len; i++) {
    const bit = 7 - (i & 7);
    if (((p.addr[i >> 3]! >> bit) & 1) !== ((b[off + (i >> 3)]! >> bit) & 1)) return false;
  }
  return true;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
