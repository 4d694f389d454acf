#!/usr/bin/env bash
# Data-parallel scaling: ViT-B 16x224, TATS at mask ratio 0.95, the same batch per GPU, trained
# with `tats pretrain` on synthetic clips on 1 GPU (a plain process) and on N GPUs
# (`--nproc-per-node N`, NCCL). Writes one JSON line per GPU count to stdout:
#   {bench, gpus, model, frames, size, strategy, mask_ratio, batch_per_gpu, global_batch, steps,
#    clips_per_s, clips_per_s_per_gpu, scaling_efficiency, step_ms, device, commit}
# clips_per_s is the median over the logged windows after the first WARMUP steps (global, all
# ranks); scaling_efficiency = (clips/s per GPU on N) / (clips/s on 1 GPU).
# Usage (GPU machine, from the package folder, after npm run build):
#   GPUS="1 2 4 8" BATCH=32 STEPS=40 bash bench/ddp-scaling.sh > ddp-scaling.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
device=${DEVICE:-cuda}  # DEVICE=cpu: a dry run of this script on Gloo (ranks share the cores)
if [ "$device" = cuda ]; then
  visible=$(node -e "import('./dist/lib/index.js').then(m => console.log(m.info().devices.length))")
else
  visible=64
fi
gpus=${GPUS:-"1 $visible"}
batch=${BATCH:-32}
steps=${STEPS:-40}
warmup=${WARMUP:-10}
log_every=${LOG_EVERY:-5}
model=${MODEL:-base}
frames=${FRAMES:-16}
size=${SIZE:-224}
strategy=${STRATEGY:-tats}
ratio=${RATIO:-0.95}
commit=${TATS_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=""
for n in $gpus; do
  if [ "$n" -gt "$visible" ]; then
    echo "ddp-scaling: skipping $n GPUs ($visible visible)" >&2
    continue
  fi
  out="$work/run-$n"
  args=(pretrain --json --device "$device" --model "$model" --frames "$frames" --size "$size" --strategy "$strategy"
    --mask-ratio "$ratio" --batch-size "$batch" --steps "$steps" --log-every "$log_every"
    --checkpoint-every 1000000000 --no-picture --out "$out")
  [ "$n" -gt 1 ] && args+=(--nproc-per-node "$n")
  if ! node dist/cli/tats.js "${args[@]}" > "$work/summary-$n.json" 2> "$work/err-$n.log"; then
    echo "ddp-scaling: $n GPU(s) failed:" >&2
    tail -20 "$work/err-$n.log" >&2
    continue
  fi
  line=$(N="$n" METRICS="$out/metrics.jsonl" BASE="$base" WARMUP="$warmup" BATCH="$batch" STEPS="$steps" COMMIT="$commit" \
    MODEL="$model" FRAMES="$frames" SIZE="$size" STRATEGY="$strategy" RATIO="$ratio" node -e '
      const fs = require("node:fs");
      const e = process.env;
      const n = Number(e.N);
      const rows = fs.readFileSync(e.METRICS, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
        .filter((r) => r.step > Number(e.WARMUP));
      if (!rows.length) throw new Error("no logged steps after the warmup; raise STEPS");
      const v = rows.map((r) => r.clips_per_s).sort((a, b) => a - b);
      const median = v[Math.floor(v.length / 2)];
      const perGpu = median / n;
      const base = e.BASE ? Number(e.BASE) : null;
      const summary = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      console.log(JSON.stringify({
        bench: "ddp-scaling", gpus: n, model: e.MODEL, frames: Number(e.FRAMES), size: Number(e.SIZE),
        strategy: e.STRATEGY, mask_ratio: Number(e.RATIO), batch_per_gpu: Number(e.BATCH), global_batch: Number(e.BATCH) * n,
        steps: Number(e.STEPS), clips_per_s: median, clips_per_s_per_gpu: perGpu,
        scaling_efficiency: base ? perGpu / base : (n === 1 ? 1 : null),
        step_ms: (1000 * Number(e.BATCH) * n) / median, device: summary.config.device, commit: e.COMMIT,
      }));
    ' "$work/summary-$n.json")
  echo "$line"
  if [ "$n" -eq 1 ]; then
    base=$(node -e 'console.log(JSON.parse(process.argv[1]).clips_per_s_per_gpu)' "$line")
  fi
done
