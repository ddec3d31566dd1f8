/**
 * The native raw-packet helpers of the kernel check (crates/ioam-napi/src/netio.rs), loaded from
 * the project's addon through `src/native.ts`. `IOAMSIM_NATIVE` may point at another build of the
 * addon (a `.node` or its `index.cjs`) for the I/O part.
 * @module
 */
import { native } from '../../src/native';

/** One frame received on an AF_PACKET socket. */
export interface CapturedFrame {
  /** The frame, Ethernet header included. */
  data: Buffer;
  origLen: number;
  /** Kernel receive timestamp (SO_TIMESTAMPNS), ns since the epoch; 0n if absent. */
  tsNs: bigint;
  /** sll_pkttype: 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing. */
  pktType: number;
}

/** An AF_PACKET raw socket bound to one interface of one network namespace. */
export interface PacketSocket {
  readonly ifindex: number;
  send(frame: Uint8Array): number;
  recv(timeoutMs: number, maxFrames: number): CapturedFrame[];
  drain(): number;
  close(): void;
}

/** A datagram received on a {@link UdpSocket} with its IPv6 ancillary data. */
export interface UdpDatagram {
  payload: Buffer;
  from: string;
  fromPort: number;
  /** Hop-by-Hop header after the receiving node's own IOAM fill (IPV6_HOPOPTS), or null. */
  hopOpts: Buffer | null;
  dstOpts: Buffer | null;
  hopLimit: number;
  tsNs: bigint;
}

/** A UDP/IPv6 socket bound to [::]:port in a network namespace (IPV6_RECVHOPOPTS etc.). */
export interface UdpSocket {
  recv(timeoutMs: number, maxDatagrams: number): UdpDatagram[];
  close(): void;
}

export interface NetioBinding {
  PacketSocket: { open(netns: string, ifname: string): PacketSocket };
  UdpSocket: { open(netns: string, port: number): UdpSocket };
  netnsWriteFiles(netns: string, paths: string[], values: string[]): void;
  netnsReadFile(netns: string, path: string): string;
}

let cached: NetioBinding | undefined;

/** The native helpers; throws a clear error if the addon is missing or too old. */
export function netio(): NetioBinding {
  if (cached) return cached;
  const file = process.env.IOAMSIM_NATIVE ?? 'native/index.cjs';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = (process.env.IOAMSIM_NATIVE ? require(process.env.IOAMSIM_NATIVE) : native()) as Partial<NetioBinding>;
  if (typeof m.PacketSocket?.open !== 'function' || typeof m.UdpSocket?.open !== 'function' || typeof m.netnsWriteFiles !== 'function' || typeof m.netnsReadFile !== 'function') {
    throw new Error(`the native addon at ${file} lacks the kernel-check I/O (PacketSocket, netnsWriteFiles): rebuild it with \`npm run build:native\``);
  }
  cached = m as NetioBinding;
  return cached;
}
