// The npm package as a user gets it: `npm pack` (prepack builds dist/), then in a fresh folder
// `npm ci --offline` of that tarball with cmake, g++ and python3 unreachable (PATH is a folder of
// node/npm and a few basic tools), dependencies from this machine's npm cache. The CPU prebuild is
// made first from build/Release/tats.node by scripts/prebuild.js, so the tarball holds the binary
// this checkout just built. Checks: no compiler runs and no build/ appears; `tats info --json`
// reports the prebuild, flavour cpu and the libtorch it preloaded; `tats pretrain` runs from the
// install; a tarball whose manifest does not match prints the fallback; no libtorch anywhere gives
// an error naming each place looked and the fix; TATS_BUILD_FROM_SOURCE=1 and --build-from-source
// force the source build even where the prebuild loads (here it fails at once: no compiler).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../lib/paths.js';

const built = join(packageRoot, 'build', 'Release', 'tats.node');
const work = mkdtempSync(join(tmpdir(), 'tats-install-'));
const bin = join(work, 'bin');
const cacheDir = join(work, 'loader-cache');
const systemTorch = process.arch === 'arm64' ? '/usr/lib/aarch64-linux-gnu' : '/usr/lib/x86_64-linux-gnu';

function which(name: string): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 180_000 });
}

/** A user's shell: PATH is only `bin` (node, npm, npx and basic tools; no cmake, compilers or python). */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const npmCache = run('npm', ['config', 'get', 'cache'], { cwd: work, env: process.env }).stdout.trim();
  return {
    HOME: process.env.HOME,
    PATH: bin,
    LANG: 'C.UTF-8',
    TMPDIR: tmpdir(),
    TATS_CACHE_DIR: cacheDir,
    npm_config_cache: npmCache,
    npm_config_update_notifier: 'false',
    ...extra,
  };
}

function makeBin(): void {
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['npm', 'npx']) {
    const p = which(tool);
    if (!p) throw new Error(`${tool} is not on PATH`);
    symlinkSync(realpathSync(p), join(bin, tool));
  }
  for (const tool of ['sh', 'bash', 'env', 'chmod', 'cat', 'ls', 'rm', 'mkdir', 'cp', 'mv', 'tar', 'gzip', 'grep', 'sed', 'uname', 'dirname', 'basename', 'readlink']) {
    const p = which(tool);
    if (p) symlinkSync(p, join(bin, tool));
  }
}

/**
 * A fresh app folder that depends on the tarball, with a lockfile taken from this repository's
 * (production dependencies only, registry tarball URLs filled in), so `npm ci --offline` installs
 * from the npm cache by integrity and needs no registry metadata.
 */
