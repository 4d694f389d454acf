#!/usr/bin/env node
// Makes a fresh app folder that installs a packed tats tarball with `npm ci --offline` on a machine
// with no registry and no npm cache (the GPU machine): each production dependency is packed from
// this checkout's node_modules into <app>/deps/*.tgz, and the app's package-lock.json (shaped like
// this repository's) points at those tarballs and at the tats tarball. tats itself installs as a
// user's install does: from its tarball, its install script running.
// Usage: node bench/gpu-prebuild-app.mjs <tats-x.y.z.tgz> <app folder>
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [tarballArg, appArg] = process.argv.slice(2);
if (!tarballArg || !appArg) {
  console.error('usage: node bench/gpu-prebuild-app.mjs <tats tarball> <app folder>');
  process.exit(2);
}
const tarball = resolve(tarballArg);
const app = resolve(appArg);
const deps = join(app, 'deps');
mkdirSync(deps, { recursive: true });
const sri = (file) => `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;

const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const packages = {
  '': { name: 'tats-app', dependencies: { tats: `file:${tarball}` } },
  'node_modules/tats': {
    version: pkg.version,
    resolved: `file:${tarball}`,
    integrity: sri(tarball),
    hasInstallScript: true,
    license: pkg.license,
    dependencies: pkg.dependencies,
    optionalDependencies: pkg.optionalDependencies,
    bin: pkg.bin,
    engines: pkg.engines,
  },
};
let packed = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  if (!key || entry.dev || entry.link) continue;
  const src = join(root, key);
  if (!existsSync(join(src, 'package.json'))) {
    if (entry.optional) continue; // an optional dependency for another platform
    throw new Error(`${key} is not installed in ${root}/node_modules: run npm ci there first`);
  }
  const file = join(deps, `${key.replace(/\//g, '+')}.tgz`);
  // npm tarballs hold one folder, package/; nested node_modules are entries of their own.
  execFileSync('tar', ['czf', file, '-C', src, '--exclude=./node_modules', '--transform', 's,^\\.,package,', '.']);
  packages[key] = { ...entry, resolved: `file:${file}`, integrity: sri(file) };
  packed++;
}
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tats-app', private: true, dependencies: { tats: `file:${tarball}` } }, null, 2));
writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'tats-app', lockfileVersion: 3, requires: true, packages }, null, 2));
console.error(`app ${app}: tats from ${tarball}, ${packed} dependencies packed from node_modules`);
