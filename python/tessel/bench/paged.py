"""python -m tessel.bench paged: GB/s of the paged KV-cache kernels next to
the device copy rate (torch copy of 1 GiB, read + write) measured in the same
process. Decode counts the K and V bytes of every context plus Q and O."""

from __future__ import annotations

# (sequences, context, Hq, Hkv, D, block_size)
DECODE = [(64, 4096, 32, 8, 128, 16), (16, 16384, 32, 8, 128, 16), (256, 1024, 32, 8, 128, 16),
          (8, 512, 32, 8, 128, 16),
          (64, 4096, 32, 1, 128, 16), (64, 4096, 32, 8, 128, 32)]


def _time(fn, warmup=3, iters=20):
    from .__main__ import _time as t

    return t(fn, warmup, iters)


def _rounds(kernels: dict, given: dict, rounds: int = 4, heat_s: float = 0.2,
            sync=None) -> dict:
    """Seconds per call of each compiled kernel over `rounds` interleaved
    rounds (forward, then backward order), after all of them have run. A
    kernel timed right after its own compile ran up to 10 % slower than the
    same kernel timed later in the process (H200, MQA decode: 46.7 against
    43.0 us), so no row is timed cold, and no row is always first."""
    import functools
    import time

    from .__main__ import _interleaved

    if sync is None:
        import torch

        sync = torch.cuda.synchronize
    start = time.perf_counter()
    while True:
        for k in kernels.values():
            k.run_validated(given)
        if time.perf_counter() - start >= heat_s:
            break
    sync()
    fns = {name: functools.partial(k.run_validated, given) for name, k in kernels.items()}
    return _interleaved(fns, rounds, _time)


def copy_rate() -> float:
    import torch

    x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    return 2 * x.numel() / _time(lambda: y.copy_(x)) / 1e9


