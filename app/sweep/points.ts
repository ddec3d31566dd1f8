/**
 * A sweep's points on disk: DIR/sweep.json (the manifest) and DIR/points/NNNN/ with the point's
 * topology.yaml (the base topology with the point's values, validated by the simulator's loader),
 * point.json, and once run: run/ (the `ioamsim run` outputs), log.txt, attempts.log and done.json.
 *
 * A point is complete when run/summary.json is in place (the simulator renames it there last) and
 * done.json (written by rename) says it succeeded; anything else is redone.
 * @module
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { parseYamlSource } from '../../src/config';
import { IoamConfigError } from '../../src/errors';
import type { ConfigIssue } from '../../src/errors';
import { parseTopology } from '../../sim/topology';
import type { Assignment, PathStep, PointSpec, SweepSpec } from './spec';

export interface ManifestPoint {
  index: number;
  dir: string;
  params: Record<string, unknown>;
  seed: number | null;
  topology_sha256: string;
}

export interface Manifest {
  version: 1;
  sweep_file: string;
  param_columns: string[];
  points: ManifestPoint[];
}

export const pointName = (index: number, total: number): string => String(index).padStart(Math.max(4, String(total - 1).length), '0');
export const pointDir = (dir: string, m: Manifest, index: number): string => path.join(dir, m.points[index]!.dir);

/** Concrete paths for a path with selectors, against the document; or an error reason. */
function expand(doc: Document, steps: PathStep[]): (string | number)[][] | string {
  let paths: (string | number)[][] = [[]];
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s]!;
    const last = s === steps.length - 1;
    const next: (string | number)[][] = [];
    for (const p of paths) {
      const here = p.length ? doc.getIn(p, true) : doc.contents;
      const where = p.length ? fmtPath(p) : 'the top level';
      if ('key' in step) {
        if (here !== undefined && here !== null && !isMap(here)) return `${where} is not a mapping`;
        if (!last && (here === undefined || here === null || !isMap(here) || !here.has(step.key))) {
          // Intermediate mappings are created (e.g. defaults.link.delay); a list is never invented.
          const nextStep = steps[s + 1]!;
          if (!('key' in nextStep)) return `${fmtPath([...p, step.key])} does not exist in the topology`;
        }
        next.push([...p, step.key]);
        continue;
      }
      if (!isSeq(here)) return `${where} is not a list`;
      if ('index' in step) {
        if (step.index >= here.items.length) return `${fmtPath([...p, step.index])} does not exist (the list has ${here.items.length} elements)`;
        next.push([...p, step.index]);
      } else if ('all' in step) {
        if (here.items.length === 0) return `${where}[*] matches nothing (empty list)`;
        here.items.forEach((_, i) => next.push([...p, i]));
      } else {
        const i = here.items.findIndex((it) => isMap(it) && isScalar(it.get('name', true)) && String((it.get('name', true) as { value: unknown }).value) === step.name);
        if (i < 0) return `${where} has no element named "${step.name}"`;
        next.push([...p, i]);
      }
    }
    paths = next;
  }
  return paths;
}

