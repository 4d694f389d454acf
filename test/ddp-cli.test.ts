// `tats pretrain --nproc-per-node 2` on the CPU (Gloo): the same run as one process on the
// combined batch, rank 0 alone writing the run directory, an exact resume, a stop that every
// rank honours after the same step, a dead rank that stops the others, and launch-environment
// errors that name the variable.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readMetrics } from '../lib/index.js';
import { native } from '../lib/native.js';
import { packageRoot } from '../lib/paths.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tats-ddp-cli-'));
const cli = join(packageRoot, 'dist', 'cli', 'tats.js');
// A small tats run: tiny ViT on 8x64 synthetic clips, 2 clips per rank.
const run = (out: string, ...more: string[]) => [
  'pretrain', '--preset', 'cpu-demo', ...(more.includes('--batch-size') ? [] : ['--batch-size', '2']), '--log-every', '1', '--no-picture', '--out', out, ...more,
];
const clean: NodeJS.ProcessEnv = { RANK: undefined, WORLD_SIZE: undefined, LOCAL_RANK: undefined, MASTER_ADDR: undefined, MASTER_PORT: undefined, SLURM_PROCID: undefined, SLURM_NTASKS: undefined, OMP_NUM_THREADS: '1' };
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...clean, ...extra };
  for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k];
  return e;
};

function losses(out: string): number[] {
  return readMetrics(join(out, 'metrics.jsonl')).map((r) => r.loss as number);
}

/** Starts the CLI; resolves when it exits. `whenLogged(n)` runs `act` once metrics.jsonl has n lines. */
function startCli(args: string[], act?: { lines: number; out: string; fn: (pid: number) => void }) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: packageRoot, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  if (act) {
    timer = setInterval(() => {
      const path = join(act.out, 'metrics.jsonl');
      if (existsSync(path) && readFileSync(path, 'utf8').split('\n').filter(Boolean).length >= act.lines) {
        clearInterval(timer);
        act.fn(child.pid!);
      }
    }, 50);
  }
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (status) => {
      if (timer) clearInterval(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The child process of `parent` whose LOCAL_RANK is `local`. */
function rankPid(parent: number, local: number): number {
  const pids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(parent)], { encoding: 'utf8' }).stdout.split('\n').map((s) => Number(s.trim())).filter(Boolean);
  for (const pid of pids) {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    if (environ.includes(`LOCAL_RANK=${local}`)) return pid;
  }
  throw new Error(`no child of ${parent} with LOCAL_RANK=${local} among ${pids.join(', ')}`);
}

describe.skipIf(!native().distributedBackends().includes('gloo'))('tats pretrain --nproc-per-node 2 (CPU, Gloo)', () => {
  it('trains like one process on the combined batch; rank 0 alone writes the run directory', () => {
    const single = join(dir, 'single');
    const ddp = join(dir, 'ddp');
    const a = runCli(run(single, '--steps', '3', '--batch-size', '4'), { env: env() });
    expect(a.status, a.stderr).toBe(0);
    const b = runCli(run(ddp, '--steps', '3', '--nproc-per-node', '2', '--json'), { env: env() });
    expect(b.status, b.stderr).toBe(0);
    const summary = JSON.parse(b.stdout);
    expect(summary).toMatchObject({ step: 3, aborted: false, config: { worldSize: 2, nprocPerNode: 2, batchSize: 2 } });
    // The learning rate scales with the global batch: the same as the single process's.
    expect(summary.config.optim.lr).toBe(JSON.parse(readFileSync(join(single, 'config.json'), 'utf8')).optim.lr);
    const l1 = losses(single);
    const l2 = losses(ddp);
    expect(l2).toHaveLength(3); // one writer: no line twice
    for (let i = 0; i < 3; i++) expect(l2[i]).toBeCloseTo(l1[i]!, 5);
    expect(readdirSync(ddp).sort()).toEqual(['checkpoints', 'config.json', 'metrics.jsonl']);
    expect(readdirSync(join(ddp, 'checkpoints'))).toEqual(['step-00000003']);
    expect(b.stderr).toMatch(/starting 2 local ranks/);
  });

  it('resumes exactly: 2 + 2 steps equal 4 steps', () => {
    const straight = join(dir, 'straight');
    const split = join(dir, 'split');
    expect(runCli(run(straight, '--steps', '4', '--nproc-per-node', '2'), { env: env() }).status).toBe(0);
    const first = runCli(run(split, '--steps', '2', '--nproc-per-node', '2', '--set', 'optim.totalSteps=4'), { env: env() });
    expect(first.status, first.stderr).toBe(0);
    // The rank count comes from the stored run when --resume is given without --nproc-per-node.
    const second = runCli(['pretrain', '--out', split, '--resume', '--steps', '4'], { env: env() });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/starting 2 local ranks/);
    expect(losses(split)).toEqual(losses(straight));
  });

  it('an interrupt stops every rank after the same step and writes a checkpoint', async () => {
    const out = join(dir, 'interrupted');
    const r = await startCli(run(out, '--steps', '200', '--nproc-per-node', '2'), { lines: 2, out, fn: (pid) => process.kill(pid, 'SIGINT') });
    expect(r.status, r.stderr).toBe(1); // stopped before its last step
    expect(r.stdout).toMatch(/the run was stopped at step (\d+) of 200/);
    const step = Number(/stopped at step (\d+)/.exec(r.stdout)![1]);
    expect(readdirSync(join(out, 'checkpoints'))).toContain(`step-${String(step).padStart(8, '0')}`);
    expect(losses(out)).toHaveLength(step);
  });

  it('a rank that dies stops the others; the CLI exits 1 naming the rank', async () => {
    const out = join(dir, 'killed');
    const t0 = Date.now();
    const r = await startCli(run(out, '--steps', '500', '--nproc-per-node', '2'), { lines: 1, out, fn: (pid) => process.kill(rankPid(pid, 1), 'SIGKILL') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERR_RANK_FAILED.*rank 1 \(local rank 1\) was killed by SIGKILL; stopped the other 1 local rank/);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});

describe('tats pretrain: a bad launch environment exits 2 naming the variable', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ RANK: '3', WORLD_SIZE: '2', LOCAL_RANK: '0', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29500' }, /RANK: expected an integer in \[0, WORLD_SIZE\) = \[0, 2\), received 3/],
    [{ RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '0', MASTER_PORT: '29500' }, /MASTER_ADDR: expected the host name or address of rank 0 when WORLD_SIZE > 1/],
    [{ RANK: '0', WORLD_SIZE: '1', TATS_DIST_BACKEND: 'nccl' }, /TATS_DIST_BACKEND: expected "gloo" on the cpu device/],
    [{ SLURM_PROCID: '0', SLURM_NTASKS: '2' }, /SLURM_LOCALID: expected an integer >= 0/],
  ];
  for (const [extra, message] of cases) {
    it(JSON.stringify(extra), () => {
      const r = runCli(run(join(dir, 'bad-env'), '--steps', '1', '--device', 'cpu'), { env: env(extra) });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(dir, 'bad-env'))).toBe(false);
    });
  }
});
