"""Times wgmma_tma tiles x stages x split-K on the serving shapes and on
2048^3 / 4096^3 beside torch.matmul and the table's own pick, for choosing the
table (a tuning aid for the GPU machine, not a test):
python scripts/gemm_sweep.py [out.json]."""
import json
import sys

import torch

import tessel
from tessel.bench.__main__ import SERVING_M, SERVING_NK, _time

SMS = torch.cuda.get_device_properties(0).multi_processor_count
TILES = [(64, 128, 1, 4), (64, 256, 1, 4), (128, 128, 2, 4), (128, 256, 2, 3), (128, 256, 2, 4)]
SPLITS = (1, 2, 3, 4, 6, 8)


def configs(m, n, k):
    for bm, bn, wg, st in TILES:
        if bm == 64 and m > 128:
            continue
        tiles = -(-m // bm) * -(-n // bn)
        for s in SPLITS:
            if s > 1 and (k // 64 // s < 4 or tiles * s > 2 * SMS):
                continue
            yield dict(block_m=bm, block_n=bn, block_k=64, warpgroups=wg, stages=st, group_m=8,
                       split_k=s)


rows = []
shapes = [(m, n, k, "f16") for n, k in SERVING_NK for m in SERVING_M]
shapes += [(2048, 2048, 2048, dt) for dt in ("f16", "bf16")]
shapes += [(4096, 4096, 4096, dt) for dt in ("f16", "bf16")]
tdt = {"f16": torch.float16, "bf16": torch.bfloat16}
for m, n, k, dt in shapes:
    a = torch.randn(m, k, device="cuda", dtype=tdt[dt])
    b = torch.randn(k, n, device="cuda", dtype=tdt[dt])
    ref = (a.float() @ b.float())
    scale = float(ref.abs().max())
    it = 50 if m * n * k < 2 ** 34 else 20
    tt = _time(lambda: torch.matmul(a, b), warmup=10, iters=it)
    td = _time(lambda: tessel.gemm(a, b, target="cuda"), iters=it)
    best = None
    out = []
    for cfg in configs(m, n, k):
        try:
            got = tessel.gemm(a, b, target="cuda", strategy="wgmma_tma", config=cfg)
            err = float((got.float() - ref).abs().max()) / scale
            t = _time(lambda: tessel.gemm(a, b, target="cuda", strategy="wgmma_tma", config=cfg),
                      iters=it)
        except Exception as exc:
            print("  refused", cfg, str(exc).splitlines()[0], flush=True)
            continue
        out.append(dict(cfg, ratio=tt / t, err=err, us=t * 1e6))
        if best is None or t < best[0]:
            best = (t, cfg)
        if err > 2e-2:
            print("  BAD ERROR", cfg, err, flush=True)
    # A second torch timing: the spread between the two is the noise.
    tt2 = _time(lambda: torch.matmul(a, b), iters=it)
    row = dict(m=m, n=n, k=k, dtype=dt, torch_us=tt * 1e6, torch2_us=tt2 * 1e6,
               table_ratio=tt / td, best_ratio=tt / best[0], best=best[1], all=out)
    rows.append(row)
    print(f"{dt} M={m:5} N={n:6} K={k:5} torch {tt*1e6:8.1f}/{tt2*1e6:8.1f} us  table {tt/td:.3f}"
          f"  best {tt/best[0]:.3f} {best[1]}", flush=True)
json.dump(dict(device=torch.cuda.get_device_name(), sms=SMS, rows=rows),
          open(sys.argv[1] if len(sys.argv) > 1 else "gemm_sweep.json", "w"), indent=1)
