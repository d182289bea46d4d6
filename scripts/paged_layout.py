"""How the cache layout bounds decode: MQA 64 x 4096 (D = 128) at block
sizes 16..128 with shuffled and in-order block tables, beside a torch gather
of the same blocks (index_select: the DRAM rate of that access pattern).
A tuning aid, not a test or the benchmark: python scripts/paged_layout.py"""
import json

import torch

import tessel
from tessel.bench.paged import _time, copy_rate

s, ctx, hq, hkv, d = 64, 4096, 32, 1, 128
copy = copy_rate()
rows = []
configs = [None, dict(strategy="v2", config=dict(warps=8, stages=3, partition_size=2048)),
           dict(strategy="v2", config=dict(warps=4, stages=3, partition_size=1024))]
for bs in (16, 32, 64, 128):
    per_seq = ctx // bs
    n = s * per_seq
    kc = torch.randn(n, bs, hkv, d, dtype=torch.float16, device="cuda")
    vc = torch.randn_like(kc)
    q = torch.randn(s, hq, d, dtype=torch.float16, device="cuda")
    lens = torch.full((s,), ctx, dtype=torch.int32, device="cuda")
    nbytes = 2 * kc.numel() * 2 + 2 * q.numel() * 2
    for order in ("shuffled", "in order"):
        perm = torch.randperm(n, device="cuda") if order == "shuffled" else \
            torch.arange(n, device="cuda")
        tables = perm.to(torch.int32).view(s, per_seq)
        a = dict(q=q, key_cache=kc, value_cache=vc, block_tables=tables, context_lens=lens)
        idx = perm.long()
        buf = torch.empty_like(kc)
        tg = _time(lambda: torch.index_select(kc, 0, idx, out=buf))
        row = dict(bs=bs, order=order, gather_of_copy=2 * kc.numel() * 2 / tg / 1e9 / copy)
        for i, opts in enumerate(configs):
            try:
                k = tessel.paged_attention.compile(*a.values(), target="cuda", **(opts or {}))
                t = _time(lambda: k.run_validated(a))
                row[f"cfg{i}"] = nbytes / t / 1e9 / copy
                row[f"cfg{i}_us"] = t * 1e6
            except Exception as exc:
                row[f"cfg{i}"] = str(exc).splitlines()[0][:120]
        rows.append(row)
        print(row, flush=True)
print(json.dumps(dict(copy_gbs=copy, configs=[str(c) for c in configs], rows=rows)))
