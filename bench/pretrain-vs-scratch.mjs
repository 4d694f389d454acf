// Pretrain on synthetic clips, then fine-tune (or probe) the pretrained encoder and the same
// classifier from scratch (same steps, seed and labelled clips), through the public API
// (pretrainRun, which trains with the trainer of `tats pretrain`, + finetune: what `tats compare`
// and `tats finetune` run). One JSON line per
// fine-tune. Used for the numbers in docs/finetune.md. Run after `npm run build:ts`:
//   node bench/pretrain-vs-scratch.mjs '{"tag":"m64f4r","frames":4,"size":64,"patch":16,"preSteps":1000,"ftSteps":1000,"ftLr":2e-3,"seeds":[1]}'
// Fields (defaults): device (cpu), model (micro), frames (8), size (32), patch (8), strategy (random;
// "none" = no pretraining, scratch rows only), ratio (0.75), preSteps, preBatch (16), preLr (1.5e-3),
// preSeed (3), samplerDim, samplerHeads, preOut (/tmp/tats-pvs/pre-TAG: the pretraining run
// directory with config.json and metrics.jsonl; a finished run there is reused, a stopped one
// resumed, one with other settings refused), scratch (true: also fine-tune from scratch), test (256 test clips), and the fine-tune
// settings classes (4), ftSteps, ftBatch (16), ftLr (1e-3), layerDecay, trainSize (all), probe
// (false), seeds ([1]); `fts` (a list of objects with those fine-tune fields) runs several settings
// on one pretraining. `style` (the default look): the synthetic clips' look, an object of
// data.syntheticStyle fields (spriteScale, spriteTexture, background, polarity), for the
// pretraining (recorded in its config.json) and every fine-tune.
import { finetune, pretrainRun } from '../dist/lib/index.js';

const E = JSON.parse(process.argv[2] ?? '{}');
const device = E.device ?? 'cpu';
const geo = { model: E.model ?? 'micro', frames: E.frames ?? 8, size: E.size ?? 32, patch: E.patch ?? 8 };
const strategy = E.strategy ?? 'random';
const style = E.style ? { syntheticStyle: E.style } : {};
const t0 = Date.now();
const pre = E.preOut ?? `/tmp/tats-pvs/pre-${E.tag ?? 'run'}`;
let preInfo;
if (strategy !== 'none') {
  const r = await pretrainRun({
    ...geo, strategy, ratio: E.ratio ?? 0.75, batchSize: E.preBatch ?? 16, steps: E.preSteps, lr: E.preLr ?? 1.5e-3, device, seed: E.preSeed ?? 3, out: pre, resume: true, ...style,
    ...(E.samplerDim ? { samplerDim: E.samplerDim } : {}), ...(E.samplerHeads ? { samplerHeads: E.samplerHeads } : {}),
  });
  const l = r.losses;
  if (l.length === 0) console.error(`${pre}: reusing the finished pretraining run`);
  else {
    const q = Math.max(1, Math.floor(l.length / 10));
    const avg = (a) => +(a.reduce((x, y) => x + y, 0) / a.length).toFixed(3);
    preInfo = { first: avg(l.slice(0, q)), last: avg(l.slice(-q)), clipsPerS: +r.clipsPerS.toFixed(1), secs: (Date.now() - t0) / 1000, ...(r.maskedMovingShare !== undefined ? { maskedMovingShare: +r.maskedMovingShare.toFixed(3) } : {}) };
    console.log(JSON.stringify({ tag: E.tag, strategy, pretrain: preInfo, run: pre }));
  }
}
const base = { classes: E.classes, ftSteps: E.ftSteps, ftBatch: E.ftBatch, ftLr: E.ftLr, layerDecay: E.layerDecay, trainSize: E.trainSize, probe: E.probe, seeds: E.seeds };
for (const F0 of E.fts ?? [{}]) {
  const F = { ...base, ...Object.fromEntries(Object.entries(F0).filter(([, v]) => v !== undefined)) };
  for (const seed of F.seeds ?? [1]) {
    const res = {};
    const inits = [...(strategy !== 'none' ? ['pre'] : []), ...((E.scratch ?? true) || strategy === 'none' ? ['scratch'] : [])];
    for (const init of inits) {
      const t1 = Date.now();
      const r = await finetune({
        ...geo, dataset: 'synthetic', device, mixup: 0, cutmix: 0, classes: F.classes ?? 4, steps: F.ftSteps, batchSize: F.ftBatch ?? 16,
        lr: F.ftLr ?? 1e-3, testSize: E.test ?? 256, seed, ...style,
        ...(F.layerDecay ? { layerDecay: F.layerDecay } : {}),
        ...(F.trainSize ? { trainSize: F.trainSize } : {}), ...(F.probe ? { linearProbe: true } : {}), ...(init === 'pre' ? { checkpoint: pre } : {}),
      });
      res[init] = { top1: r.eval.top1, trainAcc: +r.trainAcc.toFixed(3), loss: +r.finalLoss.toFixed(3), secs: (Date.now() - t1) / 1000 };
    }
    const ft = { classes: F.classes ?? 4, steps: F.ftSteps, lr: F.ftLr ?? 1e-3, trainSize: F.trainSize ?? 'all', probe: !!F.probe, ...(F.layerDecay ? { layerDecay: F.layerDecay } : {}) };
    const margin = res.pre && res.scratch ? { margin: +(res.pre.top1 - res.scratch.top1).toFixed(3) } : {};
    console.log(JSON.stringify({ tag: E.tag, strategy, ...geo, seed, ft, ...res, ...margin }));
  }
}
