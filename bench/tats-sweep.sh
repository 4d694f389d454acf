#!/usr/bin/env bash
# The TATS strategy comparison and objective sweep of docs/tats.md, in one call on the GPU machine.
# Phase 1: one `tats pretrain` process per (run, seed), side by side on one GPU (small models leave it
#   mostly idle): the product's trainer, its step, guards and metrics.jsonl, nothing else.
# Phase 2: per pretrained run and per seed from scratch, each downstream task of DS in turn with
#   `tats finetune` (a linear probe or a full fine-tune on the first N labelled clips of the synthetic
#   train split, scored on its held-out test split).
# Phase 3: $OUT/sweep.jsonl (one line per downstream result, with the pretraining run's telemetry) and a
#   summary table (per seed, mean, sample standard deviation) on stdout and in $OUT/summary.md.
#
# Usage there:   source .gpu/remote-env.sh && OUT=$OUT bash bench/tats-sweep.sh
#   A sweep can span several device calls on one warm machine: WORK (default $OUT) holds the runs
#   and survives between calls when it is a git-ignored folder of the tree (e.g. runs/sweep); a
#   pretraining run whose folder holds a checkpoint is resumed (--resume) to STEPS. PHASES picks the
#   phases ("pack pre ds sum" by default; e.g. "pre" in a first call, "pre ds sum" in the next).
# CPU check:     SMOKE=1 OUT=/tmp/sweep-smoke bash bench/tats-sweep.sh   (toy sizes, to test the logic)
# Knobs:
#   RUNS     lines "name strategy ratio [config-json]" (default: random, tube, adamae, tats at 0.9 and
#            tats at 0.95 as tats95); the config JSON is merged into the pretraining config (e.g.
#            {"sampler":{"beta":0.3}} or {"optim":{"lr":5e-4}}). SEEDS ("0 1 2") applies to every run.
#   DS       downstream tasks "probe:N" / "ft:N" (N labelled clips), default "probe:512 ft:64 ft:512".
#   SCRATCH  1 (default): the same downstream tasks from a random encoder, per seed.
#   STEPS (3000), MODEL (tiny), FRAMES (16), SIZE (112), PATCH (16), BATCH (32), LR (1.5e-3),
#   DS_STEPS (300), FT_LR (1e-3), PROBE_LR (the finetune default), CLASSES (8), TEST_SIZE (512),
#   PACK (1): phase 0 renders the synthetic pretraining set once (PACK_CLIPS 1024 clips, seed 0, with
#            motion maps) into $WORK/shards and every run pretrains on it (rendering per step is the
#            CPU's bottleneck with ~15 runs on 16 cores); the downstream tasks render their own splits.
#   CKPT_EVERY (250): checkpoint interval of the pretraining runs (what a later call resumes from).
#   DEVICE (cuda), PRE_DEADLINE_S (stop pretraining runs then: each writes its checkpoint at the step it
#   reached, which the record shows), DEADLINE_S (stop downstream runs then; missing rows are named).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${WORK:-${OUT:-/tmp/tats-sweep}}
mkdir -p "$out"
PHASES=${PHASES:-pack pre ds sum}
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
if [ "${SMOKE:-0}" = 1 ]; then
  : "${SEEDS:=0}" "${STEPS:=6}" "${MODEL:=micro}" "${FRAMES:=4}" "${SIZE:=32}" "${PATCH:=8}" "${BATCH:=4}"
  : "${DS_STEPS:=4}" "${DS:=probe:16 ft:8}" "${TEST_SIZE:=16}" "${DEVICE:=cpu}" "${PACK_CLIPS:=16}" "${CKPT_EVERY:=4}"
  smoke_runs='random random 0.9
tats tats 0.9 {"sampler":{"beta":0.3}}
lowlr random 0.9 {"optim":{"lr":5e-4}}'
  : "${RUNS:=$smoke_runs}"
