/**
 * Capture files: pcap / pcapng readers (streaming and in-memory) and writers. Pure TypeScript.
 * See docs/CAPTURE.md.
 */
export { CaptureError, type CaptureErrorCode } from './errors';
export {
  LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_IPV4, LINKTYPE_IPV6,
  ETHERTYPE_IPV4, ETHERTYPE_IPV6, networkLayer, linktypeName, type NetworkLayer,
} from './linktype';
export {
  CaptureParser, CaptureFileReader, readCapture, readCaptureSync, readCaptureFileBytes, parseCapture, MAX_BLOCK_BYTES,
  type CaptureRecord, type CaptureInterface, type CaptureInfo, type CaptureFormat, type CaptureReadResult,
  type ReadCaptureOptions,
} from './reader';
export {
  PcapngWriter, PcapWriter, FileSink, writesInPlace, MemorySink, createPcapngFile, createPcapFile, encodePcapng, encodePcap, splitTimestampNs,
  PARTIAL_SUFFIX, type ByteSink, type WriterInterface, type WriterPacket,
} from './writer';
export { fdStream, writeMode, type FdStream, type WriteError } from './bgwriter';
