"""Host time per call of tessel.gemm (table, explicit config, split-K) and torch.matmul on a tiny product (a diagnosis aid for the GPU machine)."""
import time, torch, tessel
from tessel.bench.__main__ import _time
a = torch.randn(64, 256, device="cuda", dtype=torch.float16); b = torch.randn(256, 256, device="cuda", dtype=torch.float16)
cfg = dict(block_m=64, block_n=128, block_k=64, warpgroups=1, stages=4, group_m=8)
for name, fn in (("table", lambda: tessel.gemm(a, b, target="cuda")),
                 ("explicit", lambda: tessel.gemm(a, b, target="cuda", strategy="wgmma_tma", config=cfg)),
                 ("split2", lambda: tessel.gemm(a, b, target="cuda", strategy="wgmma_tma", config=dict(cfg, split_k=2))),
                 ("torch", lambda: torch.matmul(a, b))):
    for _ in range(20): fn()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(500): fn()
    host = (time.perf_counter() - t) / 500; torch.cuda.synchronize()
    print(f"{name}: host {host*1e6:.1f} us/call, timed {_time(fn, iters=200)*1e6:.1f} us", flush=True)
k = tessel.gemm._fast
print(len(k), [type(v).__name__ for v in k.values()])
