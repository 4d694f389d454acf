/**
 * Test-loads a binary in a child process before this process loads it (node-llama-cpp's
 * testBindingBinary): the child preloads the same libraries, requires the addon and calls info().
 * A crash, a missing library or an undefined symbol then costs a child, never the caller. The
 * verdict is cached per binary, helper, preloaded libraries and Node version.
 * @internal
 */
import { spawnSync } from 'node:child_process';

import { cacheKey, fileStamp, readCache, writeCache } from './cache.js';

export interface ProbeRequest {
  binary: string;
  helper: string | null;
  preload: string[];
  /** Loaded after `preload`, by soname first (preload.ts PreloadPlan.fallbacks). */
  fallbacks?: string[];
}

export interface ProbedInfo {
  torch: string;
  cudaCompiled: boolean;
  cudaAvailable: boolean;
  cudaArchitectures: string;
  cppAbi: number;
}

export interface ProbeResult {
  ok: boolean;
  /** Why it did not load, in words. */
  reason?: string;
  info?: ProbedInfo;
  /** The verdict came from the cache. */
  cached: boolean;
}

// Runs as `node -e`, so it needs no file of its own (the loader also runs from TypeScript sources in tests).
const CHILD = `
const [binary, helper, paths, fallbacks] = JSON.parse(process.argv[1]);
try {
  if (helper && (paths.length || fallbacks.length)) {
    const h = require(helper);
    for (const p of paths) h.preload(p);
    for (const p of fallbacks) { try { h.preload(require('path').basename(p)); } catch { h.preload(p); } }
  }
  const i = require(binary).info();
  process.stdout.write('\\n' + JSON.stringify({ ok: true, info: { torch: i.torch, cudaCompiled: i.cudaCompiled,
    cudaAvailable: i.cudaAvailable, cudaArchitectures: i.cudaArchitectures, cppAbi: i.cppAbi } }) + '\\n');
} catch (e) {
  process.stdout.write('\\n' + JSON.stringify({ ok: false, error: String(e && e.message || e) }) + '\\n');
  process.exitCode = 3;
}
`;

/** A dlopen error in words: which library is missing, or that the binary was built for another torch. */
export function explainLoadError(msg: string): string {
  const first = msg.split('\n')[0] ?? msg;
  const lib = /([\w.+-]+\.so[\w.]*): cannot open shared object/.exec(msg)?.[1];
  if (lib) return `a library it needs is missing: ${lib}`;
  if (/undefined symbol/.test(msg)) return `built against another libtorch (${first.replace(/^.*undefined symbol/, 'undefined symbol')})`;
  if (/GLIBC(XX)?_[\d.]+' not found/.test(msg)) return `built for a newer C/C++ library: ${first}`;
  return first;
}

export function probe(req: ProbeRequest, env: NodeJS.ProcessEnv = process.env): ProbeResult {
  const key = cacheKey({
    b: req.binary,
    bs: fileStamp(req.binary),
    h: req.helper,
    hs: req.helper ? fileStamp(req.helper) : null,
    p: req.preload.map((p) => [p, fileStamp(p)]),
    f: (req.fallbacks ?? []).map((p) => [p, fileStamp(p)]),
    node: process.versions.node,
    // The verdict on CUDA availability depends on these.
    cvd: env.CUDA_VISIBLE_DEVICES ?? null,
  });
  const name = `probe-${key}.json`;
  const hit = readCache<Omit<ProbeResult, 'cached'>>(name, env);
  if (hit) return { ...hit, cached: true };

  const r = spawnSync(process.execPath, ['-e', CHILD, JSON.stringify([req.binary, req.helper, req.preload, req.fallbacks ?? []])], {
    encoding: 'utf8',
    timeout: Number(env.TATS_PROBE_TIMEOUT_MS ?? 180_000),
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let parsed: { ok: boolean; info?: ProbedInfo; error?: string } | undefined;
  try {
    parsed = JSON.parse(last) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  let result: Omit<ProbeResult, 'cached'>;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    // Not cached: a busy machine may answer next time.
    return { ok: false, reason: 'the test load timed out', cached: false };
  } else if (parsed?.ok && parsed.info) {
    result = { ok: true, info: parsed.info };
  } else if (parsed && !parsed.ok) {
    result = { ok: false, reason: explainLoadError(parsed.error ?? 'unknown error') };
  } else if (r.signal) {
    const tail = (r.stderr ?? '').trim().split('\n').slice(-1)[0];
    result = { ok: false, reason: `the test load crashed (${r.signal})${tail ? `: ${tail}` : ''}` };
  } else {
    const tail = (r.stderr ?? '').trim().split('\n').slice(-2).join(' | ');
    result = { ok: false, reason: `the test load exited ${r.status}${tail ? `: ${tail}` : ''}` };
  }
  writeCache(name, result, env);
  return { ...result, cached: false };
}
