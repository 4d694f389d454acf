#!/usr/bin/env bash
# The GPU version of docs/finetune.md's longer run, in one call on the GPU machine:
#   1. pretrain the MAE with the TATS sampler on the built-in synthetic motion clips (tats pretrain);
#   2. fine-tune the pretrained encoder and the same classifier from scratch, same steps, seed and
#      labelled clips (tats finetune, twice), and score both on the synthetic test split;
#   3. tats visualize on a few clips (input, sampler policy, mask, reconstruction) to see whether the
#      TATS masks follow the moving objects;
#   4. summary.json / summary.md with both accuracies and the margin.
# Everything is written under $OUT. No ffmpeg, no network needed.
#
# Usage there:   source .gpu/remote-env.sh && OUT=/tmp/out bash bench/gpu-eval.sh
# CPU check:     TATS_GPU_EVAL_SMOKE=1 OUT=/tmp/gpu-eval-smoke bash bench/gpu-eval.sh
#                (the same commands at toy sizes on the CPU, to test this script's logic)
# Every size below can be overridden from the environment (PRE_STEPS=..., FT_STEPS=..., ...).
# Budget on one H100 (the default sizes): pretraining ~3 min, each fine-tune well under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/tats-gpu-eval}
mkdir -p "$out"
limit=${CALL_LIMIT_S:-340}
SECONDS=0

if [ "${TATS_GPU_EVAL_SMOKE:-0}" = 1 ]; then
  : "${DEVICE:=cpu}" "${MODEL:=micro}" "${FRAMES:=4}" "${SIZE:=32}" "${PATCH:=16}" "${PRE_STEPS:=6}" "${PRE_BATCH:=4}"
  : "${FT_STEPS:=4}" "${FT_BATCH:=4}" "${TRAIN_SIZE:=16}" "${TEST_SIZE:=8}" "${SAMPLER_DIM:=32}" "${SAMPLER_HEADS:=2}" "${VIZ_CLIPS:=2}"
fi
DEVICE=${DEVICE:-cuda}
MODEL=${MODEL:-tiny}              # tiny: 192 wide, 12 blocks
FRAMES=${FRAMES:-16}
SIZE=${SIZE:-64}
PATCH=${PATCH:-8}                 # 16 frames of 64 px at patch 8: 8 x 8 x 8 = 512 tokens
RATIO=${RATIO:-0.9}
STRATEGY=${STRATEGY:-tats}
PRE_STEPS=${PRE_STEPS:-3000}
PRE_BATCH=${PRE_BATCH:-32}
PRE_LR=${PRE_LR:-1.5e-3}
PRE_CLIPS=${PRE_CLIPS:-50000}     # unlabelled pretraining clips (the synthetic train split's first N)
SAMPLER_DIM=${SAMPLER_DIM:-192}
SAMPLER_HEADS=${SAMPLER_HEADS:-4}
CLASSES=${CLASSES:-4}             # right, left, down, up
FT_STEPS=${FT_STEPS:-1000}
FT_BATCH=${FT_BATCH:-32}
FT_LR=${FT_LR:-1e-3}
TRAIN_SIZE=${TRAIN_SIZE:-2048}    # labelled fine-tuning clips (a low-label regime next to PRE_CLIPS)
TEST_SIZE=${TEST_SIZE:-1000}
VIZ_CLIPS=${VIZ_CLIPS:-4}
SEED=${SEED:-0}

tats() { node dist/cli/tats.js "$@"; }
left() { echo $((limit - SECONDS)); }
strip() { sed 's/\x1b\[[0-9;]*m//g'; }

# Build: the TypeScript always (seconds); the addon only when it is missing.
if [ ! -f build/Release/tats.node ]; then
  echo "building the addon (none found)" >&2
  npm run build:native > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
fi
npx tsc -p tsconfig.json
tats info --json > "$out/info.json"
echo "build/info done at ${SECONDS}s: $(cut -c1-200 "$out/info.json")"

cat > "$out/params.json" <<EOF
{"device":"$DEVICE","model":"$MODEL","frames":$FRAMES,"size":$SIZE,"patch":$PATCH,"ratio":$RATIO,"strategy":"$STRATEGY",
 "preSteps":$PRE_STEPS,"preBatch":$PRE_BATCH,"preLr":$PRE_LR,"preClips":$PRE_CLIPS,"samplerDim":$SAMPLER_DIM,"samplerHeads":$SAMPLER_HEADS,
 "classes":$CLASSES,"ftSteps":$FT_STEPS,"ftBatch":$FT_BATCH,"ftLr":$FT_LR,"trainSize":$TRAIN_SIZE,"testSize":$TEST_SIZE,"seed":$SEED}
EOF

# 1. Pretraining (time-boxed: a run cut short keeps its checkpoints; the newest one is used).
pre="$out/pretrain-$STRATEGY"
t0=$SECONDS
timeout $(( $(left) - 170 )) node dist/cli/tats.js pretrain --json --dataset synthetic --device "$DEVICE" --model "$MODEL" \
  --frames "$FRAMES" --size "$SIZE" --set model.patch="$PATCH" --strategy "$STRATEGY" --mask-ratio "$RATIO" \
  --steps "$PRE_STEPS" --batch-size "$PRE_BATCH" --lr "$PRE_LR" --seed "$SEED" \
  --set data.syntheticClips="$PRE_CLIPS" --set sampler.dim="$SAMPLER_DIM" --set sampler.heads="$SAMPLER_HEADS" \
  --checkpoint-every $(( PRE_STEPS / 6 > 0 ? PRE_STEPS / 6 : 1 )) --log-every 25 --no-picture --out "$pre" \
  > "$out/pretrain.json" 2> >(strip > "$out/pretrain.log") || echo "pretraining stopped (rc $?) at ${SECONDS}s; using its newest checkpoint" >&2
