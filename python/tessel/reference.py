"""Plain numpy definitions of every tessel op, in float64: the oracle for the
tests, the benchmarks and the demo."""

from __future__ import annotations

import numpy as np


def _f64(x) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, transpose_a=False, transpose_b=False):
    a, b = _f64(a), _f64(b)
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    d = alpha * (a @ b)
    if c is not None and beta != 0:
        d = d + beta * _f64(c)
    return d


def flash_attention(q, k, v, *, causal=False, scale=None):
    """Returns (o, lse) in float64."""
    q, k, v = _f64(q), _f64(k), _f64(v)
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    group = hq // hkv
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    s = scale * np.einsum("bhid,bhjd->bhij", q, k)
    if causal:
        i = np.arange(sq)[:, None]
        j = np.arange(skv)[None, :]
        s = np.where(j <= i + (skv - sq), s, -np.inf)
    m = s.max(axis=-1, keepdims=True, initial=-np.inf)  # Skv = 0: no key, -inf
    visible = np.isfinite(m)
    m = np.where(visible, m, 0.0)
    p = np.exp(s - m)
    l = p.sum(axis=-1, keepdims=True)
    o = np.where(visible, np.einsum("bhij,bhjd->bhid", p, v) / np.where(visible, l, 1), 0.0)
    lse = np.where(visible, m + np.log(np.where(visible, l, 1)), -np.inf)[..., 0]
    return o, lse


def flash_attention_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, *, causal=False, scale=None):
    """Packed sequences ([total, H, D], cumulative offsets [B + 1]); returns
    (o [total_q, Hq, Dv], lse [Hq, total_q]) in float64. Rows past
    cu_seqlens_q[B], which the op does not write, are zero / -inf here."""
    q, k, v = _f64(q), _f64(k), _f64(v)
    cu_q, cu_k = np.asarray(cu_seqlens_q), np.asarray(cu_seqlens_k)
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    o = np.zeros(q.shape[:2] + v.shape[2:])
    lse = np.full((q.shape[1], q.shape[0]), -np.inf)
    for b in range(len(cu_q) - 1):
        q0, q1, k0, k1 = int(cu_q[b]), int(cu_q[b + 1]), int(cu_k[b]), int(cu_k[b + 1])
        if q1 == q0:
            continue
        # [S, H, D] -> [1, H, S, D]
        ob, lb = flash_attention(q[q0:q1].transpose(1, 0, 2)[None],
                                 k[k0:k1].transpose(1, 0, 2)[None],
                                 v[k0:k1].transpose(1, 0, 2)[None], causal=causal, scale=scale)
        o[q0:q1] = ob[0].transpose(1, 0, 2)
        lse[:, q0:q1] = lb[0]
    return o, lse


def gather_kv(cache, block_table, length):
    """The first `length` tokens of one sequence: [length, Hkv, D]."""
    bs = cache.shape[1]
    t = np.arange(length)
    return cache[block_table[t // bs], t % bs]


def paged_attention(q, key_cache, value_cache, block_tables, context_lens, *, scale=None):
    q = _f64(q)
    s_count, hq, d = q.shape
    out = np.zeros_like(q)
    for s in range(s_count):
        n = int(context_lens[s])
        if n == 0:
            continue
        k = _f64(gather_kv(key_cache, block_tables[s], n)).transpose(1, 0, 2)[None]
        v = _f64(gather_kv(value_cache, block_tables[s], n)).transpose(1, 0, 2)[None]
        o, _ = flash_attention(q[s][None, :, None, :], k, v, scale=scale)
        out[s] = o[0, :, 0, :]
    return out


def paged_kv_write(key, value, key_cache, value_cache, slot_mapping):
    """Returns updated copies of the caches."""
    kc, vc = key_cache.copy(), value_cache.copy()
    bs = kc.shape[1]
    for t, slot in enumerate(np.asarray(slot_mapping)):
        if slot < 0:
            continue
        kc[slot // bs, slot % bs] = key[t]
        vc[slot // bs, slot % bs] = value[t]
    return kc, vc


def copy_blocks(key_cache, value_cache, block_mapping):
    kc, vc = key_cache.copy(), value_cache.copy()
    for src, dst in np.asarray(block_mapping):
        kc[dst] = key_cache[src]
        vc[dst] = value_cache[src]
    return kc, vc
