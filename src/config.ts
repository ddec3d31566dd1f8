/**
 * The node file (docs/DESIGN.md "Node file"): one YAML format for the CLI, the simulator and the
 * kernel check, with Linux's names (`ioam6_id`, `ioam6_enabled`, namespace `data`/`wide`, ...).
 *
 * - {@link nodeConfigSchema} (zod) validates a plain object and gives the typed {@link NodeConfig};
 *   the simulator's topology reuses it for its embedded node objects.
 * - {@link parseNodeConfig} / {@link loadNodeFile} parse YAML with 64-bit integers as `bigint`
 *   and report every problem as `file:line: path: reason` ({@link IoamConfigError}).
 * - {@link toNativeConfig} gives the JSON the native binding takes.
 *
 * Integer fields accept a JS number (safe integer), a bigint, or a string (`"0x..."` hex or
 * decimal). Fields of up to 32 bits come out as `number`; 64-bit fields (`ioam6_id_wide` of the
 * node, namespace `wide`) come out as `bigint`.
 *
 * The core owns the semantic validation (`NodeConfig::validate`, run when the native node is
 * built; docs/DESIGN.md "Who validates"): the checks here restate its rules only to report them
 * as `file:line: path: reason` before the native call, plus node-file syntax rules the core
 * cannot see (unknown keys, `tunsrc`/`tundst` in inline mode).
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { basename } from 'node:path';
import { Document, LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigIssue, IoamConfigError } from './errors';

export { IoamConfigError };
export type { ConfigIssue };

/** `net.ipv6.ioam6_id` default and maximum (24 bits). */
export const IOAM6_ID_MAX = 0xffffff;
/** `net.ipv6.ioam6_id_wide` default and maximum (56 bits). */
export const IOAM6_ID_WIDE_MAX = 0x00ffffffffffffffn;
/** `net.ipv6.conf.<if>.ioam6_id` default (and max, 16 bits). */
export const IF_ID_DEFAULT = 0xffff;
/** `net.ipv6.conf.<if>.ioam6_id_wide` default (and max, 32 bits). */
export const IF_ID_WIDE_DEFAULT = 0xffffffff;
/** `IOAM6_MAX_SCHEMA_DATA_LEN` */
export const SCHEMA_DATA_MAX = 1020;
/** Trace-Type bits Linux's encap refuses: 12-21 (undefined) and 23 (reserved). */
export const TRACE_TYPE_ENCAP_FORBIDDEN = 0x000ffd;

/** What the user may write for an integer: a number, a bigint, or a `"0x.."`/decimal string. */
export type IntInput = number | bigint | string;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Reads an integer input as a bigint, or returns an error reason. */
export function toBigIntValue(v: unknown): bigint | string {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) return `expected an integer, got ${v} (write large values as YAML integers or "0x.." strings)`;
    return BigInt(v);
  }
  if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    if (/^0[xX][0-9a-fA-F]+$/.test(s) || /^[0-9]+$/.test(s)) return BigInt(s);
    return `expected an integer ("0x.." hex or decimal), got string ${JSON.stringify(v)}`;
  }
  return `expected an integer (number, bigint or "0x.." string), got ${describe(v)}`;
}

function hex(n: bigint): string {
  return '0x' + n.toString(16).toUpperCase();
}

/** An unsigned integer in `[0, max]` given as number/bigint/string → bigint. */
function uintBig(max: bigint, what: string) {
  return z.custom<IntInput>(() => true).transform((v, ctx): bigint => {
    const r = toBigIntValue(v);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    if (r < 0n || r > max) {
      ctx.addIssue({ code: 'custom', message: `${what} must be in 0..=${hex(max)}, got ${r < 0n ? r : hex(r)}` });
      return z.NEVER;
    }
    return r;
  });
}

/** An unsigned integer in `[min, max]` (≤ 2^53) → number. */
function uint(max: number, what: string, min = 0) {
  return z.custom<IntInput>(() => true).transform((v, ctx): number => {
    const r = toBigIntValue(v);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    if (r < BigInt(min) || r > BigInt(max)) {
      // all-ones limits (bit widths) read best in hex, others in decimal
      const inHex = max >= 0x10000 && ((max + 1) & max) === 0;
      const maxText = inHex ? hex(BigInt(max)) : String(max);
      ctx.addIssue({ code: 'custom', message: `${what} must be in ${min}..=${maxText}, got ${inHex && r > 0n ? hex(r) : r}` });
      return z.NEVER;
    }
    return Number(r);
  });
}

const boolField = z.boolean({ error: (i) => `expected true or false, got ${describe(i.input)}` });

