/**
 * Finds libtorch at run time, never bundled: in order
 *   1. TATS_LIBTORCH: a libtorch lib folder (or a prefix holding lib/, or a torch package folder);
 *   2. the torch of `python3` on PATH (TATS_PYTHON names another interpreter; 0 skips this step),
 *      asked once and cached until that torch, or the interpreter's sys.path, changes;
 *   3. the system's libtorch (Debian/Ubuntu libtorch-dev: /usr/lib/<multiarch>/libtorch*.so*;
 *      TATS_SYSTEM_LIBTORCH names another folder; 0 skips this step).
 * Every place looked is recorded, found or not, for `tats info` and for the load error.
 * @internal
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

import { cacheKey, fileStamp, readCache, writeCache } from './cache.js';
import { readElfDynamic } from './elf.js';

export type TorchKind = 'env' | 'python' | 'system' | 'build';

/** One libtorch found on this machine. */
export interface TorchLib {
  kind: TorchKind;
  /** The folder holding libtorch.so / libc10.so (absolute). */
  dir: string;
  /** `2.11.0+cu130`, `1.13.0`, or null when nothing says. */
  version: string | null;
  /** `2.11`, or null. */
  majorMinor: string | null;
  /** CUDA version torch was built with (`13.0`, or a major from libcudart's soname), null for a CPU torch. */
  cuda: string | null;
  /** _GLIBCXX_USE_CXX11_ABI of its C++ API (from TorchConfig.cmake), null when unknown. */
  cxx11Abi: 0 | 1 | null;
  /** The libtorch and libc10 files in `dir`. */
  files: string[];
  /** A CMake prefix for a source build against it (null: CMake finds it on its own, or it has no CMake config). */
  cmakePrefix: string | null;
  /** True when its CMake config (and so, normally, its headers) is present: a source build can use it. */
  buildable: boolean;
  /** How it was found, in words: `TATS_LIBTORCH=/x`, `python3 (/usr/bin/python3)`, `system`. */
  how: string;
}

/** One place the loader looked. */
export interface Look {
  place: string;
  found: boolean;
  detail: string;
}

const TORCH_FILE = /^lib(torch|c10)\w*\.so(\.[\d.]+)?$/;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Reads what a libtorch lib folder says about itself; null when it holds no libtorch.so*. */
export function describeTorchDir(dirIn: string, kind: TorchKind, how: string): TorchLib | null {
  const dir = resolve(dirIn);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const files = names.filter((n) => TORCH_FILE.test(n)).sort();
  if (!files.some((n) => /^libtorch\.so(\.[\d.]+)?$/.test(n))) return null;

  let version: string | null = null;
  let cuda: string | null = null;
  let cudaKnown = false;
  const pyVersion = readText(join(dir, '..', 'version.py'));
  if (pyVersion) {
    version = /__version__\s*=\s*['"]([^'"]+)['"]/.exec(pyVersion)?.[1] ?? null;
    const c = /^cuda\s*(?::[^=]*)?=\s*(?:['"]([^'"]+)['"]|None)/m.exec(pyVersion);
    if (c) {
      cuda = c[1] ?? null;
      cudaKnown = true;
    }
  }
  const cmakeDirs = [join(dir, '..', 'share', 'cmake', 'Torch'), join(dir, 'cmake', 'Torch')];
  const cmakeDir = cmakeDirs.find((d) => existsSync(join(d, 'TorchConfig.cmake'))) ?? null;
  if (!version) version = readText(join(dir, '..', 'build-version'))?.trim() || null;
  if (!version && cmakeDir) {
    version = /PACKAGE_VERSION\s+"([^"]+)"/.exec(readText(join(cmakeDir, 'TorchConfigVersion.cmake')) ?? '')?.[1] ?? null;
  }
  if (!version) version = files.map((n) => /^libtorch\.so\.(\d+\.\d+(\.\d+)?)$/.exec(n)?.[1]).find(Boolean) ?? null;
  if (!cudaKnown) {
    const torchCuda = files.find((n) => /^libtorch_cuda\.so/.test(n));
    if (torchCuda) {
      try {
        const rt = readElfDynamic(join(dir, torchCuda)).needed.map((n) => /^libcudart\.so\.(\d+)/.exec(n)?.[1]).find(Boolean);
        cuda = rt ?? 'unknown';
      } catch {
        cuda = 'unknown';
      }
    }
  }
  let cxx11Abi: 0 | 1 | null = null;
  const abi = cmakeDir ? /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(readText(join(cmakeDir, 'TorchConfig.cmake')) ?? '') : null;
  if (abi) cxx11Abi = abi[1] === '1' ? 1 : 0;
  const majorMinor = version ? (/^(\d+\.\d+)/.exec(version)?.[1] ?? null) : null;
  // A pip torch or an unzipped libtorch has share/cmake next to lib/; Debian's config is found by CMake itself.
  const cmakePrefix = cmakeDir === cmakeDirs[0] ? resolve(dir, '..', 'share', 'cmake') : null;
  return { kind, dir, version, majorMinor, cuda, cxx11Abi, files, cmakePrefix, buildable: cmakeDir !== null, how };
}

