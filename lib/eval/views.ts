/**
 * Test videos as multi-view batches: every video is decoded (or rendered) once, and its
 * clips x crops views are cut from that buffer (lib/data testPlan + cutTestViews), as VideoMAE's
 * test protocol does without decoding each view again.
 *
 * Synthetic data has no long videos: a test video is rendered with frames x 2 (when clips > 1) at
 * a side of size x 8/7 rounded to the patch (when crops > 1), from the test split, and the views
 * are cut from it exactly as from a decoded video. With 1 x 1 the view is the clip itself.
 */
import { decodeFrames, probe } from '../data/decode.js';
import { testPlan, type TestView } from '../data/sampling.js';
import { readAnnotation, type DatasetSpec } from '../data/spec.js';
import { SyntheticMotionDataset, type SyntheticStyle } from '../data/synthetic.js';
import { cutTestViews } from '../data/transforms.js';
import { ConfigError } from '../errors/index.js';
import { readShardIndex } from '../data/shards.js';
import { openSource } from '../data/sources.js';

export interface TestVideo {
  /** uint8 [views, frames, size, size, 3] */
  views: Uint8Array;
  viewCount: number;
  label: number;
  name: string;
}

export interface TestSet {
  length: number;
  classNames: string[];
  /** Video `i` with all its views; undefined when it could not be decoded (skipped, counted). */
  video(i: number): Promise<TestVideo | undefined>;
}

export interface TestSetOptions {
  frames: number;
  size: number;
  clips: number;
  crops: number;
  /** Most videos scored (the first N). */
  limit: number;
  seed: number;
  classes?: number;
  /** Token geometry of the model (synthetic: it sets the sprite count). Defaults to 2 and 16. */
  tubelet?: number;
  patch?: number;
  /** How synthetic clips look. Defaults to the default look. */
  style?: Partial<SyntheticStyle>;
}

export function openTestSet(spec: DatasetSpec, o: TestSetOptions): TestSet {
  if (spec.kind === 'synthetic') {
    const frames = o.clips > 1 ? o.frames * 2 : o.frames;
    const p = o.patch ?? 16;
    const side = o.crops > 1 ? Math.round((o.size * 8) / 7 / p) * p : o.size;
    const ds = new SyntheticMotionDataset({ seed: o.seed, frames, size: side, split: 'test', length: o.limit, ...(o.classes ? { numClasses: o.classes } : {}), ...(o.tubelet ? { tubelet: o.tubelet } : {}), ...(o.patch ? { patch: o.patch } : {}), ...(o.style ? { style: o.style } : {}) });
    const plan = testPlan(frames, { dataset: 'synthetic', frames: o.frames, rate: 1, clips: o.clips, crops: o.crops });
    return {
      length: ds.length,
      classNames: [...ds.classNames],
      async video(i) {
        const s = ds.get(i);
        const views = cutDecoded(s.clip, frames, side, side, plan.indices, plan.views, o.size, o.crops);
        return { views, viewCount: plan.views.length, label: s.label, name: `synthetic-test-${i}` };
      },
    };
  }
  if (spec.kind === 'shards') {
    // Shards hold fixed clips: one view each (pack the test videos with --clips-per-video to
    // score several temporal clips as separate entries).
    if (o.clips !== 1 || o.crops !== 1) throw new ConfigError('views', `${o.clips}x${o.crops}`, '1x1 for shards (they hold fixed clips, not whole videos)');
    const index = readShardIndex(spec.dir);
    const source = openSource({ kind: 'shards', dir: spec.dir, size: o.size, seed: o.seed });
    const n = Math.min(o.limit, source.length);
    return {
      length: n,
      classNames: index.classNames,
      async video(i) {
        const clip = new Uint8Array(source.clipBytes);
        const r = await source.load(i, 0, clip);
        if (!r.ok) return undefined;
        return { views: clip, viewCount: 1, label: r.label, name: `${spec.dir}#${i}` };
      },
    };
  }
  const annotation = readAnnotation(spec, { subset: spec.kind === 'k400' || spec.kind === 'ssv2' ? 'val' : 'test' });
  const entries = annotation.entries.slice(0, o.limit);
  const dataset = spec.kind === 'list' ? 'k400' : spec.kind;
  return {
    length: entries.length,
    classNames: annotation.classNames,
    async video(i) {
      const e = entries[i]!;
      const info = await probe(e.path);
      if (!info.ok) return undefined;
      const plan = testPlan(info.frames, { dataset, frames: o.frames, clips: o.clips, crops: o.crops });
      const d = await decodeFrames(e.path, { indices: plan.indices, info, shortSide: o.size });
      if (!d.ok) return undefined;
      // decodeFrames returns frames in the order asked for (plan.indices, sorted unique).
      const views = cutTestViews(d.data, d.height, d.width, plan.views, o.size, o.crops);
      return { views, viewCount: plan.views.length, label: e.label, name: e.path };
    },
  };
}

function cutDecoded(
  clip: Uint8Array,
  frames: number,
  h: number,
  w: number,
  indices: number[],
  views: TestView[],
  size: number,
  crops: number,
): Uint8Array {
  if (indices.length === frames && h === size && w === size && views.length === 1) return clip;
  const fb = h * w * 3;
  const decoded = new Uint8Array(indices.length * fb);
  indices.forEach((f, k) => decoded.set(clip.subarray(f * fb, (f + 1) * fb), k * fb));
  return cutTestViews(decoded, h, w, views, size, crops);
}
