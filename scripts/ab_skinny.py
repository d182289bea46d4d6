"""A/B of wgmma_tma skinny tiles against the table on a few serving shapes (a tuning aid for the GPU machine)."""
import torch, tessel
from tessel.bench.__main__ import _time
def cfg(bm, bn, wg, s=1):
    return dict(block_m=bm, block_n=bn, block_k=64, warpgroups=wg, stages=4, group_m=8, split_k=s)
for m, n, k in ((128, 4096, 4096), (256, 4096, 4096), (256, 14336, 4096), (256, 4096, 14336), (512, 4096, 4096)):
    a = torch.randn(m, k, device="cuda", dtype=torch.float16); b = torch.randn(k, n, device="cuda", dtype=torch.float16)
    ks = {"table": tessel.gemm.compile(a, b, target="cuda"),
          "64x128": tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma", config=cfg(64, 128, 1)),
          "64x256": tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma", config=cfg(64, 256, 1)),
          "128x128": tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma", config=cfg(128, 128, 2))}
    res = {"torch": []}
    for _ in range(5):
        res["torch"].append(_time(lambda: torch.matmul(a, b), warmup=5, iters=50))
        for name, kk in ks.items():
            kk(a, b); res.setdefault(name, []).append(_time(lambda: kk(a, b), warmup=5, iters=50))
    tt = min(res["torch"])
    print(m, n, k, f"torch {tt*1e6:.1f}", "  ".join(f"{nm} {min(v)*1e6:.1f} ({tt/min(v):.2f})" for nm, v in res.items() if nm != "torch"),
          ks["table"].launch_metadata["config"], flush=True)
