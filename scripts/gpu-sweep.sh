#!/usr/bin/env bash
# On the GPU machine: time candidate tile configurations (feeds the built-in
# table in python/tessel/compiler/cuda.py). Output in $OUT.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=/tmp/site:$PWD/build/dev/python_packages PYTHONUNBUFFERED=1
sweep() {  # sweep NAME DTYPE SIZES CONFIG...
  local name=$1 dtype=$2 sizes=$3 spec
  shift 3
  spec=$(IFS=';'; echo "$*")
  for n in $sizes; do
    python3 -m tessel.bench gemm --sweep "$spec" --dtypes "$dtype" --sweep-size "$n" \
      --json "$OUT/sweep-$name-$n.json"
  done
}
mma() { echo "mma:block_m=$1,block_n=$2,block_k=$3,warps_m=$4,warps_n=$5,stages=$6${7:+,group_m=$7}"; }
# Large sizes: block shape, warps, stages, grouped rasterization.
sweep mma-large f16 "4096 8192" \
  "$(mma 128 256 64 2 4 3 1)" "$(mma 128 256 64 2 4 3 8)" "$(mma 128 256 64 2 4 3 16)" \
  "$(mma 128 128 64 2 2 3 8)" "$(mma 128 128 64 2 2 4 8)" "$(mma 256 128 64 4 2 3 8)" \
  "$(mma 128 128 64 2 2 2)" "$(mma 128 128 64 4 2 3)" "$(mma 128 128 32 4 2 4)" \
  "$(mma 128 128 64 2 4 3)" "$(mma 128 256 64 4 4 3)" "$(mma 256 128 64 4 4 3)" \
  "$(mma 256 128 32 4 2 4)" "$(mma 128 64 64 2 2 3)"
# Small sizes: more, smaller blocks.
sweep mma-small f16 "1024 2048" \
  "$(mma 128 128 32 2 2 3)" "$(mma 64 128 32 2 2 4)" "$(mma 64 64 64 2 2 3)" "$(mma 128 128 64 2 2 3)"
sweep simt f32 "1024 2048 4096" \
  "regtile:" "pipelined:" "pipelined:block_k=16" "regtile:block_k=16" \
  "pipelined:block_m=64,block_n=128" "pipelined:block_m=128,block_n=64,block_k=16" \
  "pipelined:block_m=64,block_n=64,thread_m=4,thread_n=8" \
  "pipelined:block_m=32,block_n=64,thread_m=4,thread_n=4"
