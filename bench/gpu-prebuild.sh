#!/usr/bin/env bash
# The CUDA prebuild, end to end, on the GPU machine (one call):
#   1. build the addon from source against python3's torch (npm run build:native) and the TypeScript;
#   2. scripts/prebuild.js: prebuilds/<platform>/cuda<X.Y>-torch<M.m>/ with its manifest (verified by a
#      preloaded child load);
#   3. npm pack (prepack builds dist/), then npm ci --offline of that tarball into a fresh folder with
#      PATH = node, npm, npx, python3 and basic tools: no cmake, nvcc or g++ (the machine has no registry
#      and no npm cache, so the dependencies are packed from the carried node_modules by
#      bench/gpu-prebuild-app.mjs; tats itself installs from its tarball, its install script running);
#   4. tats info --json and tats bench (base 16x224, tube 0.9, batch 32) from the source build and from
#      the installed package, alternating, BENCH_REPEATS times each;
#   5. python3 off PATH too, TATS_LIBTORCH=<torch>/lib: tats info --json (and a bench) from the install.
# Writes JSON lines to $OUT/gpu-prebuild.jsonl (also printed), the infos, the manifest and the bench rows
# to $OUT, and every log inside $OUT/logs.tar.gz (at most 8 files come back from $OUT). Exits 1 if a
# required step fails; later steps are then skipped.
#
# Usage there, from the project root, with .gpu/ carried (see /work/shared/gpu/README.md; re-run
# shared/gpu/pack.sh after a dependency change: every production dependency must be in node_modules):
#   source .gpu/remote-env.sh && TATS_COMMIT=<sha> bash bench/gpu-prebuild.sh
# (the copy there has no .git: put the commit in the command on this side). A cold CUDA build takes a
# good part of a 600 s call; the build folder stays on the machine, so a second call with SKIP_BUILD=1
# has the time for every bench round.
# Knobs: SKIP_BUILD=1 (reuse build/Release/tats.node), EXPECT_FLAVOUR (cuda), BENCH_REPEATS (2),
#   BENCH_ARGS (the bench flags), CALL_LIMIT_S (560: later steps are skipped near it), KEEP_WORK=1.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
SECONDS=0
limit=${CALL_LIMIT_S:-560}
out=${OUT:-/tmp/tats-gpu-prebuild-out}
mkdir -p "$out"
jsonl="$out/gpu-prebuild.jsonl"
: > "$jsonl"
log() { echo "gpu-prebuild [$SECONDS s]: $*" >&2; }
left() { echo $((limit - SECONDS)); }

if ! command -v node > /dev/null && [ -f .gpu/remote-env.sh ]; then
  # shellcheck disable=SC1091
  source .gpu/remote-env.sh
fi
command -v node > /dev/null || { echo "gpu-prebuild: node is not on PATH (source .gpu/remote-env.sh first)" >&2; exit 1; }
export TATS_COMMIT=${TATS_COMMIT:-$(git rev-parse HEAD 2> /dev/null || echo unknown)}

# record <step> <true|false> [<JSON object of more fields>]: one line to $jsonl and stdout.
record() {
  node -e '
    const [step, ok, extra] = process.argv.slice(1);
    let more = {};
    try { more = JSON.parse(extra || "{}"); } catch { more = { raw: String(extra).slice(0, 2000) }; }
    console.log(JSON.stringify({ step, ok: ok === "true", t_s: Number(process.env.T_S), ...more }));
  ' "$1" "$2" "${3:-}" | tee -a "$jsonl"
}
# pick <file> <js expression over j>: a value from a JSON file (the whole file, else its last line that
# starts with "{"), printed as JSON (null when missing).
pick() {
  node -e '
    const fs = require("fs");
    let j = null;
    try {
      const t = fs.readFileSync(process.argv[1], "utf8").trim();
      try { j = JSON.parse(t); } catch { j = JSON.parse(t.split("\n").filter((l) => l.startsWith("{")).pop()); }
    } catch {}
    let v = null;
    try { v = j === null ? null : new Function("j", "return " + process.argv[2])(j); } catch {}
    console.log(JSON.stringify(v === undefined ? null : v));
  ' "$1" "$2"
}
fail() {
  T_S=$SECONDS record "$1" false "${2:-}"
  T_S=$SECONDS record summary false "{\"failed_at\":\"$1\"}"
  exit 1
}
export T_S=0
# At most 8 files come back from $OUT: on exit, everything but the results below travels in logs.tar.gz.
pack_out() {
  (cd "$out" && ls -A | grep -v -x -E 'gpu-prebuild.jsonl|bench.jsonl|manifest.json|info-source.json|info-installed.json|info-nopython.json|logs.tar.gz' |
    tar -czf logs.tar.gz -T - --remove-files 2> /dev/null)
}
trap pack_out EXIT

