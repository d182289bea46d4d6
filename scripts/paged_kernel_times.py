"""Per-kernel times of MQA decode configurations (64 x 4096, 32/1, D = 128,
block 16): the attention kernel and v2's reduction kernel timed apart from
CUPTI's records through torch.profiler (median of 50 calls each), next to the
call's time from CUDA events. A diagnostic for the GPU machine, not a test.

    python3 scripts/paged_kernel_times.py OUT.json"""
import json, sys, torch
import tessel
from torch.profiler import profile, ProfilerActivity
from tessel.bench.paged import _decode_inputs, copy_rate
from tessel.bench.__main__ import _time
copy = copy_rate()
s, ctx, hq, hkv, d, bs = 64, 4096, 32, 1, 128, 16
a = _decode_inputs(torch, s, ctx, hq, hkv, d, bs)
nbytes = 2 * s * ctx * hkv * d * 2 + 2 * s * hq * d * 2
C = [None, dict(partition_size=2048), dict(partition_size=1024), dict(partition_size=1024, stages=2),
     dict(partition_size=512), dict(partition_size=512, stages=2),
     dict(partition_size=512, warps=4, stages=4), dict(partition_size=512, warps=2, stages=6),
     dict(partition_size=512, warps=2, stages=8), dict(partition_size=1024, warps=2, stages=8),
     dict(partition_size=256, warps=2, stages=8), dict(partition_size=512, warps=4, stages=6),
     dict(partition_size=512, warps=4, rows_per_warp=32, stages=3)]
ks = {}
for c in C:
    try:
        ks[str(c)] = (tessel.paged_attention.compile(*a.values(), target="cuda") if c is None else
                      tessel.paged_attention.compile(*a.values(), target="cuda", strategy="v2", config=c))
    except Exception as e:
        print(c, "failed", e, flush=True)
want = ks["None"].run_validated(a).float()
rows = []
for n, k in ks.items():
    got = k.run_validated(a).float()
    diff = float((got - want).abs().max())
    for _ in range(20): k.run_validated(a)
    t = _time(lambda: k.run_validated(a), iters=50)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(50): k.run_validated(a)
        torch.cuda.synchronize()
    kern = {}
    evs = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA
           and "tessel" in e.name]
    evs.sort(key=lambda e: e.time_range.start)
    per = len(evs) // 50
    for j in range(per):
        ds = sorted((evs[i].time_range.end - evs[i].time_range.start) for i in range(j, len(evs), per))
        kern[f"k{j}"] = dict(count=len(ds), us=ds[len(ds) // 2])
    gaps = sorted(evs[i + 1].time_range.start - evs[i].time_range.end for i in range(len(evs) - 1))
    kern["gap"] = dict(count=len(gaps), us=gaps[len(gaps) // 2] if gaps else 0)
    if per == 2:
        g2 = sorted(evs[i + 1].time_range.start - evs[i].time_range.end for i in range(0, len(evs) - 1, 2))
        kern["gap_attn_to_red"] = dict(count=len(g2), us=g2[len(g2) // 2])
    print(f"{n:60s} {t*1e6:7.2f} us ({nbytes/t/1e9/copy:.3f})  diff {diff:.1e}  " +
          "  ".join(f"{kk[:40]}: {v['us']:.2f} x{v['count']}" for kk, v in kern.items()), flush=True)
    rows.append(dict(config=n, us=t*1e6, kernels=kern, diff=diff))
json.dump(dict(copy_gbs=copy, rows=rows), open(sys.argv[1], "w"), indent=1)
