// The CLI contract for usage errors: exit 2 with a message naming the flag/field, the value and
// what is allowed; --help on every command; placeholders exit 1 with a clear message.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tats-cli-config-'));
const out = join(dir, 'run');

describe('tats pretrain: invalid config exits 2 naming the field', () => {
  const cases: [string[], RegExp][] = [
    [['--mask-ratio', '1.5'], /--mask-ratio \(masking\.ratio\): expected a number in \(0, 1\), received 1\.5/],
    [['--strategy', 'best'], /--strategy \(masking\.strategy\): expected one of random, tube, frame, adamae, tats, received "best"/],
    [['--steps', 'many'], /--steps: expected an integer .* received NaN/],
    [['--batch-size', '0'], /--batch-size \(batchSize\): expected an integer in \[1, 4096\], received 0/],
    [['--model', 'huge'], /--model \(model\.preset\): expected one of micro, tiny, small, base, large/],
    [['--frames', '7'], /--frames \(model\.frames\): expected a multiple of model\.tubelet/],
    [['--patch', '3'], /--patch \(model\.patch\): expected an integer in \[4, 64\], received 3/],
    [['--encoder-depth', '0'], /--encoder-depth \(model\.encoderDepth\): expected an integer in \[1, 64\], received 0/],
    [['--dataset', 'k400'], /--dataset: expected .*"shards:DIR"/],
    [['--set', 'optim.minlr=1'], /optim\.minlr: expected a known field \(did you mean optim\.minLr\?\)/],
    [['--set', 'nonsense'], /--set: expected path=value/],
    [['--set', 'sampler.beta=-1'], /sampler\.beta: expected a number >= 0, received -1/],
    [['--set', 'sampler.entropyCoef=0.01'], /sampler\.entropyCoef: expected no value: sampler\.entropyCoef was replaced by sampler\.beta \(a KL penalty towards uniform masking, see docs\/tats\.md\), received 0\.01/],
    [['--set', 'sampler.betaSteps=100', '--set', 'sampler.betaStart=0'], /sampler\.betaStart: expected a number > 0, with sampler\.beta > 0/],
    [['--steps', '10', '--epochs', '2'], /--epochs: expected no value when steps is given/],
    [['--preset', 'tats-k400'], /dataset: expected a k400:DIR, shards:DIR or list:FILE spec for preset tats-k400, received \"synthetic\"/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), () => {
      const r = runCli(['pretrain', ...args, '--out', out]);
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
    });
  }

  it('a bad field in a YAML config file, and --json puts the error on stdout', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'masking:\n  ratio: 0\n');
    const r = runCli(['pretrain', '--config', file, '--json', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/masking\.ratio: expected a number in \(0, 1\), received 0/);
    expect(JSON.parse(r.stdout).error.code).toBe('ERR_CONFIG');
  });

  it('a config file that is not there', () => {
    const r = runCli(['pretrain', '--config', join(dir, 'missing.yaml'), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--config: expected a readable JSON or YAML file \(no such file\)/);
  });

  it('unknown flags exit 2 (strict parsing)', () => {
    const r = runCli(['pretrain', '--mask-ration', '0.9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument/);
  });

  it('pack checks its flags with the config predicates (lib/config/pack.ts)', () => {
    for (const [flag, value, message] of [
      ['--shard-mb', '0', '--shard-mb (shardMb): expected an integer >= 1, received 0'],
      ['--seed', '-1', '--seed: expected an integer >= 0, received -1'],
      ['--size', '4', '--size: expected an integer >= 8, received 4'],
      ['--frames', '0', '--frames: expected an integer >= 1, received 0'],
      ['--count', '0', '--count: expected an integer >= 1, received 0'],
      ['--split', '4', '--split: expected an integer in [1, 3], received 4'],
      ['--subset', 'dev', '--subset: expected one of train, val, test, received "dev"'],
      ['--synthetic-style', '{bad', '--synthetic-style (syntheticStyle): expected a JSON object of synthetic style fields (spriteScale, spriteTexture, background, polarity), received "{bad"'],
      ['--synthetic-style', '{"background":"stripes"}', 'syntheticStyle.background: expected one of texture, flat, grain, received "stripes"'],
    ]) {
      const r = runCli(['pack', '--dataset', 'synthetic', '--out', join(dir, 'pack'), flag!, value!]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const shards = runCli(['pack', '--dataset', `shards:${dir}`, '--out', join(dir, 'pack')]);
    expect(shards.status).toBe(2);
    expect(shards.stderr).toContain(`--dataset: expected a dataset to decode, not shards, received "shards:${dir}"`);
    const style = runCli(['pack', '--dataset', `ucf101:${dir}`, '--out', join(dir, 'pack'), '--synthetic-style', '{}']);
    expect(style.status).toBe(2);
    expect(style.stderr).toContain('--synthetic-style (syntheticStyle): expected no value with a video dataset (synthetic only), received "{}"');
    const rate = runCli(['pack', '--dataset', `ucf101:${dir}`, '--out', join(dir, 'pack'), '--rate', '0']);
    expect(rate.status).toBe(2);
    expect(rate.stderr).toContain('--rate: expected an integer >= 1, received 0');
  });

  it('bench checks its config too', () => {
    const r = runCli(['bench', '--mask-ratio', '-1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--mask-ratio \(masking\.ratio\)/);
  });
});

describe('every command has --help; evaluation commands check their flags', () => {
  for (const cmd of ['pretrain', 'finetune', 'eval', 'bench', 'visualize', 'compare', 'info']) {
    it(`${cmd} --help`, () => {
      const r = runCli([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`tats ${cmd}`);
      expect(r.stdout).toContain('--json');
    });
  }
  // finetune/eval/visualize/compare are implemented (branch eval): a checkpoint that does not
  // exist is a usage error naming --checkpoint; compare without --out names --out.
  for (const cmd of ['finetune', 'eval', 'visualize']) {
    it(`${cmd} with a missing checkpoint exits 2 naming --checkpoint`, () => {
      const r = runCli([cmd, '--checkpoint', 'x.safetensors', '--json']);
      expect(r.status).toBe(2);
      expect(JSON.parse(r.stdout).error.message).toMatch(/--checkpoint/);
    });
  }
  it('pretrain --nproc-per-node 2 under a launcher that already set RANK exits 2 naming the flag', () => {
    const r = runCli(['pretrain', '--nproc-per-node', '2', '--out', join(dir, 'ddp')], { env: { RANK: '0', WORLD_SIZE: '1' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--nproc-per-node \(nprocPerNode\): expected 1 in a process that a launcher already started as a rank/);
  });
  it('compare without --out exits 2 naming --out', () => {
    const r = runCli(['compare']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });
  it('a missing required flag exits 2', () => {
    expect(runCli(['finetune']).status).toBe(2);
  });
});

describe('flags that mean the same thing have the same name in every command (docs/cli.md)', () => {
  // Every command that builds a model takes these, spelled the same.
  const shared = ['--dataset', '--model', '--frames', '--size', '--patch', '--encoder-depth', '--batch-size', '--steps', '--device', '--seed'];
  for (const command of ['pretrain', 'bench', 'finetune', 'compare']) {
    it(`${command} --help lists ${shared.join(' ')}`, () => {
      const r = runCli([command, '--help']);
      expect(r.status).toBe(0);
      for (const flag of shared) expect(r.stdout, `${command} ${flag}`).toMatch(new RegExp(`${flag}\\b`));
    });
  }
});
