"""GPU timeline of repeated paged_attention decode calls (torch.profiler):
per-kernel durations and the gaps between kernels, plus the host time of a
call. A tuning aid for the GPU machine: python scripts/paged_trace.py out.json
[seqs ctx hq hkv d bs [options as JSON, e.g. '{"strategy": "v2", "config": {...}}']]."""
import json
import sys
import time

import torch

import tessel
from tessel.bench.paged import _decode_inputs

s, ctx, hq, hkv, d, bs = (int(x) for x in sys.argv[2:8]) if len(sys.argv) > 7 else \
    (64, 4096, 32, 1, 128, 16)
a = _decode_inputs(torch, s, ctx, hq, hkv, d, bs)
opts = json.loads(sys.argv[8]) if len(sys.argv) > 8 else {}
k = tessel.paged_attention.compile(*a.values(), target="cuda", **opts)
for _ in range(10):
    k.run_validated(a)
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(200):
    k.run_validated(a)
host = (time.perf_counter() - t0) / 200
torch.cuda.synchronize()
gpu = (time.perf_counter() - t0) / 200
CALLS = 30
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
    for _ in range(CALLS):
        k.run_validated(a)
    torch.cuda.synchronize()
ev = sorted((e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA),
            key=lambda e: e.time_range.start)
spans = [(e.name, e.time_range.start, e.time_range.end) for e in ev]
rows = []
for i, (n, st, en) in enumerate(spans):
    gap = st - spans[i - 1][2] if i else 0
    rows.append(dict(name=n, us=en - st, gap_before=gap))
tail = rows[10:]
names = sorted({r["name"] for r in tail})
summary = {n: dict(us=sum(r["us"] for r in tail if r["name"] == n) / sum(r["name"] == n for r in tail),
                   gap=sum(r["gap_before"] for r in tail if r["name"] == n) / sum(r["name"] == n for r in tail))
           for n in names}
# Launches per call from the trace: the reduction kernel of a clustered
# decode is skipped when one cluster covers the context.
launches = len(spans) / CALLS
per_call = (spans[-1][2] - spans[10][1]) / ((len(spans) - 10) / launches)
print(f"host {host * 1e6:.1f} us/call, wall {gpu * 1e6:.1f} us/call, GPU span {per_call:.1f} us/call")
for n, v in summary.items():
    print(f"  {n[:50]}: {v['us']:.2f} us, gap before {v['gap']:.2f} us")
json.dump(dict(host_us=host * 1e6, wall_us=gpu * 1e6, per_call_us=per_call, rows=rows),
          open(sys.argv[1], "w"), indent=1)
