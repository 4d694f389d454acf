// tats dashboard over real HTTP, without the native addon: what it refuses (paths out of the runs
// folder, symlinks, other methods, foreign Host headers), how it reads runs as they are written
// (a torn metrics line, a rewritten file, server-sent events) and how it names their states.
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { serveDashboard, type Dashboard } from '../lib/dashboard/index.js';
import { runCli } from './helpers.js';

const base = mkdtempSync(join(tmpdir(), 'tats-dashboard-'));
const runs = join(base, 'runs');
const SECRET = 'SECRET-OUTSIDE-THE-RUNS-FOLDER';
let d: Dashboard;

const line = (step: number, extra: Record<string, unknown> = {}) => JSON.stringify({ step, loss: 1 / step, lr: 1e-3, clips_per_s: 10, time: new Date().toISOString(), ...extra }) + '\n';
const config = (steps: number) => JSON.stringify({ steps, masking: { strategy: 'tats', ratio: 0.9 }, model: { preset: 'micro', frames: 4, size: 32 } });

/** A run folder: config.json, metrics.jsonl with `logged` steps, checkpoints at `ckpts`. */
function makeRun(name: string, steps: number, logged: number, ckpts: number[], opts: { ageMs?: number } = {}): string {
  const dir = join(runs, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), config(steps));
  writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: logged }, (_, i) => line(i + 1)).join(''));
  for (const c of ckpts) {
    const ck = join(dir, 'checkpoints', `step-${String(c).padStart(8, '0')}`);
    mkdirSync(ck, { recursive: true });
    writeFileSync(join(ck, 'meta.json'), '{}');
  }
  if (opts.ageMs) {
    const t = new Date(Date.now() - opts.ageMs);
    for (const f of ['config.json', 'metrics.jsonl', 'checkpoints']) utimesSync(join(dir, f), t, t);
  }
  return dir;
}

