"""A/B of wgmma_tma with and without clusters of 2 tile rows sharing B by
TMA multicast, interleaved in one process beside torch.matmul (cuBLAS), with
and without the persistent walk (a tuning aid for the GPU machine, not a
test). Writes JSON to argv[1] if given; argv[2]: the variants to
run, comma-separated."""
import json
import sys

import torch

import tessel
from tessel.bench.__main__ import _time

SMS = torch.cuda.get_device_properties(0).multi_processor_count
BASE = dict(block_m=128, block_n=256, block_k=64, warpgroups=2, stages=4, group_m=8)
P3 = dict(BASE, stages=3, persistent=SMS)
VARIANTS = {
    "tiles": BASE,
    "tiles_c2": dict(BASE, cluster=2),
    "persistent": P3,
    "persistent_c2": dict(P3, cluster=2),
    "p128_s5": dict(BASE, block_n=128, stages=5, persistent=SMS),
    "p128_s5_c2": dict(BASE, block_n=128, stages=5, persistent=SMS, cluster=2),
    "t128_s6": dict(BASE, block_n=128, stages=6),
    "t128_s6_c2": dict(BASE, block_n=128, stages=6, cluster=2),
}
SHAPES = [(n, n, n) for n in (2048, 4096, 8192)] + [
    (512, 14336, 4096), (2048, 14336, 4096), (256, 128256, 4096)]
only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
rows = []
for m, n, k in SHAPES:
    for dt in (torch.float16, torch.bfloat16):
        a = torch.randn(m, k, device="cuda", dtype=dt)
        b = torch.randn(k, n, device="cuda", dtype=dt) / k ** 0.5
        want = torch.matmul(a, b).float()
        ks = {}
        for name, cfg in VARIANTS.items():
            if only and name not in only:
                continue
            ks[name] = tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma", config=cfg)
            err = (ks[name](a, b).float() - want).abs().max().item()
            assert err < 5e-2, (name, m, n, k, err)
        flops = 2 * m * n * k
        it = max(5, min(200, int(2e12 / flops)))
        best = {name: [] for name in ["torch", *ks]}
        for _ in range(5):
            best["torch"].append(_time(lambda: torch.matmul(a, b), warmup=3, iters=it))
            for name, kern in ks.items():
                best[name].append(_time(lambda: kern(a, b), warmup=3, iters=it))
        tt = min(best["torch"])
        row = dict(m=m, n=n, k=k, dtype=str(dt).split(".")[-1], torch_us=tt * 1e6,
                   **{f"{name}_us": min(v) * 1e6 for name, v in best.items() if name != "torch"},
                   **{f"{name}_ratio": tt / min(v) for name, v in best.items() if name != "torch"})
        rows.append(row)
        print(f"{m}x{n}x{k} {row['dtype']}: torch {tt * 1e6:8.1f} us " + " ".join(
            f"{name} {row[name + '_ratio']:.3f}" for name in ks), flush=True)
out = dict(device=torch.cuda.get_device_name(0), sms=SMS, rows=rows)
if len(sys.argv) > 1:
    json.dump(out, open(sys.argv[1], "w"), indent=1)