const ipv6Field = z
  .string({ error: (i) => `expected an IPv6 address string, got ${describe(i.input)}` })
  .refine((s) => isIPv6(s), { error: (i) => `not an IPv6 address: ${JSON.stringify(i.input)}` });

/** `interfaces[i]`: `net.ipv6.conf.<name>.ioam6_*`. The index is the dataplane's interface number. */
export const interfaceConfigSchema = z.strictObject({
  name: z.string({ error: 'expected the interface name (a string)' }).min(1, 'interface name must not be empty'),
  ioam6_enabled: boolField.default(false),
  ioam6_id: uint(IF_ID_DEFAULT, 'interface ioam6_id').default(IF_ID_DEFAULT),
  ioam6_id_wide: uint(IF_ID_WIDE_DEFAULT, 'interface ioam6_id_wide').default(IF_ID_WIDE_DEFAULT),
});

/** `namespaces[j]`: `ip ioam namespace add ID [data D] [wide W]` + `set ID schema S`. */
export const namespaceConfigSchema = z.strictObject({
  id: uint(0xffff, 'Namespace-ID'),
  /** absent → 0xFFFFFFFF on the wire */
  data: uint(0xffffffff, 'namespace data').optional(),
  /** absent → 0xFFFFFFFFFFFFFFFF on the wire */
  wide: uintBig(0xffffffffffffffffn, 'namespace wide').optional(),
  schema: uint(0xffffffff, 'schema id').optional(),
  /** this node is CLT-patched for this namespace (legacy trace/span ID block after the trace header) */
  clt_legacy: boolField.default(false),
});

const schemaData = z
  .union([
    z.string(),
    z.strictObject({
      hex: z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'expected an even number of hex digits'),
    }),
  ], { error: (i) => `expected text or { hex: "0a0b.." }, got ${describe(i.input)}` })
  .transform((d): Uint8Array => (typeof d === 'string' ? new Uint8Array(Buffer.from(d, 'utf8')) : new Uint8Array(Buffer.from(d.hex, 'hex'))))
  .refine((b) => b.length <= SCHEMA_DATA_MAX, {
    error: (i) => `schema data is ${(i.input as Uint8Array).length} bytes, at most ${SCHEMA_DATA_MAX} allowed (IOAM6_MAX_SCHEMA_DATA_LEN)`,
  });

/** `schemas[k]`: `ip ioam schema add ID DATA`. */
export const schemaConfigSchema = z.strictObject({
  /** A u32 as in Linux; ids above 0xFFFFFF are accepted and their high byte ORs into the OSS Length byte. */
  id: uint(0xffffffff, 'schema id'),
  data: schemaData,
});

/** `encap`: `ip -6 route ... encap ioam6 [freq K/N] mode M [tunsrc A] [tundst A] trace prealloc type T ns N size S`. */
export const encapConfigSchema = z.strictObject({
  mode: z.enum(['inline', 'encap', 'auto'], { error: (i) => `expected inline, encap or auto, got ${describe(i.input)}` }).default('inline'),
  tunsrc: ipv6Field.optional(),
  tundst: ipv6Field.optional(),
  trace: z.strictObject({
    /** 24-bit IOAM-Trace-Type, bit 0 = 0x800000 */
    type: uint(0xffffff, 'trace type', 1),
    ns: uint(0xffff, 'Namespace-ID'),
    /** pre-allocated data space in bytes (Incremental: the budget) */
    size: uint(244, 'encap size', 4),
    incremental: boolField.default(false),
  }),
  freq: z
    .strictObject({
      k: uint(1_000_000, 'freq k', 1),
      n: uint(1_000_000, 'freq n', 1),
    })
    .default({ k: 1, n: 1 }),
  /** write the CLT legacy block (trace ID + span ID) after the trace header */
  clt_legacy: boolField.default(false),
  /** signalled CLT encoding: with trace type bit 22, the encapsulating node's own Opaque State
   * Snapshot carries this Schema ID + the packet's trace ID and span ID (ioamsim uses 0xC17D) */
  clt_oss_schema: uint(0xffffff, 'clt_oss_schema').optional(),
});

