// What `npm pack` would ship (npm pack --dry-run --json): the JavaScript (dist/lib, dist/cli), the
// sources a source build needs, the install script, and prebuilt binaries only inside
// prebuilds/<platform>/<variant>/; no tests, bench records, docs, examples or stray binaries. And
// git: prebuilds/*/ is ignored and no binary is tracked (a prebuild is made, packed, never committed).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../lib/paths.js';

let files: string[] = [];

beforeAll(() => {
  // --ignore-scripts: prepack's TypeScript build is not what is checked here (test/package-install does a real pack).
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageRoot, encoding: 'utf8' });
  expect(JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).scripts.prepack).toContain('npm run build:ts');
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as { files: { path: string }[] }[];
  files = out[0]!.files.map((f) => f.path);
});

describe('npm pack contents', () => {
  it('ships the built JavaScript and the CLI entry', () => {
    if (!existsSync(join(packageRoot, 'dist', 'cli', 'tats.js'))) throw new Error('dist/ is missing: run npm run build:ts');
    expect(files).toContain('dist/cli/tats.js');
    expect(files).toContain('dist/lib/index.js');
    expect(files).toContain('dist/lib/index.d.ts');
    expect(files).toContain('dist/lib/loader/index.js');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('ships what install and a source build need', () => {
    for (const f of ['package.json', 'README.md', 'CMakeLists.txt', 'scripts/install.js', 'scripts/build-native.js', 'native/preload/preload.c', 'native/pch.h']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('native/core/') && f.endsWith('.cpp'))).toBe(true);
    expect(files.some((f) => f.startsWith('native/kernels/') && f.endsWith('.cu'))).toBe(true);
  });

  it('ships no tests, bench records, docs, examples, build outputs or node-gyp file', () => {
    const bad = files.filter((f) => /^(test|bench|docs|examples|build|dist\/examples|dist\/test|node_modules|\.ci|runs)\//.test(f) || f === 'binding.gyp');
    expect(bad).toEqual([]);
    expect(files.filter((f) => f.startsWith('scripts/')).sort()).toEqual(['scripts/build-native.js', 'scripts/install.js']);
  });

  it('has binaries only inside prebuilds/<platform>/<variant>/, each variant with its manifest and preload helper', () => {
    const binaries = files.filter((f) => /\.(node|so(\.\d+)*|a|o|dylib|dll|exe)$/.test(f));
    const stray = binaries.filter((f) => !/^prebuilds\/[\w-]+\/[\w.-]+\/[^/]+$/.test(f));
    expect(stray).toEqual([]);
    const variants = new Set(files.filter((f) => f.startsWith('prebuilds/')).map((f) => f.split('/').slice(0, 3).join('/')));
    for (const v of variants) {
      expect(files).toContain(`${v}/manifest.json`);
      expect(files).toContain(`${v}/tats.node`);
      expect(files).toContain(`${v}/tats-preload.node`);
    }
  });
});

describe.skipIf(!existsSync(join(packageRoot, '.git')))('prebuilds in git', () => {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: packageRoot, encoding: 'utf8' });

  it('tracks no binary, and prebuilds/ holds only its .gitkeep', () => {
    const tracked = git('ls-files');
    expect(tracked.status, tracked.stderr).toBe(0);
    const lines = tracked.stdout.split('\n').filter(Boolean);
    expect(lines.filter((f) => /\.(node|so(\.\d+)*|a|o|dylib|dll|exe)$/.test(f))).toEqual([]);
    expect(lines.filter((f) => f.startsWith('prebuilds/'))).toEqual(['prebuilds/.gitkeep']);
  });

  it('ignores every variant folder scripts/prebuild.js writes', () => {
    for (const f of ['prebuilds/linux-x64/cpu-torch1.13/tats.node', 'prebuilds/linux-x64/cuda13.0-torch2.11/manifest.json', 'prebuilds/linux-arm64/x/tats-preload.node']) {
      expect(git('check-ignore', '-q', f).status, f).toBe(0);
    }
  });
});
