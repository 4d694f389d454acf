// tats dashboard in a real browser: Debian's chromium, headless, driven by puppeteer-core (which
// downloads no browser). `tats pretrain --dashboard` trains a tiny model on the CPU in a child
// process; the page must plot more points as metrics.jsonl grows, show the picture once a
// checkpoint is written, show a compare report made by `compare()`, and log no console errors.
// Run folders named like markup must come through as text. Screenshots go to $TATS_SCREENSHOTS
// (docs/dashboard/ keeps the README's pair: TATS_SCREENSHOTS=docs/dashboard npx vitest run test/dashboard-browser.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, describe, expect, it } from 'vitest';

import { compare } from '../lib/eval/index.js';
import { packageRoot } from '../lib/paths.js';

/** The browser: $TATS_CHROMIUM, else Debian's chromium (scripts/setup.sh installs it). */
function findChromium(): string | undefined {
  const candidates = [process.env.TATS_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => Boolean(p) && existsSync(p!));
}
const chromium = findChromium();
if (!chromium && process.env.CI) throw new Error('no chromium found (scripts/setup.sh installs Debian\'s chromium; TATS_CHROMIUM=/path overrides)');

const base = mkdtempSync(join(tmpdir(), 'tats-dashboard-browser-'));
const runs = join(base, 'runs');
const shots = resolve(packageRoot, process.env.TATS_SCREENSHOTS ?? join(base, 'shots'));
let child: ChildProcess | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

/** Points plotted in the chart of `key` (the page writes them to data-points). */
const points = (page: Page, key: string) => page.$eval(`.chart[data-key="${key}"]`, (el) => Number((el as HTMLElement).dataset.points)).catch(() => 0);

/** Waits for a line matching `re` on the child's stdout or stderr. */
function waitForLine(p: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((ok, fail) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${seen}`)), timeoutMs);
    const on = (c: Buffer) => {
      seen += c.toString();
      const m = re.exec(seen);
      if (m) {
        clearTimeout(timer);
        ok(m);
      }
    };
    p.stdout!.on('data', on);
    p.stderr!.on('data', on);
    p.once('exit', (code) => fail(new Error(`tats pretrain exited with ${code} before printing ${re}; output:\n${seen}`)));
  });
}

describe.skipIf(!chromium)(`tats dashboard in headless chromium (${chromium ?? 'not installed'})`, () => {
  it('shows a run training live, its picture after a checkpoint, and a compare report, with no console errors', { timeout: 240_000 }, async () => {
    mkdirSync(shots, { recursive: true });
    // A compare report of two strategies (seconds on a CPU), in the same runs folder.
    await compare({
      model: 'micro', frames: 4, size: 32, patch: 8, batchSize: 2, ratio: 0.75, steps: 24, logEvery: 1, samplerDim: 32, samplerHeads: 2,
      downstreamSteps: 4, testSize: 8, classes: 4, scratch: false, device: 'cpu', seed: 1, strategies: ['random', 'tats'], out: join(runs, 'compare-demo'),
    });
    // Folders named like markup, each a copy of a real run.
    const names = ['<img src=x onerror="window.__xss=1">', '<script>window.__xss=2<'];
    for (const n of names) {
      mkdirSync(join(runs, n));
      for (const f of ['config.json', 'metrics.jsonl']) copyFileSync(join(runs, 'compare-demo', 'random', 'pretrain', f), join(runs, n, f));
    }

    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1050 });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
    page.on('dialog', (dl) => {
      problems.push(`dialog: ${dl.message()}`);
      void dl.dismiss();
    });

    // A tiny TATS model (the CPU test suite's size), a checkpoint every 15 steps.
    child = spawn(
      process.execPath,
      [
        join(packageRoot, 'dist', 'cli', 'tats.js'), 'pretrain', '--preset', 'cpu-demo', '--steps', '90', '--checkpoint-every', '15', '--log-every', '1',
        '--batch-size', '2', '--device', 'cpu', '--set', 'model.encoderDepth=2', '--set', 'model.decoderDepth=1', '--set', 'sampler.dim=48',
        '--set', 'sampler.heads=2', '--set', 'sampler.ppoEpochs=2', '--set', 'data.syntheticClips=16', '--progress', 'false',
        '--out', join(runs, 'live'), '--dashboard', '--dashboard-port', '0',
      ],
      { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const [, url] = await waitForLine(child, /dashboard at (http:\/\/127\.0\.0\.1:\d+\/#run=live)/, 60_000);
    await page.goto(url!);
    await page.waitForSelector('body[data-ready="1"]');

    // Curves grow without a reload.
    await page.waitForFunction(() => Number((document.querySelector('.chart[data-key="loss"]') as HTMLElement | null)?.dataset.points ?? 0) > 0, { timeout: 60_000 });
    const first = await points(page, 'loss');
    await page.waitForFunction((n) => Number((document.querySelector('.chart[data-key="loss"]') as HTMLElement).dataset.points) > n + 5, { timeout: 60_000 }, first);
    const later = await points(page, 'loss');
    expect(later).toBeGreaterThan(first);
    // The sampler's telemetry is plotted as well, whatever its field names.
    const keys = await page.$$eval('.chart', (els) => els.map((e) => (e as HTMLElement).dataset.key));
    expect(keys).toContain('lr');
    expect(keys.length).toBeGreaterThan(5);

    // The picture appears after the first checkpoint (the trainer draws one at each).
    await page.waitForFunction(() => [...document.querySelectorAll('img.picture-png')].some((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), { timeout: 90_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('img.picture-gif')].some((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), { timeout: 30_000 });
    const stillTraining = await page.$eval('.headline .badge', (b) => b.textContent);
    await page.screenshot({ path: join(shots, 'training.png') });

    // The run list: the markup-named folders are text, and none of them ran.
    const listed = await page.$$eval('#runs .run-name', (els) => els.map((e) => e.textContent));
    for (const n of names) expect(listed).toContain(n);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();

    // The compare report: both strategies' curves overlaid, their pictures, the probes' confusion matrices.
    await page.goto(url!.replace(/#.*/, '#run=compare-demo'));
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForFunction(() => Number((document.querySelector('.chart[data-key="loss"]') as HTMLElement | null)?.dataset.points ?? 0) >= 48, { timeout: 30_000 });
    expect(await page.$$eval('.chart[data-key="loss"] .u-legend .u-series', (els) => els.length)).toBe(3); // step + two runs
    await page.waitForFunction(() => [...document.querySelectorAll('img.picture-png')].filter((i) => (i as HTMLImageElement).naturalWidth > 0).length === 2, { timeout: 30_000 });
    expect(await page.$$eval('table.confusion', (els) => els.length)).toBe(2);
    await page.screenshot({ path: join(shots, 'compare.png') });

    // Side by side: the live run and one of the report's runs on the same axes.
    await page.goto(url!.replace(/#.*/, `#runs=live,${encodeURIComponent('compare-demo/tats/pretrain')}`));
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForFunction(() => document.querySelectorAll('.chart[data-key="loss"] .u-legend .u-series').length === 3, { timeout: 30_000 });

    await page.close();
    child.kill('SIGINT'); // training may still run: it stops at a checkpoint; then the dashboard stops
    const code = await new Promise<number | null>((ok) => child!.once('exit', ok));
    expect([0, 1]).toContain(code);
    expect(problems).toEqual([]);
    console.log(`dashboard: loss points ${first} -> ${later}; state at the picture: ${stillTraining}; screenshots in ${shots}`);
  });
});
