// lib/loader without the addon: reading a torch folder (a fake pip layout), asking a fake python3
// once and caching its answer, manifest matching and variant order, the ELF reader, the preload
// plan, the child-process test load (a crash stays in the child; the verdict is cached), and
// chooseNative's fallback chain: a CUDA variant that crashes in its test load -> the CPU variant;
// no libtorch anywhere -> each place looked and the fix; a torch no prebuild fits -> the source build.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  chooseNative,
  describeTorchDir,
  findTorch,
  formatReport,
  hostInfo,
  matchVariant,
  maxVersionNeeded,
  preloadPlan,
  probe,
  readElfDynamic,
  type Host,
  type PrebuildManifest,
  type TorchLib,
  type Variant,
} from '../lib/loader/index.js';
import { preferenceOrder } from '../lib/loader/manifest.js';
import { searchDirs } from '../lib/loader/preload.js';
import { packageRoot } from '../lib/paths.js';

const work = mkdtempSync(join(tmpdir(), 'tats-loader-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** site-packages/torch as a pip CUDA wheel lays it out (empty libraries), with nvidia/cu13/lib beside it. */
function fakePipTorch(root: string, version = '2.11.0+cu130', cuda: string | null = '13.0'): string {
  const torch = join(root, 'site', 'torch');
  mkdirSync(join(torch, 'lib'), { recursive: true });
  mkdirSync(join(torch, 'share', 'cmake', 'Torch'), { recursive: true });
  mkdirSync(join(root, 'site', 'nvidia', 'cu13', 'lib'), { recursive: true });
  for (const f of ['libtorch.so', 'libc10.so', 'libtorch_cpu.so', 'libc10_cuda.so', 'libtorch_cuda.so', 'libtorch_global_deps.so']) {
    writeFileSync(join(torch, 'lib', f), '');
  }
  writeFileSync(
    join(torch, 'version.py'),
    `from typing import Optional\n__version__ = '${version}'\ndebug = False\ncuda: Optional[str] = ${cuda ? `'${cuda}'` : 'None'}\n`,
  );
  writeFileSync(join(torch, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), 'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")\n');
  writeFileSync(join(torch, 'share', 'cmake', 'Torch', 'TorchConfigVersion.cmake'), 'set(PACKAGE_VERSION "2.11.0")\n');
  return torch;
}

function manifest(over: Omit<Partial<PrebuildManifest>, 'torch'> & { torch?: Partial<PrebuildManifest['torch']> } = {}): PrebuildManifest {
  const base: PrebuildManifest = {
    schema: 1,
    package: 'tats',
    version: '0.1.0',
    variant: 'cuda13.0-torch2.11',
    platform: `${process.platform}-${process.arch}`,
    flavour: 'cuda',
    napi: 8,
    binary: 'tats.node',
    preload: 'tats-preload.node',
    sha256: '',
    torch: { version: '2.11.0', majorMinor: '2.11', cxx11Abi: 1, sonames: ['libc10.so', 'libtorch.so', 'libtorch_cuda.so'], builtAgainst: 'python:x', install: 'pip install torch' },
    cuda: { version: '13.0', major: 13, architectures: ['80', '90'], nvcc: '13.0.88' },
    glibc: '2.34',
    glibcxx: '3.4.29',
    needed: [],
    built: { date: '', commit: null, host: '', compiler: null },
  };
  return { ...base, ...over, torch: { ...base.torch, ...over.torch } } as PrebuildManifest;
}

const variant = (m: PrebuildManifest): Variant => ({ name: m.variant, dir: '/x', binary: '/x/tats.node', helper: '/x/tats-preload.node', manifest: m });
const host: Host = { platform: `${process.platform}-${process.arch}`, glibc: '2.36', napi: 9, gpu: true };

describe('torch folders', () => {
  it('reads version, CUDA, ABI and CMake prefix of a pip layout', () => {
    const torch = fakePipTorch(join(work, 'pip'));
    const t = describeTorchDir(join(torch, 'lib'), 'env', 'TATS_LIBTORCH=x')!;
    expect(t).toMatchObject({ version: '2.11.0+cu130', majorMinor: '2.11', cuda: '13.0', cxx11Abi: 1, buildable: true });
    expect(t.cmakePrefix).toBe(join(torch, 'share', 'cmake'));
    expect(t.files).toContain('libtorch_cuda.so');
    expect(searchDirs(t.dir)).toEqual([t.dir, join(work, 'pip', 'site', 'nvidia', 'cu13', 'lib')]);
  });

  it('says nothing was found in a folder without libtorch.so', () => {
    mkdirSync(join(work, 'nothing'), { recursive: true });
    expect(describeTorchDir(join(work, 'nothing'), 'env', 'x')).toBeNull();
    const r = findTorch({ PATH: '', TATS_LIBTORCH: join(work, 'nothing'), TATS_PYTHON: '0', TATS_SYSTEM_LIBTORCH: '0', TATS_CACHE_DIR: join(work, 'c0') });
    expect(r.found).toEqual([]);
    expect(r.looked.map((l) => l.detail)).toEqual(['no libtorch.so* there (nor in its lib/)', 'skipped (TATS_PYTHON=0)', 'skipped (TATS_SYSTEM_LIBTORCH=0)']);
  });

  it("asks python3 once for its torch and reuses the answer until torch's version.py changes", () => {
    const root = join(work, 'py');
    const torch = fakePipTorch(root, '2.11.0+cu130', '13.0');
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    const count = join(root, 'count');
    // A stand-in python3: answers what the real one's script would print.
    writeFileSync(
      join(bin, 'python3'),
      `#!/bin/sh\necho x >> '${count}'\necho '${JSON.stringify({ python: join(bin, 'python3'), path: [join(root, 'site')], torch, version: '2.11.0+cu130', cuda: '13.0' })}'\n`,
    );
    chmodSync(join(bin, 'python3'), 0o755);
    const env = { PATH: bin, TATS_SYSTEM_LIBTORCH: '0', TATS_CACHE_DIR: join(work, 'c1') };
    const asked = () => readFileSync(count, 'utf8').trim().split('\n').length;

    const a = findTorch(env);
    expect(a.found).toHaveLength(1);
    expect(a.found[0]).toMatchObject({ kind: 'python', version: '2.11.0+cu130', cuda: '13.0', dir: join(torch, 'lib') });
    expect(a.looked[1]).toMatchObject({ place: `python3 (${join(bin, 'python3')})`, found: true });
    findTorch(env);
    expect(asked()).toBe(1);
    utimesSync(join(torch, 'version.py'), new Date(), new Date(Date.now() + 5000));
    findTorch(env);
    expect(asked()).toBe(2);
  });
});

describe('manifests', () => {
  const pip = () => describeTorchDir(join(fakePipTorch(join(work, 'm')), 'lib'), 'python', 'python3')!;

  it('a CUDA 13 variant for torch 2.11 matches a cu130 torch 2.11', () => {
    expect(matchVariant(variant(manifest()), pip(), host)).toEqual([]);
  });

  it('names every mismatch: torch version and sonames, ABI, CUDA, glibc', () => {
    const debianCpu = manifest({
      variant: 'cpu-torch1.13',
      flavour: 'cpu',
      cuda: null,
      glibc: '2.99',
      torch: { version: '1.13.0', majorMinor: '1.13', cxx11Abi: 0, sonames: ['libc10.so.1.13', 'libtorch.so.1.13'] },
    });
    const why = matchVariant(variant(debianCpu), pip(), host);
    expect(why).toContain('needs glibc 2.99, this system has 2.36');
    expect(why).toContain('needs torch 1.13, found 2.11.0+cu130');
    expect(why.some((w) => w.startsWith('needs libc10.so.1.13, libtorch.so.1.13, not in'))).toBe(true);
    expect(why).toContain('built with C++11 ABI 0, this torch uses 1');
    const cpuTorch: TorchLib = { ...pip(), cuda: null };
    expect(matchVariant(variant(manifest()), cpuTorch, host)).toContain('needs a CUDA 13.0 torch, this one is CPU-only');
    expect(matchVariant(variant(manifest()), { ...pip(), cuda: '12.8' }, host)).toContain('needs a CUDA 13.x torch, this one has CUDA 12.8');
  });

  it('tries CUDA first only with a GPU and a CUDA torch', () => {
    const cpu = variant(manifest({ variant: 'cpu-torch2.11', flavour: 'cpu', cuda: null }));
    const cuda = variant(manifest());
    const t = pip();
    expect(preferenceOrder([cpu, cuda], t, host, {}).map((v) => v.name)).toEqual(['cuda13.0-torch2.11', 'cpu-torch2.11']);
    expect(preferenceOrder([cpu, cuda], t, { ...host, gpu: false }, {}).map((v) => v.name)).toEqual(['cpu-torch2.11', 'cuda13.0-torch2.11']);
    expect(preferenceOrder([cpu, cuda], { ...t, cuda: null }, host, {}).map((v) => v.name)).toEqual(['cpu-torch2.11', 'cuda13.0-torch2.11']);
    expect(preferenceOrder([cpu, cuda], t, host, { TATS_VARIANT: 'cpu' }).map((v) => v.name)).toEqual(['cpu-torch2.11']);
  });
});

describe('ELF and preload plan', () => {
  it('reads the libraries and glibc versions node needs', () => {
    const d = readElfDynamic(process.execPath);
    expect(d.needed).toContain('libc.so.6');
    expect(maxVersionNeeded(d, 'GLIBC_')).toMatch(/^2\.\d+$/);
  });

  const built = join(packageRoot, 'build', 'Release', 'tats.node');
  it.skipIf(!existsSync(built))('preloads the torch libraries the addon names, c10 first, libtorch last', () => {
    const needed = readElfDynamic(built).needed.filter((n) => /^lib(torch|c10)/.test(n));
    const dir = join(work, 'links');
    mkdirSync(dir, { recursive: true });
    for (const n of needed) symlinkSync('/dev/null', join(dir, n));
    writeFileSync(join(dir, needed.find((n) => n.startsWith('libtorch.so'))!.replace(/^libtorch/, 'libtorchx')), '');
    const plan = preloadPlan(built, dir);
    expect(plan.paths.map((p) => p.slice(dir.length + 1))).toEqual([...needed].sort((a, b) => rank(a) - rank(b)));
    expect(plan.unresolved).toEqual([]);
  });
});

function rank(n: string): number {
  return ['libc10.', 'libtorch_cpu.', 'libc10_cuda.', 'libtorch_cuda.', 'libtorch.'].findIndex((p) => n.startsWith(p));
}

describe('child-process test load', () => {
  const dir = join(work, 'probe');
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, TATS_CACHE_DIR: join(work, 'c2') };

  it('a binary that crashes on load is reported, the caller survives, and the verdict is cached', () => {
    const crash = join(dir, 'crash.js');
    writeFileSync(crash, "process.kill(process.pid, 'SIGSEGV');\n");
    const r = probe({ binary: crash, helper: null, preload: [] }, env);
    expect(r).toMatchObject({ ok: false, cached: false });
    expect(r.reason).toContain('crashed (SIGSEGV)');
    expect(probe({ binary: crash, helper: null, preload: [] }, env)).toMatchObject({ ok: false, cached: true });
  });

  it('a missing library is named', () => {
    const missing = join(dir, 'missing.js');
    writeFileSync(missing, "throw new Error('libtorch_cuda.so: cannot open shared object file: No such file or directory');\n");
    expect(probe({ binary: missing, helper: null, preload: [] }, env).reason).toBe('a library it needs is missing: libtorch_cuda.so');
  });

  it('a binary whose info() answers loads', () => {
    const ok = join(dir, 'ok.js');
    writeFileSync(ok, "exports.info = () => ({ torch: '2.11.0', cudaCompiled: true, cudaAvailable: false, cudaArchitectures: '80,90', cppAbi: 1 });\n");
    expect(probe({ binary: ok, helper: null, preload: [] }, env)).toMatchObject({ ok: true, info: { torch: '2.11.0', cudaCompiled: true } });
  });
});

describe('choosing a binary', () => {
  it('a local build that does not load is reported, not passed over for a prebuild', () => {
    const root = join(work, 'pkg');
    mkdirSync(join(root, 'build', 'Release'), { recursive: true });
    writeFileSync(join(root, 'build', 'Release', 'tats.node'), 'not an ELF file');
    mkdirSync(join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'cpu-torch1.13'), { recursive: true });
    const r = chooseNative(root, { PATH: '', TATS_PYTHON: '0', TATS_SYSTEM_LIBTORCH: '0', TATS_CACHE_DIR: join(work, 'c3') });
    expect(r.choice).toBeNull();
    expect(r.binaries).toHaveLength(1);
    expect(r.binaries[0]).toMatchObject({ place: 'build/Release/tats.node', found: false });
    expect(r.missing).toContain('build/Release/tats.node is there but does not load');
    expect(r.fix).toBe('TATS_BUILD_FROM_SOURCE=1 npm rebuild tats');
    expect(r.alternative).toContain('to use the prebuilt variants');
  });
});

