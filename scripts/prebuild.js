#!/usr/bin/env node
// Turns a built tats.node into a prebuilt variant the npm tarball ships:
//   prebuilds/<platform>-<arch>/<variant>/{tats.node, tats-preload.node, manifest.json}
// <variant> is cpu-torch<M.m> or cuda<X.Y>-torch<M.m>. The manifest records what the binary needs
// (torch version and sonames, C++ ABI, CUDA version and architectures, glibc), read from the
// binary's own info() (in a child process), its ELF tables and the build's CMake cache; the loader
// checks it before loading. The copy is stripped and its RUNPATH (the build machine's torch folder)
// is replaced by $ORIGIN: a prebuild finds libtorch only through the loader's preload.
// tats-preload.node (native/preload/preload.c, no torch) is compiled with cc next to it (a second).
// Prebuilds are never committed (.gitignore); `npm pack` ships whatever prebuilds/ holds.
//
// Usage: node scripts/prebuild.js [--binary build/Release/tats.node] [--out prebuilds] [--no-strip]
//          [--no-verify] [--install "<command that installs the libtorch it needs>"] [--json]
// Needs the TypeScript build (dist/lib/loader), a C compiler, and the libtorch the binary was built against.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { release, type } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
const flag = (name) => argv.includes(name);
const say = (m) => process.stderr.write(`tats prebuild: ${m}\n`);
const fail = (m) => {
  say(m);
  process.exit(1);
};

const loaderPath = join(root, 'dist', 'lib', 'loader', 'index.js');
if (!existsSync(loaderPath)) fail('dist/lib/loader is missing: run `npm run build:ts` first');
const L = await import(pathToFileURL(loaderPath).href);

const binary = resolve(opt('--binary', join(root, 'build', 'Release', 'tats.node')));
if (!existsSync(binary)) fail(`${binary} does not exist: build it first (npm run build:native)`);
const buildDir = resolve(dirname(binary), '..');
const outBase = resolve(opt('--out', join(root, 'prebuilds')));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const platform = `${process.platform}-${process.arch}`;

function which(name) {
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}
function readText(p) {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
/** A value from CMakeFiles/<cmake version>/CMake<lang>Compiler.cmake. */
function compilerValue(file, key) {
  let dirs = [];
  try {
    dirs = readdirSync(join(buildDir, 'CMakeFiles'));
  } catch {
    return null;
  }
  for (const d of dirs) {
    const m = new RegExp(`set\\(${key} "([^"]*)"\\)`).exec(readText(join(buildDir, 'CMakeFiles', d, file)));
    if (m) return m[1];
  }
  return null;
}

// 1. What the binary says about itself (loaded in a child: it finds libtorch as its build does).
const probe = spawnSync(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(require(process.argv[1]).info()))', binary], {
  encoding: 'utf8',
});
if (probe.status !== 0) fail(`${binary} does not load here: ${(probe.stderr || '').trim().split('\n')[0]}`);
const info = JSON.parse(probe.stdout);
const flavour = info.cudaCompiled ? 'cuda' : 'cpu';
const torchVersion = String(info.torch).replace(/\+.*$/, '');
const majorMinor = /^(\d+\.\d+)/.exec(torchVersion)?.[1];
if (!majorMinor) fail(`cannot read a torch version from info().torch = ${info.torch}`);

// 2. The libtorch the build linked (CMakeCache Torch_DIR): its CUDA version and lib folder.
const torch = L.torchOfBuild(buildDir);
if (!torch) fail(`cannot find the libtorch of ${buildDir}/CMakeCache.txt (Torch_DIR)`);
const nvcc = compilerValue('CMakeCUDACompiler.cmake', 'CMAKE_CUDA_COMPILER_VERSION');
let cuda = null;
if (flavour === 'cuda') {
  const v = torch.cuda && torch.cuda !== 'unknown' ? torch.cuda : nvcc ? nvcc.split('.').slice(0, 2).join('.') : null;
  if (!v) fail('a CUDA build, but neither its torch nor the CMake cache says which CUDA version');
  const archs = String(info.cudaArchitectures || '').split(/[,;]/).filter(Boolean);
  cuda = { version: v, major: parseInt(v, 10), architectures: archs, nvcc };
}
const variant = opt('--name', flavour === 'cuda' ? `cuda${cuda.version}-torch${majorMinor}` : `cpu-torch${majorMinor}`);
const source = String(info.torchSource || '');
const install =
  opt('--install', null) ??
  (source === 'system'
    ? 'sudo apt-get install -y libtorch-dev'
    : `pip install "torch==${majorMinor}.*" --index-url https://download.pytorch.org/whl/${cuda ? `cu${cuda.version.replace('.', '')}` : 'cpu'}`);

