#!/usr/bin/env bash
# The long TATS runs of issue 15 (docs/tats.md), side by side on one GPU, resumable across device calls
# on one warm machine (a run whose folder holds a checkpoint continues with --resume):
#   long-112-r0.9   tiny, 16x112, patch 16 (392 tokens), ratio 0.9, 5000 steps, batch 32
#   long-112-r0.95  the same at ratio 0.95
#   base-224-r0.9   base, 16x224, patch 16 (1568 tokens), ratio 0.9,  2000 steps, batch BASE_BATCH (16)
#   base-224-r0.95  the same at ratio 0.95
# Each pretrains on a packed synthetic set (rendering on the fly bounds the step on a shared host):
# WORK/shards-112 (1024 clips) and WORK/shards-224 (256 clips), made once.
# Usage there: source .gpu/remote-env.sh && WORK=runs/long DEADLINE_S=400 bash bench/tats-long.sh
# DEVICE (cuda). DEADLINE_S: SIGINT then (each run checkpoints the step it reached); LONG: which runs (default all four).
set -uo pipefail
cd "$(dirname "$0")/.."
work=${WORK:-runs/long}
mkdir -p "$work"
SECONDS=0
BASE_BATCH=${BASE_BATCH:-16}
LONG=${LONG:-long-112-r0.9 long-112-r0.95 base-224-r0.9 base-224-r0.95}
pack() { # pack SIZE COUNT
  [ -f "$work/shards-$1/index.json" ] && return 0
  node dist/cli/tats.js pack --dataset synthetic --count "$2" --seed 0 --frames 16 --size "$1" --out "$work/shards-$1" --json \
    > "$work/pack-$1.json" 2> "$work/pack-$1.err" || { echo "pack $1 failed: $(tail -c 400 "$work/pack-$1.err")" >&2; exit 1; }
}
start() { # start NAME ARGS...
  local name=$1 dir=$work/$1 resume=()
  shift
  ls "$dir"/checkpoints/step-* > /dev/null 2>&1 && resume=(--resume)
  ( exec env OMP_NUM_THREADS=2 node dist/cli/tats.js pretrain --strategy tats --device "${DEVICE:-cuda}" --seed 0 --checkpoint-every 250 \
      --log-every 25 --no-picture --json --out "$dir" "${resume[@]}" "$@" > "$work/$name.json" 2>> "$work/$name.err" ) &
}
for name in $LONG; do
  case $name in
    long-112-r0.9|long-112-r0.95) pack 112 1024; start "$name" --model tiny --frames 16 --size 112 --patch 16 --mask-ratio "${name##*-r}" --steps 5000 \
      --batch-size 32 --lr 1.5e-3 --dataset "shards:$work/shards-112" ;;
    base-224-r0.9|base-224-r0.95) pack 224 256; start "$name" --model base --frames 16 --size 224 --patch 16 --mask-ratio "${name##*-r}" \
      --steps 2000 --batch-size "$BASE_BATCH" --dataset "shards:$work/shards-224" ;;
    *) echo "tats-long: unknown run $name" >&2 ;;
  esac
done
while [ -n "$(jobs -rp)" ]; do
  if [ -n "${DEADLINE_S:-}" ] && [ "$SECONDS" -ge "$DEADLINE_S" ]; then
    echo "deadline ${DEADLINE_S}s: interrupting $(jobs -rp | wc -l) run(s)" >&2
    kill -INT $(jobs -rp) 2> /dev/null
    break
  fi
  sleep 2
done
wait
echo "long runs done at ${SECONDS}s" >&2
