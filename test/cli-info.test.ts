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

  it("--json's load says which binary, which libtorch and why (this checkout: its local build)", () => {
    const r = runCli(['info', '--json']);
    expect(r.status).toBe(0);
    const { load, binary } = JSON.parse(r.stdout);
    expect(['build', 'env', 'prebuild']).toContain(load.kind);
    expect(typeof load.why).toBe('string');
    expect(load.why.length).toBeGreaterThan(0);
    expect(['ran', 'cached', 'skipped']).toContain(load.probe);
    expect(load.looked).toBeInstanceOf(Array);
    expect(load.rejected).toBeInstanceOf(Array);
    if (load.kind === 'build') {
      expect(binary).toMatch(/build\/(Release|Debug)\/tats\.node$/);
      expect(load.variant).toBeNull();
      expect(load.why).toContain('a local source build');
    }
    if (load.libtorch) expect(load.libtorch.dir).toMatch(/^\//);
    const human = runCli(['info']);
    expect(human.status).toBe(0);
    expect(human.stdout + human.stderr).toMatch(/^loaded {4}(build|env|prebuild)/m);
    expect(human.stdout + human.stderr).toContain(`why       ${load.why}`);
  });

  it('exits 2 on an unknown command or flag', () => {
    expect(runCli(['no-such-command']).status).toBe(2);
    expect(runCli(['info', '--no-such-flag']).status).toBe(2);
  });
});
