// One training step, two ways of running it (issues 17, 19): Session::train_step runs the same phases
// eagerly (runtime.graph false) or hands them to StepGraph, which captures the MAE step once and
// replays it (native/core/session.cpp). From one seed and the same clips, the graphed run must train
// like the eager one: fp32 to float noise, bf16 to bf16 noise. Each run is a child process with
// TATS_STEP_TIMING=1 (a diagnostic), whose per-step lines say "(graph)" when the graph path ran,
// so the test also checks that the graph was really used and that its capture did not fall back.
// Runs on the GPU machine (`npm run test:gpu`); skipped with a reason where there is no CUDA device.
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { info } from '../../lib/info.js';
import { sessionConfig } from '../session-config.js';

const i = info();
const reason = i.flavour !== 'cuda' ? 'this binary has no CUDA kernels' : !i.cuda ? 'no CUDA device is available' : '';

// 2 eager warm-up calls, the capture on the 3rd, then replays (StepGraph): 7 steps cover each.
const STEPS = 7;

// The child: builds the session from argv[1] (a resolved config), trains STEPS steps on clips from
// a fixed LCG (the same bytes in every child), prints the losses as JSON on stdout.
const CHILD = `
const { Session } = await import('./dist/lib/session.js');
const cfg = JSON.parse(process.argv[1]);
const steps = Number(process.argv[2]);
const n = cfg.batchSize * cfg.model.frames * cfg.model.size * cfg.model.size * 3;
const s = await Session.create(cfg);
const losses = [], kls = [], samplerLosses = [];
let x = 12345;
for (let k = 0; k < steps; k++) {
  const clips = new Uint8Array(n);
  for (let j = 0; j < n; j++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; clips[j] = x >>> 24; }
  const m = await s.trainStep(clips);
  losses.push(m.loss);
  if (m.kl !== undefined) kls.push(m.kl);
  if (m.samplerLoss !== undefined) samplerLosses.push(m.samplerLoss);
}
s.dispose();
console.log(JSON.stringify({ losses, kls, samplerLosses }));
`;

type Strategy = 'tube' | 'tats' | 'adamae';

interface Run {
  losses: number[];
  kls: number[];  // TATS: the exact KL of each PPO update (the sampler's own training)
  samplerLosses: number[];  // AdaMAE: its joint loss term (and TATS's PPO loss), per step
  stderr: string;
}

interface RunOptions {
  graph: boolean;
  ppoGraph?: boolean;  // default: graph
  steps?: number;      // default: STEPS
  seed?: number;       // default: 7
  reward?: 'error' | 'negError' | 'progress';  // TATS; default: the config's
}

