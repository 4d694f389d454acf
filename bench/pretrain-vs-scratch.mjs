// Pretrain on synthetic clips, then fine-tune (or probe) the pretrained encoder and the same
// classifier from scratch (same steps, seed and labelled clips), through the public API
// (pretrainRun + finetune: what `tats compare` and `tats finetune` run). One JSON line per seed.
// Used for the numbers in docs/finetune.md. Run after `npm run build:ts`:
//   node bench/pretrain-vs-scratch.mjs '{"tag":"m64f4r","frames":4,"size":64,"patch":16,"preSteps":1000,"ftSteps":1000,"ftLr":2e-3,"seeds":[1]}'
// Fields (defaults): model (micro), frames (8), size (32), patch (8), strategy (random), ratio (0.75),
// preSteps, preBatch (16), preLr (1.5e-3), preSeed (3), preOut (/tmp/tats-pvs/pre-TAG; reused when
// it holds a checkpoint), classes (4), ftSteps, ftBatch (16), ftLr (1e-3), trainSize (all), probe
// (false), test (256 test clips), seeds ([1]).
import { existsSync } from 'node:fs';

import { finetune, pretrainRun } from '../dist/lib/index.js';

const E = JSON.parse(process.argv[2] ?? '{}');
const geo = { model: E.model ?? 'micro', frames: E.frames ?? 8, size: E.size ?? 32, patch: E.patch ?? 8 };
const t0 = Date.now();
const pre = E.preOut ?? `/tmp/tats-pvs/pre-${E.tag ?? 'run'}`;
if (!existsSync(`${pre}/model.safetensors`)) {
  const r = await pretrainRun({ ...geo, strategy: E.strategy ?? 'random', ratio: E.ratio ?? 0.75, batchSize: E.preBatch ?? 16, steps: E.preSteps, lr: E.preLr ?? 1.5e-3, device: 'cpu', seed: E.preSeed ?? 3, out: pre });
  const l = r.losses;
  const q = Math.max(1, Math.floor(l.length / 10));
  const avg = (a) => (a.reduce((x, y) => x + y, 0) / a.length).toFixed(3);
  console.log(JSON.stringify({ tag: E.tag, pretrain: { first: avg(l.slice(0, q)), last: avg(l.slice(-q)), clipsPerS: r.clipsPerS.toFixed(1), secs: (Date.now() - t0) / 1000 } }));
}
for (const seed of E.seeds ?? [1]) {
  const res = {};
  for (const init of ['pre', 'scratch']) {
    const t1 = Date.now();
    const r = await finetune({
      ...geo, dataset: 'synthetic', device: 'cpu', mixup: 0, cutmix: 0, classes: E.classes ?? 4, steps: E.ftSteps, batchSize: E.ftBatch ?? 16,
      lr: E.ftLr ?? 1e-3, testSize: E.test ?? 256, seed,
      ...(E.trainSize ? { trainSize: E.trainSize } : {}), ...(E.probe ? { linearProbe: true } : {}), ...(init === 'pre' ? { checkpoint: pre } : {}),
    });
    res[init] = { top1: r.eval.top1, trainAcc: +r.trainAcc.toFixed(3), loss: +r.finalLoss.toFixed(3), secs: (Date.now() - t1) / 1000 };
  }
  console.log(JSON.stringify({ tag: E.tag, seed, ...res, margin: +(res.pre.top1 - res.scratch.top1).toFixed(3) }));
}