echo "pretrain $STRATEGY: $(( SECONDS - t0 ))s; $(tail -1 "$pre/metrics.jsonl" | cut -c1-240)"

# 2. Pictures: input, policy, mask and reconstruction of a few synthetic clips.
mkdir -p "$out/viz"
tats visualize --json --checkpoint "$pre" --dataset synthetic --clips "$VIZ_CLIPS" --device "$DEVICE" --seed 7 \
  --title "$STRATEGY $MODEL ${FRAMES}x${SIZE} p$PATCH, $PRE_STEPS steps" --out "$out/viz/$STRATEGY.png" > "$out/viz/$STRATEGY.json" \
  || echo "visualize failed" >&2

# 3. Fine-tuning: pretrained encoder vs the same classifier from scratch (same everything else).
ft() {  # ft NAME CHECKPOINT SHARE: time-boxed to 1/SHARE of what is left (less 30 s for the rest)
  local t1=$SECONDS
  timeout $(( ($(left) - 30) / $3 )) node dist/cli/tats.js finetune --json --checkpoint "$2" --dataset synthetic --device "$DEVICE" --model "$MODEL" --frames "$FRAMES" \
    --size "$SIZE" --patch "$PATCH" --classes "$CLASSES" --steps "$FT_STEPS" --batch-size "$FT_BATCH" --lr "$FT_LR" \
    --mixup 0 --cutmix 0 --train-size "$TRAIN_SIZE" --test-size "$TEST_SIZE" --seed "$SEED" --out "$out/ft-$1" \
    > "$out/ft-$1.json" 2> >(strip > "$out/ft-$1.log") || { echo "finetune $1 failed or ran out of time (rc $?)" >&2; return 0; }
  echo "finetune $1: $(( SECONDS - t1 ))s; $(node -e "const r=require('$out/ft-$1.json'); console.log('top-1', (100*r.top1).toFixed(1) + '%', 'train acc', (100*r.train_acc).toFixed(1) + '%')")"
}
ft pretrained "$pre" 2
ft scratch scratch 1

# 4. Summary.
node - "$out" <<'EOF'
const fs = require('node:fs');
const out = process.argv[2];
const read = (f) => { try { return JSON.parse(fs.readFileSync(`${out}/${f}`, 'utf8')); } catch { return null; } };
const p = read('params.json');
const none = { top1: NaN, top5: NaN, train_acc: NaN, final_loss: NaN, clips_per_s: NaN, videos: 0 };
const pre = read('ft-pretrained.json') ?? none, scr = read('ft-scratch.json') ?? none;
const metrics = fs.readFileSync(`${out}/pretrain-${p.strategy}/metrics.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const tail = metrics.slice(-Math.max(1, Math.ceil(metrics.length / 10)));
const mean = (k) => tail.reduce((a, m) => a + (m[k] ?? NaN), 0) / tail.length;
const s = {
  params: p,
  pretrain: { steps: metrics.at(-1)?.step, firstLoss: metrics[0]?.loss, lastLoss: mean('loss'), maskedMovingShare: mean('masked_moving_share'), movingShare: mean('moving_share'), clipsPerS: mean('clips_per_s') },
  pretrained: { top1: pre.top1, top5: pre.top5, trainAcc: pre.train_acc, finalLoss: pre.final_loss, clipsPerS: pre.clips_per_s },
  scratch: { top1: scr.top1, top5: scr.top5, trainAcc: scr.train_acc, finalLoss: scr.final_loss, clipsPerS: scr.clips_per_s },
  margin: pre.top1 - scr.top1,
  // One standard error of the difference of two accuracies on testSize clips each.
  marginSE: Math.sqrt((pre.top1 * (1 - pre.top1) + scr.top1 * (1 - scr.top1)) / Math.max(1, pre.videos)),
};
fs.writeFileSync(`${out}/summary.json`, JSON.stringify(s, null, 2) + '\n');
const pct = (x) => `${(100 * x).toFixed(1)}%`;
fs.writeFileSync(`${out}/summary.md`, [
  `# gpu-eval: ${p.strategy} pretraining, then fine-tuning vs scratch`, '',
  `${p.model} ${p.frames}x${p.size} patch ${p.patch}, ${p.classes} classes; pretraining ${s.pretrain.steps} steps x ${p.preBatch} (${p.preClips} unlabelled clips), loss ${s.pretrain.firstLoss?.toFixed(3)} -> ${s.pretrain.lastLoss.toFixed(3)}, masked moving share ${pct(s.pretrain.maskedMovingShare)} (moving share ${pct(s.pretrain.movingShare)}); fine-tuning ${p.ftSteps} steps x ${p.ftBatch} on ${p.trainSize} labelled clips, scored on ${pre.videos} test clips.`, '',
  '| encoder | top-1 | top-5 | train acc | final loss |', '|---|---:|---:|---:|---:|',
  `| pretrained | ${pct(pre.top1)} | ${pct(pre.top5)} | ${pct(pre.train_acc)} | ${pre.final_loss.toFixed(3)} |`,
  `| scratch | ${pct(scr.top1)} | ${pct(scr.top5)} | ${pct(scr.train_acc)} | ${scr.final_loss.toFixed(3)} |`, '',
  `margin ${(100 * s.margin).toFixed(1)} points (one standard error ${(100 * s.marginSE).toFixed(1)}); pictures: viz/${p.strategy}.png and .gif`, '',
].join('\n'));
console.log(fs.readFileSync(`${out}/summary.md`, 'utf8'));
EOF
echo "gpu-eval done in ${SECONDS}s; files in $out"