function makeApp(name: string, tarball: string): string {
  const app = join(work, name);
  mkdirSync(app, { recursive: true });
  const lock = JSON.parse(readFileSync(join(packageRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; link?: boolean; resolved?: string; version?: string }>;
  };
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${tarball}`;
  // The lock may omit registry URLs (omit-lockfile-registry-resolved); npm ci --offline then finds each tarball in the cache by its integrity.
  let registry = run('npm', ['config', 'get', 'registry'], { cwd: work, env: process.env }).stdout.trim() || 'https://registry.npmjs.org/';
  if (!registry.endsWith('/')) registry += '/';
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name, dependencies: { tats: spec } },
    'node_modules/tats': {
      version: pkg.version,
      resolved: spec,
      integrity,
      hasInstallScript: true,
      license: pkg.license,
      dependencies: pkg.dependencies,
      optionalDependencies: pkg.optionalDependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [key, v] of Object.entries(lock.packages)) {
    if (!key || v.dev || v.link) continue;
    const dep = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = v.resolved ?? `${registry}${dep}/-/${dep.split('/').pop()}-${v.version}.tgz`;
    packages[key] = { ...v, resolved };
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, dependencies: { tats: spec } }, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name, lockfileVersion: 3, requires: true, packages }, null, 2));
  return app;
}

function npmCi(app: string): SpawnSyncReturns<string> {
  return run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: app, env: userEnv() });
}

function tats(app: string, args: string[], extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return run('npx', ['--offline', 'tats', ...args], { cwd: app, env: userEnv(extra) });
}

let tarball = '';
let variant = '';
let app = '';
let install: SpawnSyncReturns<string>;
let packStarted = 0;
let packedFiles: string[] = [];

beforeAll(() => {
  if (!existsSync(built)) throw new Error(`${built} is missing: build the addon first (npm run build:native)`);
  makeBin();
  for (const tool of ['cmake', 'g++', 'c++', 'cc', 'python3', 'nvcc']) expect(existsSync(join(bin, tool))).toBe(false);

  const pre = run(process.execPath, [join(packageRoot, 'scripts', 'prebuild.js'), '--json'], { cwd: packageRoot, env: process.env });
  expect(pre.status, pre.stderr).toBe(0);
  variant = (JSON.parse(pre.stdout.trim().split('\n').pop()!) as { variant: string }).variant;

  // A file left in dist/ by an older build (its source since removed): prepack must not ship it.
  writeFileSync(join(packageRoot, 'dist', 'lib', 'stale-output.js'), 'export {};\n');
  packStarted = Date.now();
  const pack = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: packageRoot, env: process.env });
  expect(pack.status, pack.stderr).toBe(0);
  const packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, packed[0]!.filename);
  packedFiles = packed[0]!.files.map((f) => f.path);

  app = makeApp('app', tarball);
  install = npmCi(app);
}, 240_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('npm install of the packed tarball, without cmake, g++ or python3', () => {
  it('npm pack ran prepack, which emptied dist/ and built it again', () => {
    for (const f of ['dist/lib/index.js', 'dist/lib/loader/index.js', 'dist/cli/tats.js']) {
      expect(statSync(join(packageRoot, f)).mtimeMs, f).toBeGreaterThanOrEqual(packStarted - 1000);
      expect(packedFiles).toContain(f);
    }
    expect(existsSync(join(packageRoot, 'dist', 'lib', 'stale-output.js'))).toBe(false);
    expect(packedFiles).not.toContain('dist/lib/stale-output.js');
  });

  it('installs from the prebuild: no compiler, no build/ folder', () => {
    expect(install.status, install.stdout + install.stderr).toBe(0);
    const out = install.stdout + install.stderr;
    expect(out).toContain(`tats: using prebuild ${variant}`);
    expect(out).not.toMatch(/building from source|cmake-js/);
    expect(existsSync(join(app, 'node_modules', 'tats', 'build'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'tats', 'dist', 'cli', 'tats.js'))).toBe(true);
  });

  it('tats info --json reports flavour cpu, the prebuild and the libtorch it preloaded', () => {
    const r = tats(app, ['info', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as {
      flavour: string;
      binary: string;
      load: { kind: string; variant: string; libtorch: { source: string; dir: string }; preloaded: string[]; why: string };
    };
    expect(info.flavour).toBe('cpu');
    expect(info.binary).toBe(join(realpathSync(app), 'node_modules', 'tats', 'prebuilds', `${process.platform}-${process.arch}`, variant, 'tats.node'));
    expect(info.load.kind).toBe('prebuild');
    expect(info.load.variant).toBe(variant);
    expect(info.load.libtorch.source).toBe('system');
    expect(info.load.preloaded.length).toBeGreaterThan(0);
    expect(info.load.preloaded.every((p) => p.startsWith(info.load.libtorch.dir))).toBe(true);
    expect(info.load.why).toContain(`prebuild ${variant} (cpu, torch `);
    expect(info.load.why).toContain(`in ${info.load.libtorch.dir} (the system's libtorch)`);
  });

  it('TATS_LIBTORCH=<lib folder> loads the same binary with the other sources off', () => {
    if (!existsSync(systemTorch)) return;
    const r = tats(app, ['info', '--json'], { TATS_LIBTORCH: systemTorch, TATS_PYTHON: '0', TATS_SYSTEM_LIBTORCH: '0' });
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { load: { variant: string; libtorch: { source: string } } };
    expect(info.load.variant).toBe(variant);
    expect(info.load.libtorch.source).toBe('env');
  });

  it('tats pretrain --preset cpu-demo --steps 5 runs from the install', () => {
    const out = join(work, 'run');
    const r = tats(app, ['pretrain', '--preset', 'cpu-demo', '--steps', '5', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as { step: number; loss: number };
    expect(last.step).toBe(5);
    expect(Number.isFinite(last.loss)).toBe(true);
  });

  it('no libtorch anywhere: the error names each place looked and the fix', () => {
    const empty = join(work, 'empty-libtorch');
    mkdirSync(empty, { recursive: true });
    const r = tats(app, ['info'], { TATS_LIBTORCH: empty, TATS_PYTHON: '0', TATS_SYSTEM_LIBTORCH: '0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ERR_NATIVE_LOAD');
    expect(r.stderr).toContain(`TATS_LIBTORCH=${empty}: no libtorch.so* there`);
    expect(r.stderr).toContain('python3: skipped (TATS_PYTHON=0)');
    expect(r.stderr).toContain('system libtorch: skipped (TATS_SYSTEM_LIBTORCH=0)');
    expect(r.stderr).toContain(`${variant}`);
    expect(r.stderr).toContain('no libtorch found to run it with');
    expect(r.stderr).toMatch(/Fix: (sudo apt-get install -y libtorch-dev|pip install)/);
  });

  it("the README's Troubleshooting example is what tats info prints", () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const block = /## Troubleshooting[\s\S]*?```console\n\$ ([^\n]*)\n([\s\S]*?)```/.exec(readme);
    expect(block, 'README.md: no console block under ## Troubleshooting').not.toBeNull();
    const [, command, shown] = block!;
    const folder = /TATS_LIBTORCH=(\S+)/.exec(command!)![1]!;
    const empty = join(work, 'empty-libtorch-readme');
    mkdirSync(empty, { recursive: true });
    expect(command).toBe(`TATS_LIBTORCH=${folder} TATS_PYTHON=0 TATS_SYSTEM_LIBTORCH=0 npx tats info`);
    const r = tats(app, ['info'], { TATS_LIBTORCH: empty, TATS_PYTHON: '0', TATS_SYSTEM_LIBTORCH: '0' });
    expect(r.status).toBe(1);
    const platform = `${process.platform}-${process.arch}`;
    const expected = shown!.trimEnd().split('\n').map((l) => l.replaceAll(folder, empty).replaceAll('linux-x64', platform));
    const printed = r.stderr.trimEnd().split('\n');
    // The prebuild's description comes from the binary's manifest; the rest is the loader's text, line for line.
    const described = (l: string) => l.replace(/^(  - prebuilds\/[^:]+: ).*(: no libtorch found to run it with)$/, '$1…$2');
    expect(printed.map(described)).toEqual(expected.map(described));
    expect(printed.find((l) => l.startsWith(`  - prebuilds/${platform}/`))).toContain(`/${variant}: `);
  });
});

describe('npm install whose prebuild manifest does not match', () => {
  it('prints the fallback (no source build without cmake and g++) and still installs', () => {
    // The same tarball with the manifest claiming another torch version.
    const unpack = join(work, 'unpacked');
    mkdirSync(unpack, { recursive: true });
    expect(run('tar', ['xzf', tarball, '-C', unpack], { cwd: work, env: process.env }).status).toBe(0);
    const manifestPath = join(unpack, 'package', 'prebuilds', `${process.platform}-${process.arch}`, variant, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { torch: { version: string; majorMinor: string } };
    m.torch.version = '0.1.0';
    m.torch.majorMinor = '0.1';
    writeFileSync(manifestPath, JSON.stringify(m, null, 2));
    const mismatched = join(work, `mismatch-${basename(tarball)}`);
    expect(run('tar', ['czf', mismatched, '-C', unpack, 'package'], { cwd: work, env: process.env }).status).toBe(0);

    const app2 = makeApp('app-mismatch', mismatched);
    const r = npmCi(app2);
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(0);
    expect(out).toContain('tats: no prebuilt binary loads on this machine');
    expect(out).toContain('needs torch 0.1, found ');
    expect(out).toContain('fallback: no source build either; not found: cmake; a C++ compiler');
    expect(existsSync(join(app2, 'node_modules', 'tats', 'build'))).toBe(false);

    const info = tats(app2, ['info']);
    expect(info.status).toBe(1);
    expect(info.stderr).toContain('needs torch 0.1, found ');
    expect(info.stderr).toContain('Fix: TATS_BUILD_FROM_SOURCE=1 npm rebuild tats');
  });
});

describe('npm install --ignore-scripts', () => {
  it('loads the prebuild all the same: loading needs no install step', () => {
    const app3 = makeApp('app-no-scripts', tarball);
    const r = run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app3, env: userEnv() });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('tats: ');
    const info = tats(app3, ['info', '--json']);
    expect(info.status, info.stderr).toBe(0);
    expect((JSON.parse(info.stdout) as { load: { kind: string; variant: string } }).load).toMatchObject({ kind: 'prebuild', variant });
  });
});

describe('forcing the source build', () => {
  for (const [how, args, extra] of [
    ['TATS_BUILD_FROM_SOURCE=1', [], { TATS_BUILD_FROM_SOURCE: '1' }],
    ['npm rebuild --build-from-source', ['--build-from-source'], {}],
  ] as const) {
    it(`${how} builds even though the prebuild loads (fails here: no cmake or g++), and leaves the prebuild working`, () => {
      const r = run('npm', ['rebuild', 'tats', '--offline', '--foreground-scripts', ...args], { cwd: app, env: userEnv(extra) });
      const out = r.stdout + r.stderr;
      expect(r.status, out).not.toBe(0);
      expect(out).toContain('tats: building from source (TATS_BUILD_FROM_SOURCE or --build-from-source)');
      expect(out).toContain('tats: the source build failed');
      expect(out).not.toContain('tats: using prebuild');
      expect(existsSync(join(app, 'node_modules', 'tats', 'build', 'Release'))).toBe(false);
      const info = tats(app, ['info', '--json']);
      expect(info.status, info.stderr).toBe(0);
      expect((JSON.parse(info.stdout) as { load: { variant: string } }).load.variant).toBe(variant);
    });
  }
});
