"""Runs one paged_attention decode configuration a few times (for ncu):
python scripts/paged_once.py [seqs ctx hq hkv d bs]."""
import sys

import torch

import tessel
from tessel.bench.paged import _decode_inputs

s, ctx, hq, hkv, d, bs = (int(x) for x in sys.argv[1:7]) if len(sys.argv) > 6 else \
    (64, 4096, 32, 1, 128, 16)
a = _decode_inputs(torch, s, ctx, hq, hkv, d, bs)
k = tessel.paged_attention.compile(*a.values(), target="cuda")
print(k.kernels if hasattr(k, "kernels") else "")
for _ in range(4):
    k.run_validated(a)
torch.cuda.synchronize()
