// Pure-TS parts of the trainer: data order, metrics.jsonl, run-directory rules, PNG, FLOPs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { progressView, samplerText } from '../cli/progress.js';
import { ConfigError, DataOrder, MetricsWriter, readMetrics, resolveConfig, trainStepFlops, type StepRecord, type TrainProgress } from '../lib/index.js';
import { checkResumable } from '../lib/train/rundir.js';
import { encodePng } from '../lib/viz/png.js';
import { labelColumnWidth, ROW_LABELS, reconstructionImage } from '../lib/viz/reconstruction.js';

describe('DataOrder', () => {
  it('is a permutation per epoch, a pure function of (seed, position)', () => {
    const o = new DataOrder(10, 7);
    const epoch0 = o.indices(0, 10);
    expect([...epoch0].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    const epoch1 = o.indices(10, 10);
    expect(epoch1).not.toEqual(epoch0);
    // Any window, from a fresh order, reads the same clips: the basis of exact resume.
    expect(new DataOrder(10, 7).indices(7, 6)).toEqual([...epoch0.slice(7), ...epoch1.slice(0, 3)]);
    expect(new DataOrder(10, 8).indices(0, 10)).not.toEqual(epoch0);
  });
});

describe('MetricsWriter', () => {
  const rec = (step: number): StepRecord => ({
    step, totalSteps: 9, epoch: step / 4, loss: 1 / step, lr: 1e-3, stepMs: 5, clipsPerS: 100, entropy: 0.3, kl: 0.004, clipFrac: 0.1,
    valueLoss: 0.5, reward: 0.2, beta: 0.5, ppoEpochs: 3, samplerLoss: 0.1, maskedMovingShare: 0.3, movingShare: 0.2, logged: true,
  });

  it('writes snake_case lines in order and truncates after a step on resume', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tats-metrics-')), 'metrics.jsonl');
    const w = new MetricsWriter(path);
    for (let s = 1; s <= 6; s++) w.write(rec(s));
    await w.flush();
    const lines = readMetrics(path);
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // The sampler's telemetry in the table's order, snake_case: exact KL, the beta used, the PPO epochs taken.
    expect(Object.keys(lines[0]!)).toEqual([
      'step', 'epoch', 'loss', 'lr', 'clips_per_s', 'step_ms', 'entropy', 'kl', 'clip_frac', 'value_loss', 'reward', 'beta', 'ppo_epochs',
      'sampler_loss', 'masked_moving_share', 'moving_share', 'time',
    ]);
    expect(lines[0]).toMatchObject({ kl: 0.004, beta: 0.5, ppo_epochs: 3 });
    expect(lines[0]).not.toHaveProperty('approx_kl');
    // A torn last line from a killed process is dropped too.
    writeFileSync(path, readFileSync(path, 'utf8') + '{"step": 7, "lo');
    w.truncateAfter(4);
    expect(readMetrics(path).map((l) => l.step)).toEqual([1, 2, 3, 4]);
  });
});

describe('progress line', () => {
  const p = (extra: Partial<TrainProgress>): TrainProgress => ({
    step: 10, totalSteps: 20, startStep: 0, loss: 0.5, lr: 1e-3, clipsPerS: 50, elapsedS: 3, etaS: 3, logged: true, ...extra,
  });
  const lineOf = (q: TrainProgress) => {
    let text = '';
    const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    progressView(stream, { bar: false }).update(q);
    return text;
  };

  it('shows KL, entropy and beta of a learned sampler, and the masked-moving share', () => {
    const line = lineOf(p({ kl: 0.0042, entropy: 0.3251, beta: 0.5, maskedMovingShare: 0.45, movingShare: 0.14 }));
    expect(line).toMatch(/step 10\/20 {2}loss 0\.5000 {2}lr 0\.0010 {2}kl 0\.0042 {2}entropy 0\.325 {2}beta 0\.500 {2}masked-moving 45% \(moving 14%\) {2}50\.0 clips\/s/);
    expect(samplerText(p({ kl: 2e-5 }))).toBe('  kl 2.00e-5');
  });

  it('leaves the sampler out when the strategy has none', () => {
    expect(samplerText(p({}))).toBe('');
    expect(lineOf(p({}))).not.toMatch(/kl|entropy|beta|moving/);
    // Random masking on data with motion: the shares only.
    expect(samplerText(p({ maskedMovingShare: 0.14, movingShare: 0.14 }))).toBe('  masked-moving 14% (moving 14%)');
  });
});

