/**
 * The runs under a folder, as the dashboard lists them. A folder holding config.json,
 * metrics.jsonl or eval.json is a run (pretrain when its config has `masking`, finetune when it has
 * `classifier`, eval when there is only an eval.json); a folder holding compare.json, or
 * `<strategy>/pretrain` runs as `tats compare` lays them out, is a compare report whose runs are
 * listed under it. Symlinked folders are not followed, hidden folders and checkpoints are skipped.
 *
 * A run's state is read from its files, so that a run trained by another process shows too:
 * finished (its last step is checkpointed, or a fine-tune has its eval.json), training (a file
 * changed recently: within ten logging intervals, at least two minutes), stopped (quiet since its
 * last checkpoint: Ctrl-C checkpoints before exiting) or failed (quiet with steps logged after
 * its last checkpoint, or a non-finite loss).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { lastRows, type MetricsRow } from './tail.js';

export type RunKind = 'pretrain' | 'finetune' | 'eval' | 'compare';
export type RunState = 'training' | 'finished' | 'stopped' | 'failed';

export interface RunSummary {
  /** The run's folder relative to the runs folder, with '/' ('.' for the runs folder itself). */
  id: string;
  kind: RunKind;
  state: RunState;
  /** Last logged (or checkpointed) step, and the run's last step, when known. */
  step: number | null;
  steps: number | null;
  /** Last change of the run's files, ms since the epoch. */
  updated: number;
  /** Masking strategy (pretrain), or the report's strategies (compare). */
  strategy?: string;
  /** Id of the compare report that holds this run. */
  parent?: string;
  /** Modification times of reconstruction.png / reconstruction.gif (their version), when present. */
  picture?: { png?: number; gif?: number };
  /** Top-1 accuracy of a fine-tune or eval. */
  top1?: number;
  /** Last loss logged. */
  loss?: number | null;
}

/** How far below the runs folder runs are looked for. */
const MAX_DEPTH = 5;
const SKIP = new Set(['checkpoints', 'checkpoint', 'node_modules']);
/** A run whose files have not changed for this long (and ten logging intervals) is no longer training. */
const STALE_MS = 120_000;

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined; // missing, or being written
  }
}

async function mtime(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => null))?.mtimeMs;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Steps of the complete checkpoints (meta.json written last) in `dir/checkpoints`. */
async function checkpointSteps(dir: string): Promise<number[]> {
  const names = await readdir(join(dir, 'checkpoints')).catch(() => [] as string[]);
  const steps: number[] = [];
  for (const n of names) {
    const m = /^step-(\d+)$/.exec(n);
    if (m && (await mtime(join(dir, 'checkpoints', n, 'meta.json'))) !== undefined) steps.push(Number(m[1]));
  }
  return steps.sort((a, b) => a - b);
}

/** Median time between the last logged lines, ms (0 when unknown). */
function logInterval(rows: MetricsRow[]): number {
  const t = rows.map((r) => (typeof r.time === 'string' ? Date.parse(r.time) : NaN)).filter(Number.isFinite);
  const d = t.slice(1).map((x, i) => x - t[i]!).filter((x) => x > 0).sort((a, b) => a - b);
  return d.length ? d[d.length >> 1]! : 0;
}

