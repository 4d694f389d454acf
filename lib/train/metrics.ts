/**
 * metrics.jsonl: one JSON object per logged step, snake_case keys (docs/cli.md "The run directory").
 * Appends are asynchronous; on resume the lines after the checkpoint's step are dropped so that
 * the file reads as if the run had never stopped.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';

import type { StepRecord } from './types.js';

/** camelCase record field -> metrics.jsonl key, in the order they are written. */
const KEYS: [keyof StepRecord, string][] = [
  ['step', 'step'],
  ['epoch', 'epoch'],
  ['loss', 'loss'],
  ['lr', 'lr'],
  ['clipsPerS', 'clips_per_s'],
  ['stepMs', 'step_ms'],
  ['gradNorm', 'grad_norm'],
  ['entropy', 'entropy'],
  ['kl', 'kl'],
  ['clipFrac', 'clip_frac'],
  ['valueLoss', 'value_loss'],
  ['reward', 'reward'],
  ['beta', 'beta'],
  ['ppoEpochs', 'ppo_epochs'],
  ['samplerLoss', 'sampler_loss'],
  ['maskedMovingShare', 'masked_moving_share'],
  ['movingShare', 'moving_share'],
  ['badSamples', 'bad_samples'],
];

/** The JSON object written for a step (fields the step lacks are left out; non-finite numbers become null). */
export function metricsLine(r: StepRecord, time = new Date()): Record<string, number | string | null> {
  const o: Record<string, number | string | null> = {};
  for (const [k, name] of KEYS) {
    const v = r[k];
    if (v === undefined) continue;
    o[name] = typeof v === 'number' && !Number.isFinite(v) ? null : (v as number);
  }
  o.time = time.toISOString();
  return o;
}

export class MetricsWriter {
  private pending: Promise<void> = Promise.resolve();
  private failed: unknown;

  constructor(readonly path: string) {}

  /** Keeps only the lines with step <= `step` (and drops a torn last line). Synchronous: runs once at start. */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const keep: string[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const o = JSON.parse(line) as { step?: unknown };
        if (typeof o.step === 'number' && o.step <= step) keep.push(line);
      } catch {
        // a line cut short by a kill: drop it
      }
    }
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, keep.map((l) => l + '\n').join(''));
    renameSync(tmp, this.path);
  }

  /** Queues one line; lines are written in order. Errors surface on the next write or flush. */
  write(r: StepRecord): void {
    if (this.failed) throw this.failed;
    const line = JSON.stringify(metricsLine(r)) + '\n';
    this.pending = this.pending.then(() => appendFile(this.path, line)).catch((err: unknown) => {
      this.failed = err;
    });
  }

  /** Queues one line of any JSON object (with a numeric `step`, so that truncateAfter keeps or drops it). */
  append(o: { step: number } & Record<string, unknown>): void {
    if (this.failed) throw this.failed;
    const line = JSON.stringify(o) + '\n';
    this.pending = this.pending.then(() => appendFile(this.path, line)).catch((err: unknown) => {
      this.failed = err;
    });
  }

  /** Waits for queued lines. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.failed) throw this.failed;
  }
}

/** Reads metrics.jsonl back (skipping a torn last line). */
export function readMetrics(path: string): Record<string, number | string | null>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, number | string | null>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, number | string | null>);
    } catch {
      // torn line
    }
  }
  return out;
}