describe('resume rules', () => {
  const cpu = { cudaAvailable: false };
  it('allows logging and length changes, refuses what changes the run', () => {
    const stored = resolveConfig({ preset: 'cpu-demo', steps: 20, optim: { totalSteps: 40 } }, cpu);
    expect(() => checkResumable(stored, { ...stored, logEvery: 1, steps: 30 })).not.toThrow();
    expect(() => checkResumable(stored, { ...stored, masking: { ...stored.masking, ratio: 0.75 } })).toThrow(/^masking\.ratio: expected 0\.9, the value of the run being resumed/);
    expect(() => checkResumable(stored, { ...stored, steps: 41 })).toThrow(ConfigError);
  });
});

describe('PNG', () => {
  it('encodes RGB rows that inflate back to the pixels', () => {
    const rgb = new Uint8Array(3 * 2 * 3).map((_, i) => i * 10);
    const png = encodePng(rgb, 3, 2);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBe(3);
    expect(png.readUInt32BE(20)).toBe(2);
    const idatLen = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString('latin1')).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    expect([...raw]).toEqual([0, ...rgb.subarray(0, 9), 0, ...rgb.subarray(9)]);
  });

  it('the reconstruction picture puts a perfect prediction back in place', () => {
    const g = { frames: 2, size: 32, tubelet: 2, patch: 16 };
    const N = 4;
    const clips = new Uint8Array(2 * 32 * 32 * 3).map((_, i) => (i * 37) % 251);
    const mask = Uint8Array.from([0, 1, 0, 1]);
    // Targets of tokens 1 and 3 (per-token, per-channel normalised, (dt, dy, dx, c) order).
    const V = 2 * 16 * 16 * 3;
    const pred = new Float32Array(2 * V);
    [1, 3].forEach((tok, k) => {
      const gy = Math.floor(tok / 2);
      const gx = tok % 2;
      for (let c = 0; c < 3; c++) {
        const px: number[] = [];
        for (let dt = 0; dt < 2; dt++) for (let dy = 0; dy < 16; dy++) for (let dx = 0; dx < 16; dx++) px.push(clips[((dt * 32 + gy * 16 + dy) * 32 + gx * 16 + dx) * 3 + c]! / 255);
        const mu = px.reduce((a, b) => a + b) / px.length;
        const sd = Math.sqrt(px.reduce((a, b) => a + (b - mu) ** 2, 0) / (px.length - 1));
        px.forEach((v, j) => (pred[k * V + j * 3 + c] = (v - mu) / (sd + 1e-6)));
      }
    });
    const { rgb, width, height, left } = reconstructionImage({ clips, mask, pred, batch: 1 }, g);
    expect(left).toBe(labelColumnWidth(32));
    expect(width).toBe(left + 2 * 32 + 2);
    expect(height).toBe(3 * 32 + 2 * 2);
    // Row 3 (reconstruction) equals row 1 (input) everywhere (the frames, right of the labels).
    const row = (r: number) => {
      const out: number[] = [];
      for (let y = r * 34; y < r * 34 + 32; y++) out.push(...rgb.subarray((y * width + left) * 3, (y * width + width) * 3));
      return out;
    };
    const diff = row(0).map((v, i) => Math.abs(v - row(2)[i]!));
    expect(Math.max(...diff)).toBeLessThanOrEqual(1);
    expect(row(1)).not.toEqual(row(0));
  });
});

describe('reconstruction picture labels', () => {
  it('names every row in the label column: dark text on white, a different word per row', () => {
    const g = { frames: 2, size: 16, tubelet: 2, patch: 16 };
    const clips = new Uint8Array(2 * 2 * 16 * 16 * 3).fill(200);
    const mask = Uint8Array.from([1, 1]);
    const pred = new Float32Array(2 * 2 * 16 * 16 * 3);
    const policy = Float32Array.from([1, 1]);
    const { rgb, width, height, left } = reconstructionImage({ clips, mask, pred, policy, batch: 2 }, g);
    // 2 clips of 4 rows (input, masked input, reconstruction, policy): 16 px rows, 2 px apart, 8 px between clips.
    expect(height).toBe(2 * (4 * 16 + 3 * 2) + 8);
    // The longest label, RECONSTRUCTION: 14 glyphs of the 5x7 font, 6 px apart at 16 px frames, 12 px from 32 px on.
    expect(left).toBe(labelColumnWidth(16));
    expect(labelColumnWidth(16)).toBeGreaterThanOrEqual(14 * 6);
    expect(labelColumnWidth(32)).toBeGreaterThanOrEqual(14 * 12);
    expect(ROW_LABELS).toEqual(['INPUT', 'MASKED INPUT', 'RECONSTRUCTION', 'POLICY']);
    const band = (b: number, r: number) => {
      const y0 = b * (4 * 16 + 3 * 2 + 8) + r * 18;
      const dark: number[] = [];
      let ink = 0;
      for (let y = y0; y < y0 + 16; y++)
        for (let x = 0; x < left; x++) {
          const o = (y * width + x) * 3;
          const on = rgb[o]! < 64 && rgb[o + 1]! < 64 && rgb[o + 2]! < 64 ? 1 : 0;
          ink += on;
          dark.push(on);
        }
      return { ink, key: dark.join('') };
    };
    for (let b = 0; b < 2; b++) {
      const bands = [0, 1, 2, 3].map((r) => band(b, r));
      // Each letter of the 5x7 font lights at least 9 of its 35 pixels.
      ROW_LABELS.forEach((l, r) => expect(bands[r]!.ink, l).toBeGreaterThanOrEqual(9 * l.replace(/ /g, '').length));
      expect(new Set(bands.map((x) => x.key)).size).toBe(4);
      // The second clip is labelled like the first.
      if (b === 1) expect(bands.map((x) => x.key)).toEqual([0, 1, 2, 3].map((r) => band(0, r).key));
    }
    // Without a policy there is no fourth row, and no POLICY label.
    const three = reconstructionImage({ clips: clips.subarray(0, 2 * 16 * 16 * 3), mask: mask.subarray(0, 1), pred: pred.subarray(0, 2 * 16 * 16 * 3), batch: 1 }, { ...g, frames: 2 });
    expect(three.height).toBe(3 * 16 + 2 * 2);
  });
});