const nodeConfigObject = z.strictObject({
  name: z.string({ error: 'expected the node name (a string)' }).min(1, 'node name must not be empty'),
  profile: z.enum(['linux', 'rfc'], { error: (i) => `expected linux or rfc, got ${describe(i.input)}` }).default('linux'),
  ioam6_id: uint(IOAM6_ID_MAX, 'ioam6_id').default(IOAM6_ID_MAX),
  ioam6_id_wide: uintBig(IOAM6_ID_WIDE_MAX, 'ioam6_id_wide').default(IOAM6_ID_WIDE_MAX),
  interfaces: z.array(interfaceConfigSchema, { error: 'expected a list of interfaces' }).default([]),
  namespaces: z.array(namespaceConfigSchema, { error: 'expected a list of namespaces' }).default([]),
  schemas: z.array(schemaConfigSchema, { error: 'expected a list of schemas' }).default([]),
  encap: encapConfigSchema.optional(),
});

type NodeConfigObject = z.output<typeof nodeConfigObject>;

/** Cross-field rules (core `NodeConfig::validate` and Linux's route validation). */
function checkNode(c: NodeConfigObject, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  c.interfaces.forEach((itf, i) => {
    const j = c.interfaces.findIndex((o) => o.name === itf.name);
    if (j < i) issue(['interfaces', i, 'name'], `duplicate interface name ${JSON.stringify(itf.name)} (also interfaces[${j}])`);
  });
  c.namespaces.forEach((ns, i) => {
    const j = c.namespaces.findIndex((o) => o.id === ns.id);
    if (j < i) issue(['namespaces', i, 'id'], `duplicate namespace id ${ns.id} (also namespaces[${j}])`);
    if (ns.schema !== undefined) {
      if (!c.schemas.some((s) => s.id === ns.schema)) {
        issue(['namespaces', i, 'schema'], `namespace is bound to schema ${ns.schema}, which is not configured in schemas`);
      }
      const k = c.namespaces.findIndex((o) => o.schema === ns.schema);
      if (k < i) issue(['namespaces', i, 'schema'], `schema ${ns.schema} is bound to two namespaces (namespaces[${k}] too); Linux binds 1:1`);
    }
  });
  c.schemas.forEach((sc, i) => {
    const j = c.schemas.findIndex((o) => o.id === sc.id);
    if (j < i) issue(['schemas', i, 'id'], `duplicate schema id ${sc.id} (also schemas[${j}])`);
  });
  const e = c.encap;
  if (e) {
    const { type, size, incremental } = e.trace;
    if (type & TRACE_TYPE_ENCAP_FORBIDDEN && !(incremental && c.profile === 'rfc')) {
      issue(['encap', 'trace', 'type'], `trace type ${hex(BigInt(type))} sets undefined bits 12-21 or reserved bit 23 (mask 0x000FFD), which Linux's encap refuses`);
    }
    if (size % 4 !== 0) issue(['encap', 'trace', 'size'], `encap size must be a multiple of 4 in 4..=244, got ${size}`);
    if (incremental && c.profile !== 'rfc') {
      issue(['encap', 'trace', 'incremental'], 'incremental traces need profile: rfc (Linux does not implement them)');
    }
    if (e.freq.k > e.freq.n) issue(['encap', 'freq', 'k'], `freq must satisfy 1 <= k <= n, got k=${e.freq.k} n=${e.freq.n}`);
    if (e.mode !== 'inline' && e.tundst === undefined) issue(['encap'], `mode ${e.mode} needs tundst`);
    if (e.mode !== 'inline' && e.tundst !== undefined && isUnspecified(e.tundst)) {
      issue(['encap', 'tundst'], 'tundst must not be the unspecified address ::');
    }
    if (e.mode === 'inline' && e.tunsrc !== undefined) issue(['encap', 'tunsrc'], 'tunsrc is only allowed in encap/auto mode (Linux refuses it inline)');
    if (e.mode === 'inline' && e.tundst !== undefined) issue(['encap', 'tundst'], 'tundst is only allowed in encap/auto mode (Linux refuses it inline)');
  }
}

function isUnspecified(a: string): boolean {
  return ipv6ToBytes(a).every((b) => b === 0);
}

/**
 * The node-file schema: validates a plain object (from YAML, JSON or code) and outputs a
 * {@link NodeConfig} with defaults filled in. Reuse it (e.g. `nodeConfigSchema` inside a topology
 * schema, or `nodeObjectSchema.extend({...})` then `.superRefine(checkNodeConfig)`).
 */
export const nodeConfigSchema = nodeConfigObject.superRefine(checkNode);
/** The node object without the cross-field checks, for `.extend()`; apply {@link checkNodeConfig} after. */
export const nodeObjectSchema = nodeConfigObject;
/** The cross-field checks of {@link nodeConfigSchema}, for schemas built from {@link nodeObjectSchema}. */
export const checkNodeConfig = checkNode;

