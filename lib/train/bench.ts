/**
 * `tats bench`: warm-up steps, then timed training steps on one fixed synthetic batch; the median
 * step time, clips/s, peak GPU memory, model TFLOP/s from the analytic count (flops.ts) and MFU
 * against a bf16 matmul peak measured in the same process.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { resolveConfig, toSessionConfig, type PretrainConfig, type PretrainOptions } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { info } from '../info.js';
import { native, type MatmulPeak } from '../native.js';
import { packageRoot } from '../paths.js';
import { integer } from '../check.js';
import { createSession, peakMemory } from './engine.js';
import { trainStepFlops, type FlopCount } from './flops.js';
import { openClipSource } from './source.js';

/** Bench-only settings. */
export interface BenchSettings {
  /** Untimed steps first (allocator, cuBLAS heuristics, clocks). Integer 0..1000. Defaults to 3. */
  warmup?: number;
  /** Timed steps; the median is reported. Integer 1..10000. Defaults to 10. */
  iters?: number;
  /** Skip the matmul peak (then `mfu` is null). Defaults to false. */
  skipPeak?: boolean;
  /** Overrides `info().cuda` for `device: auto`. */
  cudaAvailable?: boolean;
  /** Called after each step (timed or not). */
  onStep?: (e: { phase: 'warmup' | 'timed'; index: number; of: number; ms: number }) => void;
}

export const BENCH_DEFAULTS = { warmup: 3, iters: 10 } as const;

export interface BenchResult {
  device: string;
  model: string;
  strategy: string;
  batch_size: number;
  mask_ratio: number;
  frames: number;
  size: number;
  precision: string;
  clips_per_s: number;
  step_ms: number;
  step_ms_min: number;
  step_ms_max: number;
  warmup: number;
  iters: number;
  /** Peak GPU memory allocated during the timed steps (GiB), null on CPU or without the native counter. */
  peak_mem_gib: number | null;
  model_tflops: number;
  mfu: number | null;
  matmul_peak_tflops: number | null;
  matmul_peak: MatmulPeak | null;
  flops_per_step: number;
  flops: FlopCount;
  commit: string;
  torch: string;
  date: string;
  config: PretrainConfig;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The git commit of the package folder (TATS_COMMIT overrides it: the GPU machine gets a copy of the tree), or "unknown". */
export function gitCommit(): string {
  if (process.env.TATS_COMMIT) return process.env.TATS_COMMIT;
  const r = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: packageRoot, encoding: 'utf8', timeout: 5000 });
  const out = r.status === 0 ? r.stdout.trim() : '';
  if (!out) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: packageRoot, encoding: 'utf8', timeout: 5000 });
  return dirty.status === 0 && dirty.stdout.trim() ? `${out}-dirty` : out;
}

/** Times training steps of `options` (steps/out/checkpoint fields are ignored). */
export async function bench(options: PretrainOptions = {}, settings: BenchSettings = {}): Promise<BenchResult> {
  const warmup = integer('warmup', settings.warmup ?? BENCH_DEFAULTS.warmup, 0, 1000);
  const iters = integer('iters', settings.iters ?? BENCH_DEFAULTS.iters, 1, 10000);
  const steps = warmup + iters;
  const cudaAvailable = settings.cudaAvailable ?? (() => info().cuda);
  const config = resolveConfig({ ...options, steps, epochs: null, picture: false }, { cudaAvailable });
  if (config.dataset !== 'synthetic') throw new ConfigError('dataset', config.dataset, 'synthetic (bench times steps on synthetic data)');

  const source = await openClipSource(config);
  const batch = await source.read(Array.from({ length: config.batchSize }, (_, i) => i % source.length), 0);
  await source.close();
  const session = await createSession(toSessionConfig(config));
  const times: number[] = [];
  let peak: number | null = null;
  try {
    for (let i = 0; i < steps; i++) {
      // Peak over warm-up too: a CUDA graph takes its memory pool while capturing (a warm-up step)
      // and allocates nothing when replayed, so a peak taken after warm-up would miss it.
      if (i === 0) peakMemory(session, { reset: true });
      const t0 = performance.now();
      await session.trainStep(batch.clips, batch.motion);
      const ms = performance.now() - t0;
      if (i >= warmup) times.push(ms);
      settings.onStep?.({ phase: i < warmup ? 'warmup' : 'timed', index: i < warmup ? i + 1 : i - warmup + 1, of: i < warmup ? warmup : iters, ms });
    }
    peak = peakMemory(session, { reset: false });
  } finally {
    session.dispose();
  }

  const stepMs = median(times);
  const flops = trainStepFlops(config);
  const modelTflops = flops.total / (stepMs / 1000) / 1e12;
  let mm: MatmulPeak | null = null;
  if (!settings.skipPeak) {
    // About 2 s of matmuls: 8192^2 bf16 on a GPU, 1024^2 fp32 on a CPU.
    const size = config.device === 'cuda' ? 8192 : 1024;
    const probe = await native().matmulPeak({ device: config.device, size, iters: 1 });
    mm = await native().matmulPeak({ device: config.device, size, iters: Math.max(3, Math.min(2000, Math.round(2000 / Math.max(probe.ms, 0.01)))) });
  }
  const i = info();
  return {
    device: config.device === 'cuda' ? i.device : 'cpu',
    model: config.model.preset,
    strategy: config.masking.strategy,
    batch_size: config.batchSize,
    mask_ratio: config.masking.ratio,
    frames: config.model.frames,
    size: config.model.size,
    precision: config.precision,
    clips_per_s: (config.batchSize * 1000) / stepMs,
    step_ms: stepMs,
    step_ms_min: Math.min(...times),
    step_ms_max: Math.max(...times),
    warmup,
    iters,
    peak_mem_gib: peak,
    model_tflops: modelTflops,
    mfu: mm ? modelTflops / mm.tflops : null,
    matmul_peak_tflops: mm ? mm.tflops : null,
    matmul_peak: mm,
    flops_per_step: flops.total,
    flops,
    commit: gitCommit(),
    torch: i.torch,
    date: new Date().toISOString(),
    config,
  };
}