describe('trainStepFlops', () => {
  it('ViT-B 16x224 TATS: MAE ~210 GFLOP and sampler of the same order per clip', () => {
    const c = resolveConfig({ batchSize: 1 }, { cudaAvailable: true });
    const f = trainStepFlops(c);
    expect(f.inputs).toMatchObject({ tokens: 1568, visible: 157, masked: 1411 });
    expect((f.encoder + f.decoder) / 1e9).toBeGreaterThan(180);
    expect((f.encoder + f.decoder) / 1e9).toBeLessThan(240);
    expect(f.sampler / (f.encoder + f.decoder)).toBeGreaterThan(0.5);
    expect(f.sampler / (f.encoder + f.decoder)).toBeLessThan(2);
    expect(trainStepFlops(resolveConfig({ batchSize: 1, masking: { strategy: 'tube' } }, { cudaAvailable: true })).sampler).toBe(0);
  });

  it('the patch embedding is counted on the tokens embedded: all N for TATS/AdaMAE, the Nv visible for fixed strategies', () => {
    const at = (strategy: 'tats' | 'adamae' | 'tube' | 'random') =>
      trainStepFlops(resolveConfig({ batchSize: 2, masking: { strategy } }, { cudaAvailable: true }));
    // ViT-B 16x224 at 0.9: N 1568 tokens of 3*2*16*16 = 1536 values, D 768; 2 FLOPs a
    // multiply-add, x3 for forward + backward, x2 clips.
    const patchEmbed = (tokens: number) => 2 * tokens * 1536 * 768 * 3 * 2;
    const tats = at('tats'), adamae = at('adamae'), tube = at('tube'), random = at('random');
    expect(tats.inputs).toMatchObject({ tokens: 1568, visible: 157, embedded: 1568 });
    expect(adamae.inputs).toMatchObject({ visible: 157, embedded: 1568 });
    expect(random.inputs).toMatchObject({ visible: 157, embedded: 157 });
    expect(tube.inputs).toMatchObject({ visible: 160, embedded: 160 }); // 8 slots x (196 - int(0.9 * 196))
    // random and TATS keep the same 157 tokens: the same encoder and decoder but for the patches
    // random does not embed.
    expect(tats.encoder - random.encoder).toBe(patchEmbed(1568 - 157));
    expect(tats.decoder).toBe(random.decoder);
    expect(adamae.encoder).toBe(tats.encoder);
  });

  it("TATS's progress reward adds one MAE forward (no backward) on the visible patches", () => {
    const at = (reward: 'negError' | 'progress') =>
      trainStepFlops(resolveConfig({ batchSize: 2, sampler: { reward } }, { cudaAvailable: true }));
    const plain = at('negError'), progress = at('progress');
    expect(plain.inputs.extraForward).toBe(false);
    expect(progress.inputs.extraForward).toBe(true);
    // encoder: forward x3 (with all N patches embedded) + one forward embedding the 157 visible
    const patchEmbed = (tokens: number) => 2 * tokens * 1536 * 768 * 2;
    expect(progress.encoder - plain.encoder).toBeCloseTo((plain.encoder - patchEmbed(1568) * 3) / 3 + patchEmbed(157), -3);
    expect(progress.decoder).toBeCloseTo((plain.decoder * 4) / 3, -3);
    expect(progress.sampler).toBe(plain.sampler);
  });
});