def _decode_inputs(torch, s, ctx, hq, hkv, d, bs):
    per_seq = -(-ctx // bs)
    num_blocks = s * per_seq
    kc = torch.randn(num_blocks, bs, hkv, d, dtype=torch.float16, device="cuda")
    vc = torch.randn_like(kc)
    tables = torch.randperm(num_blocks, device="cuda").to(torch.int32).view(s, per_seq)
    lens = torch.full((s,), ctx, dtype=torch.int32, device="cuda")
    q = torch.randn(s, hq, d, dtype=torch.float16, device="cuda")
    return dict(q=q, key_cache=kc, value_cache=vc, block_tables=tables, context_lens=lens)


def bench_paged() -> dict:
    import torch

    import tessel
    from tessel.runtime import driver

    from . import fa4

    rows = []
    copy = copy_rate()
    print(f"device copy (torch, 1 GiB read + write): {copy:8.1f} GB/s", flush=True)
    for s, ctx, hq, hkv, d, bs in DECODE:
        a = _decode_inputs(torch, s, ctx, hq, hkv, d, bs)
        nbytes = 2 * s * ctx * hkv * d * 2 + 2 * s * hq * d * 2
        got = fa4.paged_decode(*(a[n] for n in ("q", "key_cache", "value_cache",
                                                "block_tables", "context_lens")), _time)
        tf, fa4_out = (None, None) if got is None else got
        fa4_gbs = None if tf is None else nbytes / tf / 1e9
        kernels = {}
        for strategy in (None, "v1", "v2"):
            opts = {} if strategy is None else dict(strategy=strategy)
            kernels[strategy] = tessel.paged_attention.compile(*a.values(), target="cuda", **opts)
        rounds = _rounds(kernels, a)
        for strategy, k in kernels.items():
            t = sorted(rounds[strategy])[len(rounds[strategy]) // 2]
            row = dict(op="paged_attention", seqs=s, context=ctx, hq=hq, hkv=hkv, d=d,
                       block_size=bs, strategy=k.recipe.strategy, forced=strategy is not None,
                       config=dict(k.recipe.config), us=t * 1e6,
                       us_rounds=[r * 1e6 for r in rounds[strategy]], gbs=nbytes / t / 1e9,
                       of_copy=nbytes / t / 1e9 / copy,
                       fa4_us=None if tf is None else tf * 1e6,
                       fa4_of_copy=None if tf is None else fa4_gbs / copy,
                       fa4_ratio=None if tf is None else tf / t)
            if fa4_out is not None:
                # Same problem on both sides: the outputs agree to f16 rounding.
                row["fa4_max_abs_diff"] = float((k.run_validated(a).float()
                                                 - fa4_out.float()).abs().max())
            if strategy is None:
                # The checked path reads the block tables and lengths back to
                # validate them: what a caller without tessel.kvcache pays.
                row["checked_us"] = _time(lambda: k.run_checked_call(a)) * 1e6
            rows.append(row)
            print(f"decode {s:>4} x {ctx:>5} Hq/Hkv {hq}/{hkv} bs {bs} {row['strategy']}"
                  f"{'' if strategy else ' (auto)'}: {row['us']:8.1f} us {row['gbs']:8.1f} GB/s"
                  f" ({row['of_copy']:.2f} of copy)"
                  + (f"  checked {row['checked_us']:.1f} us" if "checked_us" in row else "")
                  + ("" if tf is None else f"  fa4 {tf * 1e6:.1f} us ({row['fa4_ratio']:.2f}x)"),
                  flush=True)
        del a
    # paged_kv_write: a decode step's tokens to a large prefill's, 8 heads x
    # 128, into a cache of twice the tokens (one compile: tokens are run-time).
    hkv, d, bs = 8, 128, 16
    for t_count in (8192, 65536, 262144):
        kc = torch.zeros(2 * t_count // bs, bs, hkv, d, dtype=torch.float16, device="cuda")
        vc = torch.zeros_like(kc)
        key = torch.randn(t_count, hkv, d, dtype=torch.float16, device="cuda")
        val = torch.randn_like(key)
        slots = torch.randperm(2 * t_count, device="cuda")[:t_count].to(torch.int64)
        a = dict(key=key, value=val, key_cache=kc, value_cache=vc, slot_mapping=slots)
        k = tessel.paged_kv_write.compile(*a.values(), target="cuda")
        t = _time(lambda: k.run_validated(a))
        nbytes = 4 * key.numel() * 2 + slots.numel() * 8
        rows.append(dict(op="paged_kv_write", tokens=t_count, hkv=hkv, d=d, block_size=bs,
                         us=t * 1e6, gbs=nbytes / t / 1e9, of_copy=nbytes / t / 1e9 / copy))
        print(f"paged_kv_write {t_count} tokens: {t * 1e6:8.1f} us {nbytes / t / 1e9:8.1f} GB/s"
              f" ({nbytes / t / 1e9 / copy:.2f} of copy)", flush=True)
        del a, kc, vc, key, val
    # copy_blocks: 2048 disjoint pairs of 16 x 8 x 128 blocks.
    pairs = 2048
    kc = torch.randn(2 * pairs, bs, hkv, d, dtype=torch.float16, device="cuda")
    vc = torch.randn_like(kc)
    perm = torch.randperm(2 * pairs, device="cuda")
    mapping = torch.stack([perm[:pairs], perm[pairs:]], 1).to(torch.int64).contiguous()
    a = dict(key_cache=kc, value_cache=vc, block_mapping=mapping)
    k = tessel.copy_blocks.compile(*a.values(), target="cuda")
    t = _time(lambda: k.run_validated(a))
    nbytes = 2 * 2 * pairs * bs * hkv * d * 2
    rows.append(dict(op="copy_blocks", pairs=pairs, hkv=hkv, d=d, block_size=bs, us=t * 1e6,
                     gbs=nbytes / t / 1e9, of_copy=nbytes / t / 1e9 / copy))
    print(f"copy_blocks {pairs} pairs: {t * 1e6:8.1f} us {nbytes / t / 1e9:8.1f} GB/s", flush=True)
    return dict(device=driver.device_name(), torch=torch.__version__, copy_gbs=copy, rows=rows,
                fa4=fa4.available(), fa4_why_not=dict(fa4.why_not))
