/**
 * Which tats.node to load, with which libtorch, and why. Candidates, first that loads wins:
 *   1. TATS_NATIVE=<file>: that binary and no other (a manifest.json beside it makes it a variant);
 *   2. a local build, build/Release/tats.node then build/Debug (this checkout, or a source build
 *      made at install); it finds its libtorch itself (system path or the build's RUNPATH). One
 *      that exists but does not load is reported, not passed over for a prebuild;
 *   3. the prebuilt variants in prebuilds/<platform>-<arch>/<variant>/, tried with each libtorch
 *      that findTorch() returns, in its order; per libtorch a CUDA variant comes first when there
 *      is a GPU and the torch has CUDA, then CPU. Each manifest is checked before anything loads.
 * Every candidate that would load is test-loaded in a child process first (probe.ts; the verdict
 * is cached). Used by lib/native.ts (load) and scripts/install.js (install-time check).
 * @internal
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

import { describeVariant, hostInfo, matchVariant, preferenceOrder, readManifest, readVariants, type Host, type Variant } from './manifest.js';
import { preloadPlan } from './preload.js';
import { probe, type ProbedInfo } from './probe.js';
import { describeTorch, findTorch, torchOfBuild, type Look, type TorchLib } from './torch.js';

export type { Look, TorchLib } from './torch.js';
export type { PrebuildManifest, Variant, Host } from './manifest.js';
export { describeTorch, findTorch, describeTorchDir, torchOfBuild } from './torch.js';
export { readVariants, readManifest, matchVariant, hostInfo, describeVariant } from './manifest.js';
export { preloadPlan, runPreload } from './preload.js';
export { probe, explainLoadError } from './probe.js';
export { readElfDynamic, maxVersionNeeded, replaceRunpath, compareVersions } from './elf.js';

/** The binary chosen, and how. */
export interface LoadChoice {
  /** Absolute path of tats.node. */
  path: string;
  /** `env` (TATS_NATIVE), `build` (a local source build) or `prebuild`. */
  kind: 'env' | 'build' | 'prebuild';
  /** The prebuild variant's folder name, or null. */
  variant: string | null;
  /** The libtorch it runs with: preloaded for a variant; for a local build, the one its CMake cache names. */
  libtorch: TorchLib | null;
  /** tats-preload.node and the libraries it loads before the addon (empty: none needed). */
  helper: string | null;
  preload: string[];
  /** CUDA libraries from the toolkit, loaded after `preload` by soname first (see preload.ts). */
  fallbacks: string[];
  /** One sentence: why this binary. */
  why: string;
  /** `ran`: test-loaded in a child just now; `cached`: an earlier verdict; `skipped`: TATS_PROBE=0. */
  probe: 'ran' | 'cached' | 'skipped';
  /** What the child's info() said (absent when the probe was skipped). */
  probed?: ProbedInfo;
}

export interface LoadReport {
  choice: LoadChoice | null;
  /** Places looked for libtorch (empty when a local build loaded before any was needed). */
  looked: Look[];
  /** Every binary considered and its verdict. */
  binaries: Look[];
  /** When nothing loads: what is missing, and the command that fixes it. */
  missing: string;
  fix: string;
  alternative: string | null;
}

const SOURCE_WORDS: Record<TorchLib['kind'], string> = {
  env: 'TATS_LIBTORCH',
  python: 'the torch of',
  system: "the system's libtorch",
  build: "the build's libtorch",
};

function rel(root: string, p: string): string {
  const r = relative(root, p);
  return r.startsWith('..') ? p : r;
}

interface Ctx {
  root: string;
  env: NodeJS.ProcessEnv;
  doProbe: boolean;
  binaries: Look[];
}

function tryProbe(ctx: Ctx, binary: string, helper: string | null, paths: string[], fallbacks: string[] = []) {
  if (!ctx.doProbe) return { ok: true as const, state: 'skipped' as const, info: undefined };
  const p = probe({ binary, helper, preload: paths, fallbacks }, ctx.env);
  return p.ok
    ? { ok: true as const, state: p.cached ? ('cached' as const) : ('ran' as const), info: p.info }
    : { ok: false as const, reason: `${p.reason}${p.cached ? ' (cached verdict; TATS_CACHE_DIR or ~/.cache/tats)' : ''}` };
}

