#!/usr/bin/env node
// npm's install hook. Runs no compiler when a binary loads: it asks the loader (dist/lib/loader)
// which binary this machine would use (a local build, else the prebuilt variant that matches a
// libtorch found here), test-loaded in a child process. Only when none loads does it fall back to a
// source build (cmake-js), and only when cmake, a C++ compiler and a libtorch with its CMake config
// are present; otherwise it prints what it looked at, what is missing and the fix, and exits 0:
// an install never fails unless a source build was asked for.
//   TATS_BUILD_FROM_SOURCE=1 or `npm install --build-from-source` (npm_config_build_from_source): always build.
//   TATS_SKIP_INSTALL=1: do nothing (scripts/setup.sh sets it and builds explicitly).
// npm shows this script's output only with --foreground-scripts (or when it fails); the same
// account is printed again by any tats command that cannot load the addon.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.TATS_SKIP_INSTALL) process.exit(0);

const say = (m) => process.stderr.write(`tats: ${m}\n`);
const truthy = (v) => v !== undefined && v !== '' && !['0', 'false', 'no', 'off'].includes(String(v).toLowerCase());
const force = truthy(process.env.TATS_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source);

function which(name) {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}

/** scripts/build-native.js (cmake-js) against `torch` (a loader TorchLib; null: CMake's own search). */
function buildFromSource(torch) {
  const env = { ...process.env };
  if (torch && torch.kind === 'env' && torch.cmakePrefix && !env.TATS_TORCH_PREFIX) env.TATS_TORCH_PREFIX = torch.cmakePrefix;
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.js')], { stdio: 'inherit', cwd: root, env });
  return r.status === 0;
}

const loaderFile = join(root, 'dist', 'lib', 'loader', 'index.js');
if (!existsSync(loaderFile)) {
  // A checkout without its TypeScript build: the binary is build/Release/tats.node or nothing.
  const probe = spawnSync(process.execPath, ['-e', 'require(process.argv[1]).info()', join(root, 'build', 'Release', 'tats.node')], {
    stdio: 'ignore',
  });
  if (probe.status === 0) process.exit(0);
  if (!buildFromSource(null)) {
    say('no native binary could be built; `tats` commands will explain what is missing.');
    say('on Debian/Ubuntu run `sudo bash scripts/setup.sh` from the package folder.');
    process.exit(force ? 1 : 0);
  }
  process.exit(0);
}

const L = await import(pathToFileURL(loaderFile).href);
const describe = (c) =>
  c.kind === 'prebuild' ? `prebuild ${c.variant}` : c.kind === 'build' ? relative(root, c.path) : `TATS_NATIVE ${c.path}`;

if (force) {
  say('building from source (TATS_BUILD_FROM_SOURCE or --build-from-source): cmake-js, several minutes');
  const torch = L.findTorch().found.find((t) => t.buildable) ?? null;
  if (!buildFromSource(torch)) {
    say('the source build failed (output above). It needs cmake, a C++17 compiler and libtorch with its headers.');
    process.exit(1);
  }
  const r = L.chooseNative(root);
  if (!r.choice) {
    say(`the source build finished but does not load:\n${L.formatReport(r)}`);
    process.exit(1);
  }
  say(`using ${describe(r.choice)}: ${r.choice.why}`);
  process.exit(0);
}

const r = L.chooseNative(root);
if (r.choice) {
  say(`using ${describe(r.choice)}: ${r.choice.why}`);
  process.exit(0);
}

say(`no prebuilt binary loads on this machine.\n${L.formatReport(r)}`);
const cxx = process.env.CXX || ['c++', 'g++', 'clang++'].find(which);
const missing = [];
if (!which('cmake')) missing.push('cmake');
if (!cxx || (!cxx.includes('/') && !which(cxx))) missing.push('a C++ compiler (c++, g++ or clang++)');
const torch = L.findTorch().found.find((t) => t.buildable) ?? null;
if (!torch) missing.push('a libtorch with its headers and CMake config (Debian/Ubuntu libtorch-dev, or a pip torch)');
if (missing.length) {
  say(`fallback: no source build either; not found: ${missing.join('; ')}.`);
  say(`the install goes on without a native binary; tats commands will repeat this account. Fix: ${r.fix}`);
  process.exit(0);
}
say(`fallback: building from source against ${L.describeTorch(torch)} (cmake-js; several minutes)`);
if (!buildFromSource(torch)) {
  say(`the source build failed (output above); the install goes on without a native binary. Fix: ${r.fix}`);
  process.exit(0);
}
const after = L.chooseNative(root);
if (after.choice) say(`built from source; using ${describe(after.choice)}`);
else say(`built from source, but it does not load:\n${L.formatReport(after)}`);
process.exit(0);
