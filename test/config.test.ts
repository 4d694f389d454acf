// lib/config: defaults, presets, layering, derived values and one message format for every error.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { optionsFromFlags } from '../cli/flags.js';
import {
  ConfigError,
  DEFAULTS,
  MODEL_PRESETS,
  PRESETS,
  loadConfigFile,
  mergeOptions,
  resolveConfig,
  toSessionConfig,
  type PretrainOptions,
} from '../lib/index.js';
import { EVAL_DEFAULTS, PACK_DEFAULTS, checkSyntheticStyle, resolvePackConfig, parseViews, resolveEvalConfig, resolveFinetuneConfig } from '../lib/config/index.js';
import { DataLoader } from '../lib/data/loader.js';
import { openSource } from '../lib/data/sources.js';
import { SYNTHETIC_STYLES, SyntheticMotionDataset } from '../lib/data/synthetic.js';
import { resolveCheckpoint } from '../lib/eval/weights.js';
import { sourceDescriptor } from '../lib/train/source.js';

const cpu = { cudaAvailable: false };

function configError(options: PretrainOptions, ctx: Parameters<typeof resolveConfig>[1] = cpu): ConfigError {
  try {
    resolveConfig(options, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(options)}`);
}

describe('resolveConfig', () => {
  it('fills every field from DEFAULTS and the derived rules', () => {
    const c = resolveConfig({}, cpu);
    expect(c.model).toEqual({ ...DEFAULTS.model, ...MODEL_PRESETS.base });
    expect(c.masking).toEqual({ strategy: 'tats', ratio: 0.9 });
    expect(c.sampler).toEqual({
      dim: 384, heads: 6, temperature: 1, ppoEpochs: 4, clipEps: 0.2, valueCoef: 0.5,
      beta: DEFAULTS.sampler.beta, betaStart: DEFAULTS.sampler.beta, betaSteps: 0, reward: DEFAULTS.sampler.reward, targetKl: 0.01,
      lr: 1e-4, warmupSteps: 50, clipGrad: 1, weightDecay: 0.05, detachInput: true, exactKl: false, adamaeWeight: 1e-4,
    });
    expect(c.optim.lr).toBeCloseTo((1.5e-4 * 8) / 256, 12);
    expect(c.optim.totalSteps).toBe(c.steps);
    expect(c.optim.warmupSteps).toBe(Math.round(0.05 * c.steps));
    expect(c.optim.minLr).toBeLessThanOrEqual(c.optim.lr);
    expect(c.device).toBe('cpu');
    expect(c.precision).toBe('fp32');
  });

  it('the sampler has its own lr and warmup, and a width no more than the encoder\'s', () => {
    // Its lr does not follow the MAE's; its warmup is the MAE's, at most 100 steps.
    const c = resolveConfig({ optim: { lr: 1e-3 }, steps: 10000 }, cpu);
    expect(c.sampler.lr).toBe(1e-4);
    expect(c.optim.warmupSteps).toBe(500);
    expect(c.sampler.warmupSteps).toBe(100);
    expect(resolveConfig({ steps: 40 }, cpu).sampler.warmupSteps).toBe(2);
    expect(resolveConfig({ sampler: { lr: 3e-4, warmupSteps: 0, clipGrad: 0 } }, cpu).sampler).toMatchObject({ lr: 3e-4, warmupSteps: 0, clipGrad: 0 });
    // Width min(384, encoder width); heads 6, 4, 2 or 1, the first that divides it.
    const widths: [PretrainOptions['model'], number, number][] = [
      [{ preset: 'micro' }, 96, 6],
      [{ preset: 'tiny' }, 192, 6],
      [{ preset: 'small' }, 384, 6],
      [{ preset: 'large' }, 384, 6],
      [{ preset: 'tiny', encoderDim: 64, encoderHeads: 2 }, 64, 4],
      [{ preset: 'tiny', encoderDim: 50, encoderHeads: 2 }, 50, 2],
      [{ preset: 'tiny', encoderDim: 45, encoderHeads: 3 }, 45, 1],
    ];
    for (const [model, dim, heads] of widths) {
      expect(resolveConfig({ model }, cpu).sampler, JSON.stringify(model)).toMatchObject({ dim, heads });
    }
    // An explicit width takes the derived heads; explicit heads are kept and checked.
    expect(resolveConfig({ sampler: { dim: 128 } }, cpu).sampler).toMatchObject({ dim: 128, heads: 4 });
    expect(resolveConfig({ sampler: { dim: 96, heads: 3 } }, cpu).sampler).toMatchObject({ dim: 96, heads: 3 });
  });

  it('beta: constant by default, a log-linear curriculum from betaStart over betaSteps', () => {
    expect(resolveConfig({ sampler: { beta: 0.3 } }, cpu).sampler).toMatchObject({ beta: 0.3, betaStart: 0.3, betaSteps: 0 });
    expect(resolveConfig({ sampler: { beta: 0 } }, cpu).sampler).toMatchObject({ beta: 0, betaStart: 0, betaSteps: 0 });
    expect(resolveConfig({ sampler: { beta: 0.1, betaStart: 10, betaSteps: 500, targetKl: 0.02 } }, cpu).sampler).toMatchObject({
      beta: 0.1, betaStart: 10, betaSteps: 500, targetKl: 0.02,
    });
  });

  it('--set reaches every sampler field (YAML scalars)', () => {
    const o = optionsFromFlags({ json: false, set: ['sampler.beta=0.5', 'sampler.betaStart=4', 'sampler.betaSteps=200', 'sampler.targetKl=2e-2', 'sampler.lr=3e-4', 'sampler.warmupSteps=10', 'sampler.clipGrad=0.5'] });
    expect(resolveConfig(o, cpu).sampler).toMatchObject({ beta: 0.5, betaStart: 4, betaSteps: 200, targetKl: 0.02, lr: 3e-4, warmupSteps: 10, clipGrad: 0.5 });
    expect(() => resolveConfig(optionsFromFlags({ json: false, set: ['sampler.entropyCoef=0.01'] }), cpu)).toThrow(/^sampler\.entropyCoef: expected no value: .*replaced by sampler\.beta/);
  });

  it('device auto picks cuda when CUDA is usable, with bf16', () => {
    const c = resolveConfig({}, { cudaAvailable: true });
    expect(c.device).toBe('cuda');
    expect(c.precision).toBe('bf16');
  });

  it('scales lr with the global batch unless lr is given', () => {
    expect(resolveConfig({ batchSize: 256 }, cpu).optim.lr).toBeCloseTo(1.5e-4, 12);
    expect(resolveConfig({ batchSize: 64, nprocPerNode: 2, optim: { baseLr: 3e-4 } }, cpu).optim.lr).toBeCloseTo(1.5e-4, 12);
    expect(resolveConfig({ batchSize: 64, optim: { lr: 1e-3 } }, cpu).optim.lr).toBe(1e-3);
  });

  it('model preset dims can be overridden one by one', () => {
    const c = resolveConfig({ model: { preset: 'small', decoderDepth: 2 } }, cpu);
    expect(c.model).toMatchObject({ ...MODEL_PRESETS.small, decoderDepth: 2 });
  });

  it('every preset resolves, and flags override a preset', () => {
    for (const [name, p] of Object.entries(PRESETS)) {
      const dataset = p.layout ? `${p.layout}:/data/${p.layout}` : undefined;
      const c = resolveConfig({ preset: name, dataset }, { cudaAvailable: true, datasetClips: 1000 });
      expect(c.preset).toBe(name);
    }
    const demo = resolveConfig({ preset: 'cpu-demo', steps: 7 }, cpu);
    expect(demo.model).toMatchObject({ preset: 'tiny', frames: 8, size: 64 });
    expect(demo.steps).toBe(7);
    expect(demo.optim.totalSteps).toBe(7);
    // A preset counted in epochs yields to the caller's steps.
    const k400 = resolveConfig({ preset: 'tats-k400', dataset: 'k400:/d', steps: 5 }, cpu);
    expect(k400.steps).toBe(5);
    expect(k400.epochs).toBeNull();
  });

  it('presets compose left to right, a later one winning field by field', () => {
    // The TATS UCF101 recipe at the demo's size: the demo's model, steps and lr over the recipe.
    const c = resolveConfig({ preset: 'tats-ucf101,cpu-demo', dataset: 'ucf101:/d' }, cpu);
    expect(c.preset).toBe('tats-ucf101,cpu-demo');
    expect(c.model).toMatchObject({ preset: 'tiny', frames: 8, size: 64 });
    expect(c.masking).toMatchObject({ strategy: 'tats', ratio: 0.9 });
    expect(c.data.stride).toBe(4);
    expect(c.batchSize).toBe(8);
    expect(c.steps).toBe(200);
    expect(c.epochs).toBeNull();
    // The recipe's layout still holds for the composition.
    expect(() => resolveConfig({ preset: 'tats-ucf101,cpu-demo' }, cpu)).toThrow(/dataset: expected a ucf101:DIR/);
    expect(() => resolveConfig({ preset: 'cpu-demo,nope' }, cpu)).toThrow(/preset: expected one of cpu-demo, .*received "nope"/);
    expect(() => resolveConfig({ preset: 'tats-ucf101,tats-k400', dataset: 'shards:/d' }, cpu)).toThrow(/preset: expected presets of one dataset layout/);
  });

  it('counts epochs in steps from the dataset size', () => {
    const c = resolveConfig({ epochs: 2, batchSize: 10, data: { syntheticClips: 95 } }, cpu);
    expect(c.steps).toBe(19);
    expect(resolveConfig({ epochs: 3, dataset: 'shards:/x', batchSize: 4 }, { ...cpu, datasetClips: 10 }).steps).toBe(8);
  });

  it('a resolved config is a valid config file and resolves to itself', () => {
    const c = resolveConfig({ preset: 'cpu-demo', seed: 3 }, cpu);
    expect(resolveConfig(JSON.parse(JSON.stringify(c)), cpu)).toEqual(c);
  });

  it('toSessionConfig gives the contract fields only', () => {
    const s = toSessionConfig(resolveConfig({ preset: 'cpu-demo' }, cpu));
    expect(Object.keys(s).sort()).toEqual(['batchSize', 'device', 'masking', 'model', 'optim', 'precision', 'runtime', 'sampler', 'seed']);
    expect(s.optim).not.toHaveProperty('baseLr');
    expect(Object.keys(s.optim).sort()).toEqual(['beta1', 'beta2', 'clipGrad', 'lr', 'minLr', 'totalSteps', 'warmupSteps', 'weightDecay']);
  });
});

describe('invalid configs: one message format naming field, value and what is allowed', () => {
  const cases: [string, PretrainOptions, string, RegExp][] = [
    ['ratio out of range', { masking: { ratio: 1.5 } }, 'masking.ratio', /expected a number in \(0, 1\), received 1\.5/],
    ['unknown strategy', { masking: { strategy: 'best' as never } }, 'masking.strategy', /one of random, tube, frame, adamae, tats, received "best"/],
    ['batch size 0', { batchSize: 0 }, 'batchSize', /an integer in \[1, 4096\], received 0/],
    ['non-integer steps', { steps: 2.5 }, 'steps', /an integer .* received 2\.5/],
    ['string where a number goes', { seed: '3' as never }, 'seed', /received "3"/],
    ['frames not a multiple of tubelet', { model: { frames: 9 } }, 'model.frames', /multiple of model\.tubelet/],
    ['size not a multiple of patch', { model: { size: 100 } }, 'model.size', /multiple of model\.patch/],
    ['heads do not divide width', { sampler: { dim: 100, heads: 6 } }, 'sampler.dim', /multiple of sampler\.heads/],
    ['sampler.entropyCoef is gone', { sampler: { entropyCoef: 0.01 } as never }, 'sampler.entropyCoef', /no value: sampler\.entropyCoef was replaced by sampler\.beta \(a KL penalty towards uniform masking, see docs\/tats\.md\), received 0\.01/],
    ['negative beta', { sampler: { beta: -1 } }, 'sampler.beta', /a number >= 0, received -1/],
    ['negative betaStart', { sampler: { betaStart: -0.5 } }, 'sampler.betaStart', /a number >= 0, received -0\.5/],
    ['fractional betaSteps', { sampler: { betaSteps: 2.5 } }, 'sampler.betaSteps', /an integer in \[0, 1000000000\], received 2\.5/],
    ['a curriculum from beta 0', { sampler: { betaStart: 0, betaSteps: 100 } }, 'sampler.betaStart', /a number > 0, with sampler\.beta > 0 \(now 1\), when sampler\.betaSteps > 0 .*log-linear.*received 0/],
    ['a curriculum to beta 0', { sampler: { beta: 0, betaStart: 1, betaSteps: 100 } }, 'sampler.betaStart', /sampler\.beta > 0 \(now 0\).*received 1/],
    ['an unknown reward', { sampler: { reward: 'loss' as never } }, 'sampler.reward', /one of error, negError, progress.*received "loss"|error, negError or progress.*"loss"/],
    ['targetKl 0', { sampler: { targetKl: 0 } }, 'sampler.targetKl', /a number > 0, received 0/],
    ['sampler lr 0', { sampler: { lr: 0 } }, 'sampler.lr', /a number in \(0, 10\], received 0/],
    ['negative sampler warmup', { sampler: { warmupSteps: -1 } }, 'sampler.warmupSteps', /an integer in \[0, 1000000000\], received -1/],
    ['negative sampler clipGrad', { sampler: { clipGrad: -1 } }, 'sampler.clipGrad', /a number >= 0, received -1/],
    ['a typo in a field name', { optim: { minlr: 1 } as never }, 'optim.minlr', /did you mean optim\.minLr/],
    ['unknown top-level field', { stpes: 3 } as never, 'stpes', /did you mean steps/],
    ['steps and epochs', { steps: 3, epochs: 1 }, 'epochs', /not both/],
    ['unknown preset', { preset: 'fast' }, 'preset', /one of cpu-demo, /],
    ['preset needs its dataset', { preset: 'videomae-ssv2' }, 'dataset', /ssv2:DIR, shards:DIR or list:FILE/],
    ['bad dataset spec', { dataset: 'k400' }, 'dataset', /"synthetic", "shards:DIR"/],
    ['warmup as long as the schedule', { steps: 10, optim: { warmupSteps: 10 } }, 'optim.warmupSteps', /\[0, 9\]/],
    ['minLr above lr', { optim: { lr: 1e-4, minLr: 1e-3 } }, 'optim.minLr', /\[0, 0\.0001\]/],
    ['cuda without a GPU', { device: 'cuda' }, 'device', /no CUDA device/],
    ['bf16 on cpu', { precision: 'bf16' }, 'precision', /fp32 or auto/],
    ['frame masking of every frame', { masking: { strategy: 'frame', ratio: 0.95 } }, 'masking.ratio', /at most 1567 of the 1568 tokens with strategy frame \(8 frame slots\)/],
    ['tube masking of no position', { masking: { strategy: 'tube', ratio: 0.004 } }, 'masking.ratio', /at least 1 .* strategy tube \(196 positions per frame slot\)/],
    ['a section that is not an object', { model: 3 as never }, 'model', /an object, received 3/],
  ];
  for (const [what, options, field, message] of cases) {
    it(what, () => {
      const err = configError(options);
      expect(err.field).toBe(field);
      expect(err.code).toBe('ERR_CONFIG');
      expect(err.message.startsWith(`${field}: expected `)).toBe(true);
      expect(err.message).toMatch(message);
    });
  }
});

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tats-config-'));

  it('reads YAML and JSON; flags (later layers) win', () => {
    const y = join(dir, 'a.yaml');
    writeFileSync(y, 'preset: cpu-demo\nmasking:\n  strategy: tube\n  ratio: 0.75\nsteps: 40\n');
    const j = join(dir, 'b.json');
    writeFileSync(j, JSON.stringify({ model: { preset: 'small' }, seed: 9 }));
    const c = resolveConfig(mergeOptions(loadConfigFile(y), loadConfigFile(j), { steps: 12 }), cpu);
    expect(c.masking).toEqual({ strategy: 'tube', ratio: 0.75 });
    expect(c.model.preset).toBe('small');
    expect(c.seed).toBe(9);
    expect(c.steps).toBe(12);
  });

  it('a file that does not parse or is not an object is a ConfigError on config', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'model: [1, 2\n');
    expect(() => loadConfigFile(bad)).toThrow(/^config: expected valid YAML/);
    const list = join(dir, 'list.json');
    writeFileSync(list, '[1, 2]');
    expect(() => loadConfigFile(list)).toThrow(ConfigError);
    expect(() => loadConfigFile(join(dir, 'missing.yaml'))).toThrow(/no such file/);
  });
});

describe('data.syntheticStyle (the look of the synthetic clips)', () => {
  const textured = { spriteScale: [0.14, 0.22] as [number, number], spriteTexture: true, background: 'texture' as const, polarity: 'random' as const };

  it('defaults to the objects look, kept in defaults.ts, and lands in the resolved config', () => {
    expect(DEFAULTS.data.syntheticStyle).toEqual(SYNTHETIC_STYLES.objects);
    expect(resolveConfig({}, cpu).data.syntheticStyle).toEqual(SYNTHETIC_STYLES.objects);
  });

  it('takes any of its fields over the default, from a config file or --set, and reads back from config.json', () => {
    const c = resolveConfig({ data: { syntheticStyle: { background: 'texture', spriteScale: [0.1, 0.2] } } }, cpu);
    expect(c.data.syntheticStyle).toEqual({ ...SYNTHETIC_STYLES.objects, background: 'texture', spriteScale: [0.1, 0.2] });
    expect(resolveConfig(JSON.parse(JSON.stringify(c)) as PretrainOptions, cpu).data.syntheticStyle).toEqual(c.data.syntheticStyle);
    expect(resolveConfig({ preset: 'cpu-demo', data: { syntheticStyle: textured } }, cpu).data.syntheticStyle).toEqual(textured);
    const dir = mkdtempSync(join(tmpdir(), 'tats-style-'));
    writeFileSync(join(dir, 'c.yaml'), 'data: { syntheticStyle: { polarity: random } }\n');
    const fromFlags = optionsFromFlags({ json: false, config: join(dir, 'c.yaml'), set: ['data.syntheticStyle.background=grain'] });
    expect(resolveConfig(fromFlags, cpu).data.syntheticStyle).toEqual({ ...SYNTHETIC_STYLES.objects, polarity: 'random', background: 'grain' });
  });

  it('names the field of a bad value', () => {
    expect(configError({ data: { syntheticStyle: { background: 'stripes' as 'flat' } } }).message).toMatch(/^data\.syntheticStyle\.background: expected one of texture, flat, grain.*"stripes"/);
    expect(configError({ data: { syntheticStyle: { polarity: 'dark' as 'random' } } }).field).toBe('data.syntheticStyle.polarity');
    expect(configError({ data: { syntheticStyle: { spriteTexture: 'yes' as unknown as boolean } } }).field).toBe('data.syntheticStyle.spriteTexture');
    for (const bad of [[0.4, 0.2], [0, 0.2], [0.2, 1], [0.2], 'big']) {
      expect(configError({ data: { syntheticStyle: { spriteScale: bad as [number, number] } } }).message).toMatch(/^data\.syntheticStyle\.spriteScale: expected \[lo, hi\] with 0 < lo <= hi < 1/);
    }
    expect(configError({ data: { syntheticStyle: { backgound: 'flat' } as never } }).message).toMatch(/^data\.syntheticStyle\.backgound: expected a known field \(did you mean data\.syntheticStyle\.background\?\)/);
    expect(configError({ data: { syntheticStyle: 'textured' as never } }).message).toMatch(/^data\.syntheticStyle: expected an object/);
    expect(() => checkSyntheticStyle('syntheticStyle', { polarity: 1 })).toThrow(/^syntheticStyle\.polarity: expected one of random, bright-on-dark/);
  });

  it('refuses the TATS_SYNTHETIC_STYLE environment variable that it replaces', () => {
    const before = process.env.TATS_SYNTHETIC_STYLE;
    process.env.TATS_SYNTHETIC_STYLE = '{"background":"texture"}';
    try {
      let err: unknown;
      try {
        new SyntheticMotionDataset({ seed: 0, frames: 4, size: 32, patch: 8 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('TATS_SYNTHETIC_STYLE');
      expect((err as ConfigError).message).toMatch(/expected unset: .*data\.syntheticStyle/);
      // Before any work: when the config is resolved.
      expect(() => resolveConfig({}, cpu)).toThrow(/^TATS_SYNTHETIC_STYLE: expected unset/);
      expect(() => resolveFinetuneConfig({ device: 'cpu' })).toThrow(/^TATS_SYNTHETIC_STYLE: expected unset/);
    } finally {
      if (before === undefined) delete process.env.TATS_SYNTHETIC_STYLE;
      else process.env.TATS_SYNTHETIC_STYLE = before;
    }
  });

  it('a pretrain config with a style gives clips of that style, on the main thread and in data workers', async () => {
    const geo = { model: { preset: 'micro' as const, frames: 4, size: 32, tubelet: 2, patch: 8 }, seed: 5, data: { syntheticClips: 4, workers: 0 } };
    const styled = resolveConfig({ ...geo, data: { ...geo.data, syntheticStyle: textured } }, cpu);
    const plain = resolveConfig(geo, cpu);
    const descriptor = sourceDescriptor(styled);
    expect(descriptor).toMatchObject({ kind: 'synthetic', options: { style: textured } });
    const src = openSource(descriptor);
    const clip = new Uint8Array(src.clipBytes);
    await src.load(1, 0, clip);
    const want = new SyntheticMotionDataset({ seed: 5, frames: 4, size: 32, tubelet: 2, patch: 8, length: 4, style: textured });
    expect(want.style).toEqual(textured);
    expect(Buffer.from(clip).equals(Buffer.from(want.get(1).clip))).toBe(true);
    const other = new Uint8Array(src.clipBytes);
    await openSource(sourceDescriptor(plain)).load(1, 0, other);
    expect(Buffer.from(other).equals(Buffer.from(clip))).toBe(false);
    // A worker thread opens the same descriptor (the style travels with it, not with the environment).
    const loader = new DataLoader({ source: descriptor, batchSize: 4, steps: 1, workers: 1, shuffle: false, seed: 5 });
    let got: Uint8Array | undefined;
    try {
      for await (const b of loader) got = b.clips;
    } finally {
      await loader.close();
    }
    expect(Buffer.from(got!.subarray(clip.length, 2 * clip.length)).equals(Buffer.from(clip))).toBe(true);
  });

  it('fine-tuning takes the style its checkpoint run records, under its own syntheticStyle', () => {
    const run = mkdtempSync(join(tmpdir(), 'tats-style-run-'));
    const step = join(run, 'checkpoints', 'step-00000001');
    mkdirSync(step, { recursive: true });
    writeFileSync(join(step, 'meta.json'), '{}');
    writeFileSync(join(step, 'model.safetensors'), '');
    const c = resolveConfig({ model: { preset: 'micro', frames: 4, size: 32, patch: 8 }, data: { syntheticStyle: textured } }, cpu);
    writeFileSync(join(run, 'config.json'), JSON.stringify(c));
    const recorded = resolveCheckpoint(run).model;
    expect(recorded.syntheticStyle).toEqual(textured);
    const ft = (o = {}) => resolveFinetuneConfig({ device: 'cpu', steps: 1, ...o }, recorded);
    expect(ft().syntheticStyle).toEqual(textured);
    expect(ft({ syntheticStyle: { background: 'flat' } }).syntheticStyle).toEqual({ ...textured, background: 'flat' });
    expect(resolveFinetuneConfig({ device: 'cpu', steps: 1 }).syntheticStyle).toEqual(SYNTHETIC_STYLES.objects);
    expect(() => ft({ syntheticStyle: { background: 'sky' } })).toThrow(/^syntheticStyle\.background: expected one of/);
  });
});

describe('eval options (lib/config/eval.ts over EVAL_DEFAULTS)', () => {
  it('fills the defaults from EVAL_DEFAULTS, views by dataset kind', () => {
    const r = resolveEvalConfig({});
    expect(r).toMatchObject({ dataset: 'synthetic', clips: 1, crops: 1, limit: EVAL_DEFAULTS.limit, batchSize: EVAL_DEFAULTS.batchSize, seed: EVAL_DEFAULTS.seed });
    expect([EVAL_DEFAULTS.limit, EVAL_DEFAULTS.batchSize, EVAL_DEFAULTS.seed]).toEqual([256, 16, 0]);
    expect(resolveEvalConfig({ dataset: 'shards:/tmp/x' })).toMatchObject({ clips: 1, crops: 1 });
    expect(resolveEvalConfig({ dataset: 'ucf101:/tmp/x' })).toMatchObject({ clips: 5, crops: 3 });
    expect(resolveEvalConfig({ dataset: 'ssv2:/tmp/x' })).toMatchObject({ clips: 2, crops: 3 });
    expect(resolveEvalConfig({ dataset: 'k400:/tmp/x', clips: 3, crops: 1 })).toMatchObject({ clips: 3, crops: 1 });
    // fine-tuning's test at the end takes the same views
    expect(resolveFinetuneConfig({ dataset: 'synthetic', testDataset: 'ssv2:/tmp/x' }, {})).toMatchObject({ testClips: 2, testCrops: 3 });
  });

  it('names the field of a bad value', () => {
    expect(() => resolveEvalConfig({ limit: 0 })).toThrow(/^limit: expected an integer >= 1, received 0/);
    expect(() => resolveEvalConfig({ batchSize: 1.5 })).toThrow(/^batchSize: expected an integer >= 1, received 1\.5/);
    expect(() => resolveEvalConfig({ seed: -1 })).toThrow(/^seed: expected an integer in \[0, 2147483647\], received -1/);
    expect(() => resolveEvalConfig({ clips: 65 })).toThrow(/^clips: expected an integer in \[1, 64\], received 65/);
    expect(() => resolveEvalConfig({ crops: 2 })).toThrow(/^crops: expected 1 or 3, received 2/);
    expect(() => resolveEvalConfig({ dataset: 'nope' })).toThrow(/^dataset: expected/);
    expect(() => parseViews('5x2')).toThrow(/^views: expected CLIPSxCROPS with clips 1\.\.64 and crops 1 or 3, e\.g\. 5x3, received "5x2"/);
    expect(parseViews('2x3')).toEqual({ clips: 2, crops: 3 });
  });
});

describe('pack options (lib/config/pack.ts over PACK_DEFAULTS)', () => {
  it('fills the defaults, the rate by dataset kind', () => {
    expect(resolvePackConfig({ dataset: 'synthetic', out: 'o' })).toEqual({ kind: 'synthetic', spec: { kind: 'synthetic', spec: 'synthetic' }, out: 'o', frames: 16, size: 224, maxShardBytes: 256 * 1024 * 1024, count: 1000, seed: 0 });
    expect(PACK_DEFAULTS).toMatchObject({ frames: 16, size: 224, shardMb: 256, count: 1000, seed: 0, clipsPerVideo: 1, split: 1, subset: 'train', keepShort: false });
    expect(resolvePackConfig({ dataset: 'ssv2:/tmp/x', out: 'o' })).toMatchObject({ kind: 'videos', rate: 2, clipsPerVideo: 1, split: 1, subset: 'train', keepShort: false });
    expect(resolvePackConfig({ dataset: 'k400:/tmp/x', out: 'o' })).toMatchObject({ rate: 4 });
    expect(resolvePackConfig({ dataset: 'synthetic', out: 'o', syntheticStyle: '{"background":"grain"}' })).toMatchObject({ syntheticStyle: { background: 'grain', polarity: 'bright-on-dark' } });
  });

  it('names the field of a bad value', () => {
    expect(() => resolvePackConfig({ dataset: 'synthetic', out: 'o', shardMb: 0 })).toThrow(/^shardMb: expected an integer >= 1, received 0$/);
    expect(() => resolvePackConfig({ dataset: 'k400:/tmp/x', out: 'o', clipsPerVideo: 0 })).toThrow(/^clipsPerVideo: expected an integer >= 1, received 0$/);
    expect(() => resolvePackConfig({ dataset: 'k400:/tmp/x', out: 'o', jobs: 0.5 })).toThrow(/^jobs: expected an integer >= 1, received 0\.5$/);
    expect(() => resolvePackConfig({ dataset: 'synthetic', out: '' })).toThrow(/^out: expected a non-empty string/);
  });
});
