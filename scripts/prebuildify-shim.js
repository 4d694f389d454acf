#!/usr/bin/env node
// prebuildify calls "node-gyp rebuild ..."; released prebuildify has no cmake-js backend, so this
// shim stands in for node-gyp and runs our cmake-js build (build/Release/tats.node is where
// prebuildify looks for the binary).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.js'), '--rebuild'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
