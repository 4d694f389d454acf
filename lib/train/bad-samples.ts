/**
 * `<out>/bad_samples.jsonl` (data.onDamaged = skip): one line per sample that failed to load and
 * was replaced, with the step whose batch held it; read back for the run's summary.
 */
import { badSampleName, type BadSample } from '../data/index.js';
import { readMetrics, type MetricsWriter } from './metrics.js';

/** How many distinct bad samples a run's summary lists. */
export const BAD_FILES_SHOWN = 20;

/** Appends one line per replaced sample of the batch trained at `step` (tagged with `rank` under data parallelism). */
export function appendBadSamples(log: MetricsWriter, step: number, bad: readonly BadSample[], rank?: number): void {
  const time = new Date().toISOString();
  const tag = rank !== undefined ? { rank } : {};
  for (const b of bad) log.append({ step, file: b.file, ...(b.clip !== undefined ? { clip: b.clip } : {}), reason: b.reason, ...tag, time });
}

/** The first BAD_FILES_SHOWN distinct samples of a bad_samples.jsonl (all legs of the run). */
export function firstBadSamples(path: string): BadSample[] {
  const seen = new Map<string, BadSample>();
  for (const o of readMetrics(path)) {
    if (typeof o.file !== 'string' || typeof o.reason !== 'string') continue;
    const b: BadSample = typeof o.clip === 'number' ? { file: o.file, clip: o.clip, reason: o.reason } : { file: o.file, reason: o.reason };
    const key = badSampleName(b);
    if (!seen.has(key)) seen.set(key, b);
    if (seen.size >= BAD_FILES_SHOWN) break;
  }
  return [...seen.values()];
}
