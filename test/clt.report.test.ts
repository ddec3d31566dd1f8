/**
 * The HTML report in a real browser (headless Chromium through playwright-core): it renders with
 * no console error and no network request, the conclusion names the congested hop, there is one
 * waterfall per slow request and one plot per link; the link plots share one time axis; every
 * waterfall has a time axis; no axis tick label or title is clipped (canvas labels measured with
 * the chart's own font against the axis space, DOM text boxes inside their chart). Fails loudly
 * when chromium is missing unless IOAMSIM_NO_BROWSER=1. IOAMSIM_UPDATE_SCREENSHOT=1 rewrites
 * docs/img/report.png (the README's picture).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDemo } from '../sim/clt/demo';

const ROOT = path.resolve(__dirname, '..');
const CHROMIUM = process.env.IOAMSIM_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

/** Runs in the page: clipped labels (see the module doc) and the facts of every chart. */
const CHECK = `(function () {
      const charts = window.ioamsimCharts;
      const px = window.uPlot.pxRatio;
      const clipped = [];
      for (const c of charts) {
        const u = c.u;
        u.axes.forEach(function (ax, i) {
          if (!ax.show || !ax._values) return;
          u.ctx.save();
          u.ctx.font = ax.font[0];
          const widths = ax._values.map((v) => u.ctx.measureText(String(v)).width / px);
          u.ctx.restore();
          const splits = ax._splits ?? [];
          if (ax.side === 1 || ax.side === 3) {
            const need = Math.max(0, ...widths) + ax.gap + (ax.ticks.show ? ax.ticks.size : 0) + (ax.label ? ax.labelSize : 0);
            if (need > ax._size) clipped.push(\`\${c.name} axis \${i}: labels need \${need.toFixed(1)} px, axis has \${ax._size}\`);
            splits.forEach(function (v, k) {
              const y = u.valToPos(v, ax.scale) + u.bbox.top / px;
              const h = ax.font[1] / px;
              if (y - h / 2 < 0 || y + h / 2 > u.height) clipped.push(\`\${c.name} axis \${i}: label \${ax._values[k]} at y \${y.toFixed(1)} outside 0..\${u.height}\`);
            });
          } else {
            splits.forEach(function (v, k) {
              const x = u.valToPos(v, 'x') + u.bbox.left / px;
              if (x - widths[k] / 2 < 0 || x + widths[k] / 2 > u.width) clipped.push(\`\${c.name} x label \${ax._values[k]} spans \${(x - widths[k] / 2).toFixed(1)}..\${(x + widths[k] / 2).toFixed(1)} outside 0..\${u.width}\`);
            });
          }
        });
        // DOM text of the chart (title) inside the chart's box.
        const box = u.root.getBoundingClientRect();
        for (const el of Array.from(u.root.querySelectorAll('*'))) {
          if (!el.textContent || el.children.length > 0) continue;
          const b = el.getBoundingClientRect();
          if (b.width === 0) continue;
          if (b.left < box.left - 0.5 || b.right > box.right + 0.5 || b.top < box.top - 0.5 || b.bottom > box.bottom + 0.5) clipped.push(\`\${c.name}: "\${el.textContent}" outside its chart\`);
          const range = document.createRange();
          range.selectNodeContents(el);
          const tb = range.getBoundingClientRect();
          if (tb.right > b.right + 0.5 || tb.left < b.left - 0.5) clipped.push(\`\${c.name}: "\${el.textContent}" overflows its box\`);
        }
      }
      return {
        clipped,
        links: charts.filter((c) => c.kind === 'link').map((c) => ({ name: c.name, min: c.u.scales.x.min, max: c.u.scales.x.max, xLabel: c.u.axes[0].label })),
        waterfalls: charts.filter((c) => c.kind === 'waterfall').map((c) => ({ xLabel: c.u.axes[0].label, xTicks: (c.u.axes[0]._values ?? []).length, rows: c.rows })),
      };
})()`;

test('HTML report: self-contained, renders in Chromium without errors, shared time axis, no clipped label', { timeout: 300_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-report-'));
  const r = await runDemo({ out: dir });
  // Self-contained: scripts and styles inline, nothing fetched.
  assert.doesNotMatch(r.html, /<link |<script[^>]* src=|<img |@import|url\(/i);
  assert.match(r.html, /uPlot \(v1\.6\.32\)/);
  if (!CHROMIUM) {
    if (process.env.IOAMSIM_NO_BROWSER === '1') return t.skip('chromium missing: IOAMSIM_NO_BROWSER=1');
    assert.fail('chromium is not installed (apt-get install -y chromium); set IOAMSIM_NO_BROWSER=1 to opt out');
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (q) => { if (!q.url().startsWith('file://')) requests.push(q.url()); });
    await page.goto(`file://${path.join(dir, 'report.html')}`);
    await page.waitForFunction('window.ioamsimCharts !== undefined', undefined, { timeout: 30_000 });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
    const conclusion = await page.locator('#conclusion').textContent();
    assert.match(conclusion ?? '', /network hop r2→r3/);
    type Facts = { clipped: string[]; links: { name: string; min: number; max: number; xLabel: string }[]; waterfalls: { xLabel: string; xTicks: number; rows: { label: string; cls: string; culprit: boolean }[] }[] };
    const facts = (await page.evaluate(CHECK)) as Facts;
    assert.deepEqual(facts.clipped, []);
    assert.equal(facts.waterfalls.length, 3);
    for (const w of facts.waterfalls) {
      assert.equal(w.xLabel, 'time since the request started (ms)');
      assert.ok(w.xTicks >= 4, 'a time axis with ticks');
      assert.ok(w.rows.some((x) => x.culprit && x.label.trim() === 'ioam-collector: hop r2→r3'), 'the culprit hop is highlighted, named as in OTLP');
      assert.ok(w.rows.some((x) => x.label.trim().startsWith('ioam-collector: network ')));
    }
    assert.ok(facts.links.length >= 10, 'a plot per link');
    assert.ok(facts.links.some((l) => l.name === 'r2→r3'));
    for (const l of facts.links) {
      assert.equal(l.min, facts.links[0]!.min, 'shared time axis');
      assert.equal(l.max, facts.links[0]!.max, 'shared time axis');
      assert.equal(l.xLabel, 'time since the start of the run (ms)');
    }
    assert.match(await page.locator('#ranking tr.culprit td').first().textContent() ?? '', /^hop r2→r3$/);
    const png = await page.screenshot({ fullPage: false });
    assert.ok(png.length > 20_000, 'a non-trivial picture');
    if (process.env.IOAMSIM_UPDATE_SCREENSHOT === '1') fs.writeFileSync(path.join(ROOT, 'docs', 'img', 'report.png'), png);
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
