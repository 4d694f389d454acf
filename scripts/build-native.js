#!/usr/bin/env node
// Builds the native addon with cmake-js against the libtorch CMakeLists.txt finds
// (TATS_TORCH_PREFIX, then a python3 PyTorch, then the system's libtorch-dev).
// Usage: node scripts/build-native.js [--rebuild] [--debug]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = process.argv.slice(2);
const command = args.includes('--rebuild') ? 'rebuild' : 'build';
const cmakeArgs = [cmakeJs, command, '--directory', root];
if (args.includes('--debug')) cmakeArgs.push('--debug');
const prefix = process.env.TATS_TORCH_PREFIX || process.env.TORCH_CMAKE_PREFIX;
if (prefix) cmakeArgs.push(`--CDTATS_TORCH_PREFIX=${prefix}`);
if (process.env.TATS_CUDA) cmakeArgs.push(`--CDTATS_CUDA=${process.env.TATS_CUDA}`);
if (process.env.TATS_NCCL) cmakeArgs.push(`--CDTATS_NCCL=${process.env.TATS_NCCL}`);
// ccache and precompiled headers: accept the PCH when only its timestamps differ.
const env = { ...process.env, CCACHE_SLOPPINESS: 'pch_defines,time_macros,include_file_mtime,include_file_ctime' };
if (!env.CMAKE_BUILD_PARALLEL_LEVEL) env.CMAKE_BUILD_PARALLEL_LEVEL = String(Math.max(1, (await import('node:os')).availableParallelism()));
const started = Date.now();
const run = spawnSync(process.execPath, cmakeArgs, { cwd: root, stdio: 'inherit', env });
if (run.status !== 0) {
  console.error(`\ntats: the native build failed (cmake-js ${command}). It needs cmake, a C++17 compiler and libtorch:`);
  console.error('  Debian/Ubuntu: sudo apt-get install -y cmake g++ libtorch-dev   (or run scripts/setup.sh)');
  console.error('  a PyTorch install: python3 -c "import torch" must work, or set TATS_TORCH_PREFIX=<libtorch prefix>');
  process.exit(run.status ?? 1);
}
console.error(`tats: native addon built in ${((Date.now() - started) / 1000).toFixed(0)} s -> build/Release/tats.node`);
