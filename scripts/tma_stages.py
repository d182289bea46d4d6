"""A/B of wgmma_tma's large-class stages (3 against 4, 128 x 256 tiles) at
2048^3 / 4096^3 / 8192^3, interleaved in one process beside torch.matmul (a
tuning aid for the GPU machine, not a test)."""
import torch

import tessel
from tessel.bench.__main__ import _time

for n in (2048, 4096, 8192):
    for dt in (torch.float16, torch.bfloat16):
        a = torch.randn(n, n, device="cuda", dtype=dt)
        b = torch.randn(n, n, device="cuda", dtype=dt)
        ks = {st: tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma",
                                      config=dict(block_m=128, block_n=256, block_k=64,
                                                  warpgroups=2, stages=st, group_m=8))
              for st in (3, 4)}
        it = 100 if n == 2048 else 20
        best = {3: [], 4: [], "torch": []}
        for _ in range(5):
            best["torch"].append(_time(lambda: torch.matmul(a, b), warmup=5, iters=it))
            for st, k in ks.items():
                k(a, b)
                best[st].append(_time(lambda: k(a, b), warmup=5, iters=it))
        tt = min(best["torch"])
        print(f"{n} {dt}: torch {tt * 1e6:7.1f} us  " + "  ".join(
            f"st{st} {min(best[st]) * 1e6:7.1f} us ({tt / min(best[st]):.3f})" for st in (3, 4)),
            flush=True)
