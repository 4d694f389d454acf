#!/usr/bin/env bash
# One call on the GPU machine that gathers the evidence kept under bench/records/: the native build
# against the machine's PyTorch, the GPU tests (kernel parity, MAE and TATS steps), `tats bench` for the issue's settings, pretraining from shards packed on the CPU
# machine (carried as .gpu-shards, no ffmpeg there) and shard read throughput.
# Usage there: source .gpu/remote-env.sh && bash bench/gpu-final.sh   (results under $OUT)
set -uo pipefail
out=${OUT:-/tmp/tats-gpu-out}; mkdir -p "$out"
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
npm run build:native > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
npx tsc -p tsconfig.json || exit 1
node dist/cli/tats.js info --json > "$out/info.json"
npx vitest run --project gpu test/gpu/parity.test.ts test/gpu/mae.test.ts test/gpu/tats.test.ts 2>&1 | strip > "$out/test-gpu.log"
grep -E "Test Files|Tests  |FAIL|×" "$out/test-gpu.log"
: > "$out/bench.jsonl"
for cfg in "tube 0.9 32" "tube 0.9 16" "adamae 0.95 32" "tats 0.95 32" "tats 0.95 16"; do
  set -- $cfg
  node dist/cli/tats.js bench --json --model base --frames 16 --size 224 --strategy "$1" --mask-ratio "$2" \
    --batch-size "$3" --steps 10 --warmup 3 >> "$out/bench.jsonl" 2>> "$out/bench.err" || echo "bench $cfg failed" >&2
  tail -1 "$out/bench.jsonl" | cut -c1-400
done
if [ -d .gpu-shards ]; then
  node dist/cli/tats.js pretrain --json --dataset shards:.gpu-shards --frames 16 --size 112 --model small \
    --strategy tats --steps 30 --batch-size 8 --log-every 5 --checkpoint-every 15 --out /tmp/run-shards
    > "$out/pretrain-shards.json" 2> "$out/pretrain-shards.err"
  echo "pretrain on shards: rc=$? $(cut -c1-300 "$out/pretrain-shards.json")"
  cp /tmp/run-shards/metrics.jsonl "$out/pretrain-shards-metrics.jsonl" 2>/dev/null
fi
node bench/data-throughput.mjs --no-decode > "$out/data-throughput.txt" 2>&1; tail -15 "$out/data-throughput.txt"
