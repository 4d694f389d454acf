#!/usr/bin/env bash
# The TATS objective sweep and the strategy comparison of docs/tats.md, in one call on the GPU machine.
# Every run is `tats compare` (the trainer of `tats pretrain`, then a fine-tune on held-out labels and
# a score on the synthetic test split); runs go in parallel, one process each (small models leave
# the GPU mostly idle, so several share it).
#   full compares:  random, tube, adamae, tats (default beta), plus fine-tuning from scratch, per seed;
#   beta sweep:     tats alone at each BETAS value, and the curriculum (CURRICULUM), per seed.
# Writes $OUT/<name>-s<seed>/compare.json (+ the runs' metrics.jsonl) and $OUT/sweep.jsonl (one line
# per strategy row of every compare), and prints a summary table.
#
# Usage there:   source .gpu/remote-env.sh && OUT=$OUT bash bench/tats-sweep.sh
# CPU check:     SMOKE=1 OUT=/tmp/sweep-smoke bash bench/tats-sweep.sh   (toy sizes, to test the logic)
# Knobs: SEEDS ("0 1 2"), BETAS ("0.1 0.3 3"), CURRICULUM ("10:1:1000" = betaStart:beta:betaSteps;
#   empty: none), STEPS (2000), MODEL (micro), FRAMES (8), SIZE (32), PATCH (8), BATCH (32),
#   RATIO (0.9), LR (1.5e-3), DS_STEPS (300), DS_LR (1e-3), TRAIN_SIZE (64), CLASSES (4),
#   TEST_SIZE (512), DEVICE (cuda), SKIP_FULL=1 (only the beta sweep), SKIP_BETAS=1, SPLIT=1 (one process
#   per strategy instead of one compare per seed; STRATEGIES picks them), DEADLINE_S (stop
#   unfinished runs after this many seconds and summarise the rest).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/tats-sweep}
mkdir -p "$out"
if [ "${SMOKE:-0}" = 1 ]; then
  : "${SEEDS:=0}" "${BETAS:=0.3}" "${CURRICULUM:=}" "${STEPS:=6}" "${MODEL:=micro}" "${FRAMES:=4}" "${SIZE:=32}" "${BATCH:=4}"
  : "${DS_STEPS:=4}" "${TRAIN_SIZE:=16}" "${TEST_SIZE:=16}" "${DEVICE:=cpu}"
fi
SEEDS=${SEEDS:-0 1 2}
BETAS=${BETAS-0.1 0.3 3}
CURRICULUM=${CURRICULUM-10:1:1000}
STEPS=${STEPS:-2000}
MODEL=${MODEL:-micro}
FRAMES=${FRAMES:-8}
SIZE=${SIZE:-32}
PATCH=${PATCH:-8}
BATCH=${BATCH:-32}
RATIO=${RATIO:-0.9}
LR=${LR:-1.5e-3}
DS_STEPS=${DS_STEPS:-300}
DS_LR=${DS_LR:-1e-3}
TRAIN_SIZE=${TRAIN_SIZE:-64}
CLASSES=${CLASSES:-4}
TEST_SIZE=${TEST_SIZE:-512}
DEVICE=${DEVICE:-cuda}
SECONDS=0

common=(--steps "$STEPS" --model "$MODEL" --frames "$FRAMES" --size "$SIZE" --patch "$PATCH" --batch-size "$BATCH"
  --mask-ratio "$RATIO" --lr "$LR" --downstream finetune --downstream-steps "$DS_STEPS" --downstream-lr "$DS_LR"
  --train-size "$TRAIN_SIZE" --classes "$CLASSES" --test-size "$TEST_SIZE" --device "$DEVICE" --json)

# launch NAME SEED CONFIG_JSON STRATEGIES... (in the background)
launch() {
  local name=$1 seed=$2 cfg=$3
  shift 3
  local dir="$out/$name-s$seed"
  mkdir -p "$dir"
  # One data worker and one intra-op thread per process: up to ~15 processes share 16 cores.
  node -e 'const c = JSON.parse(process.argv[1]); c.data = { workers: 1, ...(c.data || {}) }; console.log(JSON.stringify(c));' "$cfg" > "$dir/config.json"
  OMP_NUM_THREADS=1 node dist/cli/tats.js compare "${common[@]}" --seed "$seed" --config "$dir/config.json" --strategies "$@" \
    --out "$dir/report" > "$dir/stdout.json" 2> "$dir/stderr.log" &
}

