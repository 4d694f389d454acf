/**
 * Preloading the chosen libtorch. A prebuilt tats.node names its torch libraries by soname and
 * has no RUNPATH to them; before it is required, tats-preload.node (native/preload/preload.c)
 * dlopen()s each library it needs, by absolute path from the chosen torch, with RTLD_GLOBAL, so
 * glibc resolves the addon's NEEDED entries to those libraries. CUDA libraries of a pip torch come
 * from the nvidia/* wheels next to it (site-packages/nvidia/<name>/lib), as torch's own import does;
 * a CUDA library found in neither comes from the toolkit (CUDA_HOME, /usr/local/cuda) if it is there.
 * @internal
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';

import { readElfDynamic } from './elf.js';

/** Libraries every Linux process has: never preloaded. */
const SYSTEM_LIB = /^(libc|libm|libdl|libpthread|librt|libutil|libresolv|libgcc_s|libstdc\+\+|ld-linux[\w.-]*)\.so/;

/** Folders searched for a needed soname: torch's lib, then the nvidia wheels beside torch. */
export function searchDirs(torchDir: string): string[] {
  const dirs = [torchDir];
  const nvidia = resolve(torchDir, '..', '..', 'nvidia');
  try {
    for (const sub of readdirSync(nvidia).sort()) {
      const lib = join(nvidia, sub, 'lib');
      if (existsSync(lib)) dirs.push(lib);
    }
  } catch {
    // no nvidia wheels (CPU torch, libtorch zip, Debian)
  }
  return dirs;
}

// Load order: CUDA runtime libraries first, then c10 before torch_cpu before the CUDA parts before libtorch.
function rank(name: string): number {
  if (/^libc10\.so/.test(name)) return 1;
  if (/^libtorch_cpu\.so/.test(name)) return 2;
  if (/^libc10_cuda\.so/.test(name)) return 3;
  if (/^libtorch_cuda\.so/.test(name)) return 4;
  if (/^libtorch\.so/.test(name)) return 5;
  if (/^lib(torch|c10)/.test(name)) return 6;
  return 0;
}

export interface PreloadPlan {
  /** Absolute paths, in load order. */
  paths: string[];
  /**
   * CUDA libraries found only in the toolkit, loaded after `paths` by soname first (so a copy torch
   * already loaded is reused and never doubled), by this absolute path only if that fails.
   */
  fallbacks: string[];
  /** Needed sonames found in none of the folders (left to the system's search path). */
  unresolved: string[];
}

/** The libraries to preload so that `binary`'s NEEDED entries resolve to the torch in `torchDir`. */
export function preloadPlan(binary: string, torchDir: string): PreloadPlan {
  const dirs = searchDirs(torchDir);
  const paths: { name: string; path: string }[] = [];
  const fallbacks: string[] = [];
  const unresolved: string[] = [];
  // A CUDA library that neither torch nor its wheels have (one the build linked from the toolkit):
  // the toolkit's own folder, after torch's, so that torch's copies always win.
  const toolkit = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda']
    .filter((d): d is string => Boolean(d))
    .flatMap((d) => [join(d, 'lib64'), join(d, 'targets', `${process.arch === 'arm64' ? 'sbsa' : 'x86_64'}-linux`, 'lib')]);
  for (const name of readElfDynamic(binary).needed) {
    if (SYSTEM_LIB.test(name)) continue;
    const dir = dirs.find((d) => existsSync(join(d, name)));
    const tk = dir || !/^lib(cu|nv)/.test(name) ? undefined : toolkit.find((d) => existsSync(join(d, name)));
    if (dir) paths.push({ name, path: join(dir, name) });
    else if (tk) fallbacks.push(join(tk, name));
    else unresolved.push(name);
  }
  paths.sort((a, b) => rank(a.name) - rank(b.name));
  return { paths: paths.map((p) => p.path), fallbacks, unresolved };
}

/** Loads the helper and preloads each library in this process. Throws naming the library that failed. */
export function runPreload(helper: string, paths: string[], fallbacks: string[] = []): void {
  if (!paths.length && !fallbacks.length) return;
  const req = createRequire(import.meta.url);
  const h = req(helper) as { preload(path: string): boolean };
  for (const p of paths) h.preload(p);
  for (const p of fallbacks) {
    try {
      h.preload(basename(p));
    } catch {
      h.preload(p);
    }
  }
}
