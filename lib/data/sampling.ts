/**
 * Temporal sampling: which frame indices of an n-frame video make a clip, following VideoMAE
 * (kinetics.py / ssv2.py). All functions take a uniform random source `rand() -> [0, 1)` where they
 * draw, so callers control seeding.
 */

export type Rand = () => number;

function randInt(rand: Rand, lo: number, hi: number): number {
  // uniform integer in [lo, hi]
  return lo + Math.min(hi - lo, Math.floor(rand() * (hi - lo + 1)));
}

/**
 * Pre-training sampling (VideoMAE `_sample_train_indices`): `frames` consecutive indices at stride
 * `rate` from a start uniform in [0, n - frames*rate]; a short video repeats its last frame.
 * 16x4 for K400/UCF101/HMDB51; 16x2 for SSv2 pre-training (consecutive, not segments).
 */
export function denseIndices(n: number, frames: number, rate: number, rand: Rand): number[] {
  const span = frames * rate;
  const start = n > span ? randInt(rand, 0, n - span) : 0;
  const out: number[] = [];
  for (let i = 0; i < frames; i++) out.push(Math.min(n - 1, start + i * rate));
  return out;
}

/** SSv2 pre-training: consecutive frames at stride 2 (denseIndices with rate 2). */
export function ssv2PretrainIndices(n: number, frames: number, rand: Rand): number[] {
  return denseIndices(n, frames, 2, rand);
}

/**
 * Fine-tuning sampling for K400/UCF101/HMDB51 (VideoMAE `loadvideo_decord`, train and val): if the
 * video is longer than frames*rate, an end uniform in [frames*rate, n), and `frames` indices spaced
 * by linspace over [end - frames*rate, end], clipped to end - 1. Otherwise every rate-th frame,
 * padded with the last.
 */
export function linspaceIndices(n: number, frames: number, rate: number, rand: Rand): number[] {
  const len = frames * rate;
  const out: number[] = [];
  if (n > len) {
    const end = randInt(rand, len, n - 1);
    const start = end - len;
    for (let i = 0; i < frames; i++) {
      const v = frames === 1 ? start : start + ((end - start) * i) / (frames - 1);
      out.push(Math.min(end - 1, Math.floor(v)));
    }
    return out;
  }
  for (let i = 0; i < frames; i++) out.push(Math.min(n - 1, i * rate));
  return out;
}

/**
 * TSN segment sampling, SSv2 fine-tuning (`SSVideoClsDataset`): the video is cut into `frames`
 * equal segments and one random frame is taken from each; `center` takes the segment centres
 * instead. A video shorter than `frames` gives sorted random indices (with repeats).
 */
export function segmentIndices(n: number, frames: number, rand: Rand, center = false): number[] {
  const out: number[] = [];
  if (n < frames) {
    for (let i = 0; i < frames; i++) out.push(center ? Math.floor((i * n) / frames) : randInt(rand, 0, n - 1));
    return out.sort((a, b) => a - b);
  }
  const seg = n / frames;
  for (let i = 0; i < frames; i++) {
    const lo = Math.floor(seg * i);
    const hi = Math.max(lo, Math.floor(seg * (i + 1)) - 1);
    out.push(center ? Math.floor((lo + hi) / 2) : randInt(rand, lo, hi));
  }
  return out;
}

/**
 * Multi-view test clips for K400/UCF101/HMDB51 (VideoMAE test mode): the video's every rate-th frame
 * is the pool (length L); `clips` windows of `frames` start at k*(L - frames)/(clips - 1).
 * Returns one index list per temporal view (5 for the K400/UCF101 protocol).
 */
export function testClipIndices(n: number, frames: number, rate: number, clips: number): number[][] {
  const pool = Math.max(1, Math.ceil(n / rate));
  const views: number[][] = [];
  for (let k = 0; k < clips; k++) {
    const start = clips > 1 ? Math.max(0, Math.round((k * Math.max(0, pool - frames)) / (clips - 1))) : Math.max(0, Math.floor((pool - frames) / 2));
    const v: number[] = [];
    for (let i = 0; i < frames; i++) v.push(Math.min(n - 1, Math.min(pool - 1, start + i) * rate));
    views.push(v);
  }
  return views;
}