function fmtPath(p: (string | number)[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s ? `.${k}` : k;
  return s;
}

/** The point's topology text and the concrete paths each assignment set. */
export function pointTopology(point: PointSpec, baseText: string): { text: string; set: { a: Assignment; paths: string[] }[] } | { error: Assignment; reason: string } {
  const doc = parseDocument(baseText, { intAsBigInt: true });
  const set: { a: Assignment; paths: string[] }[] = [];
  for (const a of point.assignments) {
    const paths = expand(doc, a.steps);
    if (typeof paths === 'string') return { error: a, reason: paths };
    for (const p of paths) doc.setIn(p, doc.createNode(a.value));
    set.push({ a, paths: paths.map(fmtPath) });
  }
  if (point.seed !== undefined) doc.set('seed', point.seed);
  return { text: doc.toString({ lineWidth: 0 }), set };
}

const describe = (params: Record<string, unknown>): string =>
  Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');

/**
 * Writes every point's topology.yaml and point.json into DIR, validating each with the simulator's
 * topology loader first (nothing is written if any point is invalid), and the manifest. Throws
 * IoamConfigError naming the sweep file, line and point. A DIR that holds a different sweep is an
 * error (a rerun of the same sweep keeps the points already done).
 */
export function materialize(spec: SweepSpec, dir: string): Manifest {
  const total = spec.points.length;
  const baseTexts = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  const out: { mp: ManifestPoint; text: string; json: string }[] = [];
  const badBases = new Set<string>();
  for (const p of spec.points) {
    const name = pointName(p.index, total);
    const label = `point ${name}${Object.keys(p.params).length || p.seed !== undefined ? ` (${describe({ ...p.params, ...(p.seed !== undefined ? { seed: p.seed } : {}) })})` : ''}`;
    let base = baseTexts.get(p.base);
    if (base === undefined) {
      base = fs.readFileSync(p.base, 'utf8');
      baseTexts.set(p.base, base);
      try {
        parseYamlSource(base, p.baseLabel);
      } catch (e) {
        if (!(e instanceof IoamConfigError)) throw e;
        for (const i of e.issues) issues.push({ file: spec.file, line: p.baseLine, col: 1, path: 'base', reason: `${i.file}:${i.line}: ${i.reason}` });
        badBases.add(p.base);
      }
    }
    if (badBases.has(p.base)) continue;
    const t = pointTopology(p, base);
    if ('error' in t) {
      issues.push({ file: spec.file, line: t.error.line, col: 1, path: t.error.key, reason: `${label}: ${t.reason}` });
      continue;
    }
    const rel = path.join('points', name, 'topology.yaml');
    try {
      parseTopology(t.text, rel);
    } catch (e) {
      if (!(e instanceof IoamConfigError)) throw e;
      for (const i of e.issues) {
        // The sweep line that set the failing field, else the line naming the point's topology.
        const by = t.set.find((s) => s.paths.some((q) => i.path === q || i.path.startsWith(q + '.') || i.path.startsWith(q + '[')));
        issues.push({ file: spec.file, line: by?.a.line ?? p.baseLine, col: 1, path: by?.a.key ?? 'base', reason: `${label}: ${i.file}:${i.line}: ${i.path}: ${i.reason}` });
      }
      continue;
    }
    const mp: ManifestPoint = { index: p.index, dir: path.join('points', name), params: p.params, seed: p.seed ?? null, topology_sha256: createHash('sha256').update(t.text).digest('hex') };
    out.push({ mp, text: t.text, json: JSON.stringify({ index: p.index, base: p.baseLabel, params: p.params, seed: p.seed ?? null }, null, 2) + '\n' });
  }
  if (issues.length) throw new IoamConfigError(issues);

  const manifest: Manifest = { version: 1, sweep_file: path.resolve(spec.file), param_columns: spec.paramColumns, points: out.map((o) => o.mp) };
  const old = readManifest(dir);
  if (old) {
    const diff = sameSweep(old, manifest);
    if (diff) {
      throw new IoamConfigError([{ file: spec.file, line: 1, col: 1, path: '<root>', reason: `${path.join(dir, 'sweep.json')} holds a different sweep (${diff}): use another --out, or delete that directory` }]);
    }
  }
  for (const o of out) {
    const pdir = path.join(dir, o.mp.dir);
    fs.mkdirSync(pdir, { recursive: true });
    writeIfChanged(path.join(pdir, 'topology.yaml'), o.text);
    writeIfChanged(path.join(pdir, 'point.json'), o.json);
  }
  writeAtomic(path.join(dir, 'sweep.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

function sameSweep(a: Manifest, b: Manifest): string | undefined {
  if (a.points.length !== b.points.length) return `${a.points.length} points there, ${b.points.length} now`;
  for (let i = 0; i < a.points.length; i++) {
    const x = a.points[i]!;
    const y = b.points[i]!;
    if (x.topology_sha256 !== y.topology_sha256 || JSON.stringify(x.params) !== JSON.stringify(y.params)) return `point ${x.dir} differs`;
  }
  return undefined;
}

export function readManifest(dir: string): Manifest | undefined {
  const f = path.join(dir, 'sweep.json');
  if (!fs.existsSync(f)) return undefined;
  return JSON.parse(fs.readFileSync(f, 'utf8')) as Manifest;
}

function writeIfChanged(file: string, text: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  writeAtomic(file, text);
}

/** Writes a file by writing `file.partial` and renaming it into place. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.partial`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** done.json of a point that succeeded. */
export interface DoneMarker {
  ok: true;
  wall_ms: number;
  executor: string;
  host: string;
}

/** Whether the point is complete: its summary.json in place and a done marker saying so. */
export function isComplete(pdir: string): boolean {
  const done = path.join(pdir, 'done.json');
  if (!fs.existsSync(done) || !fs.existsSync(path.join(pdir, 'run', 'summary.json'))) return false;
  try {
    return (JSON.parse(fs.readFileSync(done, 'utf8')) as DoneMarker).ok === true;
  } catch {
    return false;
  }
}
