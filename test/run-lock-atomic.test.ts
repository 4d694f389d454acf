// The run lock is written whole or not at all: a process that dies between creating the lock and
// writing it leaves no lock (only a temporary file the next start removes), and an empty or
// garbled lock (an older tats killed there, or damage) is stale, taken over with a notice that
// says what it held.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../lib/paths.js';
import { cleanRunLeftovers, lockRun, runPaths } from '../lib/train/rundir.js';
import { buildDist } from './data-fixtures.js';
import { runCli, tinyPretrain } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'tats-lock-atomic-'));

beforeAll(() => buildDist());
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Makes the lock file look written long ago (past the grace for a lock being written). */
function age(file: string): void {
  const t = new Date(Date.now() - 60_000);
  utimesSync(file, t, t);
}

describe('the run lock under a failed write', () => {
  it('a process whose lock write fails (file size limit 0) leaves no lock; the next run takes it without a takeover', () => {
    const out = join(root, 'killed');
    mkdirSync(out, { recursive: true });
    const rundir = join(packageRoot, 'dist', 'lib', 'train', 'rundir.js');
    // `ulimit -f 0`: creating the file works, writing a byte to it does not (EFBIG, or SIGXFSZ).
    const r = spawnSync('sh', ['-c', `ulimit -f 0; exec "${process.execPath}" --input-type=module -e 'const { lockRun, runPaths } = await import(${JSON.stringify(rundir)}); lockRun(runPaths(${JSON.stringify(out)}));'`], { encoding: 'utf8' });
    expect(r.status === 0 && r.signal === null, 'the lock write was expected to fail').toBe(false);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    const left = readdirSync(out);
    expect(left.every((f) => f.endsWith('.tmp')), left.join(', ')).toBe(true);
    const paths = runPaths(out);
    const lock = lockRun(paths);
    expect(lock.tookOver).toBeNull();
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(cleanRunLeftovers(paths).map((p) => p.split('/').pop())).toEqual(left);
    expect(readdirSync(out)).toEqual(['.lock']);
    lock.release();
  });

  it('an empty or garbled lock is stale: taken over, saying what it held; a young one is being written', () => {
    const paths = runPaths(join(root, 'garbled'));
    mkdirSync(paths.out, { recursive: true });
    const file = join(paths.out, '.lock');
    writeFileSync(file, '');
    expect(() => lockRun(paths)).toThrow(/in use by another process \(the lock file is being written\)/);
    age(file);
    const a = lockRun(paths);
    expect(a.tookOver).toMatchObject({ pid: 0, damaged: 'it was empty' });
    a.release();
    writeFileSync(file, '{"pid": 12');
    age(file);
    const b = lockRun(paths);
    expect(b.tookOver?.damaged).toBe('it held "{\\"pid\\": 12", not a lock');
    b.release();
    writeFileSync(file, JSON.stringify({ pid: 'x', host: 'h' }));
    age(file);
    const c = lockRun(paths);
    expect(c.tookOver?.damaged).toMatch(/^it held .*, not a lock$/);
    c.release();
    expect(existsSync(file)).toBe(false);
  });

  it('tats pretrain on a run directory with an empty lock runs and says it took it over', () => {
    const out = join(root, 'cli');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '.lock'), '');
    age(join(out, '.lock'));
    const config = join(root, 'tiny.json');
    writeFileSync(config, JSON.stringify({ ...tinyPretrain, steps: 2 }));
    const r = runCli(['pretrain', '--config', config, '--out', out, '--no-picture']);
    expect(r.status, r.stderr).toBe(0);
    // Notices go to stdout with the run header.
    expect(r.stdout).toMatch(/took over the lock file .*\.lock as stale: it was empty/);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });
});