fi
SEEDS=${SEEDS:-0 1 2}
RUNS=${RUNS:-random random 0.9
tube tube 0.9
adamae adamae 0.9
tats tats 0.9
tats95 tats 0.95}
DS=${DS:-probe:512 ft:32 ft:128}
SCRATCH=${SCRATCH:-1}
STEPS=${STEPS:-3000}
MODEL=${MODEL:-tiny}
FRAMES=${FRAMES:-16}
SIZE=${SIZE:-112}
PATCH=${PATCH:-16}
BATCH=${BATCH:-32}
LR=${LR:-1.5e-3}
DS_STEPS=${DS_STEPS:-300}
FT_LR=${FT_LR:-1e-3}
CLASSES=${CLASSES:-8}
TEST_SIZE=${TEST_SIZE:-512}
DEVICE=${DEVICE:-cuda}
PACK=${PACK:-1}
PACK_CLIPS=${PACK_CLIPS:-1024}
CKPT_EVERY=${CKPT_EVERY:-250}
SECONDS=0
# exec: the background job's pid is node's own, so a deadline's SIGINT reaches the trainer (a bash
# subshell waiting on a child would hold the signal until the child ends).
tats() { exec env OMP_NUM_THREADS=1 node dist/cli/tats.js "$@"; }

# Waits for the background jobs; at DEADLINE (seconds since the start, optional) sends SIGINT, upon
# which a pretraining run checkpoints the step it reached and a fine-tune stops without a result.
wait_all() {
  local deadline=${1:-}
  while [ -n "$(jobs -rp)" ]; do
    if [ -n "$deadline" ] && [ "$SECONDS" -ge "$deadline" ]; then
      echo "deadline ${deadline}s: interrupting $(jobs -rp | wc -l) run(s)" >&2
      local p
      for p in $(jobs -rp); do pkill -INT -P "$p" 2>/dev/null; kill -INT "$p" 2>/dev/null; done
      break
    fi
    sleep 2
  done
  wait
}

# The last step a pretraining run logged (0 when none).
last_step() {
  node -e 'let s = 0; try { for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) { try { const j = JSON.parse(l); if (typeof j.step === "number") s = Math.max(s, j.step); } catch {} } } catch {} console.log(s);' "$1/run/metrics.jsonl"
}

# Phase 0: the pretraining set, rendered once.
pre_data=(--dataset synthetic)
if [ "$PACK" = 1 ]; then
  if has_phase pack && [ ! -f "$out/shards/index.json" ]; then
    node dist/cli/tats.js pack --dataset synthetic --count "$PACK_CLIPS" --seed 0 --frames "$FRAMES" --size "$SIZE" \
      --out "$out/shards" --json > "$out/pack.json" 2> "$out/pack.err" || { echo "pack failed: $(tail -c 500 "$out/pack.err")" >&2; exit 1; }
    echo "packed at ${SECONDS}s" >&2
  fi
  pre_data=(--dataset "shards:$out/shards")
fi

# Phase 1: pretraining, one process per (run, seed); a run with a checkpoint resumes.
pre_dirs=()
while read -r name strat ratio cfg; do
  [ -z "$name" ] && continue
  for seed in $SEEDS; do
    dir="$out/pre-$name-s$seed"
    pre_dirs+=("$dir")
    has_phase pre || continue
    mkdir -p "$dir"
    resume=()
    if ls "$dir"/run/checkpoints/step-* > /dev/null 2>&1; then
      resume=(--resume)
      [ "$(last_step "$dir")" -ge "$STEPS" ] && continue
    fi
    # One data worker per process (up to ~15 processes share 16 cores); the MAE's lr is LR unless the run's config sets it.
    node -e 'const c = JSON.parse(process.argv[1] || "{}"); c.data = { workers: 1, ...(c.data || {}) }; c.optim = { lr: +process.argv[2], ...(c.optim || {}) }; console.log(JSON.stringify(c));' "${cfg:-}" "$LR" > "$dir/config.json"
    ( tats pretrain --config "$dir/config.json" --strategy "$strat" --mask-ratio "$ratio" --seed "$seed" --steps "$STEPS" \
      --model "$MODEL" --frames "$FRAMES" --size "$SIZE" --patch "$PATCH" --batch-size "$BATCH" --device "$DEVICE" "${pre_data[@]}" \
      --checkpoint-every "$CKPT_EVERY" --log-every 10 --no-picture --json --out "$dir/run" "${resume[@]}" > "$dir/stdout.json" 2>> "$dir/stderr.log" ) &
  done