/** A package folder (no .git, as installed) holding prebuild variants with the given manifests and files. */
function fakePackage(name: string, variants: { m: PrebuildManifest; files: Record<string, string> }[]): string {
  const root = join(work, name);
  for (const { m, files } of variants) {
    const dir = join(root, 'prebuilds', m.platform, m.variant);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    for (const [f, from] of Object.entries(files)) {
      if (existsSync(from)) copyFileSync(from, join(dir, f));
      else writeFileSync(join(dir, f), from);
    }
  }
  return root;
}

describe('the fallback chain', () => {
  const built = join(packageRoot, 'build', 'Release', 'tats.node');
  const systemLib = process.arch === 'arm64' ? '/usr/lib/aarch64-linux-gnu' : '/usr/lib/x86_64-linux-gnu';
  const torchSonames = existsSync(built) ? readElfDynamic(built).needed.filter((n) => /^lib(torch|c10)/.test(n)) : [];
  const haveSystemTorch = torchSonames.length > 0 && torchSonames.every((n) => existsSync(join(systemLib, n)));

  it.skipIf(!haveSystemTorch)('with a GPU and a CUDA torch: a CUDA variant whose test load crashes is passed over for the CPU variant', () => {
    // A "CUDA torch": the system's torch libraries behind a torch/version.py that says CUDA 13.0.
    const torchDir = join(work, 'chain-torch', 'torch');
    mkdirSync(join(torchDir, 'lib'), { recursive: true });
    for (const n of torchSonames) symlinkSync(join(systemLib, n), join(torchDir, 'lib', n));
    writeFileSync(join(torchDir, 'version.py'), "__version__ = '1.13.0'\ncuda = '13.0'\n");
    const version = /^libtorch\.so\.(\d+\.\d+)/.exec(torchSonames.find((n) => n.startsWith('libtorch.so'))!)?.[1] ?? '1.13';
    const common = { glibc: null, torch: { version: `${version}.0`, majorMinor: version, cxx11Abi: 1 as const, sonames: torchSonames } };
    // Both variants are this checkout's binary; the CUDA one's preload helper kills its test process.
    const root = fakePackage('chain', [
      {
        m: manifest({ ...common, variant: `cuda13.0-torch${version}`, preload: 'crash.js' }),
        files: { 'tats.node': built, 'crash.js': "process.kill(process.pid, 'SIGSEGV');\n" },
      },
      {
        m: manifest({ ...common, variant: `cpu-torch${version}`, flavour: 'cpu', cuda: null, preload: 'noop.js' }),
        files: { 'tats.node': built, 'noop.js': 'exports.preload = () => true;\n' },
      },
    ]);
    const env = { HOME: process.env.HOME, PATH: '', TATS_LIBTORCH: join(torchDir, 'lib'), TATS_PYTHON: '0', TATS_SYSTEM_LIBTORCH: '0', TATS_CACHE_DIR: join(work, 'c4') };
    const gpuHost = { ...hostInfo(env), gpu: true };

    const r = chooseNative(root, env, gpuHost);
    const cuda = `prebuilds/${gpuHost.platform}/cuda13.0-torch${version} with TATS_LIBTORCH=${join(torchDir, 'lib')}`;
    expect(r.binaries.map((b) => b.place)).toEqual([
      'build/Release/tats.node',
      'build/Debug/tats.node',
      cuda,
      `prebuilds/${gpuHost.platform}/cpu-torch${version} with TATS_LIBTORCH=${join(torchDir, 'lib')}`,
    ]);
    expect(r.binaries[2]!.detail).toContain('the test load crashed (SIGSEGV)');
    expect(r.choice).toMatchObject({ kind: 'prebuild', variant: `cpu-torch${version}`, probe: 'ran' });
    expect(r.choice!.why).toContain('no CUDA variant loaded with this torch');
    expect(r.choice!.libtorch).toMatchObject({ kind: 'env', cuda: '13.0' });
    expect(r.choice!.preload.map((p) => p.slice(torchDir.length + 5))).toEqual([...torchSonames].sort((a, b) => rank(a) - rank(b)));
    // Without a GPU the CPU variant is tried first and the CUDA one is never test-loaded.
    const noGpu = chooseNative(root, { ...env, TATS_CACHE_DIR: join(work, 'c5') }, { ...gpuHost, gpu: false });
    expect(noGpu.choice?.variant).toBe(`cpu-torch${version}`);
    expect(noGpu.binaries.filter((b) => b.place.includes('cuda13.0'))).toEqual([]);
  });

  it('no libtorch anywhere: the report names each place looked, the variant left without one, and the fix', () => {
    const root = fakePackage('no-torch', [
      {
        m: manifest({ variant: 'cpu-torch1.13', flavour: 'cpu', cuda: null, torch: { version: '1.13.0', majorMinor: '1.13', sonames: ['libtorch.so.1.13'], install: 'sudo apt-get install -y libtorch-dev' } }),
        files: { 'tats.node': '', 'tats-preload.node': '' },
      },
    ]);
    const empty = join(work, 'empty-torch');
    mkdirSync(empty, { recursive: true });
    const env = { PATH: join(work, 'no-bin'), TATS_LIBTORCH: empty, TATS_SYSTEM_LIBTORCH: empty, TATS_CACHE_DIR: join(work, 'c6') };
    const r = chooseNative(root, env);
    expect(r.choice).toBeNull();
    expect(r.looked.map((l) => `${l.place}: ${l.detail}`)).toEqual([
      `TATS_LIBTORCH=${empty}: no libtorch.so* there (nor in its lib/)`,
      'python3: not on PATH',
      `system ${empty}: no libtorch.so* (Debian/Ubuntu: apt-get install libtorch-dev)`,
    ]);
    const text = formatReport(r);
    expect(text).toContain(`prebuilds/${host.platform}/cpu-torch1.13: cpu, torch 1.13 (libtorch.so.1.13`);
    expect(text).toContain('no libtorch found to run it with');
    expect(text).toContain('Missing: libtorch: none of the places above has one');
    expect(text).toContain('Fix: sudo apt-get install -y libtorch-dev');
  });

  it('a libtorch that no prebuild fits: the fix is the source build', () => {
    const root = fakePackage('mismatch', [
      {
        m: manifest({ variant: 'cpu-torch1.13', flavour: 'cpu', cuda: null, torch: { version: '1.13.0', majorMinor: '1.13', cxx11Abi: 1, sonames: ['libtorch.so.1.13'], install: 'sudo apt-get install -y libtorch-dev' } }),
        files: { 'tats.node': '', 'tats-preload.node': '' },
      },
    ]);
    const torch = fakePipTorch(join(work, 'mismatch-torch'));
    const r = chooseNative(root, { PATH: '', TATS_LIBTORCH: join(torch, 'lib'), TATS_PYTHON: '0', TATS_SYSTEM_LIBTORCH: '0', TATS_CACHE_DIR: join(work, 'c7') });
    expect(r.choice).toBeNull();
    const v = r.binaries.find((b) => b.place.includes('cpu-torch1.13'))!;
    expect(v.detail).toContain('needs torch 1.13, found 2.11.0+cu130');
    expect(v.detail).toContain('needs libtorch.so.1.13, not in');
    expect(r.missing).toBe('a prebuild for the libtorch found (2.11.0+cu130 CUDA 13.0); this package has cpu-torch1.13');
    expect(r.fix).toBe('TATS_BUILD_FROM_SOURCE=1 npm rebuild tats');
    expect(r.alternative).toContain('sudo apt-get install -y libtorch-dev');
  });
});
