import { describe, expect, it } from 'vitest';

import { runCli } from './helpers.js';

describe('tats info', () => {
  it('--json prints one object with the contract fields', () => {
    const r = runCli(['info', '--json']);
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    for (const k of ['version', 'torch', 'cuda', 'device', 'flavour', 'binary']) expect(info).toHaveProperty(k);
    expect(typeof info.cuda).toBe('boolean');
    expect(['cpu', 'cuda']).toContain(info.flavour);
    expect(info.torch).toMatch(/^\d+\.\d+/);
    expect(info.binary).toMatch(/tats\.node$/);
  });

  it('exits 2 on an unknown command or flag', () => {
    expect(runCli(['no-such-command']).status).toBe(2);
    expect(runCli(['info', '--no-such-flag']).status).toBe(2);
  });
});
