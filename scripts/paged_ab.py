"""A/B of paged_attention decode builds: the automatic choice and a few v2
configurations on the bench's shapes, each checked against a torch
gather + softmax first, beside the same process's copy rate. Run it once per
build (PYTHONPATH) on the same machine and compare the "of copy" columns.
A tuning aid for the GPU machine, not a test: python scripts/paged_ab.py
[out.json]."""
import json
import sys

import torch

import tessel
from tessel.bench.paged import _decode_inputs, _time, copy_rate

SHAPES = [(64, 4096, 32, 1, 128, 16), (64, 4096, 32, 8, 128, 16), (16, 16384, 32, 8, 128, 16)]
if len(sys.argv) > 2 and sys.argv[2] == "mqa":
    SHAPES = SHAPES[:1]
# MQA: the default partition, and the partitions of a sequence as one
# thread-block cluster (no reduction kernel).
MQA_CONFIGS = [dict(partition_size=2048), dict(partition_size=2048, cluster=2),
               dict(partition_size=1024, cluster=4), dict(partition_size=512, cluster=8),
               dict(partition_size=1024, cluster=2)]
# GQA: v2 with and without the cluster that makes its partitions one kernel.
GQA_CONFIGS = {16384: [dict(partition_size=4096), dict(partition_size=4096, cluster=4),
                       dict(partition_size=2048, cluster=8)],
               4096: [dict(partition_size=2048, cluster=2)]}


def reference(a):
    q, kc, vc, bt, lens = (a[n] for n in ("q", "key_cache", "value_cache", "block_tables",
                                          "context_lens"))
    s, hq, d = q.shape
    bs, hkv = kc.shape[1], kc.shape[2]
    out = torch.empty_like(q, dtype=torch.float32)
    for i in range(0, s, max(1, s // 4)):  # a few sequences suffice
        n = int(lens[i])
        blocks = bt[i, : -(-n // bs)].long()
        k = kc[blocks].reshape(-1, hkv, d)[:n].float().repeat_interleave(hq // hkv, 1)
        v = vc[blocks].reshape(-1, hkv, d)[:n].float().repeat_interleave(hq // hkv, 1)
        p = torch.softmax(torch.einsum("hd,thd->ht", q[i].float(), k) / d ** 0.5, -1)
        out[i] = torch.einsum("ht,thd->hd", p, v)
    return out


copy = copy_rate()
rows = []
for shape in SHAPES:
    s, ctx, hq, hkv, d, bs = shape
    a = _decode_inputs(torch, s, ctx, hq, hkv, d, bs)
    nbytes = 2 * s * ctx * hkv * d * 2 + 2 * s * hq * d * 2
    want = reference(a)
    configs = MQA_CONFIGS if hkv == 1 else GQA_CONFIGS.get(ctx, [])
    variants = [("auto", {})] + [(f"v2 {c}", dict(strategy="v2", config=c)) for c in configs]
    for name, opts in variants:
        try:
            k = tessel.paged_attention.compile(*a.values(), target="cuda", **opts)
        except ValueError as err:  # a config key an older build lacks
            print(f"{name}: skipped ({err})")
            continue
        got = tessel.paged_attention(*a.values(), target="cuda", **opts).float()
        err = max((got[i] - want[i]).abs().max().item() for i in range(0, s, max(1, s // 4)))
        assert err < 1e-2, (shape, name, err)
        t = min(_time(lambda: k.run_validated(a)) for _ in range(3))
        rows.append(dict(shape=shape, variant=name, us=t * 1e6, of_copy=nbytes / t / 1e9 / copy))
        print(f"{s}x{ctx} {hq}/{hkv} bs{bs} {name}: {t * 1e6:7.1f} us "
              f"{rows[-1]['of_copy']:.3f} of copy", flush=True)
print(f"copy {copy:.0f} GB/s")
if len(sys.argv) > 1:
    json.dump(dict(device=torch.cuda.get_device_name(0), copy_gbs=copy, rows=rows),
              open(sys.argv[1], "w"), indent=1)
