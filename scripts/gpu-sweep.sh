#!/usr/bin/env bash
# On the GPU machine: time candidate tile configurations at 4096^3 (feeds the
# built-in strategy table in python/tessel/compiler/cuda.py). Output in $OUT.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=/tmp/site:$PWD/build/dev/python_packages PYTHONUNBUFFERED=1
m="mma:block_m=128,block_n=128,block_k=32,warps_m=2,warps_n=2,stages=3"
m="$m;mma:block_m=128,block_n=128,block_k=32,warps_m=2,warps_n=2,stages=4"
m="$m;mma:block_m=128,block_n=128,block_k=64,warps_m=2,warps_n=2,stages=3"
m="$m;mma:block_m=128,block_n=256,block_k=32,warps_m=2,warps_n=4,stages=3"
m="$m;mma:block_m=256,block_n=128,block_k=32,warps_m=4,warps_n=2,stages=3"
m="$m;mma:block_m=128,block_n=256,block_k=64,warps_m=2,warps_n=4,stages=3"
m="$m;mma:block_m=256,block_n=128,block_k=64,warps_m=4,warps_n=2,stages=3"
m="$m;mma:block_m=128,block_n=256,block_k=32,warps_m=2,warps_n=4,stages=4"
m="$m;mma:block_m=64,block_n=128,block_k=32,warps_m=2,warps_n=2,stages=4"
python3 -m tessel.bench gemm --sweep "$m" --dtypes f16,bf16 --json "$OUT/sweep-mma.json"
f="regtile:;pipelined:;pipelined:block_k=16;regtile:block_k=16"
f="$f;pipelined:block_m=64,block_n=128,thread_m=8,thread_n=8"
f="$f;pipelined:block_m=128,block_n=64,thread_m=8,thread_n=8,block_k=16"
f="$f;pipelined:block_m=64,block_n=64,thread_m=4,thread_n=8,block_k=16"
python3 -m tessel.bench gemm --sweep "$f" --dtypes f32 --json "$OUT/sweep-simt.json"
