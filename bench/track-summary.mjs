#!/usr/bin/env node
// Compares the loss curves of two runs of the same job (metrics.jsonl of each): the default (fastest)
// settings against the eager path (issue 19: "losses that track the eager path's within bf16 noise").
// Usage: node bench/track-summary.mjs FAST/metrics.jsonl EAGER/metrics.jsonl [window steps, 200]
// Prints markdown: per window the mean loss of each run, their relative difference and the noise bar,
// 2 x the standard error of the difference of the two window means (the per-step losses of one run
// scatter around its curve by the batch's content; that scatter is what "noise" means here).
import { readFileSync } from 'node:fs';

export function readLosses(path) {
  const out = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let o;
    try {
      o = JSON.parse(line);
    } catch {
      continue; // a torn last line
    }
    if (typeof o.step === 'number' && (typeof o.loss === 'number' || o.loss === null)) out.set(o.step, o.loss);
  }
  return out;
}

function stats(xs) {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, se: Math.sqrt(v / n) };
}

/** Windows of `window` steps over the steps both runs logged: {from, to, fast, eager, rel, bar, within}. */
export function compare(fast, eager, window) {
  const steps = [...fast.keys()].filter((s) => eager.has(s)).sort((a, b) => a - b);
  const nonFinite = steps.filter((s) => fast.get(s) === null || eager.get(s) === null);
  const rows = [];
  for (let from = 0; steps.length && from <= steps[steps.length - 1]; from += window) {
    const ss = steps.filter((s) => s > from && s <= from + window && fast.get(s) !== null && eager.get(s) !== null);
    if (ss.length < 2) continue;
    const a = stats(ss.map((s) => fast.get(s)));
    const b = stats(ss.map((s) => eager.get(s)));
    const bar = 2 * Math.sqrt(a.se ** 2 + b.se ** 2);
    rows.push({ from: from + 1, to: from + window, n: ss.length, fast: a.mean, eager: b.mean, rel: (a.mean - b.mean) / b.mean, bar, within: Math.abs(a.mean - b.mean) <= bar });
  }
  return { steps: steps.length, nonFinite: nonFinite.length, rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [fastPath, eagerPath, w] = process.argv.slice(2);
  if (!fastPath || !eagerPath) {
    console.error('usage: node bench/track-summary.mjs FAST/metrics.jsonl EAGER/metrics.jsonl [window]');
    process.exit(2);
  }
  const window = Number(w ?? 200);
  const r = compare(readLosses(fastPath), readLosses(eagerPath), window);
  const within = r.rows.filter((x) => x.within).length;
  const maxRel = Math.max(0, ...r.rows.map((x) => Math.abs(x.rel)));
  console.log(`steps logged by both: ${r.steps}; non-finite losses: ${r.nonFinite}`);
  console.log(`windows of ${window} steps: ${within} of ${r.rows.length} within 2 standard errors; largest |relative difference| ${(100 * maxRel).toFixed(2)}%\n`);
  console.log('| steps | lines | fast loss | eager loss | fast/eager - 1 | 2 SE bar | within |');
  console.log('|---|---|---|---|---|---|---|');
  for (const x of r.rows) {
    console.log(`| ${x.from}-${x.to} | ${x.n} | ${x.fast.toFixed(5)} | ${x.eager.toFixed(5)} | ${(100 * x.rel).toFixed(2)}% | ${x.bar.toFixed(5)} | ${x.within ? 'yes' : 'no'} |`);
  }
}
