/**
 * `tats compare`: several masking strategies under one budget (same steps, batch, model, data,
 * seed). Per strategy: pretraining loss, downstream accuracy (a linear probe by default, or a
 * short fine-tune) on the dataset's labels, throughput (clips/s) and peak memory; plus (unless
 * `scratch: false`) the same downstream training on a randomly initialised encoder, the number every
 * pretrained row has to beat. Writes
 * report.md, compare.json, compare.png (bar charts) and loss.png (loss curves) to `out`.
 *
 * Each strategy pretrains through lib/train's Trainer, the trainer of `tats pretrain` (same step,
 * same non-finite guards, same telemetry), into its own run directory `<out>/<strategy>/pretrain/`
 * (config.json, metrics.jsonl, checkpoints/, reconstruction.png); its downstream run is
 * `<out>/<strategy>/<probe|finetune>/` and the scratch row's `<out>/scratch/<probe|finetune>/`.
 *
 * The pretraining losses of different strategies are not directly comparable (each masks
 * different tokens, so each reconstructs a different share of moving content); the downstream
 * accuracy is the comparable number.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { integer, nonEmptyString, oneOf } from '../check.js';
import { COMPARE_DEFAULTS } from '../config/defaults.js';
import { DEVICE_CHOICES } from '../config/types.js';
import { ConfigError } from '../errors/index.js';
import { hasRun, runPaths } from '../train/rundir.js';
import { barChart, lineChart } from '../viz/chart.js';
import { finetune, type FinetuneResult } from './finetune.js';
import { resolveFlip, type ModelPreset } from '../config/finetune.js';
import { checkSyntheticStyle, type SyntheticStyle } from '../data/synthetic.js';
import { pretrainRun, STRATEGIES, type PretrainRunResult, type Strategy } from './pretrain.js';

export interface CompareOptions {
  strategies?: string[];
  steps?: number;
  dataset?: string;
  model?: ModelPreset;
  encoderDepth?: number;
  decoderDepth?: number;
  frames?: number;
  size?: number;
  patch?: number;
  batchSize?: number;
  ratio?: number;
  lr?: number;
  samplerDim?: number;
  samplerHeads?: number;
  ppoEpochs?: number;
  /** Downstream: 'probe' (linear probe, default) or 'finetune'. */
  downstream?: 'probe' | 'finetune';
  downstreamSteps?: number;
  downstreamLr?: number;
  testSize?: number;
  classes?: number;
  /** Labelled downstream clips (synthetic: the first N of the train split). Defaults to the whole split. */
  trainSize?: number;
  /** Also run the downstream training from a random encoder (the baseline row). Defaults to true. */
  scratch?: boolean;
  /**
   * Horizontal flips in the downstream training. Defaults to off for SSv2 and the synthetic set
   * (their labels name directions), on otherwise (VideoMAE); see FinetuneOptions.flip.
   */
  flip?: boolean;
  /**
   * How the synthetic clips look, in every pretraining run (its `data.syntheticStyle`) and every
   * downstream run (see `PretrainConfig.data.syntheticStyle`). Defaults to the default look.
   */
  syntheticStyle?: Partial<SyntheticStyle>;
  /** Pretraining steps between lines of each strategy's metrics.jsonl. Defaults to the trainer's (10). */
  logEvery?: number;
  device?: 'auto' | 'cpu' | 'cuda';
  seed?: number;
  out: string;
  signal?: AbortSignal;
  onNote?: (line: string) => void;
}

export interface CompareRow {
  strategy: string;
  pretrainLoss: number;
  top1: number;
  top5: number;
  clipsPerS: number;
  peakMemGiB: number;
  peakMemKind: string;
  maskedMovingShare?: number;
  /** The strategy's pretraining run directory (config.json, metrics.jsonl, checkpoints/, reconstruction.png). */
  run: string;
  losses: number[];
}

export interface CompareReport {
  rows: CompareRow[];
  /** The downstream result from a randomly initialised encoder (absent with scratch: false). */
  scratch?: { top1: number; top5: number };
  budget: Record<string, unknown>;
  report: string;
  plot: string;
  lossPlot: string;
}

