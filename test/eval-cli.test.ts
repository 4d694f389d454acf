// tats finetune / eval / visualize / compare: bad flags exit 2 with a message naming the flag
// (and one JSON error object under --json); a missing checkpoint exits 2 before any work.
import { describe, expect, it } from 'vitest';

import { runCli } from './helpers.js';

describe('evaluation commands: usage errors', () => {
  const cases: Array<[string[], RegExp]> = [
    [['finetune', '--checkpoint', 'scratch', '--steps', '0'], /--steps/],
    [['finetune', '--checkpoint', 'scratch', '--model', 'huge'], /--model/],
    [['finetune', '--checkpoint', 'scratch', '--frames', '7'], /--frames/],
    [['finetune', '--checkpoint', 'scratch', '--views', '5x2'], /--views/],
    [['finetune', '--checkpoint', 'scratch', '--dataset', 'nope:x'], /--dataset/],
    [['finetune', '--checkpoint', '/no/such/dir'], /--checkpoint/],
    [['finetune', '--checkpoint', 'scratch', '--layer-decay', '0'], /--layer-decay/],
    [['finetune', '--checkpoint', 'scratch', '--device', 'gpu'], /--device/],
    [['eval', '--checkpoint', '/no/such/dir', '--views', '5x2'], /--views/],
    [['eval', '--checkpoint', 'x', '--test-size', '0'], /--test-size/],
    [['visualize', '--checkpoint', '/no/such/dir'], /--checkpoint/],
    [['visualize', '--checkpoint', 'x', '--out', 'a.jpg'], /--out/],
    [['compare', '--strategies', 'nope', '--out', '/tmp/tats-compare-never'], /--strategies/],
    [['compare', '--steps', '10'], /--out/],
    [['compare', '--downstream', 'x', '--out', '/tmp/tats-compare-never'], /--downstream/],
  ];
  for (const [args, flag] of cases) {
    it(`${args.join(' ')} -> exit 2`, () => {
      const r = runCli([...args, '--json']);
      expect(r.status, r.stderr).toBe(2);
      const out = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(out.error.code).toBe('ERR_CONFIG');
      expect(out.error.message).toMatch(flag);
    });
  }

  it('a required flag left out is a usage error', () => {
    expect(runCli(['eval']).status).toBe(2);
    expect(runCli(['finetune']).status).toBe(2);
  });
});
