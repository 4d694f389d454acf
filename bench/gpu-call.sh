#!/usr/bin/env bash
# One batched call on the GPU machine, in stages that are skipped once the call nears its limit:
#   verify   build, info, GPU tests (parity, MAE, TATS), `tats bench` rows, pretrain from shards, shard reads
#   speed    test/gpu/mae-speed.test.ts (speed switches side by side in one process)
#   profile  a Kineto trace of one eager step per strategy (TATS_TRACE), summed by bench/trace_summary.py
#   extra    any command in $TATS_EXTRA (run with bash -c)
# Usage there: source .gpu/remote-env.sh && STAGES="verify speed profile" bash bench/gpu-call.sh
set -uo pipefail
out=${OUT:-/tmp/tats-gpu-out}; mkdir -p "$out"
stages=" ${STAGES:-verify speed profile} "
limit=${CALL_LIMIT_S:-560}
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
left() { echo $((limit - SECONDS)); }
want() { [[ "$stages" == *" $1 "* ]] && [ "$(left)" -gt "${2:-60}" ]; }
t0=$SECONDS; npm run build:native > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
npx tsc -p tsconfig.json || exit 1
echo "build $((SECONDS - t0)) s"; grep -a "tats: NCCL" "$out/build.log"
node dist/cli/tats.js info --json > "$out/info.json"
if want verify 200; then
  npx vitest run --project gpu ${GPU_TESTS:-test/gpu/parity.test.ts test/gpu/mae.test.ts test/gpu/tats.test.ts test/gpu/ddp.test.ts} 2>&1 | strip > "$out/test-gpu.log"
  grep -E "Test Files|Tests  |FAIL|×" "$out/test-gpu.log"; echo "tests done at $SECONDS s"
  : > "$out/bench.jsonl"
  while read -r strat ratio bs flags; do
    [ -z "$strat" ] && continue
    want verify 60 || break
    env TATS_STEP_TIMING=1 node dist/cli/tats.js bench --json --model base --frames 16 --size 224 --strategy "$strat" --mask-ratio "$ratio" \
      --batch-size "$bs" --steps 10 --warmup 3 ${flags:-} >> "$out/bench.jsonl" 2>> "$out/bench.err" || echo "bench $strat $ratio $bs failed" >&2
    echo "${flags:-} $(tail -1 "$out/bench.jsonl" | cut -c1-300)"; grep -a "issued in" "$out/bench.err" | tail -1
  done <<< "${BENCH_ROWS:-tube 0.9 32
tube 0.9 32 --set runtime.graph=false --set runtime.layerNormBf16=false
tube 0.9 16
adamae 0.95 32
adamae 0.95 16
tats 0.95 32
tats 0.95 32 --set runtime.graph=false --set runtime.layerNormBf16=false
tats 0.9 32
tats 0.95 16}"
  if [ -d .gpu-shards ] && want verify 60; then
    node dist/cli/tats.js pretrain --json --dataset shards:.gpu-shards --frames 16 --size 112 --model small \
      --strategy tats --steps 30 --batch-size 8 --log-every 5 --checkpoint-every 15 --out /tmp/run-shards \
      > "$out/pretrain-shards.json" 2> "$out/pretrain-shards.err"
    echo "pretrain on shards: rc=$? $(cut -c1-300 "$out/pretrain-shards.json")"
    cp /tmp/run-shards/metrics.jsonl "$out/pretrain-shards-metrics.jsonl" 2>/dev/null
  fi
fi
if want speed 150; then
  timeout $(( $(left) - 60 )) npx vitest run --project gpu test/gpu/mae-speed.test.ts 2>&1 | strip > "$out/mae-speed.log"
  grep -E "^\|" "$out/mae-speed.log"; echo "speed done at $SECONDS s"
fi
if want profile 90; then
  for strat in ${PROFILE_STRATEGIES:-tats tube}; do
    want profile 60 || break
    ratio=0.9; [ "$strat" = tube ] || ratio=0.95
    TATS_STEP_TIMING=1 TATS_PROFILE=1 TATS_PROFILE_STRATEGY=$strat TATS_PROFILE_RATIO=$ratio TATS_TRACE="$out/trace-$strat.json" \
      timeout $(( $(left) - 20 )) npx vitest run --project gpu test/gpu/mae-profile.test.ts > "$out/trace-$strat.log" 2>&1
    echo "trace $strat rc $? at $SECONDS s"; grep -a "issued in" "$out/trace-$strat.log"
    python3 bench/trace_summary.py "$out/trace-$strat.json" 30 > "$out/trace-$strat.txt" 2>&1; head -${PROFILE_LINES:-45} "$out/trace-$strat.txt"
    gzip -f "$out/trace-$strat.json"
  done
fi
if [ -n "${TATS_EXTRA:-}" ] && [ "$(left)" -gt 30 ]; then timeout $(( $(left) - 10 )) bash -c "$TATS_EXTRA"; fi
if want verify 20; then node bench/data-throughput.mjs --no-decode > "$out/data-throughput.txt" 2>&1; tail -4 "$out/data-throughput.txt"; fi
echo "done at $SECONDS s"
cp "$out/bench.jsonl" /tmp/bench.keep 2>/dev/null; cp "$out/mae-speed.log" /tmp/speed.keep 2>/dev/null
# The device returns a handful of files: everything but the two tables goes into one archive.
(cd "$out" && tar czf /tmp/results.tgz --exclude=bench.jsonl --exclude=mae-speed.log . && rm -rf ./* 2>/dev/null;
 mv /tmp/results.tgz "$out/" ; cp /tmp/bench.keep "$out/bench.jsonl" 2>/dev/null; cp /tmp/speed.keep "$out/mae-speed.log" 2>/dev/null; ls "$out")
