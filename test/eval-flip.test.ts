// Horizontal flips in fine-tuning: off by default where labels depend on direction (the synthetic
// set, whose labels are motion directions, and SSv2, also packed into shards), on elsewhere
// (VideoMAE); `--flip` on a directional set is refused; the value used lands in config.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packSynthetic } from '../lib/data/pack.js';
import { datasetSource, parseDatasetSpec } from '../lib/data/spec.js';
import { openSource } from '../lib/data/sources.js';
import { flipHorizontal } from '../lib/data/transforms.js';
import { ConfigError } from '../lib/errors/index.js';
import { finetune, resolveFinetuneConfig, resolveFlip } from '../lib/eval/index.js';
import { cleanTemp, tempDir } from './data-fixtures.js';
import { runCli } from './helpers.js';

const geo = { model: 'micro', frames: 4, size: 32, patch: 8, device: 'cpu' } as const;
let synthShards: string;
let ucfShards: string;

/** Shards of synthetic clips whose index says they were packed from `dataset`. */
function shards(dataset: string): string {
  const dir = tempDir('flip-shards');
  packSynthetic({ synthetic: { seed: 1, frames: 4, size: 32, tubelet: 2, patch: 8, length: 16 }, out: dir });
  const index = join(dir, 'index.json');
  writeFileSync(index, JSON.stringify({ ...JSON.parse(readFileSync(index, 'utf8')), dataset }));
  return dir;
}

beforeAll(() => {
  synthShards = shards('synthetic');
  ucfShards = shards('ucf101');
});
afterAll(cleanTemp);

describe('fine-tuning flips', () => {
  it('defaults: off for synthetic and SSv2 (also as shards), on for the other datasets', () => {
    expect(resolveFinetuneConfig({ device: 'cpu' }).flip).toBe(false);
    expect(resolveFlip('synthetic')).toBe(false);
    expect(resolveFlip('ssv2:/nowhere')).toBe(false);
    expect(resolveFlip(`shards:${synthShards}`)).toBe(false);
    expect(resolveFlip('ucf101:/nowhere')).toBe(true);
    expect(resolveFlip('k400:/nowhere')).toBe(true);
    expect(resolveFlip(`shards:${ucfShards}`)).toBe(true);
    expect(resolveFlip('ucf101:/nowhere', false)).toBe(false);
  });

  it('--flip on a set whose labels are directions is a ConfigError naming --flip', () => {
    for (const d of ['synthetic', 'ssv2:/nowhere', `shards:${synthShards}`]) {
      expect(() => resolveFlip(d, true)).toThrow(ConfigError);
      expect(() => resolveFlip(d, true)).toThrow(/^flip: .*direction/);
    }
    expect(() => resolveFinetuneConfig({ device: 'cpu', flip: true })).toThrow(/^flip: /);
  });

  it('shards with flip mirror about half the clips, and only those (motion map left out)', async () => {
    const plain = openSource(datasetSource(parseDatasetSpec(`shards:${ucfShards}`), { frames: 4, size: 32, seed: 3 }).source);
    const flipped = openSource(datasetSource(parseDatasetSpec(`shards:${ucfShards}`), { frames: 4, size: 32, seed: 3, flip: true }).source);
    expect(plain.motionBytes).toBeGreaterThan(0);
    expect(flipped.motionBytes).toBe(0);
    let mirrored = 0;
    for (let i = 0; i < 16; i++) {
      const a = new Uint8Array(plain.clipBytes), b = new Uint8Array(flipped.clipBytes);
      await plain.load(i, 0, a, new Uint8Array(plain.motionBytes));
      await flipped.load(i, 0, b);
      if (Buffer.from(a).equals(Buffer.from(b))) continue;
      expect(Buffer.from(flipHorizontal(a, 4, 32, 32)).equals(Buffer.from(b)), `clip ${i}`).toBe(true);
      mirrored++;
    }
    plain.close();
    flipped.close();
    expect(mirrored).toBeGreaterThan(2);
    expect(mirrored).toBeLessThan(14);
  });

  it('finetune() on synthetic records flip: false in config.json', { timeout: 120_000 }, async () => {
    const out = join(tempDir('flip-ft'), 'ft');
    const r = await finetune({ ...geo, steps: 1, batchSize: 2, testSize: 2, classes: 4, seed: 1, out });
    expect(r.config.flip).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).flip).toBe(false);
  });

  it('tats finetune --flip is recorded in config.json; --flip on synthetic exits 2', { timeout: 240_000 }, () => {
    const out = join(tempDir('flip-cli'), 'ft');
    const args = ['--checkpoint', 'scratch', '--model', 'micro', '--frames', '4', '--size', '32', '--patch', '8', '--steps', '1', '--batch-size', '2', '--test-size', '2', '--device', 'cpu', '--json'];
    const r = runCli(['finetune', ...args, '--dataset', `shards:${ucfShards}`, '--flip', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).flip).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).flip).toBe(true);
    const off = runCli(['finetune', ...args, '--dataset', `shards:${ucfShards}`, '--no-flip', '--out', `${out}-off`]);
    expect(off.status, off.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(`${out}-off`, 'config.json'), 'utf8')).flip).toBe(false);
    const bad = runCli(['finetune', ...args, '--flip']);
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toMatch(/--flip/);
  });
});
