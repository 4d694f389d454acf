#!/usr/bin/env bash
# One device call for issue 19's last must-show: a 2000-step GPU run with the default (fastest) settings
# beside the same run on the eager path (runtime.graph and runtime.layerNormBf16 off), losses compared per
# window by bench/track-summary.mjs. The two runs share the GPU (concurrency changes no numerics: same
# seed, data order and masks). Then, if time is left, the default TATS job for the same steps, checked
# for finite losses and its KL.
# Usage there:  source .gpu/remote-env.sh && TATS_COMMIT=<sha> bash bench/gpu-track-call.sh   (carry [".gpu"])
# Knobs: STEPS (2000), TRACK_ARGS (the job), EAGER_FLAGS (what makes the second run eager: runtime.graph
# and runtime.layerNormBf16 off; for a TATS job add --set runtime.ppoGraph=false), END_S (560), TATS_ARGS
# (the TATS job; empty: none).
# $OUT gets track.md (the comparison), the metrics.jsonl of each run (fast.jsonl, eager.jsonl, tats.jsonl)
# and logs.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-track-out}
mkdir -p "$out"
END_S=${END_S:-560}
STEPS=${STEPS:-2000}
TRACK_ARGS=${TRACK_ARGS:-"--model base --frames 16 --size 112 --strategy tube --mask-ratio 0.9 --batch-size 32"}
EAGER_FLAGS=${EAGER_FLAGS:-"--set runtime.graph=false --set runtime.layerNormBf16=false"}
TATS_ARGS=${TATS_ARGS-"--model small --frames 16 --size 112 --strategy tats --mask-ratio 0.9 --batch-size 32"}
TATS_COMMIT=${TATS_COMMIT:-$(git rev-parse --short=12 HEAD 2> /dev/null || echo unknown)}
logs=$(mktemp -d /tmp/track-call.XXXXXX)
left() { echo $((END_S - SECONDS)); }
if [ ! -f build/Release/tats.node ]; then
  timeout -k 10 $((END_S - 60)) npm run build:native > "$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; exit 1; }
  echo "native build done at ${SECONDS}s"
fi
npx tsc -p tsconfig.json > "$logs/build-ts.log" 2>&1 || { tail -20 "$logs/build-ts.log"; exit 1; }
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2> /dev/null | head -1)
common=(--steps "$STEPS" --log-every 10 --checkpoint-every "$STEPS" --no-picture --seed 0 --json)
# pretrain NAME EXTRA...: one run under a timeout that ends before END_S.
pretrain() {
  local name=$1
  shift
  # shellcheck disable=SC2086
  timeout -k 10 $(($(left) - 15)) node dist/cli/tats.js pretrain $TRACK_ARGS "${common[@]}" --out "/tmp/track-$name" "$@" \
    < /dev/null > "$logs/$name.out" 2> "$logs/$name.err"
  echo "$name: rc $? at ${SECONDS}s"
}
# tats_line FILE LABEL: one markdown line on a TATS run's metrics (non-finite lines, KL, entropy, loss).
tats_line() {
  node -e 'const fs = require("fs"); const ls = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const kl = ls.map((o) => o.kl).filter((x) => typeof x === "number").sort((a, b) => a - b);
    const bad = ls.filter((o) => o.loss === null || o.kl === null || o.entropy === null).length;
    console.log(`\n## TATS, ${process.argv[2]}: ${ls.length} lines to step ${ls.at(-1).step}, non-finite lines ${bad}, median KL ${kl[kl.length >> 1]}, max KL ${kl.at(-1)}, min entropy ${Math.min(...ls.map((o) => o.entropy ?? Infinity))}, last loss ${ls.at(-1).loss}, last clips/s ${ls.at(-1).clips_per_s}`)' \
    "$1" "$2" 2>&1
}
t0=$SECONDS
pretrain fast &
# shellcheck disable=SC2086
pretrain eager $EAGER_FLAGS &
wait
track_s=$((SECONDS - t0))
cp /tmp/track-fast/metrics.jsonl "$out/fast.jsonl" 2> /dev/null
cp /tmp/track-eager/metrics.jsonl "$out/eager.jsonl" 2> /dev/null
{
  echo "# Default (fastest) settings vs the eager path, $STEPS steps"
  echo
  echo "- device: $gpu; commit: $TATS_COMMIT; date: $(date -u +%FT%TZ)"
  echo "- job: \`tats pretrain $TRACK_ARGS ${common[*]}\`; eager: \`$EAGER_FLAGS\`"
  echo "- both runs at once on the one GPU, ${track_s} s; last lines: fast \`$(tail -1 "$out/fast.jsonl" 2> /dev/null | cut -c1-160)\`, eager \`$(tail -1 "$out/eager.jsonl" 2> /dev/null | cut -c1-160)\`"
  echo
  node bench/track-summary.mjs "$out/fast.jsonl" "$out/eager.jsonl" 200 2>&1
  case "$TRACK_ARGS" in *tats*)
    tats_line "$out/fast.jsonl" "defaults"
    tats_line "$out/eager.jsonl" "$EAGER_FLAGS" ;;
  esac
} > "$out/track.md"
cat "$out/track.md"
if [ -n "$TATS_ARGS" ] && [ "$(left)" -gt 90 ]; then
  # shellcheck disable=SC2086
  timeout -k 10 $(($(left) - 15)) node dist/cli/tats.js pretrain $TATS_ARGS "${common[@]}" --out /tmp/track-tats \
    < /dev/null > "$logs/tats.out" 2> "$logs/tats.err"
  echo "tats: rc $? at ${SECONDS}s"
  cp /tmp/track-tats/metrics.jsonl "$out/tats.jsonl" 2> /dev/null
  tats_line "$out/tats.jsonl" "$TATS_ARGS" >> "$out/track.md"
  tail -2 "$out/track.md"
fi
tar -czf "$out/logs.tar.gz" -C "$logs" . && rm -rf "$logs"
echo "done at ${SECONDS}s"
