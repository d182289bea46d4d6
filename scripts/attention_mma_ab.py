"""A/B of flash attention `mma` configurations (16 vs 32 query rows per
warp, key step, ring depth) and the wgmma rungs, interleaved in one process beside torch SDPA
with the FLASH_ATTENTION backend (FlashAttention-2), each checked against
SDPA first (a tuning aid for the GPU machine, not a test). Writes JSON to
argv[1] if given; argv[2]: the variants to run, comma-separated."""
import json
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import tessel
from tessel.bench.__main__ import _time

VARIANTS = {
    "w8_n64_s3": ("mma", dict(block_m=128, block_n=64, warps=8, stages=3)),
    "w8_n128_s2": ("mma", dict(block_m=128, block_n=128, warps=8, stages=2)),
    "w4_n64_s2": ("mma", dict(block_m=128, block_n=64, warps=4, stages=2)),
    "w4_n32_s2": ("mma", dict(block_m=128, block_n=32, warps=4, stages=2)),
    "w4_n32_s3": ("mma", dict(block_m=128, block_n=32, warps=4, stages=3)),
    "wgmma": ("wgmma", {}),
    "wgmma_tma": ("wgmma_tma", {}),
}
only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
TOKENS, HEADS = 32768, 16
rows = []
for d in (128, 64):
    for s in (4096, 16384):
        for dt in (torch.float16, torch.bfloat16):
            b = TOKENS // s
            q, k, v = (torch.randn(b, HEADS, s, d, device="cuda", dtype=dt) for _ in range(3))
            for causal in (False, True):
                def sdpa():
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        return torch.nn.functional.scaled_dot_product_attention(
                            q, k, v, is_causal=causal)
                want = sdpa().float()
                ks = {}
                for name, (strategy, cfg) in VARIANTS.items():
                    if only and name not in only:
                        continue
                    try:
                        ks[name] = tessel.flash_attention.compile(
                            q, k, v, causal=causal, target="cuda", strategy=strategy,
                            config=cfg or None)
                    except ValueError as exc:
                        print(f"{name}: rejected: {str(exc)[:160]}")
                        continue
                    err = (ks[name](q, k, v).float() - want).abs().max().item()
                    assert err < 2e-2, (name, d, s, causal, err)
                flops = 4 * b * HEADS * s * s * d / (2 if causal else 1)
                best = {n: [] for n in ["flash", *ks]}
                for _ in range(3):
                    best["flash"].append(_time(sdpa, warmup=2, iters=10))
                    for name, kern in ks.items():
                        best[name].append(_time(lambda: kern(q, k, v), warmup=2, iters=10))
                tf = min(best["flash"])
                row = dict(head_dim=d, seq=s, batch=b, causal=causal,
                           dtype=str(dt).split(".")[-1], flash_tflops=flops / tf / 1e12,
                           **{f"{n}_tflops": flops / min(t) / 1e12 for n, t in best.items()
                              if n != "flash"},
                           **{f"{n}_ratio": tf / min(t) for n, t in best.items() if n != "flash"})
                rows.append(row)
                print(f"D={d} S={s} {row['dtype']} causal={causal}: flash "
                      f"{row['flash_tflops']:6.1f} TF " + " ".join(
                          f"{n} {row[n + '_tflops']:6.1f} ({row[n + '_ratio']:.3f})" for n in ks),
                      flush=True)
out = dict(device=torch.cuda.get_device_name(0), rows=rows)
if len(sys.argv) > 1:
    json.dump(out, open(sys.argv[1], "w"), indent=1)