/**
 * SSv2 test views: the segment starts and the segment centres (2*frames indices, sorted); view k
 * takes every `clips`-th of them from k (2 interleaved 16-frame clips for the 2x3 protocol).
 */
export function ssv2TestIndices(n: number, frames: number, clips: number): number[][] {
  const seg = n / frames;
  const all: number[] = [];
  for (let i = 0; i < frames; i++) {
    all.push(Math.min(n - 1, Math.floor(seg * i)));
    all.push(Math.min(n - 1, Math.floor(seg * i + seg / 2)));
  }
  all.sort((a, b) => a - b);
  const views: number[][] = [];
  for (let k = 0; k < clips; k++) {
    const v: number[] = [];
    for (let i = 0; i < frames; i++) v.push(all[Math.min(all.length - 1, k + i * clips)]!);
    views.push(v);
  }
  return views;
}

/** Named sampling recipes, per dataset and phase. */
export type SamplingKind = 'dense' | 'linspace' | 'segment';

export interface SamplingRecipe {
  kind: SamplingKind;
  frames: number;
  /** Temporal stride for 'dense' and 'linspace'. */
  rate: number;
  /** Horizontal flips allowed (never for SSv2: left/right is in the labels). */
  flip: boolean;
}

/** VideoMAE's recipe for a dataset and phase (frames default 16). */
export function recipeFor(dataset: string, phase: 'pretrain' | 'finetune', frames = 16): SamplingRecipe {
  if (dataset === 'ssv2') {
    return phase === 'pretrain' ? { kind: 'dense', frames, rate: 2, flip: false } : { kind: 'segment', frames, rate: 1, flip: false };
  }
  // Pre-training has no flip in VideoMAE's code; fine-tuning flips with p = 0.5.
  return phase === 'pretrain' ? { kind: 'dense', frames, rate: 4, flip: false } : { kind: 'linspace', frames, rate: 4, flip: true };
}

/** Indices for one training clip under a recipe. */
export function sampleIndices(n: number, recipe: SamplingRecipe, rand: Rand): number[] {
  switch (recipe.kind) {
    case 'dense':
      return denseIndices(n, recipe.frames, recipe.rate, rand);
    case 'linspace':
      return linspaceIndices(n, recipe.frames, recipe.rate, rand);
    case 'segment':
      return segmentIndices(n, recipe.frames, rand);
  }
}

/** One test view: positions into the decoded frame list, and which spatial crop. */
export interface TestView {
  /** Positions into `TestPlan.indices` (length = frames). */
  frames: number[];
  /** Spatial crop number in [0, crops). */
  crop: number;
}

/** All test views of a video from one decode: the union of frame indices, and each view's frames. */
export interface TestPlan {
  /** Sorted unique source frame indices to decode once. */
  indices: number[];
  /** clips x crops views, clip-major. */
  views: TestView[];
}

/**
 * VideoMAE's multi-view test protocol, planned so the video is decoded once and every view is cut
 * from that buffer: K400/UCF101/HMDB51 5 clips x 3 crops (testClipIndices), SSv2 2 x 3
 * (ssv2TestIndices).
 */
export function testPlan(n: number, opts: { dataset: string; frames?: number; rate?: number; clips?: number; crops?: number }): TestPlan {
  const frames = opts.frames ?? 16;
  const ssv2 = opts.dataset === 'ssv2';
  const clips = opts.clips ?? (ssv2 ? 2 : 5);
  const crops = opts.crops ?? 3;
  const temporal = ssv2 ? ssv2TestIndices(n, frames, clips) : testClipIndices(n, frames, opts.rate ?? 4, clips);
  const indices = [...new Set(temporal.flat())].sort((a, b) => a - b);
  const pos = new Map(indices.map((v, i) => [v, i]));
  const views: TestView[] = [];
  for (const t of temporal) for (let c = 0; c < crops; c++) views.push({ frames: t.map((i) => pos.get(i)!), crop: c });
  return { indices, views };
}
