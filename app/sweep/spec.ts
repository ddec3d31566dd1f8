/**
 * Sweep files: a base topology and the values to vary (docs/SCALE.md, examples/sweep.yaml).
 *
 * ```yaml
 * base: linear.yaml                       # topology file (relative to this file); a list varies it
 * set: { duration: 1ms }                  # fixed changes applied to every point
 * seeds: 1..3                             # or [1, 5, 9], or 7
 * grid:                                   # full cartesian product (last key varies fastest)
 *   domains[0].size: [48, 64]
 *   traffic.flows[ping].rate_pps: [10000, 40000]   # [name] selects the element by its name
 *   links[*].bandwidth: [1Gbps]                    # [*] every element
 * points:                                 # and/or a list of points (each crossed with the grid)
 *   - base: leaf-spine.yaml                # (block style: in { } a key with [ ] needs quotes)
 *     duration: 2ms
 * ```
 * Expansion order: points × grid × seeds, seeds fastest. Errors are `file:line: path: reason`.
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { locate, parseYamlSource, type YamlSource } from '../../src/config';
import { IoamConfigError } from '../../src/errors';

/** One step of a field path: a map key, an index, `[*]` (every element) or `[name]`. */
export type PathStep = { key: string } | { index: number } | { all: true } | { name: string };

/** Parses `domains[0].size`, `traffic.flows[ping].rate_pps`, `links[*].bandwidth`. */
export function parseFieldPath(text: string): PathStep[] | string {
  const steps: PathStep[] = [];
  let i = 0;
  let expectKey = true;
  while (i < text.length) {
    if (text[i] === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) return `unclosed "[" at character ${i + 1}`;
      const sel = text.slice(i + 1, end).trim();
      if (sel === '') return `empty "[]" at character ${i + 1}`;
      if (steps.length === 0) return 'a path starts with a field name';
      steps.push(sel === '*' ? { all: true } : /^[0-9]+$/.test(sel) ? { index: Number(sel) } : { name: sel });
      i = end + 1;
      expectKey = false;
      continue;
    }
    if (text[i] === '.') {
      if (expectKey) return `unexpected "." at character ${i + 1}`;
      i++;
      expectKey = true;
      continue;
    }
    if (!expectKey) return `expected "." or "[" at character ${i + 1}`;
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i));
    if (!m) return `expected a field name at character ${i + 1}`;
    steps.push({ key: m[0] });
    i += m[0].length;
    expectKey = false;
  }
  if (expectKey) return text === '' ? 'empty path' : 'a path ends with a field name or selector';
  return steps;
}

/** A value given to a field path, with where it was written. */
export interface Assignment {
  /** The path as written (the column name in the results). */
  key: string;
  steps: PathStep[];
  value: unknown;
  /** Line of the value in the sweep file. */
  line: number;
}

/** One point of the sweep, before it is written out. */
export interface PointSpec {
  index: number;
  /** The base topology file (absolute) and as written in the sweep file. */
  base: string;
  baseLabel: string;
  baseLine: number;
  /** Field assignments (fixed `set:` ones first, then the point's, then the grid's). */
  assignments: Assignment[];
  seed?: number;
  /** The varied parameters of this point: column → value. */
  params: Record<string, unknown>;
}

export interface SweepSpec {
  file: string;
  /** Names of the varied-parameter columns, in order (`base` first when it varies). */
  paramColumns: string[];
  points: PointSpec[];
  source: YamlSource;
}

const TOP_KEYS = new Set(['base', 'set', 'seeds', 'grid', 'points']);
const MAX_POINTS = 1_000_000;

