// kill -9 at many points of a CPU `tats pretrain`, each followed by `--resume` (issue 18): during
// startup (loading, cleaning up, taking over the stale lock), during steps, while a checkpoint's
// files are written, between its last tensor file and meta.json, while old checkpoints are pruned,
// right after a metrics line; and the launcher (the `sh -c` that npx puts above the CLI) killed
// instead, after which the CLI must stop by itself. At the end: every step once in metrics.jsonl
// with losses bit-identical to an uninterrupted run of the same seed, the same final weights and
// optimizer state byte for byte, no process of any leg alive, and nothing left over in the run
// directory (no .tmp file, .pruning folder, checkpoint without meta.json, or lock).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readMetrics, type PretrainOptions } from '../lib/index.js';
import { listCheckpoints, runPaths } from '../lib/train/rundir.js';
import { packageRoot } from '../lib/paths.js';
import { buildDist } from './data-fixtures.js';
import { rng, runCli, tinyPretrain } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'tats-kill-'));
const cli = join(packageRoot, 'dist', 'cli', 'tats.js');

const STEPS = 140;
const EVERY = 3;
/** A model whose step takes tens of milliseconds on two shared cores (as test/pretrain.test.ts). */
const options: PretrainOptions = {
  ...tinyPretrain,
  seed: 11,
  steps: STEPS,
  checkpointEvery: EVERY,
  // Two kept: every checkpoint after the second prunes one.
  keepCheckpoints: 2,
};

/**
 * Where a leg is killed. `startup`: a delay after the spawn (module loading, the lock, cleaning up,
 * the checkpoint load). `step`: a delay after a logged step (inside the next step or its checkpoint).
 * `ckpt-open`: as soon as a new checkpoint folder appears (its tensor files being written).
 * `ckpt-meta`: as soon as meta.json's temporary file appears (tensors written, not yet complete).
 * `prune`: as soon as a `.pruning` folder appears. `metrics`: as soon as metrics.jsonl changes.
 * `launcher`: the `sh -c` above the CLI, not the CLI, after a logged step.
 */
type Point = 'startup' | 'step' | 'ckpt-open' | 'ckpt-meta' | 'prune' | 'metrics' | 'launcher';
const PLAN: Point[] = [
  'step', 'ckpt-open', 'startup', 'ckpt-meta', 'prune', 'step', 'metrics', 'ckpt-open', 'launcher',
  'startup', 'ckpt-meta', 'step', 'prune', 'ckpt-open', 'metrics', 'step', 'launcher', 'ckpt-meta',
  'startup', 'prune', 'ckpt-open', 'step', 'metrics', 'ckpt-meta', 'launcher', 'step', 'startup', 'ckpt-open',
];

function running(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Living descendants of `pid` (from /proc), deepest last. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p && running(c)) (out.push(c), walk(c));
  };
  walk(pid);
  return out;
}

