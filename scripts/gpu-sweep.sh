#!/usr/bin/env bash
# On the GPU machine: time candidate tile configurations (feeds the built-in
# table in python/tessel/compiler/cuda.py). Output in $OUT.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=/tmp/site:$PWD/build/dev/python_packages PYTHONUNBUFFERED=1
big="mma:block_m=128,block_n=256,block_k=64,warps_m=2,warps_n=4,stages=3"
m="$big,group_m=1;$big,group_m=8;$big,group_m=16"
m="$m;mma:block_m=128,block_n=128,block_k=64,warps_m=2,warps_n=2,stages=3,group_m=8"
m="$m;mma:block_m=128,block_n=128,block_k=64,warps_m=2,warps_n=2,stages=4,group_m=8"
m="$m;mma:block_m=256,block_n=128,block_k=64,warps_m=4,warps_n=2,stages=3,group_m=8"
python3 -m tessel.bench gemm --sweep "$m" --dtypes f16 --sweep-size 4096 --json "$OUT/sweep-mma-4096.json"
python3 -m tessel.bench gemm --sweep "$m" --dtypes f16 --sweep-size 8192 --json "$OUT/sweep-mma-8192.json"
s="mma:block_m=128,block_n=128,block_k=32,warps_m=2,warps_n=2,stages=3"
s="$s;mma:block_m=64,block_n=128,block_k=32,warps_m=2,warps_n=2,stages=4"
s="$s;mma:block_m=64,block_n=64,block_k=64,warps_m=2,warps_n=2,stages=3"
s="$s;mma:block_m=128,block_n=128,block_k=64,warps_m=2,warps_n=2,stages=3"
for n in 1024 2048; do
  python3 -m tessel.bench gemm --sweep "$s" --dtypes f16 --sweep-size $n --json "$OUT/sweep-mma-$n.json"
done
f="pipelined:block_m=64,block_n=128;pipelined:block_m=64,block_n=64,thread_m=4,thread_n=8"
f="$f;pipelined:block_m=32,block_n=64,thread_m=4,thread_n=4"
for n in 1024 2048; do
  python3 -m tessel.bench gemm --sweep "$f" --dtypes f32 --sweep-size $n --json "$OUT/sweep-simt-$n.json"
done