function run(strategy: Strategy, precision: 'fp32' | 'bf16', o: RunOptions): Run {
  const { graph, ppoGraph = graph, steps = STEPS, seed = 7 } = o;
  const cfg = sessionConfig({ device: 'cuda', precision, graph, strategy, batchSize: 4, lr: 1e-3, warmupSteps: 1, seed });
  cfg.runtime.ppoGraph = ppoGraph;
  // kl: the whole update's exact KL (one more forward, captured in the PPO graph too), so that the
  // comparison covers every epoch's step.
  cfg.sampler.exactKl = true;
  if (o.reward) cfg.sampler.reward = o.reward;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(cfg), String(steps)], {
    cwd: process.cwd(),
    encoding: 'utf8',
    env: { ...process.env, TATS_STEP_TIMING: '1' },
  });
  if (r.status !== 0) throw new Error(`child (${precision}, graph ${graph}, ppoGraph ${ppoGraph}) exited ${r.status}:\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { losses: number[]; kls: number[]; samplerLosses: number[] };
  expect(r.stderr).not.toMatch(/capture of the training step failed/);
  return { ...out, stderr: r.stderr };
}

describe.skipIf(Boolean(reason))(`training step, eager and CUDA-graphed, on ${i.device}`, () => {
  // TATS: the masks are drawn eagerly before the captured MAE step; the PPO update after it is a
  // graph of its own (runtime.ppoGraph, ppo.h); the graphed forward embeds only the visible patches.
  // AdaMAE: its sampler's forward, Gumbel-top-k draw (keyed by a device scalar set before each
  // replay) and joint loss are captured with the MAE step; its AdamW steps eagerly after it.
  for (const [strategy, precision, rel] of [
    ['tube', 'fp32', 1e-3],
    ['tube', 'bf16', 2e-2],
    ['tats', 'fp32', 1e-3],
    ['tats', 'bf16', 2e-2],
    ['adamae', 'fp32', 1e-3],
    ['adamae', 'bf16', 2e-2],
  ] as const) {
    it(`tiny, ${strategy} 0.9, ${precision}: the graphed step trains like the eager one`, () => {
      // TATS: reward negError, so the PPO update reads what the replayed step wrote each time.
      const reward = strategy === 'tats' ? 'negError' : undefined;
      const eager = run(strategy, precision, { graph: false, reward }), graphed = run(strategy, precision, { graph: true, reward });
      console.log(JSON.stringify({ test: 'step-graph', strategy, precision, eager: eager.losses, graphed: graphed.losses }));
      // The graph ran (every step of the graphed session says so); run() checked its capture did not fail.
      expect(graphed.stderr.match(/^tats: step \d+ \(graph\)/gm)?.length).toBe(STEPS);
      expect(eager.stderr).not.toMatch(/\(graph\)/);
      expect(graphed.losses).toHaveLength(STEPS);
      // Same weights, masks and clips; attention backward may accumulate in another order run to run.
      eager.losses.forEach((l, k) => {
        expect(Number.isFinite(graphed.losses[k]!)).toBe(true);
        expect(Math.abs(graphed.losses[k]! - l)).toBeLessThan(rel * Math.abs(l) + 1e-4);
      });
      if (strategy === 'tats') {
        // The PPO update's own result: each update's exact KL, eager against graphed.
        expect(graphed.kls).toHaveLength(STEPS);
        eager.kls.forEach((kl, k) => expect(Math.abs(graphed.kls[k]! - kl)).toBeLessThan(0.05 * Math.abs(kl) + 1e-7));
      }
      if (strategy === 'adamae') {
        // The joint loss each replay wrote (samplerLoss), and so the masks it drew: a replay that
        // reused the captured step's noise would draw the same masks every step.
        expect(graphed.samplerLosses).toHaveLength(STEPS);
        eager.samplerLosses.forEach((l, k) => expect(Math.abs(graphed.samplerLosses[k]! - l)).toBeLessThan(rel * Math.abs(l) + 1e-4));
      }
    });
  }

  // The PPO update alone, eager (ppoGraph false) against graphed, both with the MAE step graphed:
  // its 2 eager warm-up updates, the capture on the 3rd, replays after; 12 steps for the replays
  // to carry the sampler's AdamW state and the KL early stop through several updates.
  for (const precision of ['fp32', 'bf16'] as const) {
    it(`tiny, tats, ${precision}: the graphed PPO update trains the sampler like the eager one`, () => {
      const steps = 12;
      const go = (ppoGraph: boolean) => run('tats', precision, { graph: true, ppoGraph, steps, seed: 11 });
      const eager = go(false), graphed = go(true);
      console.log(JSON.stringify({ test: 'ppo-graph', precision, eager: { losses: eager.losses, kls: eager.kls }, graphed: { losses: graphed.losses, kls: graphed.kls } }));
      expect(graphed.kls).toHaveLength(steps);
      const rel = precision === 'fp32' ? 1e-3 : 5e-2;
      eager.kls.forEach((kl, k) => {
        expect(Number.isFinite(graphed.kls[k]!)).toBe(true);
        expect(Math.abs(graphed.kls[k]! - kl)).toBeLessThan(rel * Math.abs(kl) + 1e-7);
      });
      eager.losses.forEach((l, k) => expect(Math.abs(graphed.losses[k]! - l)).toBeLessThan(rel * Math.abs(l) + 1e-4));
    });
  }
});
