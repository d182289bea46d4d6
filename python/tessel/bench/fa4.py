"""FlashAttention-4 (`flash_attn.cute`, CuTe DSL) as a same-run reference,
where it is staged (../shared/device/stage-fa4.sh). Every entry point returns
None, with the reason in `why_not`, when FA4 is missing or refuses a shape, so
the benchmarks run the same with or without it."""

from __future__ import annotations

why_not: dict[str, str] = {}


def _module():
    try:
        from flash_attn import cute
    except Exception as exc:  # not staged: ImportError, or a broken CuTe DSL install
        why_not.setdefault("import", f"{type(exc).__name__}: {exc}")
        return None
    return cute


def available() -> bool:
    return _module() is not None


def attention(q, k, v, causal: bool, time):
    """Seconds per call of FA4's forward on BHSD tensors q, k, v (FA4 takes
    [B, S, H, D]: the transposed views are made once, outside the timing)."""
    cute = _module()
    if cute is None:
        return None
    qs, ks, vs = (x.transpose(1, 2).contiguous() for x in (q, k, v))
    try:
        return time(lambda: cute.flash_attn_func(qs, ks, vs, causal=causal))
    except Exception as exc:  # a shape or dtype FA4 does not take
        why_not[f"attention D={q.shape[-1]} causal={causal}"] = f"{type(exc).__name__}: {exc}"
        return None


def paged_decode(q, key_cache, value_cache, block_tables, context_lens, time):
    """(seconds per call, output [S, Hq, D]) of FA4's paged decode (one query
    token per sequence, GQA packed) on the same caches and tables as
    tessel.paged_attention."""
    cute = _module()
    if cute is None:
        return None
    q4 = q.unsqueeze(1)  # [S, 1, Hq, D]
    run = lambda: cute.flash_attn_varlen_func(  # noqa: E731
        q4, key_cache, value_cache, page_table=block_tables, seqused_k=context_lens,
        pack_gqa=True)
    try:
        out = run()
        out = out[0] if isinstance(out, (tuple, list)) else out
        return time(run), out.reshape(q.shape)
    except Exception as exc:
        why_not[f"paged Hq={q.shape[1]} Hkv={key_cache.shape[2]}"] = \
            f"{type(exc).__name__}: {exc}"
        return None
