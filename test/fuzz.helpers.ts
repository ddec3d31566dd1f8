/**
 * Helpers shared by the fuzz tests: the decoder-JSON shape a generated spec must decode to, and
 * a strict subset comparison that names the path of the first difference.
 */
import type { IoamSpec, NodeSpec, OptionSpec, PacketSpec } from '../src/arbitraries';
import { ipv6Text } from '../src/arbitraries';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A node spec in the decoder's JSON shape (bigint → decimal string, bytes → hex). */
export function nodeJson(n: NodeSpec): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) {
    if (v === undefined) continue;
    if (typeof v === 'bigint') o[k] = v.toString();
    else if (k === 'oss') o[k] = { length: v.length, schemaId: v.schemaId, data: hex(v.data) };
    else o[k] = v;
  }
  return o;
}

/** The decoder's `IoamData` for a generated IOAM option body. */
export function ioamJson(s: IoamSpec): Record<string, unknown> {
  switch (s.type) {
    case 'preallocated-trace':
    case 'incremental-trace': {
      const o: Record<string, unknown> = {
        type: s.type,
        namespaceId: s.namespaceId,
        nodeLen: s.nodeLen,
        flags: s.flags,
        remainingLen: s.remainingLen,
        traceType: s.traceType,
        reserved: s.reserved,
        nodes: s.nodes.map(nodeJson),
      };
      if (s.type === 'preallocated-trace') o.freeSpace = hex(s.freeSpace);
      if (s.clt) o.clt = { traceId: hex(s.clt.traceId), spanId: hex(s.clt.spanId) };
      return o;
    }
    case 'pot': {
      const o: Record<string, unknown> = { type: 'pot', namespaceId: s.namespaceId, potType: s.potType, flags: s.flags };
      if (s.random !== undefined) o.random = s.random.toString();
      if (s.cumulative !== undefined) o.cumulative = s.cumulative.toString();
      if (s.data.length) o.data = hex(s.data);
      return o;
    }
    case 'e2e': {
      const o: Record<string, unknown> = { type: 'e2e', namespaceId: s.namespaceId, e2eType: s.e2eType };
      if (s.seqNum64 !== undefined) o.seqNum64 = s.seqNum64.toString();
      for (const k of ['seqNum32', 'timestampSecs', 'timestampFrac'] as const) if (s[k] !== undefined) o[k] = s[k];
      if (s.data.length) o.data = hex(s.data);
      return o;
    }
    case 'dex': {
      const o: Record<string, unknown> = {
        type: 'dex',
        namespaceId: s.namespaceId,
        flags: s.flags,
        extensionFlags: s.extensionFlags,
        traceType: s.traceType,
        reserved: s.reserved,
      };
      if (s.flowId !== undefined) o.flowId = s.flowId;
      if (s.sequenceNumber !== undefined) o.sequenceNumber = s.sequenceNumber;
      if (s.otherFields.length) o.otherFields = s.otherFields;
      return o;
    }
  }
}

export function optionJson(o: OptionSpec): Record<string, unknown> {
  switch (o.kind) {
    case 'pad1':
      return { kind: 'pad1' };
    case 'padn':
      return { kind: 'padn', len: o.len };
    case 'unknown':
      return { kind: 'unknown', optionType: o.optionType, data: hex(o.data) };
    case 'ioam':
      return { kind: 'ioam', reserved: o.reserved, data: ioamJson(o.ioam) };
  }
}

/** What `decode()` must return for a generated packet (offsets from the layout). */
export function packetJson(spec: PacketSpec, layout: { headers: { offset: number; length: number; options: number[] }[]; upperLayer: number }, bytes: Uint8Array) {
  return {
    ipv6: {
      trafficClass: spec.trafficClass,
      flowLabel: spec.flowLabel,
      payloadLen: bytes.length - 40,
      nextHeader: bytes[6],
      hopLimit: spec.hopLimit,
      src: ipv6Text(spec.src),
      dst: ipv6Text(spec.dst),
    },
    extHeaders: spec.headers.map((h, i) => ({
      kind: h.kind,
      offset: layout.headers[i]!.offset,
      length: layout.headers[i]!.length,
      nextHeader: bytes[layout.headers[i]!.offset],
      options: h.options.map((o, j) => ({ offset: layout.headers[i]!.options[j], option: optionJson(o) })),
    })),
    upperLayer: { protocol: spec.protocol, offset: layout.upperLayer, payload: hex(spec.payload) },
  };
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/**
 * Differences between `actual` and `expected`: every expected key must be deep-equal; keys only
 * in `actual` must be empty (absent, null, '', [] or {}). Returns the first few differences as
 * `path: actual vs expected` strings.
 */
export function diff(actual: unknown, expected: unknown, path = '$', out: string[] = []): string[] {
  if (out.length > 5) return out;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push(`${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
      return out;
    }
    expected.forEach((e, i) => diff(actual[i], e, `${path}[${i}]`, out));
    return out;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') {
      out.push(`${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
      return out;
    }
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    for (const k of Object.keys(e)) diff(a[k], e[k], `${path}.${k}`, out);
    for (const k of Object.keys(a)) if (!(k in e) && !isEmpty(a[k])) out.push(`${path}.${k}: unexpected ${JSON.stringify(a[k])}`);
    return out;
  }
  if (actual !== expected) out.push(`${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
  return out;
}
