/**
 * The neutral graph an importer produces (nodes with optional coordinates, links with optional
 * interface names, delay and bandwidth), and the great-circle delay of a link between two
 * coordinates at 2/3 of the speed of light (light in fibre).
 * @module
 */

export interface ImportedNode {
  name: string;
  /** containerlab kind (`linux` = a host), GraphML `type`, ... */
  kind?: string;
  lat?: number;
  lon?: number;
}

export interface ImportedLink {
  a: string;
  b: string;
  aIf?: string;
  bIf?: string;
  delayNs?: number;
  bandwidthBps?: number;
}

export interface ImportedGraph {
  name: string;
  nodes: ImportedNode[];
  links: ImportedLink[];
  /** Source positions for error messages: `file:line`. */
  source: string;
}

const EARTH_RADIUS_M = 6_371_000;
/** 2/3 c in m/s. */
export const FIBRE_SPEED_MPS = (2 / 3) * 299_792_458;

/** Great-circle (haversine) distance in metres between two points in degrees. */
export function greatCircleM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const dLat = (lat2 - lat1) * r;
  const dLon = (lon2 - lon1) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Propagation delay (integer ns, at least 1) over the great circle between two nodes with coordinates. */
export function fibreDelayNs(a: ImportedNode, b: ImportedNode): number | undefined {
  if (a.lat === undefined || a.lon === undefined || b.lat === undefined || b.lon === undefined) return undefined;
  return Math.max(1, Math.round((greatCircleM(a.lat, a.lon, b.lat, b.lon) / FIBRE_SPEED_MPS) * 1e9));
}

/** A topology name from any label: letters, digits, `_ . -` (others become `_`), unique among `taken`. */
export function safeName(label: string, taken: Set<string>): string {
  const base = label.trim().replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'node';
  let name = base;
  for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}
