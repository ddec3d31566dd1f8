/**
 * The answer to "the request is slow: app, server, database or network, and which hop?".
 *
 * Per request (trace): the self time of every service span (its duration minus the calls it made)
 * and the time of every network hop on the way (from the IOAM timestamps of the packet that
 * completed each message), plus what is left (client-side stack). Over the run: the slowest
 * requests (≥ p90 duration) are compared with the median of every contributor; the contributor
 * with the largest excess is named, with the IOAM evidence (queue depth at that hop).
 * @module
 */
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NetSpan } from './collector';

export type ContributorKind = 'service' | 'hop' | 'other';

export interface Contribution {
  kind: ContributorKind;
  /** `service api`, `hop r2→r3` (the hop span's name), `other frontend client stack`. */
  name: string;
  ns: number;
  /** Largest IOAM queue depth seen at this hop (bytes), hops only. */
  maxQueueDepth?: number;
}

export interface RequestBreakdown {
  traceId: string;
  name: string;
  service: string;
  startNs: bigint;
  durationNs: number;
  contributions: Contribution[];
  slowest: Contribution;
  /** Network spans of this trace that fall outside the span they are attached to. */
  misattributed: number;
  /** Calls of this trace without a network span (their packets carried other IDs). */
  unattributedCalls: number;
}

export interface Verdict {
  contributor: Contribution & { excessNs: number; slowMeanNs: number; medianNs: number };
  slowRequests: number;
  totalRequests: number;
  p90Ns: number;
  medianDurationNs: number;
  evidence: string;
  text: string;
}

export interface Analysis {
  requests: RequestBreakdown[];
  verdict: Verdict | null;
  /** Ranking of contributors by excess in slow requests. */
  ranking: { name: string; kind: ContributorKind; medianNs: number; slowMeanNs: number; excessNs: number; maxQueueDepth?: number }[];
  misattributedNetSpans: number;
  unattributedCalls: number;
}

const toNs = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const dur = (s: ReadableSpan): number => Number(toNs(s.endTime) - toNs(s.startTime));

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

/** Formats ns as ms with 2 decimals. */
export function ms(ns: number): string {
  const t = (ns / 1e6).toFixed(2);
  return `${t === '-0.00' ? '0.00' : t} ms`;
}

/** Formats bytes. */
export function bytesText(b: number): string {
  return b >= 10_000 ? `${(b / 1000).toFixed(1)} kB` : `${b} B`;
}

