// Settings that change results are config fields, recorded in config.json; environment variables
// only name places, pick the binary or print diagnostics (issue 17). Checks: every TATS_* variable
// that lib/, cli/, native/ or scripts/ reads is in the README's table (or refused, with the field
// that replaced it); native code reads none of the retired switches; setting one is an error naming
// its field, from the library and from the CLI; and two runs that differ only in a former switch
// (runtime.legacyAdamw, which changes the numbers on the CPU too) record it in their config.json.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError, pretrain, readMetrics, resolveConfig, type PretrainOptions } from '../lib/index.js';
import { RETIRED_ENV, refuseRetiredEnv } from '../lib/retired-env.js';
import { packageRoot } from '../lib/paths.js';
import { runPaths } from '../lib/train/rundir.js';
import { runCli } from './helpers.js';

const cpu = { cudaAvailable: false };

function files(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path, exts));
    else if (exts.some((e) => name.endsWith(e))) out.push(path);
  }
  return out;
}

/** Every TATS_* variable a source file reads: getenv("..."), process.env.X / env.X / env['X'], or a quoted name. */
function readVariables(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (name: string, file: string) => found.set(name, [...(found.get(name) ?? []), relative(packageRoot, file)]);
  for (const file of files(join(packageRoot, 'native'), ['.cpp', '.h', '.cu', '.cuh'])) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/getenv\(\s*([^)]*)\)/g)) {
      const arg = m[1]!.trim();
      // A computed name (the old env_enabled("GRAPH") built "TATS_" + name) would hide a switch from this scan.
      expect(arg, `${relative(packageRoot, file)}: getenv takes a literal name`).toMatch(/^"[A-Z0-9_]+"$/);
      if (arg.startsWith('"TATS_')) add(arg.slice(1, -1), file);
    }
  }
  const ts = ['lib', 'cli', 'scripts'].flatMap((d) => files(join(packageRoot, d), ['.ts', '.js', '.mjs']));
  for (const file of ts) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv\??\.(TATS_[A-Z0-9_]+)/g)) add(m[1]!, file);
    for (const m of text.matchAll(/\benv\[\s*['"`](TATS_[A-Z0-9_]+)['"`]\s*\]/g)) add(m[1]!, file);
    // Names passed to a reader (intVar(env, 'TATS_DIST_TIMEOUT_S', ...)) or an error about one.
    for (const m of text.matchAll(/['"`](TATS_[A-Z0-9_]+)['"`]/g)) add(m[1]!, file);
  }
  return found;
}

/** The README's "Environment variables" section: the variables of its table and of its refused list. */
function readmeVariables(): { kept: Set<string>; refused: Set<string> } {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Environment variables\n');
  expect(start, 'README has an "Environment variables" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start + 1, end < 0 ? undefined : end);
  const [keptPart, refusedPart = ''] = section.split(/\nRefused:/);
  const rows = (part: string) =>
    new Set(part.split('\n').filter((l) => l.startsWith('| `')).flatMap((l) => [...l.split(' | ')[0]!.matchAll(/`(TATS_[A-Z0-9_]+)/g)].map((m) => m[1]!)));
  return { kept: rows(keptPart!), refused: rows(refusedPart) };
}

/** Runs `fn` with `vars` set in process.env, then restores it. */
function withEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('environment variables', () => {
  const read = readVariables();
  const { kept, refused } = readmeVariables();

  it('every TATS_* variable read in lib/, cli/, native/ or scripts/ is in the README table, or refused', () => {
    expect(read.size).toBeGreaterThan(10);
    const missing = [...read].filter(([name]) => !kept.has(name) && !refused.has(name)).map(([name, where]) => `${name} (${[...new Set(where)].join(', ')})`);
    expect(missing).toEqual([]);
    // The diagnostics named in issue 17 stay, and are read.
    for (const name of ['TATS_TRACE', 'TATS_TRACE_STEP', 'TATS_STEP_TIMING', 'TATS_DEBUG', 'TATS_DEBUG_LOADER', 'TATS_PARENT_WATCH']) {
      expect(kept.has(name), name).toBe(true);
      expect(read.has(name), name).toBe(true);
    }
  });

  it('the refused variables are refused by code and read nowhere in native/', () => {
    expect([...refused].sort()).toEqual([...Object.keys(RETIRED_ENV), 'TATS_SYNTHETIC_STYLE'].sort());
    for (const name of refused) {
      expect(kept.has(name), `${name} is both kept and refused`).toBe(false);
      expect((read.get(name) ?? []).filter((f) => f.startsWith('native')), name).toEqual([]);
    }
    // Every kept variable is still read somewhere (the table lists no dead ones).
    expect([...kept].filter((name) => !read.has(name))).toEqual([]);
  });

  it('setting a retired switch is an error naming the config field that replaced it', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ TATS_GRAPH: '0' }, /^TATS_GRAPH: expected unset: this setting is the config field runtime\.graph now \(--set runtime\.graph=false, or "runtime": \{ "graph": false \} in a --config file\)/],
      [{ TATS_STAGING: '0' }, /config field runtime\.staging now \(--set runtime\.staging=false/],
      [{ TATS_SDPA: 'cudnn' }, /config field runtime\.sdpa now \(--set runtime\.sdpa=cudnn, or "runtime": \{ "sdpa": "cudnn" \}/],
      [{ TATS_LN_BF16: '0' }, /config field runtime\.layerNormBf16 now \(--set runtime\.layerNormBf16=false/],
      [{ TATS_LEGACY_ADAMW: '1' }, /^TATS_LEGACY_ADAMW: expected unset: this setting is the config field runtime\.legacyAdamw now \(--set runtime\.legacyAdamw=true/],
      [{ TATS_PPO_GRAPH: '1' }, /^TATS_PPO_GRAPH: expected unset: the captured PPO update it turned on was removed/],
    ];
    for (const [env, message] of cases) {
      let err: unknown;
      try {
        refuseRetiredEnv(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(Object.keys(env)[0]);
      expect((err as ConfigError).message).toMatch(message);
      // Before any work: when a pretraining config is resolved.
      withEnv(env, () => expect(() => resolveConfig({}, cpu)).toThrow(message));
    }
    expect(() => refuseRetiredEnv({ TATS_GRAPH: '' })).not.toThrow();
  });

  it('tats refuses a retired switch at the start of a command: exit 2, naming the field', () => {
    const r = runCli(['pretrain', '--preset', 'cpu-demo', '--steps', '1', '--out', join(mkdtempSync(join(tmpdir(), 'tats-env-')), 'run')], { env: { TATS_LEGACY_ADAMW: '1' } });
    expect(r.stderr).toMatch(/TATS_LEGACY_ADAMW: expected unset: this setting is the config field runtime\.legacyAdamw now/);
    expect(r.status).toBe(2);
    const i = runCli(['info'], { env: { TATS_GRAPH: '0' } });
    expect(i.stderr).toMatch(/TATS_GRAPH: expected unset: .*runtime\.graph/);
    expect(i.status).toBe(2);
  });
});

describe('the runtime section: a former switch is recorded in config.json', () => {
  const root = mkdtempSync(join(tmpdir(), 'tats-runtime-'));
  const tiny: PretrainOptions = {
    preset: 'cpu-demo',
    model: { preset: 'micro', frames: 4, size: 32, patch: 8, encoderDepth: 1, decoderDepth: 1 },
    masking: { strategy: 'tube', ratio: 0.75 },
    batchSize: 2,
    data: { syntheticClips: 8 },
    steps: 4,
    logEvery: 1,
    picture: false,
    device: 'cpu',
    seed: 0,
  };

  it('two runs differing only in runtime.legacyAdamw: config.json records it, and the losses follow it', async () => {
    const fused = await pretrain({ ...tiny, out: join(root, 'fused') }, cpu);
    const legacy = await pretrain({ ...tiny, runtime: { legacyAdamw: true }, out: join(root, 'legacy') }, cpu);
    const a = JSON.parse(readFileSync(runPaths(join(root, 'fused')).config, 'utf8'));
    const b = JSON.parse(readFileSync(runPaths(join(root, 'legacy')).config, 'utf8'));
    expect(a.runtime).toEqual({ graph: true, staging: true, sdpa: 'auto', layerNormBf16: true, legacyAdamw: false, rolloutGraph: true, ppoGraph: true });
    expect(b.runtime).toEqual({ ...a.runtime, legacyAdamw: true });
    // Nothing else differs but the run directory.
    expect({ ...b, out: a.out, runtime: a.runtime }).toEqual(a);
    expect(fused.config.runtime.legacyAdamw).toBe(false);
    // The field reaches the native optimiser: same first loss (no update yet), then the two AdamWs round differently.
    const la = readMetrics(runPaths(join(root, 'fused')).metrics).map((l) => l.loss as number);
    const lb = readMetrics(runPaths(join(root, 'legacy')).metrics).map((l) => l.loss as number);
    expect(lb[0]).toBe(la[0]);
    expect(lb.slice(1)).not.toEqual(la.slice(1));
    for (let k = 0; k < la.length; k++) expect(Math.abs(lb[k]! - la[k]!)).toBeLessThan(1e-3 * Math.abs(la[k]!));
    expect(legacy.config.runtime.legacyAdamw).toBe(true);
  });

  it('each runtime field is checked, naming it', () => {
    expect(() => resolveConfig({ runtime: { graph: 'no' as unknown as boolean } }, cpu)).toThrow(/^runtime\.graph: expected true or false, received "no"/);
    expect(() => resolveConfig({ runtime: { sdpa: 'fast' as 'auto' } }, cpu)).toThrow(/^runtime\.sdpa: expected one of auto, flash, efficient, cudnn, math, received "fast"/);
    expect(() => resolveConfig({ runtime: { legacyAdamW: true } as unknown as PretrainOptions['runtime'] }, cpu)).toThrow(/runtime\.legacyAdamW: expected a known field/);
  });
});
