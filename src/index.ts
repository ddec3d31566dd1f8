/**
 * ioamsim — a user-space IPv6 IOAM dataplane (Rust core via napi-rs) for simulation and testing.
 *
 * Public API:
 * - {@link Node}: an IOAM node (encapsulating / transit / decapsulating) built from a node file;
 *   works on {@link PacketBatch}es in place, one native call per batch.
 * - {@link PacketBatch}: packets in slots of one (Shared)ArrayBuffer plus the batch ABI tables.
 * - {@link decode} / {@link encode}: whole packets ⇄ typed objects (the wire layer's JSON schema).
 * - {@link parseNodeConfig} / {@link loadNodeFile} / {@link nodeConfigSchema}: the node file.
 * - {@link Reason}, {@link Verdict}: what the dataplane did; {@link IoamError}: typed errors.
 *
 * ```ts
 * import { Node, PacketBatch, decode } from 'ioamsim';
 * const r1 = Node.fromFile('examples/r1.yaml');
 * const batch = new PacketBatch({ capacity: 64 });
 * batch.push(packet, { ingressIf: 0, egressIf: 1, tsSec: 1_700_000_000 });
 * r1.transit(batch);
 * console.log(batch.outcome(0).reasonName, decode(batch.packet(0)));
 * ```
 * @packageDocumentation
 */
export { Node, COPY_HEADROOM } from './node';
export type { PacketResult } from './node';
export {
  PacketBatch,
  DEFAULT_META,
  DESC_STRIDE,
  META_STRIDE,
  OUT_STRIDE,
  TRACE_DESC_STRIDE,
  CLT_STRIDE,
  IF_NONE,
  UNAVAILABLE,
  META_F_NO_TSTAMP,
  metaWords,
  writeMeta,
} from './batch';
export type { PacketBatchOptions, PacketMeta, PacketOutcome } from './batch';
export {
  nodeConfigSchema,
  nodeObjectSchema,
  checkNodeConfig,
  interfaceConfigSchema,
  namespaceConfigSchema,
  schemaConfigSchema,
  encapConfigSchema,
  parseNodeConfig,
  loadNodeFile,
  validateNodeConfig,
  parseYamlSource,
  configErrorFromZod,
  locate,
  formatPath,
  toNativeConfig,
  toBigIntValue,
  ipv6ToBytes,
  IOAM6_ID_MAX,
  IOAM6_ID_WIDE_MAX,
  IF_ID_DEFAULT,
  IF_ID_WIDE_DEFAULT,
  SCHEMA_DATA_MAX,
  TRACE_TYPE_ENCAP_FORBIDDEN,
} from './config';
export type {
  NodeConfig,
  NodeConfigInput,
  InterfaceConfig,
  NamespaceConfig,
  SchemaConfig,
  EncapConfig,
  YamlSource,
  IntInput,
} from './config';
export { IoamError, IoamConfigError, normalizeNativeError, fromNativeError, formatConfigIssue, IOAM_ERROR_CODES } from './errors';
export type { IoamErrorCode, IoamLayer, ConfigIssue } from './errors';
export { Reason, Verdict, REASON_STRINGS, reasonName, reasonString, verdictOf, OUT_F_LOOPBACK } from './reasons';
export type { ReasonName } from './reasons';
export { META_WORD, DESC_WORD, OUT_WORD, PKT_OUT_WORD, PKT_OUT_WORDS, REASON_DROP_MIN } from './generated/abi';
export { decode, encode, decodeJson, u64, ioamOptions } from './decode';
export { FlatTraces, decodeTraceFlat, layoutCode, TRACE_SKIP, TRACE_REC_WORD, TRACE_OPT_WORD, TRACE_HOP_WORD, TRACE_REC_WORDS, TRACE_OPT_WORDS, TRACE_HOP_WORDS, TRACE_ERRORS } from './traceflat';
export { nodeLenForType, elementLayout, TRACE_BIT, TRACE_UNDEFINED_BITS, TRACE_OSS_BIT, TRACE_RESERVED_BIT } from './tracetype';
export type { ElementField } from './tracetype';
export type * from './decode';
export { stepTables, stepTableBytes, STEP_F, STEP_S, type StepTables } from './step';
export { NativeLoadError, native } from './native';
import { native } from './native';

/** Version of the native core (`ioam-core`). */
export function coreVersion(): string {
  return native().coreVersion();
}