async function until(what: string, ok: () => boolean, ms: number, onTimeout?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${onTimeout ? `\n${onTimeout()}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every file and folder under `dir`, relative. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const f of readdirSync(join(dir, rel))) {
    const p = rel ? `${rel}/${f}` : f;
    out.push(p);
    if (statSync(join(dir, p)).isDirectory()) out.push(...walk(dir, p));
  }
  return out;
}

/** What a kill left in the run directory (removed by the next start). */
function leftovers(out: string): string[] {
  if (!existsSync(out)) return [];
  return walk(out).filter((p) => {
    const base = p.split('/').pop()!;
    if (base.endsWith('.tmp') || base.endsWith('.pruning') || base === '.lock') return true;
    return /^checkpoints\/step-\d+$/.test(p) && !existsSync(join(out, p, 'meta.json'));
  });
}

const stepsLogged = (out: string) => (readMetrics(runPaths(out).metrics).at(-1)?.step as number | undefined) ?? 0;


describe('pretrain (CLI): kill -9 at many points, then --resume', () => {
  it(`${PLAN.length} kills, each resumed: the same losses and weights as a run never killed, no process alive, no leftovers`, async () => {
    buildDist();
    const config = join(root, 'run.json');
    writeFileSync(config, JSON.stringify(options));
    const out = join(root, 'killed');
    const paths = runPaths(out);
    const log = join(root, 'legs.log');
    const rand = rng(2026);
    const seen: Array<{ point: Point; leg: number; from: number; to: number; left: string[]; ms: number }> = [];
    const allPids: number[] = [];

    for (let leg = 0; leg < PLAN.length; leg++) {
      const point = PLAN[leg]!;
      const from = listCheckpoints(paths).at(-1)?.step ?? 0;
      // As npx starts it: sh -c '<node> tats.js ...; true' (the `; true` keeps the shell above the CLI).
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} pretrain --config ${JSON.stringify(config)} --out ${JSON.stringify(out)} --resume --no-picture 2>>${JSON.stringify(log)}; true`;
      writeFileSync(log, `--- leg ${leg}: ${point}, from step ${from}\n`, { flag: 'a' });
      const t0 = Date.now();
      const sh: ChildProcess = spawn('sh', ['-c', cmd], { stdio: 'ignore' });
      const shExited = new Promise<void>((res) => sh.on('exit', () => res()));
      let cliPid = 0;
      const findCli = () => {
        if (!cliPid) cliPid = descendants(sh.pid!).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('tats.js')) ?? 0;
        return cliPid !== 0;
      };
      await until('the CLI process', findCli, 10_000);
      allPids.push(sh.pid!, cliPid);
      const tail = () => readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
      // The leg must not end before its kill: the run is long enough for every point of the plan.
      const alive = () => {
        if (!running(cliPid)) throw new Error(`leg ${leg} (${point}): the CLI exited before its kill\n${tail()}`);
        return true;
      };
      const killCli = () => {
        allPids.push(...descendants(cliPid));
        process.kill(cliPid, 'SIGKILL');
      };
      const watchers: FSWatcher[] = [];
      const killed = new Promise<void>((resolve, reject) => {
        const fire = () => {
          for (const w of watchers) w.close();
          try {
            killCli();
          } catch {
            // already gone: checked below
          }
          resolve();
        };
        // Points that need progress first: a checkpoint of this leg, so that each leg moves on.
        const progressed = (n: number) => n >= from + EVERY + 1;
        const watchDir = (dir: string, on: (name: string) => void) => {
          const w = watch(dir, (_ev, name) => {
            if (name) on(String(name));
          });
          w.on('error', () => undefined);
          watchers.push(w);
        };
        const waitDir = async (dir: string) => until(dir, () => existsSync(dir) && alive(), 60_000, tail);
        const run = async () => {
          switch (point) {
            case 'startup':
              await new Promise((r) => setTimeout(r, 150 + Math.floor(rand() * 1500)));
              return fire();
            case 'step':
              await until('a logged step', () => alive() && progressed(stepsLogged(out)), 60_000, tail);
              await new Promise((r) => setTimeout(r, Math.floor(rand() * 60)));
              return fire();
            case 'launcher':
              await until('a logged step', () => alive() && progressed(stepsLogged(out)), 60_000, tail);
              await new Promise((r) => setTimeout(r, Math.floor(rand() * 60)));
              for (const w of watchers) w.close();
              process.kill(sh.pid!, 'SIGKILL');
              return resolve();
            case 'metrics':
              await until('a logged step', () => alive() && progressed(stepsLogged(out)), 60_000, tail);
              watchDir(out, (name) => {
                if (name === 'metrics.jsonl') fire();
              });
              return;
            case 'ckpt-open':
            case 'ckpt-meta':
              await waitDir(paths.checkpoints);
              watchDir(paths.checkpoints, (name) => {
                const m = /^step-(\d+)$/.exec(name);
                if (!m || Number(m[1]) < from + 2 * EVERY) return;
                if (point === 'ckpt-open') return fire();
                watchDir(join(paths.checkpoints, name), (f) => {
                  if (f.includes('meta.json')) fire();
                });
              });
              return;
            case 'prune':
              await waitDir(paths.checkpoints);
              watchDir(paths.checkpoints, (name) => {
                if (name.endsWith('.pruning') && Number(/step-(\d+)/.exec(name)?.[1]) >= from) fire();
              });
              return;
          }
        };
        run().catch(reject);
      });
      await killed;
      if (point === 'launcher') {
        // kill -9 of what started the CLI: the CLI notices (within a second), finishes its step,
        // writes a checkpoint and exits; nothing of the leg stays.
        await until('the CLI to stop after its launcher was killed', () => !running(cliPid), 30_000, tail);
      } else {
        await shExited;
        await until('the CLI to be gone', () => !running(cliPid), 5_000);
      }
      seen.push({ point, leg, from, to: stepsLogged(out), left: leftovers(out), ms: Date.now() - t0 });
    }

    // The last leg runs to the end.
    const last = runCli(['pretrain', '--config', config, '--out', out, '--resume', '--no-picture', '--json'], { timeoutMs: 120_000 });
    writeFileSync(log, last.stderr, { flag: 'a' });
    expect(last.status, last.stderr).toBe(0);
    const summary = JSON.parse(last.stdout);
    expect(summary.step).toBe(STEPS);

    // Never killed, same config and seed.
    const straightOut = join(root, 'straight');
    const straight = runCli(['pretrain', '--config', config, '--out', straightOut, '--no-picture', '--json'], { timeoutMs: 120_000 });
    expect(straight.status, straight.stderr).toBe(0);

    // metrics.jsonl reads as one run: every step once, in order, with the same numbers bit for bit.
    const strip = (ls: Record<string, unknown>[]) => ls.map(({ time: _t, clips_per_s: _c, step_ms: _s, ...rest }) => rest);
    const a = strip(readMetrics(paths.metrics));
    const b = strip(readMetrics(runPaths(straightOut).metrics));
    expect(a.map((l) => l.step)).toEqual([...Array(STEPS).keys()].map((i) => i + 1));
    expect(a).toEqual(b);
    for (let i = 0; i < STEPS; i++) expect(Object.is(a[i]!.loss, b[i]!.loss), `loss of step ${i + 1}`).toBe(true);
    // The final checkpoint: the same bytes of weights and optimizer state.
    const finalA = listCheckpoints(paths).at(-1)!;
    const finalB = listCheckpoints(runPaths(straightOut)).at(-1)!;
    expect(finalA.step).toBe(STEPS);
    for (const f of ['model.safetensors', 'state.safetensors']) {
      expect(readFileSync(join(finalA.path, f)).equals(readFileSync(join(finalB.path, f))), f).toBe(true);
    }

    // No process of any leg alive; nothing left over; the kills did land inside checkpoint writes.
    const living = allPids.filter(running);
    expect(living).toEqual([]);
    expect(leftovers(out)).toEqual([]);
    expect(listCheckpoints(paths).map((c) => c.step).at(-1)).toBe(STEPS);
    expect(listCheckpoints(paths)).toHaveLength(2);

    const left = (re: RegExp) => seen.filter((s) => s.left.some((p) => re.test(p))).length;
    const report = {
      kills: seen.length,
      trainerKills: seen.filter((s) => s.point !== 'launcher').length,
      launcherKills: seen.filter((s) => s.point === 'launcher').length,
      partialCheckpoint: seen.filter((s) => s.left.some((p) => /^checkpoints\/step-\d+$/.test(p))).length,
      tmpFiles: left(/\.tmp$/),
      pruning: left(/\.pruning$/),
      staleLock: left(/^\.lock$/),
      legs: seen.map((s) => `${s.leg}:${s.point} ${s.from}->${s.to} ${s.ms}ms${s.left.length ? ` [${s.left.join(' ')}]` : ''}`),
    };
    console.log(JSON.stringify(report, null, 1));
    expect(report.trainerKills).toBeGreaterThanOrEqual(20);
    expect(report.partialCheckpoint).toBeGreaterThanOrEqual(1);
    // Each leg after a kill said what it cleaned up and whose lock it took.
    expect(readFileSync(log, 'utf8')).toMatch(/took over the stale lock of process \d+/);
    expect(readFileSync(log, 'utf8')).toMatch(/removed \d+ leftover\(s\) of an interrupted run/);
    rmSync(root, { recursive: true, force: true });
  }, 240_000);
});