# ---- 0. the machine -------------------------------------------------------------------------------
torch_lib=${TORCH_LIB_DIR:-$(python3 -c 'import os,torch;print(os.path.join(os.path.dirname(torch.__file__),"lib"))' 2> /dev/null)}
torch_ver=$(python3 -c 'import torch;print(torch.__version__, torch.version.cuda, int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2> /dev/null || echo "? ? ?")
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2> /dev/null | head -1)
nvcc_v=$(nvcc --version 2> /dev/null | grep -o 'release [0-9.]*' | head -1)
T_S=$SECONDS record env true "$(node -e 'const [g,t,n,l,c]=process.argv.slice(1); const [tv,tc,abi]=t.split(" ");
  console.log(JSON.stringify({gpu:g, torch:tv, torch_cuda:tc, cxx11_abi:abi, nvcc:n, torch_lib:l, commit:c, node:process.version,
  date:new Date().toISOString()}))' "$gpu" "$torch_ver" "$nvcc_v" "$torch_lib" "$TATS_COMMIT")"
[ -n "$torch_lib" ] && [ -d "$torch_lib" ] || fail env '{"error":"no python3 torch (TORCH_LIB_DIR unset and python3 -c import torch failed)"}'

# ---- 1. source build ------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -f build/Release/tats.node ]; then
  log "npm run build:native (log: build.log)"
  t0=$SECONDS
  npm run build:native > "$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; fail build "{\"log\":\"build.log\"}"; }
  T_S=$SECONDS record build true "{\"seconds\":$((SECONDS - t0))}"
fi
npm run build:ts > "$out/build-ts.log" 2>&1 || { tail -20 "$out/build-ts.log" >&2; fail build-ts '{"log":"build-ts.log"}'; }
node dist/cli/tats.js info --json > "$out/info-source.json" 2> "$out/info-source.err" ||
  fail info-source "{\"stderr\":$(node -e 'console.log(JSON.stringify(require("fs").readFileSync(process.argv[1],"utf8").slice(-2000)))' "$out/info-source.err")}"
T_S=$SECONDS record info-source true "$(node -e '
  const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(JSON.stringify({ flavour: i.flavour, device: i.device, torch: i.torch, binary: i.binary, load: { kind: i.load.kind, why: i.load.why } }));
' "$out/info-source.json")"

# ---- 2. prebuild ----------------------------------------------------------------------------------
if ! node scripts/prebuild.js --json > "$out/prebuild.json" 2> "$out/prebuild.log"; then
  cat "$out/prebuild.log" >&2
  # The manifest is written before the test load: keep it (its needed libraries) for the diagnosis.
  for m in prebuilds/*/*/manifest.json; do [ -f "$m" ] && cp "$m" "$out/manifest-$(basename "$(dirname "$m")").json"; done
  fail prebuild '{"log":"prebuild.log"}'