/** A validated node configuration (defaults filled in). */
export type NodeConfig = z.output<typeof nodeConfigSchema>;
/** What may be written in a node file / passed to {@link nodeConfigSchema}. */
export type NodeConfigInput = z.input<typeof nodeConfigSchema>;
export type InterfaceConfig = z.output<typeof interfaceConfigSchema>;
export type NamespaceConfig = z.output<typeof namespaceConfigSchema>;
export type SchemaConfig = z.output<typeof schemaConfigSchema>;
export type EncapConfig = z.output<typeof encapConfigSchema>;

// ---------------------------------------------------------------------------------------------
// YAML with line numbers

/** A parsed YAML document with what is needed to map paths to lines. */
export interface YamlSource {
  fileName: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

/**
 * Parses YAML text with 64-bit-safe integers (`intAsBigInt`); syntax errors (and duplicate keys)
 * become an {@link IoamConfigError} with the line.
 */
export function parseYamlSource(text: string, fileName: string): { source: YamlSource; value: unknown } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { intAsBigInt: true, lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new IoamConfigError(
      doc.errors.map((err) => {
        const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
        return { file: fileName, line: pos.line, col: pos.col, path: '<yaml>', reason: err.message.split('\n')[0]! };
      }),
    );
  }
  const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  return { source: { fileName, doc, lineCounter }, value };
}

/** `namespaces[0].data` from `['namespaces', 0, 'data']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s || '<root>';
}

/**
 * The 1-based line/column of `path` in the YAML document: the value's node if it exists, else the
 * key of its nearest existing parent (e.g. the mapping that lacks a required key).
 */
export function locate(source: YamlSource, path: readonly PropertyKey[]): { line: number; col: number } {
  let node: unknown = source.doc.contents;
  let best: number | undefined = (node as { range?: [number, number, number] } | null)?.range?.[0];
  for (const p of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(p));
      if (!pair) break;
      const keyStart = isNode(pair.key) ? pair.key.range?.[0] : undefined;
      node = pair.value;
      const valStart = isNode(node) ? node.range?.[0] : undefined;
      best = valStart ?? keyStart ?? best;
      if (!isNode(node)) {
        best = keyStart ?? best;
        break;
      }
    } else if (isSeq(node) && typeof p === 'number') {
      const item = node.items[p];
      if (!isNode(item)) break;
      node = item;
      best = item.range?.[0] ?? best;
    } else {
      break;
    }
  }
  return best === undefined ? { line: 1, col: 1 } : source.lineCounter.linePos(best);
}

/**
 * Converts zod issues into an {@link IoamConfigError} with lines from `source`. `basePath` is the
 * position of the validated object inside the document (e.g. `['nodes', 2]` in a topology file).
 */
export function configErrorFromZod(
  issues: readonly z.core.$ZodIssue[],
  source: YamlSource | { fileName: string },
  basePath: readonly PropertyKey[] = [],
): IoamConfigError {
  const out: ConfigIssue[] = issues.flatMap((iss) => {
    // Unrecognised keys: one issue per key, located at the key.
    const extra = iss.code === 'unrecognized_keys' ? iss.keys.map((k) => [...iss.path, k]) : [iss.path];
    return extra.map((p) => {
      const full = [...basePath, ...p];
      const pos = 'doc' in source ? locate(source, full) : { line: 1, col: 1 };
      // YAML integers are parsed as BigInt: to the user they are numbers.
      const reason = iss.code === 'unrecognized_keys' ? `unknown key (allowed: ${allowedKeysHint(p)})` : iss.message.replace(/\breceived bigint\b/, 'received number');
      return { file: source.fileName, line: pos.line, col: pos.col, path: formatPath(full), reason };
    });
  });
  out.sort((a, b) => a.line - b.line || a.col - b.col);
  return new IoamConfigError(out);
}

function allowedKeysHint(path: readonly PropertyKey[]): string {
  const keysOf = (s: z.ZodObject) => Object.keys(s.shape).join(', ');
  const parent = path.slice(0, -1).filter((p) => typeof p !== 'number');
  const key = parent.join('.');
  const table: Record<string, string> = {
    '': keysOf(nodeConfigObject),
    interfaces: keysOf(interfaceConfigSchema),
    namespaces: keysOf(namespaceConfigSchema),
    schemas: keysOf(schemaConfigSchema),
    encap: keysOf(encapConfigSchema),
    'encap.trace': 'type, ns, size, incremental',
    'encap.freq': 'k, n',
    'schemas.data': 'hex',
  };
  return table[key] ?? 'see docs/DESIGN.md';
}

