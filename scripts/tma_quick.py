"""Quick 4096^3 / 8192^3 timing of the wgmma and wgmma_tma rungs against torch.matmul (a
tuning aid for the GPU machine, not a test)."""
import torch

import tessel
from tessel.bench.__main__ import _time

for n in (4096, 8192):
    for dt in (torch.float16, torch.bfloat16):
        a = torch.randn(n, n, device="cuda", dtype=dt)
        b = torch.randn(n, n, device="cuda", dtype=dt)
        ref = a.float() @ b.float()
        tt = _time(lambda: torch.matmul(a, b))
        line = f"{n} {dt}: torch {2 * n**3 / tt / 1e12:6.1f} TFLOP/s"
        for rung in ("wgmma", "wgmma_tma"):
            k = tessel.gemm.compile(a, b, target="cuda", strategy=rung)
            err = float((k(a, b).float() - ref).abs().max() / ref.abs().max())
            t = _time(lambda: k(a, b))
            line += f"  {rung} {2 * n**3 / t / 1e12:6.1f} ({tt / t:.3f}x, rel err {err:.1e})"
        print(line, flush=True)
