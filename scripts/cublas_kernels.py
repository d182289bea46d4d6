"""The cuBLAS kernels torch.matmul runs at the square sizes (their names
carry the tile, cluster and schedule): what our table is measured against."""
import torch
from torch.profiler import ProfilerActivity, profile

for dt in (torch.float16, torch.bfloat16):
    for n in (2048, 4096, 8192):
        a = torch.randn(n, n, device="cuda", dtype=dt)
        torch.matmul(a, a)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as p:
            torch.matmul(a, a)
            torch.cuda.synchronize()
        names = {e.name for e in p.events() if e.device_type.name == "CUDA"}
        print(f"{str(dt).split('.')[-1]} {n}: {sorted(names)}", flush=True)