for seed in $SEEDS; do
  if [ "${SPLIT:-0}" = 1 ]; then
    # One process per strategy (they run side by side); the random one adds the scratch row.
    for strat in ${STRATEGIES:-random tube adamae tats}; do
      if [ "$strat" = random ]; then launch "$strat" "$seed" '{}' random; else launch "$strat" "$seed" '{}' "$strat" --no-scratch; fi
    done
  elif [ "${SKIP_FULL:-0}" != 1 ]; then
    launch full "$seed" '{}' random tube adamae tats
  fi
  if [ "${SKIP_BETAS:-0}" != 1 ]; then
    for beta in $BETAS; do
      launch "beta$beta" "$seed" "{\"sampler\":{\"beta\":$beta}}" tats --no-scratch
    done
    if [ -n "$CURRICULUM" ]; then
      IFS=: read -r b0 b1 bn <<< "$CURRICULUM"
      launch "curriculum" "$seed" "{\"sampler\":{\"betaStart\":$b0,\"beta\":$b1,\"betaSteps\":$bn}}" tats --no-scratch
    fi
  fi
done
# DEADLINE_S: stop what is still running then (its rows are missing from the summary, named as failed).
while [ -n "$(jobs -rp)" ]; do
  if [ -n "${DEADLINE_S:-}" ] && [ "$SECONDS" -ge "$DEADLINE_S" ]; then
    echo "deadline ${DEADLINE_S}s: stopping $(jobs -rp | wc -l) unfinished run(s)" >&2
    kill $(jobs -rp) 2>/dev/null
    sleep 2
    break
  fi
  sleep 2
done
wait
echo "runs done at ${SECONDS}s" >&2

# One JSON line per row: {name, seed, strategy, top1, pretrainLoss, maskedMovingShare, clipsPerS, ...}
node -e '
const fs = require("fs"), path = require("path");
const out = process.argv[1];
const lines = [];
for (const d of fs.readdirSync(out).sort()) {
  const m = /^(.*)-s(\d+)$/.exec(d);
  if (!m) continue;
  const file = path.join(out, d, "report", "compare.json");
  if (!fs.existsSync(file)) { lines.push({ name: m[1], seed: +m[2], error: fs.readFileSync(path.join(out, d, "stderr.log"), "utf8").slice(-400) }); continue; }
  const c = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const r of c.rows) {
    // The sampler telemetry of the pretraining run (metrics.jsonl): median KL, max KL, entropy at the end.
    const metrics = path.join(out, d, "report", r.strategy, "pretrain", "metrics.jsonl");
    const tel = {};
    if (fs.existsSync(metrics)) {
      const ms = fs.readFileSync(metrics, "utf8").split("\n").filter(Boolean).map((x) => { try { return JSON.parse(x); } catch { return null; } }).filter(Boolean);
      const kl = ms.map((x) => x.kl).filter((v) => typeof v === "number").sort((a, b) => a - b);
      if (kl.length) Object.assign(tel, { klMedian: kl[kl.length >> 1], klMax: kl[kl.length - 1] });
      const tail = ms.slice(-Math.max(1, ms.length >> 3));
      const avg = (f) => { const v = tail.map(f).filter((x) => typeof x === "number"); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined; };
      Object.assign(tel, { entropyEnd: avg((x) => x.entropy), ppoEpochsEnd: avg((x) => x.ppo_epochs), lossEnd: avg((x) => x.loss), movingShare: avg((x) => x.moving_share), logged: ms.length });
    }
    lines.push({ name: m[1], seed: +m[2], ...r, ...tel });
  }
  if (c.scratch) lines.push({ name: m[1], seed: +m[2], strategy: "scratch", ...c.scratch });
}
// Flat copies (the device tool brings back shallow folders only).
for (const d of fs.readdirSync(out)) {
  const f = path.join(out, d, "report", "compare.json");
  if (fs.existsSync(f)) fs.copyFileSync(f, path.join(out, `${d}.compare.json`));
}
fs.writeFileSync(path.join(out, "sweep.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
const groups = new Map();
for (const l of lines) {
  if (l.error) { console.log(`${l.name} seed ${l.seed}: FAILED ${l.error}`); continue; }
  const key = `${l.name}/${l.strategy}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(l);
}
console.log("run/strategy | top-1 per seed | mean | masked-moving share | kl median | entropy end");
for (const [k, ls] of groups) {
  const t = ls.map((l) => l.top1 * 100);
  const mean = t.reduce((a, b) => a + b, 0) / t.length;
  const mms = ls.map((l) => (l.maskedMovingShare ?? NaN).toFixed(3)).join(" ");
  const f = (v, d) => (typeof v === "number" ? v.toFixed(d) : "-");
  console.log(`${k} | ${ls.map((l) => `s${l.seed} ${(l.top1 * 100).toFixed(1)}`).join(", ")} | ${mean.toFixed(1)} | ${mms} | ${ls.map((l) => f(l.klMedian, 4)).join(" ")} | ${ls.map((l) => f(l.entropyEnd, 3)).join(" ")}`);
}
' "$out"