/** Reads one run folder's summary. */
export async function describeRun(dir: string, id: string, now = Date.now()): Promise<RunSummary> {
  const [config, evalJson, rows] = await Promise.all([readJson(join(dir, 'config.json')), readJson(join(dir, 'eval.json')), lastRows(join(dir, 'metrics.jsonl'))]);
  const files = ['config.json', 'metrics.jsonl', 'eval.json', 'reconstruction.png', 'checkpoints', 'checkpoint'];
  const times = await Promise.all(files.map((f) => mtime(join(dir, f))));
  const updated = Math.max(0, ...times.filter((t): t is number => t !== undefined));
  const [png, gif] = [times[3], await mtime(join(dir, 'reconstruction.gif'))];
  const kind: RunKind = isObject(config) && 'classifier' in config ? 'finetune' : isObject(config) || rows.length ? 'pretrain' : 'eval';
  const last = rows.at(-1);
  const steps = isObject(config) && typeof config.steps === 'number' ? config.steps : null;
  const s: RunSummary = { id, kind, state: 'stopped', step: last?.step ?? null, steps, updated };
  if (last && 'loss' in last) s.loss = typeof last.loss === 'number' ? last.loss : null;
  if (png !== undefined || gif !== undefined) s.picture = { ...(png !== undefined ? { png } : {}), ...(gif !== undefined ? { gif } : {}) };
  if (isObject(evalJson) && typeof evalJson.top1 === 'number') s.top1 = evalJson.top1;
  const masking = isObject(config) && isObject(config.masking) ? config.masking : undefined;
  if (typeof masking?.strategy === 'string') s.strategy = masking.strategy;
  const fresh = now - updated < Math.max(STALE_MS, 10 * logInterval(rows));
  if (kind === 'eval') {
    s.state = 'finished';
  } else if (kind === 'finetune') {
    s.state = evalJson !== undefined ? 'finished' : fresh ? 'training' : last && last.loss === null ? 'failed' : 'stopped';
  } else {
    const ckpts = await checkpointSteps(dir);
    const lastCkpt = ckpts.at(-1) ?? 0;
    if (s.step === null && lastCkpt > 0) s.step = lastCkpt;
    if (steps !== null && lastCkpt >= steps) s.state = 'finished';
    else if (fresh) s.state = 'training';
    else if ((last && last.loss === null) || (s.step ?? 0) > lastCkpt) s.state = 'failed';
    else s.state = 'stopped';
  }
  return s;
}

/** Whether `dir` is a compare report: compare.json, or `<name>/pretrain` (or probe/finetune) runs in it. */
async function isCompare(dir: string, subdirs: string[]): Promise<boolean> {
  if ((await mtime(join(dir, 'compare.json'))) !== undefined) return true;
  for (const d of subdirs) {
    for (const leg of ['pretrain', 'probe', 'finetune']) {
      if ((await mtime(join(dir, d, leg, 'config.json'))) !== undefined) return true;
    }
  }
  return false;
}

async function describeCompare(dir: string, id: string, children: RunSummary[]): Promise<RunSummary> {
  const report = await readJson(join(dir, 'compare.json'));
  const budget = isObject(report) && isObject(report.budget) ? report.budget : undefined;
  const mine = children.filter((c) => c.parent === id);
  const updated = Math.max(0, (await mtime(join(dir, 'compare.json'))) ?? 0, ...mine.map((c) => c.updated));
  const state: RunState = mine.some((c) => c.state === 'training')
    ? 'training'
    : report !== undefined
      ? 'finished'
      : mine.some((c) => c.state === 'failed')
        ? 'failed'
        : Date.now() - updated < STALE_MS
          ? 'training'
          : 'stopped';
  const strategies = [...new Set(mine.map((c) => c.strategy).filter((x): x is string => Boolean(x)))];
  return {
    id,
    kind: 'compare',
    state,
    step: null,
    steps: typeof budget?.steps === 'number' ? budget.steps : null,
    updated,
    ...(strategies.length ? { strategy: strategies.join(', ') } : {}),
  };
}

/** Every run and compare report under `root`, in folder order (a report before its runs). */
export async function scanRuns(root: string): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  const walk = async (dir: string, id: string, depth: number, parent: string | undefined): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    const subdirs = entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name))
      .map((e) => e.name)
      .sort();
    const child = (name: string) => (id === '.' ? name : `${id}/${name}`);
    if (await isCompare(dir, subdirs)) {
      const at = out.length;
      for (const d of subdirs) await walk(join(dir, d), child(d), depth + 1, id);
      out.splice(at, 0, await describeCompare(dir, id, out.slice(at)));
      if (parent !== undefined) out[at]!.parent = parent;
      return;
    }
    if (files.has('config.json') || files.has('metrics.jsonl') || files.has('eval.json')) {
      const s = await describeRun(dir, id);
      if (parent !== undefined) s.parent = parent;
      out.push(s);
      return;
    }
    if (depth >= MAX_DEPTH) return;
    for (const d of subdirs) await walk(join(dir, d), child(d), depth + 1, parent);
  };
  await walk(root, '.', 0, undefined);
  return out;
}
