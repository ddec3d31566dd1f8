/**
 * Link-layer types (tcpdump.org "LINK-LAYER HEADER TYPES") and where the network layer starts.
 */

export const LINKTYPE_ETHERNET = 1;
/** Raw IP, version from the first nibble (LINKTYPE_RAW). */
export const LINKTYPE_RAW = 101;
/** Linux cooked capture v1 (16-byte header). */
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
/** Linux cooked capture v2 (20-byte header). */
export const LINKTYPE_LINUX_SLL2 = 276;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;

/** Where a frame's network layer starts and what it is. `offset` is null if unknown/truncated. */
export interface NetworkLayer {
  offset: number | null;
  ethertype: number | null;
}

const NONE: NetworkLayer = { offset: null, ethertype: null };

function ipVersion(bytes: Uint8Array, off: number): number | null {
  if (bytes.length <= off) return null;
  const v = bytes[off]! >> 4;
  return v === 6 ? ETHERTYPE_IPV6 : v === 4 ? ETHERTYPE_IPV4 : null;
}

/**
 * Find the network layer of a captured frame. Ethernet: after 14 bytes plus any 802.1Q/802.1ad
 * tags; SLL: protocol at byte 14, payload at 16; SLL2: protocol at byte 0, payload at 20; raw
 * links: at 0, the ethertype from the IP version nibble. Never reads out of bounds.
 */
export function networkLayer(linktype: number, bytes: Uint8Array): NetworkLayer {
  const u16 = (o: number) => (bytes[o]! << 8) | bytes[o + 1]!;
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      let off = 12;
      if (bytes.length < off + 2) return NONE;
      let type = u16(off);
      while ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && bytes.length >= off + 6) {
        off += 4;
        type = u16(off);
      }
      if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) return NONE;
      return { offset: off + 2, ethertype: type };
    }
    case LINKTYPE_RAW: {
      const type = ipVersion(bytes, 0);
      return type === null ? NONE : { offset: 0, ethertype: type };
    }
    case LINKTYPE_IPV4:
      return { offset: 0, ethertype: ETHERTYPE_IPV4 };
    case LINKTYPE_IPV6:
      return { offset: 0, ethertype: ETHERTYPE_IPV6 };
    case LINKTYPE_LINUX_SLL:
      if (bytes.length < 16) return NONE;
      return { offset: 16, ethertype: u16(14) };
    case LINKTYPE_LINUX_SLL2:
      if (bytes.length < 20) return NONE;
      return { offset: 20, ethertype: u16(0) };
    default:
      return NONE;
  }
}

/** A short name for a link type, for messages and tables. */
export function linktypeName(linktype: number): string {
  switch (linktype) {
    case LINKTYPE_ETHERNET: return 'ethernet';
    case LINKTYPE_RAW: return 'raw';
    case LINKTYPE_LINUX_SLL: return 'linux-sll';
    case LINKTYPE_IPV4: return 'ipv4';
    case LINKTYPE_IPV6: return 'ipv6';
    case LINKTYPE_LINUX_SLL2: return 'linux-sll2';
    default: return `linktype-${linktype}`;
  }
}