/** A binary that finds its own libtorch (TATS_NATIVE without a manifest, or build/Release). */
function tryLocal(ctx: Ctx, path: string, kind: 'env' | 'build', label: string): LoadChoice | null {
  if (!existsSync(path)) {
    ctx.binaries.push({ place: label, found: false, detail: kind === 'env' ? 'no such file' : 'not built' });
    return null;
  }
  const r = tryProbe(ctx, path, null, []);
  if (!r.ok) {
    ctx.binaries.push({ place: label, found: false, detail: r.reason });
    return null;
  }
  const torch = torchOfBuild(join(dirname(path), '..'));
  ctx.binaries.push({ place: label, found: true, detail: 'loads' });
  return {
    path,
    kind,
    variant: null,
    libtorch: torch,
    helper: null,
    preload: [],
    fallbacks: [],
    why:
      kind === 'env'
        ? `TATS_NATIVE names it; it finds libtorch itself (system path or its RUNPATH)`
        : `a local source build (${label}) is preferred to prebuilds; it finds libtorch itself (system path or its RUNPATH)`,
    probe: r.state,
    ...(r.info ? { probed: r.info } : {}),
  };
}

function tryVariants(ctx: Ctx, variants: Variant[], torches: TorchLib[], host: Host, kind: 'env' | 'prebuild'): LoadChoice | null {
  if (!torches.length) {
    for (const v of variants) {
      ctx.binaries.push({ place: rel(ctx.root, v.dir), found: false, detail: `${describeVariant(v.manifest)}: no libtorch found to run it with` });
    }
    return null;
  }
  for (const t of torches) {
    for (const v of preferenceOrder(variants, t, host, ctx.env)) {
      const label = `${rel(ctx.root, v.dir)} with ${t.how}`;
      const reasons = matchVariant(v, t, host);
      if (!v.helper || !existsSync(v.helper)) reasons.push('its tats-preload.node is missing');
      if (reasons.length) {
        ctx.binaries.push({ place: label, found: false, detail: reasons.join('; ') });
        continue;
      }
      let plan;
      try {
        plan = preloadPlan(v.binary, t.dir);
      } catch (err) {
        ctx.binaries.push({ place: label, found: false, detail: `unreadable binary: ${(err as Error).message}` });
        continue;
      }
      const r = tryProbe(ctx, v.binary, v.helper, plan.paths, plan.fallbacks);
      if (!r.ok) {
        ctx.binaries.push({ place: label, found: false, detail: r.reason });
        continue;
      }
      ctx.binaries.push({ place: label, found: true, detail: 'loads' });
      const m = v.manifest;
      let why = `prebuild ${v.name} (${describeVariant(m)}) matches ${describeTorch(t)} (${SOURCE_WORDS[t.kind]}${t.kind === 'python' ? ` ${t.how}` : ''})`;
      if (m.flavour === 'cuda' && !host.gpu) why += '; no GPU here, so it runs on the CPU';
      if (m.flavour === 'cuda' && host.gpu && r.info && !r.info.cudaAvailable) why += '; CUDA is not usable from it (driver?)';
      if (m.flavour === 'cpu' && host.gpu) {
        why += t.cuda ? '; no CUDA variant loaded with this torch' : '; this torch has no CUDA, so the CPU variant';
      }
      return { path: v.binary, kind, variant: v.name, libtorch: t, helper: v.helper, preload: plan.paths, fallbacks: plan.fallbacks, why, probe: r.state, ...(r.info ? { probed: r.info } : {}) };
    }
  }
  return null;
}

/**
 * Chooses the binary to load (probing each candidate in a child first unless TATS_PROBE=0).
 * `host` is this machine (hostInfo); tests pass another one (a GPU) to walk the CUDA -> CPU chain.
 */
