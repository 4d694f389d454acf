// examples/ compile with tsc against the built package and run as written: the HTTP service
// answers /status while it trains; the grid script writes its table.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../lib/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'tats-examples-'));
const built = (name: string) => join(packageRoot, 'dist', 'examples', `${name}.js`);

beforeAll(() => {
  const tsc = spawnSync(process.execPath, [join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(packageRoot, 'examples', 'tsconfig.json')], {
    cwd: packageRoot,
    encoding: 'utf8',
  });
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
});

describe('examples', () => {
  it('train-service answers GET /status while it trains, and POST /stop stops it', async () => {
    const port = 20000 + (process.pid % 20000);
    const child = spawn(process.execPath, [built('train-service'), '--port', String(port), '--steps', '200', '--strategy', 'random', '--out', join(dir, 'service')], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const status = async () => (await fetch(`http://127.0.0.1:${port}/status`)).json() as Promise<{ state: string; step: number; loss: number | null }>;
    // Wait for the server, then for a few steps.
    let s: { state: string; step: number; loss: number | null } | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        s = await status();
        if (s.step >= 2) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(s?.state, log).toBe('training');
    expect(typeof s?.loss).toBe('number');
    const t0 = performance.now();
    await status();
    expect(performance.now() - t0).toBeLessThan(100);
    const stop = await fetch(`http://127.0.0.1:${port}/stop`, { method: 'POST' });
    expect(stop.status).toBe(202);
    expect(await exited, log).toBe(0);
    expect(log).toMatch(/stopped at step \d+/);
  });

  it('experiment-grid runs a grid and writes grid.json', () => {
    const out = join(dir, 'grid');
    const r = spawnSync(process.execPath, [built('experiment-grid'), '--steps', '2', '--strategies', 'random,tube', '--ratios', '0.9', '--out', out], {
      cwd: packageRoot,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(out, 'grid.json'))).toBe(true);
    const rows = JSON.parse(readFileSync(join(out, 'grid.json'), 'utf8')) as { strategy: string; loss: number }[];
    expect(rows.map((x) => x.strategy)).toEqual(['random', 'tube']);
    for (const row of rows) expect(Number.isFinite(row.loss)).toBe(true);
  });
});
