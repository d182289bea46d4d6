"""A target for Nsight Compute: `ncu -k regex:tessel_gemm python3 scripts/profile_gemm.py
[strategy] [n] [dtype]` launches one GEMM a few times."""

import sys

import torch

import tessel

strategy = sys.argv[1] if len(sys.argv) > 1 else "mma"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
dtype = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[
    sys.argv[3] if len(sys.argv) > 3 else "f16"]
a = torch.randn(n, n, device="cuda", dtype=dtype)
b = torch.randn(n, n, device="cuda", dtype=dtype)
for _ in range(3):
    tessel.gemm(a, b, target="cuda", strategy=strategy)
torch.cuda.synchronize()
