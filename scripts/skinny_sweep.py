"""Times small wgmma_tma tiles (64 x 64 and 64 x 128, deep rings, block-k
64/128) x split-K on the memory-bound serving products (M <= 128, a weight
matrix of 32-117 MB read once) beside torch.matmul and the table's pick (a
tuning aid for the GPU machine, not a test):
python scripts/skinny_sweep.py [out.json]."""
import json
import sys

import torch

import tessel
from tessel.bench.__main__ import _time
from tessel.runtime import driver

TILES = [(64, 64, 64, 4), (64, 64, 64, 6), (64, 64, 64, 8), (64, 64, 128, 4),
         (64, 128, 64, 4), (64, 128, 64, 6), (64, 128, 128, 3), (64, 256, 64, 4)]
SPLITS = (1, 2, 3, 4, 6, 8)
SMS = torch.cuda.get_device_properties(0).multi_processor_count
SHAPES = [(m, n, k) for n, k in ((14336, 4096), (4096, 14336)) for m in (1, 16, 64)]
SHAPES += [(128, 4096, 14336), (16, 4096, 4096), (64, 4096, 4096)]


def configs(m, n, k):
    for bm, bn, bk, st in TILES:
        tiles = -(-m // bm) * -(-n // bn)
        for s in SPLITS:
            if s > 1 and (k // bk // s < 4 or tiles * s > 4 * SMS):
                continue
            yield dict(block_m=bm, block_n=bn, block_k=bk, warpgroups=1, stages=st, group_m=8,
                       split_k=s)


rows = []
tdt = {"f16": torch.float16, "bf16": torch.bfloat16}
for dt in ("f16", "bf16"):
    for m, n, k in SHAPES:
        a = torch.randn(m, k, device="cuda", dtype=tdt[dt])
        b = torch.randn(k, n, device="cuda", dtype=tdt[dt])
        ref = a.float() @ b.float()
        scale = float(ref.abs().max())
        tt = _time(lambda: torch.matmul(a, b), warmup=10, iters=50)
        td = _time(lambda: tessel.gemm(a, b, target="cuda"), warmup=5, iters=50)
        table = tessel.gemm.compile(a, b, target="cuda").launch_metadata["config"]
        res = []
        for cfg in configs(m, n, k):
            try:
                got = tessel.gemm(a, b, target="cuda", strategy="wgmma_tma", config=cfg)
                err = float((got.float() - ref).abs().max()) / scale
                t = _time(lambda: tessel.gemm(a, b, target="cuda", strategy="wgmma_tma",
                                              config=cfg), warmup=3, iters=50)
            except Exception as exc:
                print("  refused", cfg, str(exc).splitlines()[0], flush=True)
                continue
            res.append(dict(cfg, us=t * 1e6, ratio=tt / t, err=err))
        res.sort(key=lambda r: r["us"])
        tt2 = _time(lambda: torch.matmul(a, b), warmup=3, iters=50)
        row = dict(dtype=dt, m=m, n=n, k=k, torch_us=tt * 1e6, torch_us_again=tt2 * 1e6,
                   table_us=td * 1e6, table_ratio=tt / td, table=table, best=res[:6],
                   gbps_best=(n * k * 2) / (res[0]["us"] * 1e-6) / 1e9 if res else None)
        rows.append(row)
        print(json.dumps({kk: v for kk, v in row.items() if kk != "best"}), flush=True)
        for r in res[:4]:
            print("   ", r, flush=True)
out = dict(device=driver.device_name(), torch=torch.__version__, rows=rows)
if len(sys.argv) > 1:
    json.dump(out, open(sys.argv[1], "w"), indent=1)
