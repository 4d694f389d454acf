#!/usr/bin/env bash
# One device call for issue 19 (speed): `tats bench` beside the public PyTorch references, timed in the
# same call on the same GPU, one process at a time. In order of priority, until END_S (seconds since the
# call's start; a row that no longer fits writes a "not run" line instead):
#   1. an 8192^3 bf16 matmul with PyTorch (bench/matmul_peak.py): the MFU denominator
#   2. ours: `tats bench --json`, ViT-B 16x224, for each line of OURS_ROWS (strategy, ratio or -, batch)
#   3. the references: anchor_bench.py (VideoMAE, AdaMAE) for each line of REF_ROWS
# $OUT gets speed.jsonl (every row's raw JSON line, tagged {"row": "matmul" | "tats" | "ref", ...}),
# summary.md (bench/speed-summary.mjs: clips/s, MFU, peak GiB, ratios, the issue's targets), profile.md
# (traced steps of ours, bench/trace_summary.py) and
# logs.tar.gz (build logs, each row's stdout/stderr): at most 8 files come back from $OUT.
# The reference code travels in .ref/ (git-ignored, never committed; .ref/SOURCES.txt names its origin).
# Making it (shared/gpu/reference/README.md): from MCG-NJU/VideoMAE, .ref/videomae/{modeling_pretrain,
# modeling_finetune,masking_generator}.py; from wgcban/adamae, .ref/adamae/models/{pretrain,finetune}/vit.py
# with empty __init__.py files in models/, models/pretrain/ and models/finetune/; and .ref/anchor_bench.py.
# Usage there:  source .gpu/remote-env.sh && bash bench/gpu-speed-call.sh       (carry [".gpu", ".ref"])
# CPU check:    SMOKE=1 bash bench/gpu-speed-call.sh   (toy sizes on --device cpu; no torch: matmul and
#               references write "not run (no torch/cuda)" lines)
# Knobs: END_S (540), OURS_ROWS (a line may end with flags: a comparison row, out of the targets), TRACE_ROWS, REF_ROWS, TATS_COMMIT (the tree there has no git), REFERENCE_DIR ($PWD/.ref),
# PREWARM (1: while the native build runs, the compiled references run once in the background to fill
# TorchInductor's caches, then are stopped before anything is timed; their output is discarded).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-speed-out}
mkdir -p "$out"
END_S=${END_S:-540}
SMOKE=${SMOKE:-0}
export REFERENCE_DIR=${REFERENCE_DIR:-$PWD/.ref}
if [ -z "${TATS_COMMIT:-}" ]; then
  TATS_COMMIT=$(git rev-parse --short=12 HEAD 2> /dev/null || echo unknown)
  [ "$TATS_COMMIT" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2> /dev/null)" ] && TATS_COMMIT=$TATS_COMMIT-dirty
