#!/usr/bin/env node
// npm install hook. Never fails the install: if no binary loads, it tries a source build
// (cmake + libtorch present), and otherwise explains what is missing.
// TATS_SKIP_INSTALL=1 skips it (scripts/setup.sh builds explicitly).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.TATS_SKIP_INSTALL) process.exit(0);

function loads(path) {
  if (!existsSync(path)) return false;
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)}).info()`], { stdio: 'ignore' });
  return probe.status === 0;
}

if (loads(join(root, 'build', 'Release', 'tats.node'))) process.exit(0);
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.js')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.warn('tats: no native binary could be built; `tats` commands will explain what is missing.');
  console.warn('tats: on Debian/Ubuntu run `sudo bash scripts/setup.sh` from the package folder.');
}
process.exit(0);