fi
variant_dir=$(pick "$out/prebuild.json" 'j.dir' | tr -d '"')
variant=$(pick "$out/prebuild.json" 'j.variant' | tr -d '"')
cp "$variant_dir/manifest.json" "$out/manifest.json"
T_S=$SECONDS record prebuild true "$(cat "$out/prebuild.json")"
if [ "$(pick "$out/manifest.json" 'j.flavour' | tr -d '"')" != "${EXPECT_FLAVOUR:-cuda}" ]; then
  fail prebuild-flavour "{\"expected\":\"${EXPECT_FLAVOUR:-cuda}\",\"manifest\":\"manifest.json\"}"
fi

# ---- 3. pack, then install into a fresh folder without cmake, nvcc or g++ ---------------------------
work=$(mktemp -d /tmp/tats-gpu-prebuild.XXXXXX)
npm pack --json --pack-destination "$work" > "$work/pack.json" 2> "$out/pack.log" || { tail -20 "$out/pack.log" >&2; fail pack '{"log":"pack.log"}'; }
tgz="$work/$(node -e 'const t=require("fs").readFileSync(process.argv[1],"utf8"); console.log(JSON.parse(t.slice(t.indexOf("[")))[0].filename)' "$work/pack.json")"
node -e '
  const t = require("fs").readFileSync(process.argv[1], "utf8"); const p = JSON.parse(t.slice(t.indexOf("[")))[0];
  console.log(JSON.stringify({ file: p.filename, size: p.size, unpackedSize: p.unpackedSize, entries: p.entryCount,
    prebuilds: p.files.map((f) => f.path).filter((f) => f.startsWith("prebuilds/")) }));
' "$work/pack.json" > "$out/pack-summary.json"
T_S=$SECONDS record pack true "$(cat "$out/pack-summary.json")"
node bench/gpu-prebuild-app.mjs "$tgz" "$work/app" 2>> "$out/pack.log" || fail app '{"log":"pack.log"}'

# A user's PATH: node, npm, npx, python3 (a wrapper, so that a venv's python keeps its venv) and basic tools.
bin="$work/bin"
nopy="$work/bin-nopython"
mkdir -p "$bin" "$nopy"
for d in "$bin" "$nopy"; do
  ln -s "$(readlink -f "$(command -v node)")" "$d/node"
  ln -s "$(readlink -f "$(command -v npm)")" "$d/npm"
  ln -s "$(readlink -f "$(command -v npx)")" "$d/npx"
  for t in sh bash env chmod cat ls rm mkdir cp mv tar gzip grep sed uname dirname basename readlink nvidia-smi; do
    p=$(command -v "$t" 2> /dev/null) && ln -s "$p" "$d/$t"
  done
done
printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" > "$bin/python3"
chmod +x "$bin/python3"
for t in cmake nvcc g++ c++ cc gcc; do
  [ -e "$bin/$t" ] && fail user-path "{\"error\":\"$t is on the user PATH\"}"
done
# A fresh user's environment: nothing of this shell's but HOME, the GPU selection and the locale.
uenv() {
  local path=$1
  shift
  env -i HOME="$HOME" PATH="$path" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" TATS_CACHE_DIR="$work/loader-cache" \
    npm_config_cache="$work/npm-cache" npm_config_offline=true npm_config_update_notifier=false \
    ${CUDA_VISIBLE_DEVICES:+CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES} TATS_COMMIT="$TATS_COMMIT" ${UENV_EXTRA:-} "$@"
}
(cd "$work/app" && uenv "$bin" npm ci --offline --no-audit --no-fund --foreground-scripts) > "$out/install.log" 2>&1
rc=$?
used=$(grep -a -m1 '^tats: using' "$out/install.log" | cut -c1-400)
[ -d "$work/app/node_modules/tats/build" ] && built_dir=true || built_dir=false
T_S=$SECONDS record install "$([ $rc = 0 ] && echo true || echo false)" "$(node -e 'console.log(JSON.stringify({rc:+process.argv[1], line:process.argv[2], build_folder:process.argv[3]==="true", log:"install.log"}))' "$rc" "$used" "$built_dir")"
[ $rc = 0 ] || { tail -30 "$out/install.log" >&2; fail install-failed '{"log":"install.log"}'; }

installed_info() { # installed_info <name> <PATH> [VAR=value ...]
  local name=$1 path=$2
  shift 2
  (cd "$work/app" && uenv "$path" "$@" npx --offline tats info --json) > "$out/$name.json" 2> "$out/$name.err"
  local rc=$?
  T_S=$SECONDS record "$name" "$([ $rc = 0 ] && echo true || echo false)" "$(node -e '
    const fs = require("fs"); let i = null;
    try { i = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
    const err = fs.readFileSync(process.argv[2], "utf8").slice(-3000);
    console.log(JSON.stringify(i && !i.error ? { flavour: i.flavour, cuda: i.cuda, device: i.device, torch: i.torch, binary: i.binary,
      variant: i.load.variant, kind: i.load.kind, libtorch: i.load.libtorch, preloaded: i.load.preloaded.length, probe: i.load.probe, why: i.load.why }
      : { error: err }));
  ' "$out/$name.json" "$out/$name.err")"
  return $rc
}
if ! installed_info info-installed "$bin"; then
  # Diagnosis only: does it load with this shell's LD_LIBRARY_PATH (which a fresh user would not have)?
  [ -n "${LD_LIBRARY_PATH:-}" ] && UENV_EXTRA="LD_LIBRARY_PATH=$LD_LIBRARY_PATH" installed_info info-installed-with-ld-library-path "$bin"
  fail info-installed
fi
[ "$(pick "$out/info-installed.json" 'j.load.variant' | tr -d '"')" = "$variant" ] || fail info-installed-variant "{\"expected\":\"$variant\"}"

# ---- 4. bench: source build vs installed package, alternating ------------------------------------
bench_args=${BENCH_ARGS:---model base --frames 16 --size 224 --strategy tube --mask-ratio 0.9 --batch-size 32 --steps 10 --warmup 3 --skip-peak}
: > "$out/bench.jsonl"
# Both run in the same fresh environment (uenv), so that only the binary and how it was loaded differ.
bench_one() { # bench_one <label>
  local label=$1 line rc
  if [ "$label" = source ]; then
    # shellcheck disable=SC2086
    line=$(uenv "$bin" node dist/cli/tats.js bench --json $bench_args 2>> "$out/bench.err")
  else
    # shellcheck disable=SC2086
    line=$(cd "$work/app" && uenv "$bin" npx --offline tats bench --json $bench_args 2>> "$out/bench.err")
  fi
  rc=$?
  line=$(printf '%s\n' "$line" | grep '^{' | tail -1)
  [ -n "$line" ] || line='{}'
  node -e 'const [l, r] = process.argv.slice(1); const j = JSON.parse(r); console.log(JSON.stringify({ label: l, ...j }))' "$label" "$line" >> "$out/bench.jsonl"
  T_S=$SECONDS record "bench-$label" "$([ $rc = 0 ] && echo true || echo false)" "$(node -e '
    const j = JSON.parse(process.argv[1]);
    console.log(JSON.stringify({ clips_per_s: j.clips_per_s ?? null, step_ms: j.step_ms ?? null, peak_mem_gib: j.peak_mem_gib ?? null, device: j.device ?? null, torch: j.torch ?? null }));
  ' "$line")"
}
for r in $(seq 1 "${BENCH_REPEATS:-2}"); do
  [ "$(left)" -gt 90 ] || { log "time is short: bench round $r skipped"; break; }
  bench_one source
  bench_one installed
done
T_S=$SECONDS record bench-compare true "$(node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : null; };
  const of = (label) => rows.filter((r) => r.label === label && r.clips_per_s).map((r) => r.clips_per_s);
  const s = med(of("source")), i = med(of("installed"));
  const ratio = s && i ? i / s : null;
  console.log(JSON.stringify({ source_clips_per_s: of("source"), installed_clips_per_s: of("installed"), source_median: s, installed_median: i,
    installed_over_source: ratio, within_3pct: ratio === null ? null : Math.abs(ratio - 1) <= 0.03, args: process.argv[2] }));
' "$out/bench.jsonl" "$bench_args")"

# ---- 5. python3 hidden: TATS_LIBTORCH=<torch>/lib -------------------------------------------------
nopy_ok=false
# Its own verdict cache, so the child-process test load runs again under these conditions.
if installed_info info-nopython "$nopy" TATS_LIBTORCH="$torch_lib" TATS_CACHE_DIR="$work/loader-cache-nopython"; then
  v=$(pick "$out/info-nopython.json" 'j.load.variant' | tr -d '"')
  s=$(pick "$out/info-nopython.json" 'j.load.libtorch.source' | tr -d '"')
  [ "$v" = "$variant" ] && [ "$s" = env ] && nopy_ok=true
  if [ "$(left)" -gt 60 ]; then
    # shellcheck disable=SC2086
    line=$(cd "$work/app" && uenv "$nopy" TATS_LIBTORCH="$torch_lib" npx --offline tats bench --json $bench_args 2>> "$out/bench.err" | grep '^{' | tail -1)
    [ -n "$line" ] || line='{}'
    node -e 'console.log(JSON.stringify({ label: "installed-nopython", ...JSON.parse(process.argv[1]) }))' "$line" >> "$out/bench.jsonl"
    T_S=$SECONDS record bench-nopython "$([ "$line" != '{}' ] && echo true || echo false)" "$(node -e 'const j=JSON.parse(process.argv[1]); console.log(JSON.stringify({clips_per_s:j.clips_per_s??null}))' "$line")"
  fi
fi

# ---- summary ----------------------------------------------------------------------------------------
T_S=$SECONDS record summary "$nopy_ok" "$(node -e '
  const fs = require("fs"); const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const get = (s) => lines.find((l) => l.step === s) || {};
  const cmp = get("bench-compare"), inst = get("info-installed"), nopy = get("info-nopython");
  console.log(JSON.stringify({ variant: process.argv[2], installed_flavour: inst.flavour, installed_device: inst.device,
    installed_libtorch: inst.libtorch && inst.libtorch.dir, install_line: get("install").line, no_build_folder: get("install").build_folder === false,
    within_3pct: cmp.within_3pct, installed_over_source: cmp.installed_over_source,
    nopython_variant: nopy.variant, nopython_libtorch_source: nopy.libtorch && nopy.libtorch.source }));
' "$jsonl" "$variant")"
[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
log "done; $jsonl"