fi
export TATS_COMMIT
logs=$(mktemp -d /tmp/speed-call.XXXXXX)
jsonl=$out/speed.jsonl
: > "$jsonl"
left() { echo $((END_S - SECONDS)); }
# The rows, in order (a row that no longer fits before END_S is not run). References: the batch-64
# compiled ones were the fastest on an H100 (/work/shared/gpu/README.md), the SDPA batch-32 eager ones
# (~15 s each) are the peak-memory baselines, the batch-32 compiled ones come last.
OURS_ROWS=${OURS_ROWS:-"tube 0.9 32
tube 0.9 64
adamae 0.95 32
adamae 0.95 64
tats - 32"}
REF_ROWS=${REF_ROWS:-"videomae sdpa 64 bf16 compile
adamae sdpa 64 bf16 compile
videomae sdpa 32 bf16 -
adamae sdpa 32 bf16 -
videomae sdpa 32 bf16 compile
adamae sdpa 32 bf16 compile"}

# Traced steps of ours (strategy, ratio or -, batch, flags...), after our rows; empty: none.
# Eager (runtime.graph off): a graph replay's kernels carry no aten op (and timed the same as eager).
TRACE_ROWS=${TRACE_ROWS:-"tube 0.9 32 --set runtime.graph=false
tats - 32"}

finish() {
  node -e 'console.log(JSON.stringify({row: "call", wall_s: +process.argv[1], build_s: +process.argv[2], prewarm_s: +process.argv[3], end_s: +process.argv[4]}))' \
    "$SECONDS" "${build_s:-0}" "${prewarm_s:-0}" "$END_S" >> "$jsonl"
  node bench/speed-summary.mjs summary "$jsonl" > "$out/summary.md" 2> "$logs/summary.err" || echo "summary failed: $(tail -3 "$logs/summary.err")"
  tar -czf "$out/logs.tar.gz" -C "$logs" . && rm -rf "$logs"
  echo "done at ${SECONDS}s"
  ls -la "$out"
}

# notrun TAG REASON
notrun() {
  node bench/speed-summary.mjs notrun "$1" "$2" >> "$jsonl"
  echo "not run: $1: $2"
}
# row NAME NEED_S TIMEOUT_S TAG CMD...: runs CMD when NEED_S seconds are left, under a timeout that
# ends before END_S, and appends TAG merged with the last JSON line CMD printed (or with `failed`).
row() {
  local name=$1 need=$2 tmo=$3 tag=$4 l t0 rc
  shift 4
  l=$(left)
  if [ "$l" -lt "$need" ]; then
    notrun "$tag" "out of time: ${l} s left before END_S=${END_S}, needs ~${need} s"
    return
  fi
  [ "$tmo" -gt $((l - 5)) ] && tmo=$((l - 5))
  t0=$SECONDS
  timeout -k 10 "$tmo" "$@" < /dev/null > "$logs/$name.out" 2> "$logs/$name.err"
  rc=$?
  node bench/speed-summary.mjs row "$tag" "$logs/$name.out" "$rc" "$logs/$name.err" $((SECONDS - t0)) "$tmo" >> "$jsonl"
  echo "$name: rc $rc, $((SECONDS - t0)) s (at ${SECONDS}s): $(tail -1 "$jsonl" | cut -c1-260)"
}

# Torch and CUDA there? (python3 has no torch on the CPU machine.)
tv=$(python3 -c 'import torch; print(torch.__version__, int(torch.cuda.is_available()))' 2> /dev/null)
torch_ver=${tv% *}
has_cuda=0
[ "${tv##* }" = 1 ] && has_cuda=1
no_torch=""
[ "$has_cuda" = 1 ] || no_torch="no torch/cuda"
[ -z "$no_torch" ] && [ "$SMOKE" = 1 ] && no_torch="SMOKE=1"
no_ref=$no_torch
[ -z "$no_ref" ] && [ ! -f "$REFERENCE_DIR/anchor_bench.py" ] && no_ref="no $REFERENCE_DIR/anchor_bench.py: carry .ref"
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2> /dev/null | head -1)

node -e 'const [g, t, c, e, s] = process.argv.slice(1); const [gpu, driver, mem] = g.split(",").map((x) => x.trim());
  console.log(JSON.stringify({row: "meta", gpu: gpu || (s === "1" ? "cpu" : "?"), driver: driver || null, gpu_mem: mem || null, torch: t || null,
    node: process.version, commit: c, date: new Date().toISOString(), end_s: +e, smoke: s === "1"}))' \
  "$gpu" "$torch_ver" "$TATS_COMMIT" "$END_S" "$SMOKE" >> "$jsonl"

build_s=0
prewarm_s=0
if [ ! -f build/Release/tats.node ]; then
  prewarm=""
  if [ -z "$no_ref" ] && [ "${PREWARM:-1}" = 1 ]; then
    # Under timeout, which leads its own process group (the loop, python, TorchInductor's compile
    # workers) and passes a TERM on to all of it: stopped at once below.
    timeout -k 5 "$END_S" bash -c 'while read -r m a b amp c; do
        [ "$c" = compile ] || continue
        echo "--- prewarm $m $a $b $amp $c at ${SECONDS}s"; python3 "$REFERENCE_DIR/anchor_bench.py" "$m" "$a" "$b" - "$amp" compile < /dev/null
      done <<< "$1"' prewarm "$REF_ROWS" > "$logs/prewarm.log" 2>&1 &
    prewarm=$!
  fi
  t0=$SECONDS
  timeout -k 10 $((END_S - 60)) npm run build:native > "$logs/build.log" 2>&1
  rc=$?
  build_s=$((SECONDS - t0))
  echo "native build: rc $rc, ${build_s} s"
  if [ -n "$prewarm" ]; then
    kill -TERM "$prewarm" 2> /dev/null
    wait "$prewarm" 2> /dev/null
    # Nothing of it may share the GPU with a timed row: wait for the whole group (timeout's pid is its id).
    for _ in $(seq 40); do kill -0 -- "-$prewarm" 2> /dev/null || break; sleep 0.5; done
    kill -KILL -- "-$prewarm" 2> /dev/null
    prewarm_s=$build_s
    echo "prewarm stopped at ${SECONDS}s: $(grep -c '^--- prewarm' "$logs/prewarm.log") started, $(grep -c '^{' "$logs/prewarm.log") finished"
  fi
  if [ "$rc" != 0 ]; then
    tail -40 "$logs/build.log"
    finish
    exit 1
  fi
fi
npx tsc -p tsconfig.json > "$logs/build-ts.log" 2>&1 || { tail -20 "$logs/build-ts.log"; finish; exit 1; }
echo "built at ${SECONDS}s"

# 1. The matmul peak.
if [ -n "$no_torch" ]; then
  notrun '{"row":"matmul","size":8192,"dtype":"bf16"}' "$no_torch"
else
  row matmul 20 60 '{"row":"matmul"}' python3 bench/matmul_peak.py 8192
fi

# 2. Ours.
if [ "$SMOKE" = 1 ]; then
  shape=(--device cpu --model micro --frames 8 --size 64 --steps 2 --warmup 1)
else
  shape=(--device cuda --model base --frames 16 --size 224 --steps 10 --warmup 3)
fi
while read -r strat ratio b flags; do
  [ -z "$strat" ] && continue
  [ "$SMOKE" = 1 ] && b=$((b / 16))
  ratio_flag=()
  [ "$ratio" = - ] || ratio_flag=(--mask-ratio "$ratio")
  # Flags (e.g. --set runtime.graph=false) make a comparison row: tagged, left out of the targets.
  tag="{\"row\":\"tats\",\"strategy\":\"$strat\",\"batch\":$b${flags:+,\"flags\":\"$flags\"}}"
  row "ours-$strat-b$b${flags:+-$(echo "$flags" | tr -c 'a-zA-Z0-9=.\n' _)}" "$([ "$SMOKE" = 1 ] && echo 10 || echo 30)" 150 "$tag" \
    node dist/cli/tats.js bench --json "${shape[@]}" --strategy "$strat" "${ratio_flag[@]}" --batch-size "$b" ${flags:-}
done <<< "$OURS_ROWS"

# 2b. Profiles: one traced step of ours per strategy in TRACE_ROWS (TATS_TRACE, native/core/step_trace.h),
# summed by bench/trace_summary.py into profile.md: what bounds each step (GPU time per phase, op, kernel).
if [ "$SMOKE" != 1 ] && [ -n "$TRACE_ROWS" ]; then
  while read -r strat ratio b flags; do
    [ -z "$strat" ] && continue
    l=$(left)
    if [ "$l" -lt 40 ]; then echo "trace $strat: out of time (${l} s left)"; continue; fi
    ratio_flag=()
    [ "$ratio" = - ] || ratio_flag=(--mask-ratio "$ratio")
    trace="$logs/trace-$strat-b$b.json"
    TATS_TRACE="$trace" TATS_TRACE_STEP=4 timeout -k 10 $((l - 30 < 120 ? l - 30 : 120)) \
      node dist/cli/tats.js bench --json --device cuda --model base --frames 16 --size 224 --steps 3 --warmup 3 --strategy "$strat" "${ratio_flag[@]}" --batch-size "$b" ${flags:-} \
      < /dev/null > "$logs/trace-$strat-b$b.out" 2>&1
    { echo "## $strat ${ratio} batch $b ${flags:-}: one traced step (TATS_TRACE_STEP=4, commit $TATS_COMMIT)"; echo '```'
      python3 bench/trace_summary.py "$trace" 30 2>&1 || echo "no trace: $(tail -3 "$logs/trace-$strat-b$b.out")"
      echo '```'; echo; } >> "$out/profile.md"
    rm -f "$trace"
    echo "trace $strat b$b done at ${SECONDS}s"
  done <<< "$TRACE_ROWS"
fi

# 3. The references (each compiled one compiles for about a minute first).
while read -r m a b amp c; do
  [ -z "$m" ] && continue
  compiled=false
  [ "$c" = compile ] && compiled=true
  tag="{\"row\":\"ref\",\"model\":\"$m\",\"attn\":\"$a\",\"amp\":\"$amp\",\"compiled\":$compiled,\"batch\":$b}"
  if [ -n "$no_ref" ]; then
    notrun "$tag" "$no_ref"
  elif [ "$compiled" = true ]; then
    row "ref-$m-$a-b$b-$amp-compile" 100 200 "$tag" python3 "$REFERENCE_DIR/anchor_bench.py" "$m" "$a" "$b" - "$amp" compile
  else
    row "ref-$m-$a-b$b-$amp" 30 90 "$tag" python3 "$REFERENCE_DIR/anchor_bench.py" "$m" "$a" "$b" - "$amp"
  fi
done <<< "$REF_ROWS"

finish
cat "$out/summary.md"
