#!/usr/bin/env bash
# One device call of the issue-15 sweep (bench/tats-sweep.sh) and long runs (bench/tats-long.sh) on a
# warm machine: build when build/ is missing, then both side by side until END_S (seconds since the
# call's start, default 540), then each run's status and the logs to $OUT. The runs live in runs/
# (git-ignored), which a warm machine keeps for the next call; a run resumes from its checkpoint.
# Usage there: source .gpu/remote-env.sh && SWEEP_PHASES="pack pre" bash bench/gpu-sweep-call.sh
# Knobs: SWEEP_PHASES (tats-sweep.sh's PHASES; empty: no sweep), LONG (tats-long.sh's runs; empty: none),
# END_S (540), GPU_TESTS (test files of the gpu project, run beside the runs; default none), and every
# knob of the two scripts (SEEDS, RUNS, DS, ...).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-sweep-out}
mkdir -p "$out" runs
END_S=${END_S:-540}
if [ ! -f build/Release/tats.node ]; then
  npm run build:native > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
fi
npx tsc -p tsconfig.json > "$out/build-ts.log" 2>&1 || { tail -20 "$out/build-ts.log"; exit 1; }
echo "built at ${SECONDS}s"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1
left=$((END_S - SECONDS))
pids=()
if [ -n "${SWEEP_PHASES:-}" ]; then
  WORK=runs/sweep PHASES="$SWEEP_PHASES" PRE_DEADLINE_S=$((left - 15)) DEADLINE_S=$((left - 25)) \
    timeout -s KILL "$left" bash bench/tats-sweep.sh > "$out/sweep.log" 2>&1 &
  pids+=($!)
fi
if [ -n "${LONG-x}" ]; then
  WORK=runs/long DEADLINE_S=$((left - 15)) timeout -s KILL "$left" bash bench/tats-long.sh > "$out/long.log" 2>&1 &
  pids+=($!)
fi
if [ -n "${GPU_TESTS:-}" ]; then
  # Correctness tests only (no timings): they share the GPU with the runs.
  ( timeout -s KILL "$((left - 10))" npx vitest run --project gpu $GPU_TESTS 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > "$out/test-gpu.log" ) &
  pids+=($!)
fi
( while sleep 60; do echo "--- ${SECONDS}s"; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; uptime; done ) > "$out/monitor.log" 2>&1 &
mon=$!
[ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
kill $mon 2> /dev/null
echo "runs stopped at ${SECONDS}s"
[ -f "$out/test-gpu.log" ] && grep -E "Test Files|Tests  |FAIL|×|✓" "$out/test-gpu.log" | head -40
node bench/run-status.mjs runs/sweep runs/long | tee "$out/status.md"
[ -f runs/sweep/summary.md ] && cp runs/sweep/summary.md runs/sweep/sweep.jsonl "$out/"
# At most 8 files come back from $OUT: the call's own logs travel inside logs.tar.gz (under call/),
# beside the runs' logs, so gpu.txt, status.md, summary.md, sweep.jsonl and logs.tar.gz are all there is.
mkdir -p runs/call && for f in build.log build-ts.log monitor.log sweep.log long.log test-gpu.log; do
  [ -f "$out/$f" ] && mv "$out/$f" runs/call/
done
find runs -path '*/checkpoints' -prune -o \( -name '*.err' -o -name '*.log' -o -name '*.json' -o -name 'metrics.jsonl' \) -size -5M -print | grep -v shards | tar -czf "$out/logs.tar.gz" -T - 2> /dev/null
rm -rf runs/call
ls -la "$out"