/** YAML integers come as BigInt: numbers when safe, other values as they are (deeply). */
export function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** `1..10`, `[1, 2, 5]` or `7` → seeds; else an error reason. */
export function parseSeeds(v: unknown): number[] | string {
  v = plain(v);
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (ok(v)) return [v];
  if (typeof v === 'string') {
    const m = /^\s*([0-9]+)\s*\.\.\s*([0-9]+)\s*$/.exec(v);
    if (!m) return 'expected a range like "1..10", a list of seeds or one seed';
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (b < a) return `the range ${v} is empty (end before start)`;
    if (b - a >= MAX_POINTS) return `the range ${v} has more than ${MAX_POINTS} seeds`;
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  if (Array.isArray(v) && v.length > 0 && v.every(ok)) {
    if (new Set(v).size !== v.length) return 'a seed is listed twice';
    return v;
  }
  return 'expected a range like "1..10", a non-empty list of non-negative integers or one seed';
}

/** Reads and expands a sweep file. Throws `IoamConfigError` with every problem found. */
export function loadSweep(file: string): SweepSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new IoamConfigError([{ file, line: 1, col: 1, path: '<file>', reason: `cannot read: ${(e as Error).message}` }]);
  }
  return parseSweep(text, file);
}

/** Parses sweep text; `file` names it in errors and relative `base` paths resolve from its folder. */
export function parseSweep(text: string, file: string): SweepSpec {
  const { source, value } = parseYamlSource(text, file);
  const issues: { file: string; line: number; col: number; path: string; reason: string }[] = [];
  const fail = (p: (string | number)[], reason: string): void => {
    const pos = locate(source, p);
    issues.push({ file, line: pos.line, col: pos.col, path: fmt(p), reason });
  };
  const lineOf = (p: (string | number)[]): number => locate(source, p).line;
  const doc = (value ?? {}) as Record<string, unknown>;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    fail([], 'a sweep file is a mapping with base:, and grid:, points:, seeds: or set:');
    throw new IoamConfigError(issues);
  }
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) fail([k], `unknown key (expected one of ${[...TOP_KEYS].join(', ')})`);
  const dir = path.dirname(path.resolve(file));

  // Base topologies.
  const baseOf = (v: unknown, p: (string | number)[]): { base: string; label: string; line: number } | undefined => {
    if (typeof v !== 'string' || v === '') {
      fail(p, 'expected a topology file path (relative to the sweep file)');
      return undefined;
    }
    const abs = path.resolve(dir, v);
    if (!fs.existsSync(abs)) {
      fail(p, `topology file ${v} not found (looked at ${abs})`);
      return undefined;
    }
    if (!fs.statSync(abs).isFile()) {
      fail(p, `${v} is not a file (looked at ${abs})`);
      return undefined;
    }
    return { base: abs, label: v, line: lineOf(p) };
  };
  let bases: ({ base: string; label: string; line: number } | undefined)[] = [];
  const baseVaries = Array.isArray(doc.base);
  if (Array.isArray(doc.base)) {
    if (doc.base.length === 0) fail(['base'], 'an empty list of topology files');
    bases = doc.base.map((b, i) => baseOf(b, ['base', i]));
  } else if (doc.base !== undefined) {
    bases = [baseOf(doc.base, ['base'])];
  }

  const assignmentsOf = (obj: unknown, p: (string | number)[], listValues: boolean): { key: string; steps: PathStep[]; values: { v: unknown; line: number }[] }[] => {
    if (obj === undefined) return [];
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      fail(p, 'expected a mapping of field paths to values, e.g. "domains[0].size: [32, 64]"');
      return [];
    }
    const out: { key: string; steps: PathStep[]; values: { v: unknown; line: number }[] }[] = [];
    for (const [key, raw] of Object.entries(obj)) {
      if (key === 'base') continue; // a point's own topology file (points:)
      if (key === 'seed') {
        fail([...p, key], 'vary seeds with the top-level seeds: key');
        continue;
      }
      const steps = parseFieldPath(key);
      if (typeof steps === 'string') {
        fail([...p, key], `bad field path: ${steps}`);
        continue;
      }
      if (!listValues) {
        out.push({ key, steps, values: [{ v: plain(raw), line: lineOf([...p, key]) }] });
        continue;
      }
      if (!Array.isArray(raw) || raw.length === 0) {
        fail([...p, key], 'expected a non-empty list of values, e.g. [16, 32, 64]');
        continue;
      }
      out.push({ key, steps, values: raw.map((v, i) => ({ v: plain(v), line: lineOf([...p, key, i]) })) });
    }
    return out;
  };

  const fixed = assignmentsOf(doc.set, ['set'], false);
  const grid = assignmentsOf(doc.grid, ['grid'], true);
  let seeds: (number | undefined)[] = [undefined];
  if (doc.seeds !== undefined) {
    const s = parseSeeds(doc.seeds);
    if (typeof s === 'string') fail(['seeds'], s);
    else seeds = s;
  }

  // Points: each a mapping of path → one value, optionally with its own base.
  type PointIn = { base?: { base: string; label: string; line: number }; assigns: Assignment[]; line: number };
  let listed: PointIn[] = [{ assigns: [], line: 1 }];
  if (doc.points !== undefined) {
    if (!Array.isArray(doc.points) || doc.points.length === 0) {
      fail(['points'], 'expected a non-empty list of points, e.g. - { domains[0].size: 32 }');
    } else {
      listed = doc.points.map((pt, i) => {
        const assigns = assignmentsOf(pt, ['points', i], false).map((a) => ({ key: a.key, steps: a.steps, value: a.values[0]!.v, line: a.values[0]!.line }));
        const own = pt && typeof pt === 'object' && 'base' in pt ? baseOf((pt as { base: unknown }).base, ['points', i, 'base']) : undefined;
        return { base: own, assigns, line: lineOf(['points', i]) };
      });
    }
  }
  const pointBaseVaries = listed.some((p) => p.base !== undefined);
  if (bases.length === 0 && listed.some((p) => p.base === undefined) && issues.length === 0) {
    fail([], 'no topology: give base: (a file or a list of files) or base: in every point');
  }
  if (issues.length) throw new IoamConfigError(issues.sort((a, b) => a.line - b.line));

  // Columns: base (if it varies), point keys, grid keys.
  const paramColumns: string[] = [];
  const addCol = (k: string): void => {
    if (!paramColumns.includes(k)) paramColumns.push(k);
  };
  if (baseVaries || pointBaseVaries) addCol('base');
  if (doc.points !== undefined) for (const p of listed) for (const a of p.assigns) addCol(a.key);
  for (const g of grid) addCol(g.key);

  const total = Math.max(1, bases.length) * listed.length * grid.reduce((n, g) => n * g.values.length, 1) * seeds.length;
  if (total > MAX_POINTS) throw new IoamConfigError([{ file, line: 1, col: 1, path: '<root>', reason: `${total} points: more than ${MAX_POINTS}` }]);

  const points: PointSpec[] = [];
  const baseList = bases.length ? bases : [undefined];
  for (const b of baseList) {
    for (const pt of listed) {
      const base = pt.base ?? b!;
      for (const combo of gridCombos(grid)) {
        for (const seed of seeds) {
          const params: Record<string, unknown> = {};
          if (paramColumns.includes('base')) params.base = base.label;
          for (const a of pt.assigns) params[a.key] = a.value;
          for (const a of combo) params[a.key] = a.value;
          points.push({
            index: points.length,
            base: base.base,
            baseLabel: base.label,
            baseLine: pt.base ? pt.line : base.line,
            assignments: [
              ...fixed.map((f) => ({ key: f.key, steps: f.steps, value: f.values[0]!.v, line: f.values[0]!.line })),
              ...pt.assigns,
              ...combo,
            ],
            seed,
            params,
          });
        }
      }
    }
  }
  return { file, paramColumns, points, source };
}

function* gridCombos(grid: { key: string; steps: PathStep[]; values: { v: unknown; line: number }[] }[]): Generator<Assignment[]> {
  const idx = grid.map(() => 0);
  for (;;) {
    yield grid.map((g, i) => ({ key: g.key, steps: g.steps, value: g.values[idx[i]!]!.v, line: g.values[idx[i]!]!.line }));
    let k = grid.length - 1;
    while (k >= 0 && ++idx[k]! === grid[k]!.values.length) idx[k--] = 0;
    if (k < 0) return;
  }
}

function fmt(p: (string | number)[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s ? `.${k}` : k;
  return s || '<root>';
}