/** Analyses application spans and network spans of one run. */
export function analyse(appSpans: readonly ReadableSpan[], net: readonly NetSpan[]): Analysis {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const s of appSpans) {
    const id = s.spanContext().traceId;
    let l = byTrace.get(id);
    if (!l) byTrace.set(id, (l = []));
    l.push(s);
  }
  const netByParent = new Map<string, NetSpan[]>();
  for (const n of net) {
    const k = `${n.traceId}/${n.senderSpanId}`;
    let l = netByParent.get(k);
    if (!l) netByParent.set(k, (l = []));
    l.push(n);
  }
  const requests: RequestBreakdown[] = [];
  let misTotal = 0;
  let unTotal = 0;
  for (const [traceId, spans] of byTrace) {
    const root = spans.find((s) => !s.parentSpanContext && s.kind === SpanKind.SERVER);
    if (!root) continue;
    const children = new Map<string, ReadableSpan[]>();
    for (const s of spans) {
      const p = s.parentSpanContext?.spanId;
      if (!p) continue;
      let l = children.get(p);
      if (!l) children.set(p, (l = []));
      l.push(s);
    }
    const contrib = new Map<string, Contribution>();
    const add = (kind: ContributorKind, name: string, ns: number, q?: number | null): void => {
      let c = contrib.get(name);
      if (!c) contrib.set(name, (c = { kind, name, ns: 0 }));
      c.ns += ns;
      if (q !== undefined && q !== null) c.maxQueueDepth = Math.max(c.maxQueueDepth ?? 0, q);
    };
    let mis = 0;
    let unattributed = 0;
    /** Network spans under `s`, which must lie within the client span `w` awaiting them. */
    const netOf = (s: ReadableSpan, w: ReadableSpan): NetSpan[] => {
      const l = netByParent.get(`${traceId}/${s.spanContext().spanId}`) ?? [];
      const inside: NetSpan[] = [];
      const sStart = toNs(w.startTime);
      const sEnd = toNs(w.endTime);
      for (const n of l) {
        // A network span must lie within the lifetime of the span that sent its packets (1 ms slack
        // for the µs timestamps); otherwise its packets carried IDs that were not theirs.
        if (n.startNs + 1_000_000n < sStart || n.endNs > sEnd + 1_000_000n) mis++;
        else inside.push(n);
      }
      return inside;
    };
    const addNet = (n: NetSpan): number => {
      let sum = 0;
      n.hops.forEach((h, i) => {
        let t = h.lastDelayNs;
        if (i === 0) t += Math.max(0, Number(n.endNs - n.startNs) - n.hops.reduce((s, x) => s + x.lastDelayNs, 0));
        add('hop', `hop ${h.name}`, t, h.maxQueueDepth);
        sum += t;
      });
      return sum;
    };
    for (const s of spans) {
      const svc = String(s.resource.attributes['service.name'] ?? 'unknown');
      if (s.kind === SpanKind.SERVER) {
        const calls = (children.get(s.spanContext().spanId) ?? []).filter((c) => c.kind === SpanKind.CLIENT);
        add('service', `service ${svc}`, Math.max(0, dur(s) - calls.reduce((a, c) => a + dur(c), 0)));
      } else if (s.kind === SpanKind.CLIENT) {
        const server = (children.get(s.spanContext().spanId) ?? []).find((c) => c.kind === SpanKind.SERVER);
        const reqNet = netOf(s, s);
        const respNet = server ? netOf(server, s) : [];
        let netNs = 0;
        for (const n of [...reqNet, ...respNet]) netNs += addNet(n);
        const rest = dur(s) - (server ? dur(server) : 0) - netNs;
        if (reqNet.length === 0 || (server && respNet.length === 0)) {
          unattributed++;
          add('other', 'network (no IOAM data joined)', Math.max(0, rest));
        } else if (rest > 0) {
          add('other', `other ${svc} client stack`, rest);
        }
      }
    }
    misTotal += mis;
    unTotal += unattributed;
    const contributions = [...contrib.values()].sort((a, b) => b.ns - a.ns);
    requests.push({
      traceId, name: root.name, service: String(root.resource.attributes['service.name'] ?? ''),
      startNs: toNs(root.startTime), durationNs: dur(root), contributions,
      slowest: contributions[0] ?? { kind: 'other', name: 'nothing', ns: 0 },
      misattributed: mis, unattributedCalls: unattributed,
    });
  }
  requests.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));

  // Slow requests versus the median of each contributor.
  const durs = requests.map((r) => r.durationNs).sort((a, b) => a - b);
  const p90 = durs.length ? durs[Math.min(durs.length - 1, Math.floor(0.9 * durs.length))]! : 0;
  const slow = requests.filter((r) => r.durationNs >= p90);
  const names = new Map<string, ContributorKind>();
  for (const r of requests) for (const c of r.contributions) names.set(c.name, c.kind);
  const ranking = [...names].map(([name, kind]) => {
    const val = (r: RequestBreakdown) => r.contributions.find((c) => c.name === name)?.ns ?? 0;
    const med = median(requests.map(val));
    const slowMean = slow.length ? slow.reduce((a, r) => a + val(r), 0) / slow.length : 0;
    const qd = slow.reduce((m, r) => Math.max(m, r.contributions.find((c) => c.name === name)?.maxQueueDepth ?? -1), -1);
    return { name, kind, medianNs: med, slowMeanNs: slowMean, excessNs: slowMean - med, ...(qd >= 0 ? { maxQueueDepth: qd } : {}) };
  }).sort((a, b) => b.excessNs - a.excessNs || a.name.localeCompare(b.name));

  let verdict: Verdict | null = null;
  const top = ranking[0];
  if (top && slow.length > 0) {
    const medianDur = median(requests.map((r) => r.durationNs));
    const evidence = top.kind === 'hop'
      ? `IOAM queue depth at ${top.name.slice(4).split('→')[0]}'s egress towards ${top.name.slice(4).split('→')[1]} up to ${bytesText(top.maxQueueDepth ?? 0)} in the slow requests; hop time ${ms(top.slowMeanNs)} versus a median of ${ms(top.medianNs)}`
      : top.kind === 'service'
        ? `self time ${ms(top.slowMeanNs)} in the slow requests versus a median of ${ms(top.medianNs)}`
        : `${ms(top.slowMeanNs)} not explained by any span or hop`;
    const what = top.kind === 'hop' ? `network ${top.name}` : top.name;
    verdict = {
      contributor: { kind: top.kind, name: top.name, ns: top.slowMeanNs, excessNs: top.excessNs, slowMeanNs: top.slowMeanNs, medianNs: top.medianNs, ...(top.maxQueueDepth !== undefined ? { maxQueueDepth: top.maxQueueDepth } : {}) },
      slowRequests: slow.length,
      totalRequests: requests.length,
      p90Ns: p90,
      medianDurationNs: medianDur,
      evidence,
      text: `Slowest contributor: ${what} — adds ${ms(top.excessNs)} over its median in the slowest ${slow.length} of ${requests.length} requests (≥ ${ms(p90)}, median request ${ms(medianDur)}); ${evidence}.`,
    };
  }
  return { requests, verdict, ranking, misattributedNetSpans: misTotal, unattributedCalls: unTotal };
}