export async function compare(o: CompareOptions): Promise<CompareReport> {
  const D = COMPARE_DEFAULTS;
  nonEmptyString('out', o.out);
  oneOf('device', o.device ?? 'auto', DEVICE_CHOICES);
  const strategies = (o.strategies?.length ? o.strategies : [...D.strategies]).flatMap((s) => s.split(','));
  for (const s of strategies) oneOf('strategies', s, STRATEGIES);
  for (const [i, s] of strategies.entries()) if (strategies.indexOf(s) !== i) throw new ConfigError('strategies', strategies.join(','), 'each strategy once');
  // Every strategy gets a new run directory: check them all before any work starts.
  for (const s of strategies) {
    const dir = join(o.out, s, 'pretrain');
    if (hasRun(runPaths(dir))) throw new ConfigError('out', o.out, `a report directory without earlier runs (${dir} holds one): choose a new one`);
  }
  const steps = integer('steps', o.steps ?? D.steps, 1);
  const downstream = oneOf('downstream', o.downstream ?? D.downstream, ['probe', 'finetune'] as const);
  const budget = {
    steps,
    batchSize: o.batchSize ?? D.batchSize,
    model: o.model ?? D.model,
    encoderDepth: o.encoderDepth ?? null,
    decoderDepth: o.decoderDepth ?? null,
    frames: o.frames ?? D.frames,
    size: o.size ?? D.size,
    patch: o.patch ?? D.patch,
    ratio: o.ratio ?? D.ratio,
    dataset: o.dataset ?? D.dataset,
    seed: o.seed ?? D.seed,
    downstream,
    downstreamSteps: integer('downstreamSteps', o.downstreamSteps ?? D.downstreamSteps, 1),
    classes: o.classes ?? null,
    trainSize: o.trainSize ?? null,
    flip: resolveFlip(o.dataset ?? D.dataset, o.flip),
    syntheticStyle: checkSyntheticStyle('syntheticStyle', o.syntheticStyle ?? {}),
  };
  mkdirSync(o.out, { recursive: true });
  const runDownstream = (checkpoint: string | undefined, out: string): Promise<FinetuneResult> =>
    finetune(
      {
        ...(checkpoint ? { checkpoint } : {}),
        linearProbe: downstream === 'probe',
        steps: budget.downstreamSteps,
        out,
        mixup: 0,
        cutmix: 0,
        flip: budget.flip,
        ...(o.downstreamLr !== undefined ? { lr: o.downstreamLr } : {}),
        ...pick(o, ['model', 'encoderDepth', 'frames', 'size', 'patch', 'batchSize', 'device', 'seed', 'dataset', 'testSize', 'classes', 'trainSize', 'syntheticStyle']),
      },
      o.signal ? { signal: o.signal } : {},
    );
  const rows: CompareRow[] = [];
  let scratch: CompareReport['scratch'];
  if (o.scratch ?? true) {
    o.onNote?.(`scratch: ${downstream} ${budget.downstreamSteps} steps from a random encoder`);
    const ft = await runDownstream(undefined, join(o.out, 'scratch', downstream));
    scratch = { top1: ft.eval.top1, top5: ft.eval.top5 };
    o.onNote?.(`scratch: top-1 ${(100 * ft.eval.top1).toFixed(1)}%`);
  }
  for (const strategy of strategies) {
    const run = join(o.out, strategy, 'pretrain');
    o.onNote?.(`${strategy}: pretraining ${steps} steps (${run})`);
    const pre: PretrainRunResult = await pretrainRun({
      strategy: strategy as Strategy,
      steps,
      batchSize: budget.batchSize,
      ratio: budget.ratio,
      out: run,
      picture: true,
      ...(o.signal ? { signal: o.signal } : {}),
      ...pick(o, ['model', 'encoderDepth', 'decoderDepth', 'frames', 'size', 'patch', 'lr', 'samplerDim', 'samplerHeads', 'ppoEpochs', 'device', 'seed', 'dataset', 'logEvery', 'syntheticStyle']),
    });
    o.onNote?.(`${strategy}: loss ${pre.finalLoss.toFixed(4)}, ${pre.clipsPerS.toFixed(1)} clips/s; ${downstream} ${budget.downstreamSteps} steps`);
    const ft: FinetuneResult = await runDownstream(run, join(o.out, strategy, downstream));
    o.onNote?.(`${strategy}: top-1 ${(100 * ft.eval.top1).toFixed(1)}%`);
    rows.push({
      strategy,
      pretrainLoss: pre.finalLoss,
      top1: ft.eval.top1,
      top5: ft.eval.top5,
      clipsPerS: pre.clipsPerS,
      peakMemGiB: pre.peakMemGiB,
      peakMemKind: pre.peakMemKind,
      ...(pre.maskedMovingShare !== undefined ? { maskedMovingShare: pre.maskedMovingShare } : {}),
      run,
      losses: pre.losses,
    });
  }
  // The scratch baseline is a bar in the accuracy panel only (it has no pretraining numbers).
  const withScratch = <T>(v: T[], s: T): T[] => (scratch ? [...v, s] : v);
  const chart = barChart(
    withScratch(rows.map((r) => r.strategy), 'scratch'),
    [
      { title: 'PRETRAIN LOSS', values: withScratch(rows.map((r) => r.pretrainLoss), NaN), digits: 3 },
      { title: `TOP-1 ${downstream === 'probe' ? 'PROBE' : 'FT'} %`, values: withScratch(rows.map((r) => 100 * r.top1), 100 * (scratch?.top1 ?? NaN)), digits: 1 },
      { title: 'CLIPS/S', values: withScratch(rows.map((r) => r.clipsPerS), NaN), digits: 1 },
      { title: `PEAK MEM GIB`, values: withScratch(rows.map((r) => r.peakMemGiB), NaN), digits: 2 },
      { title: 'MASKED MOVING %', values: withScratch(rows.map((r) => (r.maskedMovingShare ?? NaN) * 100), NaN), digits: 1 },
    ],
  );
  const plot = join(o.out, 'compare.png');
  writeFileSync(plot, chart.png);
  const lossPlot = join(o.out, 'loss.png');
  writeFileSync(lossPlot, lineChart('PRETRAINING LOSS PER STEP', rows.map((r) => r.strategy), rows.map((r) => smooth(r.losses, 5))).png);
  const memNote = rows[0]?.peakMemKind === 'cuda' ? 'CUDA caching-allocator peak' : 'peak resident set of the whole process (CPU), cumulative over the runs in this process, so only the first row is a clean number';
  const report = [
    `# Strategy comparison`,
    '',
    `Budget shared by every strategy: ${steps} pretraining steps, batch ${budget.batchSize}, model ${budget.model}` +
      `${budget.encoderDepth ? ` (encoder depth ${budget.encoderDepth})` : ''}${budget.decoderDepth ? ` (decoder depth ${budget.decoderDepth})` : ''}, ` +
      `${budget.frames} frames x ${budget.size} px (patch ${budget.patch}), mask ratio ${budget.ratio}, dataset ${budget.dataset}, seed ${budget.seed}. ` +
      `Downstream: ${downstream === 'probe' ? 'linear probe (frozen encoder; fc_norm + head train)' : 'full fine-tune'} for ${budget.downstreamSteps} steps on the dataset's labels` +
      `${budget.classes ? ` (${budget.classes} classes)` : ''}${budget.trainSize ? ` from ${budget.trainSize} labelled clips` : ''}, horizontal flips ${budget.flip ? 'on' : 'off'}, scored on its test split (${o.testSize ?? 256} clips). ` +
      `Each strategy pretrains with the trainer of \`tats pretrain\`; its run directory (config.json, metrics.jsonl, reconstruction.png) is \`<strategy>/pretrain/\`.`,
    '',
    '| strategy | pretrain loss (last 10%) | top-1 | top-5 | top-1 vs scratch | clips/s | peak memory (GiB) | masked moving share |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.strategy} | ${r.pretrainLoss.toFixed(4)} | ${(100 * r.top1).toFixed(1)}% | ${(100 * r.top5).toFixed(1)}% | ${scratch ? signed(100 * (r.top1 - scratch.top1)) : '-'} | ${r.clipsPerS.toFixed(2)} | ${r.peakMemGiB.toFixed(2)} | ${r.maskedMovingShare !== undefined ? (100 * r.maskedMovingShare).toFixed(1) + '%' : '-'} |`,
    ),
    ...(scratch ? [`| scratch (no pretraining) | - | ${(100 * scratch.top1).toFixed(1)}% | ${(100 * scratch.top5).toFixed(1)}% | - | - | - | - |`] : []),
    '',
    `Peak memory: ${memNote}. Throughput counts pretraining steps after the first. Pretraining losses of different`,
    'strategies are not comparable as such (each reconstructs different tokens); downstream accuracy is.',
    '',
    '![metrics](compare.png)',
    '',
    '![loss](loss.png)',
    '',
  ].join('\n');
  writeFileSync(join(o.out, 'report.md'), report);
  writeFileSync(join(o.out, 'compare.json'), JSON.stringify({ budget, rows: rows.map(({ losses: _l, ...r }) => r), ...(scratch ? { scratch } : {}) }, null, 2) + '\n');
  return { rows, ...(scratch ? { scratch } : {}), budget, report: join(o.out, 'report.md'), plot, lossPlot };
}

function signed(points: number): string {
  return `${points >= 0 ? '+' : ''}${points.toFixed(1)} pt`;
}

function smooth(v: number[], k: number): number[] {
  return v.map((_, i) => {
    const s = v.slice(Math.max(0, i - k + 1), i + 1);
    return s.reduce((a, b) => a + b, 0) / s.length;
  });
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