/** `libtorch 2.11.0+cu130 (CUDA 13.0, C++11 ABI 1) in /x/torch/lib`. */
export function describeTorch(t: TorchLib): string {
  const cuda = t.cuda ? `CUDA ${t.cuda}` : 'CPU';
  const abi = t.cxx11Abi === null ? '' : `, C++11 ABI ${t.cxx11Abi}`;
  return `libtorch ${t.version ?? '(version unknown)'} (${cuda}${abi}) in ${t.dir}`;
}

const OFF = new Set(['0', 'off', 'none', 'false', 'no']);

function which(name: string, env: NodeJS.ProcessEnv): string | null {
  if (name.includes('/')) return existsSync(name) ? resolve(name) : null;
  for (const d of (env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

const PY_SCRIPT = `
import importlib.util, json, os, sys
out = {"python": sys.executable, "path": [p for p in sys.path if p and os.path.isdir(p)]}
try:
    s = importlib.util.find_spec("torch")
except Exception as e:
    s = None
    out["error"] = str(e)
if s is not None and s.origin:
    d = os.path.dirname(s.origin)
    out["torch"] = d
    v = {}
    try:
        exec(open(os.path.join(d, "version.py")).read(), v)
    except Exception as e:
        out["error"] = "torch/version.py: %s" % e
    out["version"] = v.get("__version__")
    out["cuda"] = v.get("cuda")
print(json.dumps(out))
`;

interface PyAnswer {
  python: string;
  path: string[];
  torch?: string;
  version?: string | null;
  cuda?: string | null;
  error?: string;
}

interface PyCache {
  answer: PyAnswer;
  stamps: [string, number | null][];
}

function mtime(path: string): number | null {
  try {
    return Math.round(statSync(path).mtimeMs);
  } catch {
    return null;
  }
}

/** Asks the interpreter where its torch is, without importing torch; cached (see the module comment). */
function askPython(py: string, env: NodeJS.ProcessEnv): { answer: PyAnswer; cached: boolean } {
  const key = cacheKey({ py, stamp: fileStamp(py), v: env.VIRTUAL_ENV, c: env.CONDA_PREFIX, p: env.PYENV_VERSION, pp: env.PYTHONPATH });
  const name = `python-${key}.json`;
  const hit = readCache<PyCache>(name, env);
  if (hit && hit.stamps.every(([p, m]) => mtime(p) === m)) return { answer: hit.answer, cached: true };
  const out = execFileSync(py, ['-c', PY_SCRIPT], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'], env });
  const answer = JSON.parse(out.trim().split('\n').pop() ?? '{}') as PyAnswer;
  // Valid while torch's version.py is unchanged, or (no torch) while no sys.path folder changes.
  const watch = answer.torch ? [join(answer.torch, 'version.py')] : answer.path;
  writeCache(name, { answer, stamps: watch.map((p) => [p, mtime(p)]) } satisfies PyCache, env);
  return { answer, cached: false };
}

function systemDefault(): string {
  return process.arch === 'arm64' ? '/usr/lib/aarch64-linux-gnu' : '/usr/lib/x86_64-linux-gnu';
}

/** Every libtorch found, in the order they are tried, and every place looked. */
export function findTorch(env: NodeJS.ProcessEnv = process.env): { found: TorchLib[]; looked: Look[] } {
  const found: TorchLib[] = [];
  const looked: Look[] = [];
  const add = (place: string, t: TorchLib | null, missing: string) => {
    if (t) found.push(t);
    looked.push({ place, found: !!t, detail: t ? describeTorch(t) : missing });
  };

  // 1. TATS_LIBTORCH
  const envDir = env.TATS_LIBTORCH;
  if (envDir) {
    const place = `TATS_LIBTORCH=${envDir}`;
    const dirs = [envDir, join(envDir, 'lib'), join(envDir, 'torch', 'lib')];
    const t = dirs.map((d) => describeTorchDir(d, 'env', place)).find(Boolean) ?? null;
    add(place, t, isDir(envDir) ? 'no libtorch.so* there (nor in its lib/)' : 'no such folder');
  } else {
    looked.push({ place: 'TATS_LIBTORCH', found: false, detail: 'not set' });
  }

  // 2. python3's torch
  const pyName = env.TATS_PYTHON ?? 'python3';
  if (OFF.has(pyName.toLowerCase())) {
    looked.push({ place: 'python3', found: false, detail: `skipped (TATS_PYTHON=${pyName})` });
  } else {
    const py = which(pyName, env);
    const place = py ? `${pyName} (${py})` : pyName;
    if (!py) {
      looked.push({ place, found: false, detail: 'not on PATH' });
    } else {
      try {
        const { answer } = askPython(py, env);
        if (!answer.torch) {
          looked.push({ place, found: false, detail: `no torch module${answer.error ? ` (${answer.error})` : ''}` });
        } else {
          const t = describeTorchDir(join(answer.torch, 'lib'), 'python', place);
          if (t) {
            if (answer.version) {
              t.version = answer.version;
              t.majorMinor = /^(\d+\.\d+)/.exec(answer.version)?.[1] ?? t.majorMinor;
            }
            if (answer.cuda !== undefined) t.cuda = answer.cuda ?? null;
          }
          add(place, t, `torch at ${answer.torch} has no lib/libtorch.so`);
        }
      } catch (err) {
        looked.push({ place, found: false, detail: `could not ask it: ${(err as Error).message.split('\n')[0]}` });
      }
    }
  }

  // 3. the system's libtorch
  const sys = env.TATS_SYSTEM_LIBTORCH ?? systemDefault();
  if (OFF.has(sys.toLowerCase())) {
    looked.push({ place: 'system libtorch', found: false, detail: `skipped (TATS_SYSTEM_LIBTORCH=${sys})` });
  } else {
    const place = `system ${sys}`;
    add(place, describeTorchDir(sys, 'system', place), 'no libtorch.so* (Debian/Ubuntu: apt-get install libtorch-dev)');
  }
  return { found, looked };
}

/** The libtorch a local build linked (from its CMakeCache.txt), for reports; null when unknown. */
export function torchOfBuild(buildDir: string): TorchLib | null {
  const cache = readText(join(buildDir, 'CMakeCache.txt'));
  const torchDir = cache ? /^Torch_DIR:PATH=(.*)$/m.exec(cache)?.[1] : undefined;
  if (!torchDir) return null;
  // pip/zip: <prefix>/share/cmake/Torch -> <prefix>/lib; Debian: <libdir>/cmake/Torch -> <libdir>.
  const candidates = [join(torchDir, '..', '..', '..', 'lib'), join(torchDir, '..', '..')];
  const how = `the build's own (build/CMakeCache.txt Torch_DIR=${torchDir})`;
  return candidates.map((d) => describeTorchDir(d, 'build', how)).find(Boolean) ?? null;
}
