// tats compare pretrains every strategy with the trainer of `tats pretrain`: a run directory per
// strategy (config.json, metrics.jsonl with the sampler's telemetry, checkpoints/,
// reconstruction.png), the downstream run reads its checkpoint, and an --out that already holds
// those runs is refused before any work.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { compare } from '../lib/eval/index.js';
import { readMetrics } from '../lib/train/metrics.js';
import { cleanTemp, tempDir } from './data-fixtures.js';
import { runCli } from './helpers.js';

afterAll(cleanTemp);

const tiny = {
  model: 'micro', frames: 4, size: 32, patch: 8, batchSize: 2, ratio: 0.75, steps: 3, logEvery: 1, samplerDim: 32, samplerHeads: 2,
  downstreamSteps: 2, testSize: 4, classes: 4, scratch: false, device: 'cpu', seed: 1,
} as const;

describe('tats compare runs through the trainer', () => {
  it('writes a run directory per strategy with the trainer\'s metrics, and refuses to overwrite one', { timeout: 300_000 }, async () => {
    const out = join(tempDir('compare'), 'cmp');
    const r = await compare({ ...tiny, strategies: ['random', 'tats'], out });
    expect(r.rows.map((x) => x.strategy)).toEqual(['random', 'tats']);
    expect(r.budget.flip).toBe(false);
    for (const row of r.rows) {
      const run = join(out, row.strategy, 'pretrain');
      expect(row.run).toBe(run);
      expect(row.losses).toHaveLength(3);
      const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
      expect(cfg).toMatchObject({ steps: 3, batchSize: 2, masking: { strategy: row.strategy, ratio: 0.75 }, model: { preset: 'micro', patch: 8 } });
      const lines = readMetrics(join(run, 'metrics.jsonl'));
      expect(lines.map((l) => l.step)).toEqual([1, 2, 3]);
      expect(lines.map((l) => l.loss)).toEqual(row.losses.map((v) => expect.closeTo(v, 6)));
      // The synthetic clips carry a motion map: the trainer logs the moving shares for every strategy.
      expect(typeof lines[0]!.masked_moving_share).toBe('number');
      if (row.strategy === 'tats') expect(typeof lines[0]!.entropy).toBe('number');
      expect(existsSync(join(run, 'reconstruction.png'))).toBe(true);
      expect(existsSync(join(run, 'checkpoints', 'step-00000003', 'meta.json'))).toBe(true);
      const ft = JSON.parse(readFileSync(join(out, row.strategy, 'probe', 'config.json'), 'utf8'));
      expect(ft.init).toContain(join(run, 'checkpoints', 'step-00000003'));
      expect(ft.flip).toBe(false);
    }
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/horizontal flips off/);
    // The same --out again: refused before any work (ERR_CONFIG naming --out).
    await expect(compare({ ...tiny, strategies: ['tats'], out })).rejects.toThrow(/^out: .*tats[/\\]pretrain holds one/);
  });

  it('--flip with the synthetic set exits 2 naming --flip, before any work', () => {
    const out = join(tempDir('compare-flip'), 'cmp');
    const r = runCli(['compare', '--strategies', 'random', '--flip', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toMatch(/--flip/);
    expect(existsSync(out)).toBe(false);
  });
});
