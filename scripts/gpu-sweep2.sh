#!/usr/bin/env bash
# Second mma sweep: more warps per block (smaller warp tiles, fewer registers)
# and shallower pipelines.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=/tmp/site:$PWD/build/dev/python_packages PYTHONUNBUFFERED=1
m="mma:block_m=128,block_n=128,block_k=64,warps_m=2,warps_n=2,stages=2"
m="$m;mma:block_m=128,block_n=128,block_k=64,warps_m=4,warps_n=2,stages=3"
m="$m;mma:block_m=128,block_n=128,block_k=32,warps_m=4,warps_n=2,stages=4"
m="$m;mma:block_m=128,block_n=128,block_k=64,warps_m=2,warps_n=4,stages=3"
m="$m;mma:block_m=128,block_n=256,block_k=64,warps_m=4,warps_n=4,stages=3"
m="$m;mma:block_m=256,block_n=128,block_k=64,warps_m=4,warps_n=4,stages=3"
m="$m;mma:block_m=256,block_n=128,block_k=32,warps_m=4,warps_n=2,stages=4"
m="$m;mma:block_m=128,block_n=64,block_k=64,warps_m=2,warps_n=2,stages=3"
python3 -m tessel.bench gemm --sweep "$m" --dtypes f16 --sweep-size 4096 --json "$OUT/sweep2-4096.json"
python3 -m tessel.bench gemm --sweep "$m" --dtypes f16 --sweep-size 8192 --json "$OUT/sweep2-8192.json"
