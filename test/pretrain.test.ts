// Pretraining end to end on the CPU with the real native Session: the run directory, abort,
// event-loop lag, and a run killed with SIGKILL that resumes exactly. Tiny model, few steps.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { describe, expect, it } from 'vitest';

import {
  ConfigError,
  info,
  Session,
  Trainer,
  loadCheckpoint,
  pretrain,
  readMetrics,
  resolveConfig,
  toSessionConfig,
} from '../lib/index.js';
import { listCheckpoints, runPaths } from '../lib/train/rundir.js';
import { packageRoot } from '../lib/paths.js';
import { runCli, tinyPretrain } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'tats-pretrain-'));
const cpu = { cudaAvailable: false };

const tiny = tinyPretrain;

describe('pretrain (API)', () => {
  it('writes the run directory of the contract', async () => {
    const out = join(root, 'contract');
    const r = await pretrain({ ...tiny, steps: 6, checkpointEvery: 4, out }, cpu);
    expect(r.aborted).toBe(false);
    expect(r.step).toBe(6);
    expect(Number.isFinite(r.loss)).toBe(true);
    const paths = runPaths(out);
    expect(JSON.parse(readFileSync(paths.config, 'utf8'))).toEqual(r.config);
    const lines = readMetrics(paths.metrics);
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // The contract's keys, the TATS sampler's telemetry, and the motion shares of the synthetic set.
    const keys = ['step', 'loss', 'lr', 'clips_per_s', 'entropy', 'kl', 'clip_frac', 'value_loss', 'reward', 'beta', 'ppo_epochs', 'masked_moving_share', 'moving_share'];
    for (const l of lines) for (const k of keys) expect(typeof l[k], k).toBe('number');
    // Checkpoints at 4 and at the end; the last is a complete lib/checkpoint folder.
    expect(listCheckpoints(paths).map((c) => c.step)).toEqual([4, 6]);
    expect(r.checkpoint).toBe(join(paths.checkpoints, 'step-00000006'));
    for (const f of ['model.safetensors', 'state.safetensors', 'meta.json']) expect(existsSync(join(r.checkpoint!, f))).toBe(true);
    expect(r.picture).toBe(paths.picture);
    expect([...readFileSync(paths.picture).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it('reads the same data on worker threads as on the main thread', async () => {
    const main = await pretrain({ ...tiny, steps: 4, out: join(root, 'workers-0'), picture: false, data: { ...tiny.data, workers: 0 } }, cpu);
    const threads = await pretrain({ ...tiny, steps: 4, out: join(root, 'workers-2'), picture: false, data: { ...tiny.data, workers: 2, prefetch: 3 } }, cpu);
    expect(threads.config.data.workers).toBe(2);
    const a = readMetrics(main.metrics);
    const b = readMetrics(threads.metrics);
    expect(b.map((l) => l.loss)).toEqual(a.map((l) => l.loss));
    expect(b.map((l) => l.moving_share)).toEqual(a.map((l) => l.moving_share));
  });

  it('rejects an invalid config before creating anything', async () => {
    const out = join(root, 'invalid');
    await expect(pretrain({ ...tiny, masking: { ratio: 1 }, out }, cpu)).rejects.toThrow(ConfigError);
    await expect(pretrain({ ...tiny, steps: 0, out }, cpu)).rejects.toThrow(/^steps: expected an integer/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an out directory that holds a run unless resuming', async () => {
    const out = join(root, 'contract');
    await expect(pretrain({ ...tiny, steps: 6, out }, cpu)).rejects.toThrow(/^out: expected a new or empty run directory, or --resume/);
  });

  it('an AbortSignal stops within one step and leaves a checkpoint to resume from', async () => {
    const out = join(root, 'abort');
    const ac = new AbortController();
    const r = await pretrain(
      { ...tiny, steps: 50, checkpointEvery: 100, out },
      { ...cpu, signal: ac.signal, onProgress: (p) => p.step === 3 && ac.abort() },
    );
    expect(r.aborted).toBe(true);
    expect(r.step).toBe(3);
    expect(r.checkpoint).toBe(join(runPaths(out).checkpoints, 'step-00000003'));
    const t = await Trainer.open({ ...tiny, steps: 50, checkpointEvery: 100, out }, { ...cpu, resume: true });
    expect(t.startStep).toBe(3);
    expect(t.step).toBe(3);
    await t.dispose();
  });

  it('an abort while a step is in flight: that step finishes, no other starts', async () => {
    const out = join(root, 'abort-timed');
    const ac = new AbortController();
    let stepAtAbort = -1;
    let abortedAt = 0;
    const trainer = await Trainer.open({ ...tiny, steps: 200, checkpointEvery: 1000, out }, cpu);
    // Abort at an arbitrary moment once training runs (a step is then almost always in flight).
    trainer.once('step', () => {
      setTimeout(() => {
        stepAtAbort = trainer.step;
        abortedAt = performance.now();
        ac.abort();
      }, 37);
    });
    const stepMs: number[] = [];
    trainer.on('step', (s) => stepMs.push(s.stepMs));
    const r = await trainer.run({ signal: ac.signal });
    const latency = performance.now() - abortedAt;
    await trainer.dispose();
    expect(r.aborted).toBe(true);
    expect(r.step - stepAtAbort).toBeLessThanOrEqual(1);
    expect(listCheckpoints(runPaths(out)).at(-1)?.step).toBe(r.step);
    const median = [...stepMs].sort((a, b) => a - b)[stepMs.length >> 1]!;
    console.log(`abort: step ${stepAtAbort} in flight -> stopped at ${r.step}; ${latency.toFixed(0)} ms from abort() to resolved (incl. checkpoint), median step ${median.toFixed(0)} ms`);
  });

  it('training in-process keeps event-loop lag under 50 ms', async () => {
    const out = join(root, 'lag');
    // Start-up costs come first, as in a service: loading the addon and libtorch (~0.3 s) and the
    // first Session (libtorch loads more libraries then, ~0.4 s on the main thread).
    info();
    (await Session.create(toSessionConfig(resolveConfig({ ...tiny, out }, cpu)))).dispose();
    const h = monitorEventLoopDelay({ resolution: 5 });
    // setInterval drift as a second, independent measure.
    let last = performance.now();
    let worstDrift = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstDrift = Math.max(worstDrift, now - last - 10);
      last = now;
    }, 10);
    h.enable();
    const r = await pretrain({ ...tiny, steps: 12, checkpointEvery: 4, out }, cpu);
    h.disable();
    clearInterval(timer);
    const ms = (ns: number) => ns / 1e6;
    console.log(
      `event-loop delay over ${r.step} steps (${r.elapsedS.toFixed(1)} s, checkpoints and picture included): ` +
        `p50 ${ms(h.percentile(50)).toFixed(1)} ms, p99 ${ms(h.percentile(99)).toFixed(1)} ms, max ${ms(h.max).toFixed(1)} ms; ` +
        `worst setInterval(10 ms) drift ${worstDrift.toFixed(1)} ms`,
    );
    // The claim is the typical lag (p99). Single outliers on this shared two-core machine come from
    // the OS scheduler, not from work on the loop: profiles show no JS task in a run longer than
    // ~15 ms and the loop busy ~10% of the time. A step run on the loop would put every step's
    // 70+ ms into the tail; the max bound catches gross blocking.
    expect(ms(h.percentile(99))).toBeLessThan(50);
    expect(ms(h.max)).toBeLessThan(250);
    expect(worstDrift).toBeLessThan(250);
  });
});

describe('pretrain (CLI)', () => {
  it('runs to the end with data read on worker threads (they keep the process alive)', () => {
    const config = join(root, 'tiny-workers.json');
    writeFileSync(config, JSON.stringify({ ...tiny, steps: 2, data: { ...tiny.data, workers: 1 } }));
    const r = runCli(['pretrain', '--config', config, '--out', join(root, 'cli-workers'), '--json', '--no-picture']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).step).toBe(2);
  });
});

describe('pretrain (CLI): killed with SIGKILL, then --resume', () => {
  it('ends at the configured step with a loadable checkpoint, exactly as an uninterrupted run', async () => {
    const config = join(root, 'tiny.json');
    writeFileSync(config, JSON.stringify({ ...tiny, steps: 12, checkpointEvery: 4 }));
    const killed = join(root, 'killed');
    const args = ['pretrain', '--config', config, '--out', killed, '--json', '--no-picture'];

    // Start, wait for the first checkpoint and a logged step after it, then SIGKILL.
    const child = spawn(process.execPath, [join(packageRoot, 'dist', 'cli', 'tats.js'), ...args], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
    const paths = runPaths(killed);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const logged = readMetrics(paths.metrics).at(-1)?.step as number | undefined;
      if (listCheckpoints(paths).length > 0 && logged !== undefined && logged >= 5) break;
      if (Date.now() > deadline) throw new Error('the run did not reach a checkpoint in 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const before = readMetrics(paths.metrics).at(-1)!.step as number;
    expect(before).toBeLessThan(12);

    const resumed = runCli([...args, '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary.step).toBe(12);
    expect(summary.start_step).toBeGreaterThanOrEqual(4);
    expect(summary.start_step % 4).toBe(0);

    // metrics.jsonl reads as one run: every step once, in order.
    const lines = readMetrics(paths.metrics);
    expect(lines.map((l) => l.step)).toEqual([...Array(12).keys()].map((i) => i + 1));

    // The final checkpoint loads into a fresh Session at step 12.
    const final = listCheckpoints(paths).at(-1)!;
    expect(final.step).toBe(12);
    const session = await Session.create(toSessionConfig(resolveConfig({ ...tiny, steps: 12, checkpointEvery: 4, out: killed }, cpu)));
    await loadCheckpoint(final.path, session);
    expect(session.step).toBe(12);
    session.dispose();

    // Same config, never interrupted: the same losses at every step (same data, masks, lr).
    const straight = runCli(['pretrain', '--config', config, '--out', join(root, 'straight'), '--json', '--no-picture']);
    expect(straight.status, straight.stderr).toBe(0);
    const reference = readMetrics(runPaths(join(root, 'straight')).metrics);
    expect(lines.map((l) => l.lr)).toEqual(reference.map((l) => l.lr));
    for (let i = 0; i < 12; i++) expect(lines[i]!.loss as number).toBeCloseTo(reference[i]!.loss as number, 5);
  });
});