done <<< "$RUNS"
if has_phase pre; then
  wait_all "${PRE_DEADLINE_S:-}"
  echo "pretraining done at ${SECONDS}s" >&2
fi

# Phase 2: downstream tasks, one process per encoder running DS in turn.
downstream() { # downstream DIR SEED [CHECKPOINT]
  local dir=$1 seed=$2 ckpt=${3:-scratch} task kind n
  for task in $DS; do
    kind=${task%%:*}; n=${task#*:}
    local args=(--checkpoint "$ckpt" --classes "$CLASSES" --train-size "$n" --steps "$DS_STEPS" --batch-size "$BATCH"
      --mixup 0 --cutmix 0 --test-size "$TEST_SIZE" --seed "$seed" --device "$DEVICE" --json --out "$dir/$task")
    [ "$ckpt" = scratch ] && args+=(--model "$MODEL" --frames "$FRAMES" --size "$SIZE" --patch "$PATCH")
    if [ "$kind" = probe ]; then args+=(--linear-probe ${PROBE_LR:+--lr "$PROBE_LR"}); else args+=(--lr "$FT_LR"); fi
    # Done in an earlier call (a run interrupted there wrote an error object instead: run it again).
    grep -q '"top1"' "$dir/$task.json" 2> /dev/null && continue
    ( tats finetune "${args[@]}" > "$dir/$task.json" 2> "$dir/$task.err" ) || echo "$dir $task failed: $(tail -c 300 "$dir/$task.err")" >&2
  done
}
if has_phase ds; then
for dir in "${pre_dirs[@]}"; do
  seed=${dir##*-s}
  # Only encoders that reached STEPS (a run cut short by a deadline waits for the next call's resume).
  if [ "$(last_step "$dir")" -ge "$STEPS" ] && ls "$dir"/run/checkpoints/* > /dev/null 2>&1; then downstream "$dir" "$seed" "$dir/run" &
  else echo "$dir: pretraining at step $(last_step "$dir") of $STEPS, no downstream yet" >&2; fi
done
if [ "$SCRATCH" = 1 ]; then
  for seed in $SEEDS; do mkdir -p "$out/scratch-s$seed"; downstream "$out/scratch-s$seed" "$seed" & done
fi
wait_all "${DEADLINE_S:-}"
echo "downstream done at ${SECONDS}s" >&2
fi

# Phase 3: sweep.jsonl and the summary.
has_phase sum || exit 0
node -e '
const fs = require("fs"), path = require("path");
const [out, dsList, runs] = process.argv.slice(1);
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, "utf8")); } catch { return undefined; } };
const jsonl = (f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map((x) => { try { return JSON.parse(x); } catch { return null; } }).filter(Boolean) : []);
const ratioOf = Object.fromEntries(runs.split("\n").filter((l) => l.trim()).map((l) => { const [n, s, r] = l.trim().split(/\s+/); return [n, { strategy: s, ratio: +r }]; }));
const lines = [];
for (const d of fs.readdirSync(out).sort()) {
  const m = /^(pre-(.*)|scratch)-s(\d+)$/.exec(d);
  if (!m) continue;
  const name = m[2] ?? "scratch", seed = +m[3];
  const base = { name, seed, ...(ratioOf[name] ?? { strategy: "scratch" }) };
  if (m[2]) {
    // The pretraining run: steps reached, loss at the end, sampler telemetry over the run.
    const ms = jsonl(path.join(out, d, "run", "metrics.jsonl")).filter((x) => typeof x.step === "number");
    const tail = ms.slice(-Math.max(1, ms.length >> 3));
    const avg = (k) => { const v = tail.map((x) => x[k]).filter((x) => typeof x === "number"); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined; };
    const all = (k) => ms.map((x) => x[k]).filter((x) => typeof x === "number").sort((a, b) => a - b);
    const kl = all("kl"), ent = all("entropy");
    Object.assign(base, { steps: ms.length ? ms[ms.length - 1].step : 0, lossEnd: avg("loss"), maskedMovingShare: avg("masked_moving_share"), movingShare: avg("moving_share"),
      ...(kl.length ? { klMedian: kl[kl.length >> 1], klMax: kl[kl.length - 1] } : {}),
      ...(ent.length ? { entropyMin: ent[0], entropyEnd: avg("entropy") } : {}),
      ...(m[2] ? { clipsPerS: avg("clips_per_s") } : {}) });
    if (!ms.length) lines.push({ ...base, error: "pretraining: " + (fs.existsSync(path.join(out, d, "stderr.log")) ? fs.readFileSync(path.join(out, d, "stderr.log"), "utf8").slice(-300) : "no output") });
  }
  for (const task of dsList.split(/\s+/).filter(Boolean)) {
    const r = read(path.join(out, d, task + ".json"));
    const top1 = r?.eval?.top1 ?? r?.top1;
    if (typeof top1 !== "number") { lines.push({ ...base, task, error: "downstream: " + (fs.existsSync(path.join(out, d, task + ".err")) ? fs.readFileSync(path.join(out, d, task + ".err"), "utf8").slice(-300) : "not run") }); continue; }
    lines.push({ ...base, task, top1, top5: r?.eval?.top5 ?? r?.top5, trainAcc: r?.trainAcc, ftLoss: r?.finalLoss });
  }
}
fs.writeFileSync(path.join(out, "sweep.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
const groups = new Map();
const failed = [];
for (const l of lines) {
  if (l.error) { failed.push(`${l.name} s${l.seed} ${l.task ?? ""}: ${l.error.replace(/\s+/g, " ")}`); continue; }
  const key = l.name + "|" + l.task;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(l);
}
const f = (v, d) => (typeof v === "number" ? v.toFixed(d) : "-");
const table = ["| run | task | top-1 per seed | mean | sd | pretrain steps | masked-moving share | KL median / max | entropy min / end |", "|---|---|---|---:|---:|---:|---:|---|---|"];
for (const [k, ls] of [...groups].sort()) {
  const [name, task] = k.split("|");
  const t = ls.map((l) => 100 * l.top1);
  const mean = t.reduce((a, b) => a + b, 0) / t.length;
  const sd = t.length > 1 ? Math.sqrt(t.reduce((a, b) => a + (b - mean) ** 2, 0) / (t.length - 1)) : NaN;
  table.push(`| ${name} | ${task} | ${ls.map((l) => `s${l.seed} ${(100 * l.top1).toFixed(1)}`).join(", ")} | ${mean.toFixed(1)} | ${f(sd, 1)} | ${ls.map((l) => l.steps ?? "-").join(" ")} | ${ls.map((l) => f(l.maskedMovingShare, 3)).join(" ")} | ${ls.map((l) => f(l.klMedian, 5) + "/" + f(l.klMax, 4)).join(" ")} | ${ls.map((l) => f(l.entropyMin, 3) + "/" + f(l.entropyEnd, 3)).join(" ")} |`);
}
const text = table.join("\n") + "\n" + (failed.length ? "\nFailed or missing:\n" + failed.map((x) => "- " + x).join("\n") + "\n" : "");
fs.writeFileSync(path.join(out, "summary.md"), text);
console.log(text);
' "$out" "$DS" "$RUNS"
echo "sweep done at ${SECONDS}s" >&2