// 3. The variant folder: binary (stripped, RUNPATH -> $ORIGIN), helper, manifest.
const dir = join(outBase, platform, variant);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const out = join(dir, 'tats.node');
copyFileSync(binary, out);
if (!flag('--no-strip') && which('strip')) execFileSync('strip', ['--strip-unneeded', out]);
const oldPaths = L.replaceRunpath(out, '$ORIGIN');
if (oldPaths.length) say(`RUNPATH ${oldPaths.join(' | ')} -> $ORIGIN`);

const cc = process.env.CC || ['cc', 'gcc', 'clang'].find(which);
if (!cc) fail('no C compiler (cc, gcc or clang) to build tats-preload.node');
const req = createRequire(join(root, 'package.json'));
const napiInclude = join(dirname(req.resolve('node-api-headers/package.json')), 'include');
const helper = join(dir, 'tats-preload.node');
execFileSync(cc, ['-O2', '-shared', '-fPIC', '-I', napiInclude, join(root, 'native', 'preload', 'preload.c'), '-o', helper], {
  stdio: 'inherit',
});
if (!flag('--no-strip') && which('strip')) execFileSync('strip', ['--strip-unneeded', helper]);

const dyn = L.readElfDynamic(out);
const helperDyn = L.readElfDynamic(helper);
const glibcs = [L.maxVersionNeeded(dyn, 'GLIBC_'), L.maxVersionNeeded(helperDyn, 'GLIBC_')].filter(Boolean);
const glibc = glibcs.sort(L.compareVersions).pop() ?? null;
let commit = process.env.TATS_COMMIT || null;
if (!commit) {
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = null;
  }
}
const osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readText('/etc/os-release'))?.[1] ?? `${type()} ${release()}`;
const cxx = compilerValue('CMakeCXXCompiler.cmake', 'CMAKE_CXX_COMPILER_ID');
const cxxVersion = compilerValue('CMakeCXXCompiler.cmake', 'CMAKE_CXX_COMPILER_VERSION');
const manifest = {
  schema: 1,
  package: pkg.name,
  version: pkg.version,
  variant,
  platform,
  flavour,
  napi: info.napiVersion,
  binary: 'tats.node',
  preload: 'tats-preload.node',
  sha256: createHash('sha256').update(readFileSync(out)).digest('hex'),
  torch: {
    version: torchVersion,
    majorMinor,
    cxx11Abi: info.cppAbi,
    sonames: dyn.needed.filter((n) => /^lib(torch|c10)/.test(n)),
    builtAgainst: source,
    install,
  },
  cuda,
  glibc,
  glibcxx: L.maxVersionNeeded(dyn, 'GLIBCXX_'),
  needed: dyn.needed,
  built: { date: new Date().toISOString(), commit, host: osName, compiler: cxx ? `${cxx} ${cxxVersion ?? ''}`.trim() : null },
};
writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
say(`${relative(root, dir) || dir}: ${L.describeVariant(manifest)}`);

// 4. Load it the way an installed package will: the build's libtorch preloaded, in a child process.
let verified = null;
if (!flag('--no-verify')) {
  const v = { name: variant, dir, binary: out, helper, manifest };
  const reasons = L.matchVariant(v, torch, L.hostInfo());
  if (reasons.length) fail(`the new prebuild does not match the libtorch it was built against: ${reasons.join('; ')}`);
  const plan = L.preloadPlan(out, torch.dir);
  const r = L.probe({ binary: out, helper, preload: plan.paths, fallbacks: plan.fallbacks }, { ...process.env, TATS_CACHE_DIR: join(dir, '.verify-cache') });
  rmSync(join(dir, '.verify-cache'), { recursive: true, force: true });
  if (!r.ok) {
    const notFound = plan.unresolved.length ? `; found in neither torch, its nvidia wheels nor the CUDA toolkit: ${plan.unresolved.join(', ')}` : '';
    fail(`the prebuild does not load with ${L.describeTorch(torch)}: ${r.reason}${notFound}`);
  }
  verified = { libtorch: torch.dir, preloaded: plan.paths, fromToolkit: plan.fallbacks, unresolved: plan.unresolved, info: r.info };
  say(`loads with ${L.describeTorch(torch)} (${plan.paths.length} libraries preloaded)`);
}
const summary = { variant, dir, flavour, torch: manifest.torch.version, cuda: cuda?.version ?? null, glibc, sha256: manifest.sha256, verified };
if (flag('--json')) process.stdout.write(JSON.stringify(summary) + '\n');
