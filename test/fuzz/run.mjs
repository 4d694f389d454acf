#!/usr/bin/env node
// The fuzzer's driver (issue 18): splits `--cases` per seed into batches, runs each batch in a child
// process (test/fuzz/child.mjs) so a crash (a signal) or a hang (no progress for --hang-ms) ends
// only that child, blames the case that was running, and goes on with the rest of the batch.
// Prints a summary JSON on stdout; exit 1 when anything crashed, hung or threw a non-Error.
//
//   npm run fuzz -- --cases 50000 --seed 7            (or --seed 1 --seed 2 ...: cases per seed)
//   node test/fuzz/run.mjs --cases 2000 --seed 1 --batch 500 --jobs 2 --hang-ms 60000
// Replay a reported case: node test/fuzz/child.mjs --seed S --start I --count 1
// (or --start <batch start> --count <I - start + 1> to replay it with its batch's earlier cases).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const childScript = join(here, 'child.mjs');

function parseArgs(argv) {
  const o = { cases: 2000, seeds: [], batch: 500, jobs: Math.max(1, Math.min(availableParallelism(), 8)), hangMs: 60_000, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--cases') o.cases = Number(v());
    else if (a === '--seed' || a === '--seeds') o.seeds.push(...v().split(',').map(Number));
    else if (a === '--batch') o.batch = Number(v());
    else if (a === '--jobs') o.jobs = Number(v());
    else if (a === '--hang-ms') o.hangMs = Number(v());
    else if (a === '--quiet') o.quiet = true;
    else throw new Error(`unknown option ${a} (--cases N --seed S[,S...] --batch N --jobs N --hang-ms MS --quiet)`);
  }
  if (o.seeds.length === 0) o.seeds.push(1);
  for (const [k, x] of [['cases', o.cases], ['batch', o.batch], ['jobs', o.jobs], ['hang-ms', o.hangMs]]) {
    if (!Number.isInteger(x) || x < 1) throw new Error(`--${k} must be a positive integer, received ${x}`);
  }
  for (const s of o.seeds) if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) throw new Error(`--seed must be an integer in [0, 2^32), received ${s}`);
  return o;
}

/** Runs cases [start, end) of one seed in one child; resolves with what happened. */
function runBatch(seed, start, end, hangMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childScript, '--seed', String(seed), '--start', String(start), '--count', String(end - start)], {
      cwd: root,
      env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const res = { seed, start, end, lastStarted: null, lastKind: null, finished: [], failures: [], done: false, byKind: {}, stderr: '', hung: false };
    let buf = '';
    let watchdog;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        res.hung = true;
        child.kill('SIGKILL');
      }, hangMs);
    };
    arm();
    child.stdout.on('data', (d) => {
      arm();
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('B ')) {
          const [, i, kind, target] = line.split(' ');
          res.lastStarted = Number(i);
          res.lastKind = `${kind} ${target}`;
        } else if (line.startsWith('E ')) {
          const sp = line.indexOf(' ', 2);
          res.finished.push({ index: Number(line.slice(2, sp)), codes: JSON.parse(line.slice(sp + 1)) });
        } else if (line.startsWith('F ')) {
          const sp = line.indexOf(' ', 2);
          res.failures.push({ seed, index: Number(line.slice(2, sp)), what: JSON.parse(line.slice(sp + 1)) });
        } else if (line.startsWith('DONE ')) {
          res.done = true;
          const done = JSON.parse(line.slice(5));
          res.byKind = done.byKind;
          res.workersReady = done.workersReady ?? 0;
        }
      }
    });
    child.stderr.on('data', (d) => {
      res.stderr = (res.stderr + d).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      res.code = code;
      res.signal = signal;
      resolve(res);
    });
  });
}

export async function fuzz(options) {
  const o = { ...parseArgs([]), ...options };
  const t0 = Date.now();
  const queue = [];
  for (const seed of o.seeds) for (let s = 0; s < o.cases; s += o.batch) queue.push([seed, s, Math.min(o.cases, s + o.batch)]);
  const summary = {
    cases: 0,
    calls: 0,
    seeds: o.seeds,
    casesPerSeed: o.cases,
    batch: o.batch,
    jobs: o.jobs,
    codes: {},
    kinds: {},
    workersReady: 0,
    crashes: [],
    hangs: [],
    abnormalExits: [],
    failures: [],
    wallSeconds: 0,
  };
  const replay = (seed, index, start) => ({
    alone: `node test/fuzz/child.mjs --seed ${seed} --start ${index} --count 1`,
    withBatch: `node test/fuzz/child.mjs --seed ${seed} --start ${start} --count ${index - start + 1}`,
  });
  async function worker() {
    for (;;) {
      const job = queue.shift();
      if (!job) return;
      const [seed, start, end] = job;
      const r = await runBatch(seed, start, end, o.hangMs);
      for (const f of r.finished) {
        summary.cases++;
        for (const c of f.codes) {
          summary.calls++;
          summary.codes[c] = (summary.codes[c] ?? 0) + 1;
        }
      }
      for (const [k, n] of Object.entries(r.byKind)) summary.kinds[k] = (summary.kinds[k] ?? 0) + n;
      summary.workersReady += r.workersReady ?? 0;
      summary.failures.push(...r.failures);
      if (r.done && r.code === 0) continue;
      // The child died: blame the case that had started and not finished.
      const lastDone = r.finished.length ? r.finished[r.finished.length - 1].index : start - 1;
      const index = r.lastStarted !== null && r.lastStarted > lastDone ? r.lastStarted : lastDone + 1;
      const entry = { seed, index, kind: r.lastKind, signal: r.signal, exitCode: r.code, replay: replay(seed, index, start), stderr: r.stderr.slice(-1500) };
      if (r.hung) summary.hangs.push({ ...entry, noOutputForMs: o.hangMs });
      else if (r.signal) summary.crashes.push(entry);
      else summary.abnormalExits.push(entry);
      if (!o.quiet) process.stderr.write(`fuzz: ${r.hung ? 'HANG' : r.signal ? 'CRASH' : 'ABNORMAL EXIT'} seed ${seed} case ${index} (${r.lastKind}): ${entry.replay.alone}\n`);
      // Go on with the rest of the batch after the blamed case.
      if (index + 1 < end) queue.unshift([seed, index + 1, end]);
    }
  }
  await Promise.all(Array.from({ length: o.jobs }, worker));
  summary.codes = Object.fromEntries(Object.entries(summary.codes).sort((a, b) => b[1] - a[1]));
  summary.wallSeconds = Math.round((Date.now() - t0) / 100) / 10;
  return summary;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`fuzz: ${e.message}\n`);
    process.exit(2);
  }
  const summary = await fuzz(o);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  const bad = summary.crashes.length + summary.hangs.length + summary.abnormalExits.length + summary.failures.length;
  process.exitCode = bad ? 1 : 0;
}