/** Parses and validates a node file's text. Throws {@link IoamConfigError} (`file:line: path: reason`). */
export function parseNodeConfig(text: string, fileName = '<node>'): NodeConfig {
  const { source, value } = parseYamlSource(text, fileName);
  const r = nodeConfigSchema.safeParse(value ?? {});
  if (!r.success) throw configErrorFromZod(r.error.issues, source);
  return r.data;
}

/** Reads and validates a node file. Errors name the file by its base name and path as given. */
export function loadNodeFile(path: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new IoamConfigError([{ file: path, line: 1, col: 1, path: '<file>', reason: `cannot read node file: ${why}` }]);
  }
  return parseNodeConfig(text, path || basename(path));
}

/** Validates an object (not YAML): errors have line 1 and the path. */
export function validateNodeConfig(obj: unknown, fileName = '<object>'): NodeConfig {
  const r = nodeConfigSchema.safeParse(obj);
  if (!r.success) throw configErrorFromZod(r.error.issues, { fileName });
  return r.data;
}

// ---------------------------------------------------------------------------------------------
// To the native binding

/** 16 bytes of an IPv6 address text (already validated by `isIPv6`). */
export function ipv6ToBytes(a: string): Uint8Array {
  let s = a;
  const out = new Uint8Array(16);
  // IPv4-embedded tail (::ffff:1.2.3.4)
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4) {
    tail = [Number(v4[1]) * 256 + Number(v4[2]), Number(v4[3]) * 256 + Number(v4[4])];
    s = s.slice(0, v4.index) + '0:0';
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const r = rest === undefined ? [] : rest ? rest.split(':') : [];
  const words = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  const w = words.map((x) => parseInt(x, 16));
  if (tail.length) w.splice(6, 2, tail[0]!, tail[1]!);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = (w[i]! >> 8) & 0xff;
    out[2 * i + 1] = w[i]! & 0xff;
  }
  return out;
}

/** The JSON the core deserialises (`ioam_core::config`, serde; u64 as decimal strings). */
export interface NativeNodeConfig {
  profile: 'linux' | 'rfc';
  ioam6_id: number;
  ioam6_id_wide: string;
  interfaces: { name: string; ioam6_enabled: boolean; ioam6_id: number; ioam6_id_wide: number }[];
  namespaces: { id: number; data: number | null; wide: string | null; schema: number | null; clt_legacy: boolean }[];
  schemas: { id: number; data_hex: string }[];
  encap: null | {
    mode: 'inline' | 'encap' | 'auto';
    tunsrc: string;
    tundst: string;
    trace_type: number;
    namespace: number;
    size: number;
    incremental: boolean;
    freq_k: number;
    freq_n: number;
    clt_legacy: boolean;
    clt_oss_schema?: number;
  };
}

/** The native binding's view of a config (see {@link NativeNodeConfig}). */
export function toNativeObject(cfg: NodeConfig): NativeNodeConfig {
  return {
    profile: cfg.profile,
    ioam6_id: cfg.ioam6_id,
    ioam6_id_wide: cfg.ioam6_id_wide.toString(),
    interfaces: cfg.interfaces.map((i) => ({ name: i.name, ioam6_enabled: i.ioam6_enabled, ioam6_id: i.ioam6_id, ioam6_id_wide: i.ioam6_id_wide })),
    namespaces: cfg.namespaces.map((n) => ({
      id: n.id,
      data: n.data ?? null,
      wide: n.wide === undefined ? null : n.wide.toString(),
      schema: n.schema ?? null,
      clt_legacy: n.clt_legacy,
    })),
    schemas: cfg.schemas.map((s) => ({ id: s.id, data_hex: Buffer.from(s.data).toString('hex') })),
    encap: cfg.encap
      ? {
          mode: cfg.encap.mode,
          tunsrc: cfg.encap.tunsrc ?? '::',
          tundst: cfg.encap.tundst ?? '::',
          trace_type: cfg.encap.trace.type,
          namespace: cfg.encap.trace.ns,
          size: cfg.encap.trace.size,
          incremental: cfg.encap.trace.incremental,
          freq_k: cfg.encap.freq.k,
          freq_n: cfg.encap.freq.n,
          clt_legacy: cfg.encap.clt_legacy,
          ...(cfg.encap.clt_oss_schema !== undefined ? { clt_oss_schema: cfg.encap.clt_oss_schema } : {}),
        }
      : null,
  };
}

/** The JSON string `new NativeNode(json)` takes (bigints as decimal strings). */
export function toNativeConfig(cfg: NodeConfig): string {
  return JSON.stringify(toNativeObject(cfg));
}