/** One raw HTTP request: the path goes on the wire as written (no URL normalisation). */
function raw(path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, path, method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads server-sent events until `until` says stop; returns them. */
function events(path: string, until: (evs: { event: string; data: any }[]) => boolean, timeoutMs = 10_000): Promise<{ event: string; data: any }[]> {
  return new Promise((resolve, reject) => {
    const evs: { event: string; data: any }[] = [];
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out; events so far: ${JSON.stringify(evs).slice(0, 2000)}`));
    }, timeoutMs);
    const req = request({ host: '127.0.0.1', port: d.port, path }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data) evs.push({ event: ev, data: JSON.parse(data) });
        }
        if (until(evs)) {
          clearTimeout(timer);
          req.destroy();
          resolve(evs);
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
  });
}

beforeAll(async () => {
  mkdirSync(runs, { recursive: true });
  writeFileSync(join(base, 'secret.json'), JSON.stringify({ SECRET }));
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'outside', 'secret.png'), SECRET);
  const a = makeRun('a', 10, 10, [5, 10]);
  writeFileSync(join(a, 'reconstruction.png'), 'png');
  appendFileSync(join(a, 'metrics.jsonl'), '{"step": 11, "loss": 0.'); // a line being written
  makeRun('<script>alert(1)</script>'.replace(/\//g, '_'), 10, 3, [], {});
  makeRun('stopped', 10, 4, [4], { ageMs: 3_600_000 });
  makeRun('failed', 10, 6, [4], { ageMs: 3_600_000 });
  // Ways out of the folder: a symlinked file and a symlinked folder.
  symlinkSync(join(base, 'secret.json'), join(runs, 'a', 'leak.json'));
  symlinkSync(join(base, 'outside'), join(runs, 'out-link'));
  d = await serveDashboard({ runs, port: 0, pollMs: 50 });
});

afterAll(async () => {
  await d?.close();
  rmSync(base, { recursive: true, force: true });
});

describe('tats dashboard: security, through real HTTP', () => {
  it('binds 127.0.0.1 by default and serves the page with a strict Content-Security-Policy', async () => {
    expect(d.host).toBe('127.0.0.1');
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
    const r = await raw('/');
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(r.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    // The page is static: run names reach it as JSON only.
    expect(r.body).not.toContain('alert(1)');
    const js = await raw('/assets/uPlot.iife.min.js');
    expect(js.status).toBe(200);
    expect(js.body.length).toBeGreaterThan(10_000);
  });

  it('refuses paths out of the runs folder: .., encoded .., absolute paths, backslashes, symlinks', async () => {
    const attempts = [
      '/files/../secret.json',
      '/files/a/../../secret.json',
      '/files/..%2fsecret.json',
      '/files/%2e%2e/secret.json',
      '/files/%2e%2e%2fsecret.json',
      '/files/a/%2e%2e/%2e%2e/secret.json',
      '/files/..%5csecret.json',
      '/files/a\\..\\..\\secret.json',
      '/files//etc/passwd',
      '/files/%2Fetc%2Fpasswd',
      `/files/${encodeURIComponent(join(base, 'secret.json'))}`,
      '/files/a/leak.json',
      '/files/out-link/secret.png',
      '/files/a/%00.json',
      '/../secret.json',
      '/api/run?id=..',
      `/api/run?id=${encodeURIComponent(base)}`,
      '/api/metrics?id=../outside',
      '/api/metrics?id=out-link',
      '/api/events?id=..',
    ];
    for (const path of attempts) {
      const r = await raw(path);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.body, path).not.toContain(SECRET);
    }
    // Inside the folder: served. Files other than pictures, JSON and markdown: refused.
    expect((await raw('/files/a/config.json')).status).toBe(200);
    expect((await raw('/files/a/reconstruction.png')).headers['content-type']).toBe('image/png');
    expect((await raw('/files/a/checkpoints/step-00000005/meta.json')).status).toBe(200);
    writeFileSync(join(runs, 'a', 'notes.sh'), 'echo');
    expect((await raw('/files/a/notes.sh')).status).toBe(403);
  });

  it('is read-only: methods other than GET and HEAD get 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await raw('/api/runs', { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    const head = await raw('/api/runs', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers only to loopback Host names (a DNS-rebinding page cannot read the runs)', async () => {
    expect((await raw('/api/runs', { host: 'evil.example:80' })).status).toBe(403);
    expect((await raw('/api/runs', { host: `localhost:${d.port}` })).status).toBe(200);
    expect((await raw('/api/runs', { host: `[::1]:${d.port}` })).status).toBe(200);
  });

  it('warns when bound to another address', async () => {
    const warnings: string[] = [];
    const wide = await serveDashboard({ runs, port: 0, host: '0.0.0.0', onWarning: (l) => warnings.push(l) });
    await wide.close();
    expect(warnings.join('\n')).toMatch(/warning: listening on 0\.0\.0\.0.*no authentication/);
  });

  it('reports bad options as usage errors (exit 2 from the CLI)', async () => {
    await expect(serveDashboard({ runs: join(base, 'missing') })).rejects.toThrow(/^runs: expected an existing folder/);
    await expect(serveDashboard({ runs, port: 70000 })).rejects.toThrow(/^port: expected an integer in \[0, 65535\], received 70000$/);
    await expect(serveDashboard({ runs, host: '' })).rejects.toThrow(/^host: expected a non-empty string, received ""$/);
    await expect(serveDashboard({ runs, pollMs: 5 })).rejects.toThrow(/^pollMs: expected a number >= 20, received 5$/);
    const r = runCli(['dashboard', '--runs', join(base, 'missing'), '--json']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('ERR_CONFIG');
  });
});

describe('tats dashboard: runs as they are written', () => {
  it('lists runs with their state; names come through as data', async () => {
    const r = JSON.parse((await raw('/api/runs')).body) as { runs: { id: string; state: string; step: number; picture?: object }[] };
    const by = Object.fromEntries(r.runs.map((x) => [x.id, x]));
    expect(by.a).toMatchObject({ state: 'finished', step: 10 });
    expect(by.a!.picture).toBeDefined();
    expect(by['<script>alert(1)<_script>']).toMatchObject({ state: 'training', step: 3 });
    expect(by.stopped).toMatchObject({ state: 'stopped', step: 4 });
    expect(by.failed).toMatchObject({ state: 'failed', step: 6 });
    expect(by['out-link']).toBeUndefined(); // symlinked folders are not followed
  });

  it('skips a metrics line that is still being written', async () => {
    const r = JSON.parse((await raw('/api/metrics?id=a')).body) as { rows: { step: number }[] };
    expect(r.rows.map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('streams new lines as server-sent events, once complete, and starts over when the file is rewritten', async () => {
    const dir = makeRun('live', 100, 2, []);
    const metrics = join(dir, 'metrics.jsonl');
    let phase = 0;
    const evs = await events('/api/events?id=live', (evs) => {
      const m = evs.filter((e) => e.event === 'metrics');
      if (phase === 0 && m.length >= 1) {
        phase = 1;
        appendFileSync(metrics, line(3).slice(0, 20)); // half a line: nothing is sent
        setTimeout(() => appendFileSync(metrics, line(3).slice(20) + line(4)), 300);
      }
      if (phase === 1 && m.length >= 2) {
        phase = 2;
        // A resumed run rewrites metrics.jsonl (tmp + rename) without the steps after its checkpoint.
        writeFileSync(`${metrics}.tmp`, line(1) + line(2));
        renameSync(`${metrics}.tmp`, metrics);
      }
      return phase === 2 && m.length >= 3;
    });
    const m = evs.filter((e) => e.event === 'metrics').map((e) => e.data);
    expect(m[0]).toMatchObject({ id: 'live', reset: true });
    expect(m[0].rows.map((x: { step: number }) => x.step)).toEqual([1, 2]);
    expect(m[1]).toMatchObject({ id: 'live', reset: false });
    expect(m[1].rows.map((x: { step: number }) => x.step)).toEqual([3, 4]);
    expect(m[2]).toMatchObject({ id: 'live', reset: true });
    expect(m[2].rows.map((x: { step: number }) => x.step)).toEqual([1, 2]);
    expect(evs.find((e) => e.event === 'runs')).toBeDefined();
    expect(evs.find((e) => e.event === 'run')?.data).toMatchObject({ id: 'live', state: 'training' });
  });

  it('sends a new run summary when a picture is written', async () => {
    const dir = makeRun('pic', 100, 1, []);
    let wrote = false;
    const evs = await events('/api/events?id=pic', (evs) => {
      const runsEv = evs.filter((e) => e.event === 'run');
      if (!wrote && runsEv.length >= 1) {
        wrote = true;
        writeFileSync(join(dir, 'reconstruction.png'), 'png');
      }
      return runsEv.some((e) => e.data.picture?.png);
    });
    expect(evs.filter((e) => e.event === 'run')[0]!.data.picture).toBeUndefined();
  });
});