export function chooseNative(root: string, env: NodeJS.ProcessEnv = process.env, host: Host = hostInfo(env)): LoadReport {
  const ctx: Ctx = { root, env, doProbe: env.TATS_PROBE !== '0', binaries: [] };
  let looked: Look[] = [];
  let torches: TorchLib[] | null = null;
  const torch = () => {
    if (!torches) {
      const f = findTorch(env);
      torches = f.found;
      looked = f.looked;
    }
    return torches;
  };
  const done = (choice: LoadChoice | null, variants: Variant[]): LoadReport => {
    if (choice) return { choice, looked, binaries: ctx.binaries, missing: '', fix: '', alternative: null };
    return { choice, looked, binaries: ctx.binaries, ...advice(root, env, host, variants, torches ?? []) };
  };

  if (env.TATS_NATIVE) {
    const path = resolve(env.TATS_NATIVE);
    const m = existsSync(path) ? readManifest(dirname(path)) : 'no such file';
    if (typeof m !== 'string' && m.binary === basename(path)) {
      const v: Variant = { name: m.variant, dir: dirname(path), binary: path, helper: m.preload ? join(dirname(path), m.preload) : null, manifest: m };
      return done(tryVariants(ctx, [v], torch(), host, 'env'), [v]);
    }
    return done(tryLocal(ctx, path, 'env', `TATS_NATIVE=${env.TATS_NATIVE}`), []);
  }

  for (const sub of ['Release', 'Debug']) {
    const path = join(root, 'build', sub, 'tats.node');
    const c = tryLocal(ctx, path, 'build', `build/${sub}/tats.node`);
    if (c) return done(c, []);
    // A local build that exists but does not load is reported, never silently replaced by a prebuild
    // (in a checkout that would run the tests against an older binary).
    if (existsSync(path)) {
      const inCheckout = existsSync(join(root, '.git'));
      return {
        choice: null,
        looked,
        binaries: ctx.binaries,
        missing: `a local build that loads: build/${sub}/tats.node is there but does not load`,
        fix: inCheckout ? 'npm run build:native' : fromSourceFix,
        alternative: `or remove ${join(root, 'build')} to use the prebuilt variants`,
      };
    }
  }

  const { variants, problems } = readVariants(root, host.platform);
  ctx.binaries.push(...problems);
  if (!variants.length) {
    ctx.binaries.push({ place: `prebuilds/${host.platform}`, found: false, detail: 'no prebuilt variant in this package' });
    torch();
    return done(null, variants);
  }
  return done(tryVariants(ctx, variants, torch(), host, 'prebuild'), variants);
}

/** What is missing and the command that fixes it, when nothing loads. */
const fromSourceFix = 'TATS_BUILD_FROM_SOURCE=1 npm rebuild tats';

function advice(root: string, env: NodeJS.ProcessEnv, host: Host, variants: Variant[], torches: TorchLib[]) {
  const fromSource = fromSourceFix;
  if (env.TATS_NATIVE) {
    return { missing: `TATS_NATIVE=${env.TATS_NATIVE} does not load`, fix: 'unset TATS_NATIVE (or point it at a tats.node that loads)', alternative: null };
  }
  if (existsSync(join(root, '.git')) || existsSync(join(root, 'build', 'CMakeCache.txt'))) {
    return {
      missing: 'a native build of this checkout',
      fix: 'npm run build:native',
      alternative: 'it needs cmake, g++ and libtorch; on Debian/Ubuntu `sudo bash scripts/setup.sh` installs them',
    };
  }
  const preferred = [...variants].sort((a, b) => {
    const score = (v: Variant) => (host.gpu === (v.manifest.flavour === 'cuda') ? 0 : 1);
    return score(a) - score(b);
  })[0];
  if (!torches.length) {
    return {
      missing: 'libtorch: none of the places above has one',
      fix: preferred ? preferred.manifest.torch.install : 'sudo apt-get install -y libtorch-dev',
      alternative: preferred
        ? `that gives the ${preferred.name} prebuild its libtorch${variants.length > 1 ? `; the others: ${variants.filter((v) => v !== preferred).map((v) => `${v.name}: ${v.manifest.torch.install}`).join('; ')}` : ''}`
        : null,
    };
  }
  return {
    missing: variants.length
      ? `a prebuild for the libtorch found (${torches.map((t) => `${t.version ?? '?'}${t.cuda ? ` CUDA ${t.cuda}` : ''}`).join(', ')}); this package has ${variants.map((v) => v.name).join(', ')}`
      : 'a binary: this package has no prebuild for this platform',
    fix: fromSource,
    alternative: `builds against the libtorch found (needs cmake, g++ and its headers: Debian libtorch-dev, or a pip torch)${preferred ? `; or install the libtorch a prebuild needs: ${preferred.manifest.torch.install}` : ''}`,
  };
}

/** The report as lines of text, for the load error and the install script. */
export function formatReport(r: LoadReport): string {
  const lines: string[] = [];
  if (r.looked.length) {
    lines.push('Looked for libtorch:');
    for (const l of r.looked) lines.push(`  - ${l.place}: ${l.detail}`);
  }
  lines.push('Binaries:');
  for (const b of r.binaries) lines.push(`  - ${b.place}: ${b.detail}`);
  if (!r.choice) {
    lines.push(`Missing: ${r.missing}`);
    lines.push(`Fix: ${r.fix}`);
    if (r.alternative) lines.push(`     (${r.alternative})`);
  }
  return lines.join('\n');
}
