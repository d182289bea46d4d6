"""The paged KV-cache ops: paged_attention (decode), paged_kv_write, copy_blocks."""

from __future__ import annotations

import numpy as np

from ._base import (FLOAT_DTYPES, I32, I64, Arg, OpDef, Signature, Spec, check_block_size,
                    check_dim, check_dtype, check_head_dim, check_rank, check_scale,
                    check_score_range, spec_of)
from .flash_attention import check_heads, check_same_dtype

CACHE_LAYOUT = "[num_blocks, block_size, kv_heads, head_dim]"


def _check_caches(kc, vc):
    check_rank("key_cache", kc, (4,), CACHE_LAYOUT)
    check_rank("value_cache", vc, (4,), CACHE_LAYOUT)
    check_dtype("key_cache", kc, FLOAT_DTYPES)
    check_same_dtype("value_cache", vc, "key_cache", kc)
    if vc.shape != kc.shape:
        raise ValueError(f"argument 'value_cache': shape {vc.shape} does not match "
                         f"'key_cache' {kc.shape}")
    check_block_size("key_cache", kc.shape[1])
    check_head_dim("key_cache", kc.shape[3])


def _cache_blocks(sig, arrays) -> tuple[int, int]:
    """(num_blocks, block_size) of the call: num_blocks may be a run-time size
    of the signature (target="cuda" compiles)."""
    shape = tuple(getattr(arrays.get("key_cache"), "shape", ()) or ())
    if len(shape) == 4:
        return int(shape[0]), int(shape[1])
    return tuple(sig.arg("key_cache").spec.shape[:2])


def _host(x) -> np.ndarray:
    """Index arrays are inspected on the host before anything runs."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get"):  # cupy
        return x.get()
    if hasattr(x, "cpu"):  # torch
        return x.cpu().numpy()
    return np.asarray(x)


class PagedAttention(OpDef):
    name = "paged_attention"
    run_time_sizes = True  # sequences, blocks, tokens, pairs (target="cuda")
    reads_index_data = True
    params = ("q", "key_cache", "value_cache", "block_tables", "context_lens")

    def signature(self, q, key_cache, value_cache, block_tables, context_lens, *,
                  scale=None) -> Signature:
        sq, kc, vc = spec_of("q", q), spec_of("key_cache", key_cache), spec_of("value_cache", value_cache)
        bt, lens = spec_of("block_tables", block_tables), spec_of("context_lens", context_lens)
        check_rank("q", sq, (3,), "[num_seqs, heads, head_dim]")
        check_dtype("q", sq, FLOAT_DTYPES)
        _check_caches(kc, vc)
        check_same_dtype("key_cache", kc, "q", sq)
        s, hq, d = sq.shape
        check_dim("head dimension (dimension 3)", "key_cache", kc.shape[3], "q", d)
        check_heads("q", hq, "key_cache", kc.shape[2])
        check_rank("block_tables", bt, (2,), "[num_seqs, max_blocks]")
        check_dtype("block_tables", bt, (I32,))
        check_dim("number of sequences", "block_tables", bt.shape[0], "q", s)
        check_rank("context_lens", lens, (1,), "[num_seqs]")
        check_dtype("context_lens", lens, (I32,))
        check_dim("number of sequences", "context_lens", lens.shape[0], "q", s)
        args = (Arg("q", sq, "in"), Arg("key_cache", kc, "in"), Arg("value_cache", vc, "in"),
                Arg("block_tables", bt, "in"), Arg("context_lens", lens, "in"),
                Arg("out", Spec(sq.shape, sq.dtype), "out"))
        return Signature("paged_attention", args, (("scale", check_scale(scale, d)),))

    def check_values(self, sig, arrays):
        num_blocks, block_size = _cache_blocks(sig, arrays)
        tables, lens = _host(arrays["block_tables"]), _host(arrays["context_lens"])
        max_len = tables.shape[1] * block_size
        bad = np.flatnonzero((lens < 0) | (lens > max_len))
        if bad.size:
            s = int(bad[0])
            raise ValueError(f"argument 'context_lens': entry [{s}] = {int(lens[s])} is outside "
                             f"[0, {max_len}] (max_blocks {tables.shape[1]} x block_size {block_size})")
        used = np.arange(tables.shape[1])[None, :] < ((lens.astype(np.int64) + block_size - 1)
                                                      // block_size)[:, None]
        bad = np.argwhere(used & ((tables < 0) | (tables >= num_blocks)))
        if bad.size:
            s, j = (int(x) for x in bad[0])
            raise ValueError(f"argument 'block_tables': entry [{s}, {j}] = {int(tables[s, j])} "
                             f"is outside [0, {num_blocks}) (num_blocks of the caches)")
        # Only the blocks the contexts read can make a score overflow float32
        # (host arrays only: see check_score_range).
        if isinstance(arrays["key_cache"], np.ndarray):
            blocks = np.unique(tables[used])
            check_score_range(sig.attr("scale"), arrays["q"], arrays["key_cache"][blocks],
                              ("q", "key_cache"))

    def build(self, sig, v):
        from mlir import ir

        from ..dialects import tessel as T

        return [T.paged_attention(v["q"], v["key_cache"], v["value_cache"], v["block_tables"],
                                  v["context_lens"], v["out"],
                                  scale=ir.FloatAttr.get_f32(sig.attr("scale")))]


class PagedKVWrite(OpDef):
    name = "paged_kv_write"
    run_time_sizes = True  # sequences, blocks, tokens, pairs (target="cuda")
    reads_index_data = True
    params = ("key", "value", "key_cache", "value_cache", "slot_mapping")

    def signature(self, key, value, key_cache, value_cache, slot_mapping) -> Signature:
        sk, sv = spec_of("key", key), spec_of("value", value)
        kc, vc = spec_of("key_cache", key_cache), spec_of("value_cache", value_cache)
        slots = spec_of("slot_mapping", slot_mapping)
        _check_caches(kc, vc)
        for name, s in (("key", sk), ("value", sv)):
            check_rank(name, s, (3,), "[num_tokens, kv_heads, head_dim]")
            check_same_dtype(name, s, "key_cache", kc)
            check_dim("number of heads (dimension 1)", name, s.shape[1], "key_cache", kc.shape[2])
            check_dim("head dimension (dimension 2)", name, s.shape[2], "key_cache", kc.shape[3])
        check_dim("number of tokens", "value", sv.shape[0], "key", sk.shape[0])
        check_rank("slot_mapping", slots, (1,), "[num_tokens]")
        check_dtype("slot_mapping", slots, (I64,))
        check_dim("number of tokens", "slot_mapping", slots.shape[0], "key", sk.shape[0])
        args = (Arg("key", sk, "in"), Arg("value", sv, "in"), Arg("slot_mapping", slots, "in"),
                Arg("key_cache", kc, "inout"), Arg("value_cache", vc, "inout"))
        return Signature("paged_kv_write", args, ())

    def check_values(self, sig, arrays):
        num_blocks, block_size = _cache_blocks(sig, arrays)
        slots = _host(arrays["slot_mapping"])
        limit = num_blocks * block_size
        bad = np.flatnonzero(slots >= limit)
        if bad.size:
            t = int(bad[0])
            raise ValueError(f"argument 'slot_mapping': entry [{t}] = {int(slots[t])} is beyond "
                             f"the cache ({num_blocks} blocks x {block_size} slots = {limit})")
        valid = slots[slots >= 0]
        uniq, counts = np.unique(valid, return_counts=True)
        if (counts > 1).any():
            dup = int(uniq[counts > 1][0])
            where = np.flatnonzero(slots == dup)[:2].tolist()
            raise ValueError(f"argument 'slot_mapping': slot {dup} is written by tokens "
                             f"{where[0]} and {where[1]}; each slot may be written once")

    def build(self, sig, v):
        from ..dialects import tessel as T

        return list(T.paged_kv_write(v["key"], v["value"], v["slot_mapping"],
                                     v["key_cache"], v["value_cache"]))


class CopyBlocks(OpDef):
    name = "copy_blocks"
    run_time_sizes = True  # sequences, blocks, tokens, pairs (target="cuda")
    reads_index_data = True
    params = ("key_cache", "value_cache", "block_mapping")

    def signature(self, key_cache, value_cache, block_mapping) -> Signature:
        kc, vc = spec_of("key_cache", key_cache), spec_of("value_cache", value_cache)
        mapping = spec_of("block_mapping", block_mapping)
        _check_caches(kc, vc)
        check_rank("block_mapping", mapping, (2,), "[num_pairs, 2] of (src, dst)")
        check_dtype("block_mapping", mapping, (I64,))
        if mapping.shape[1] != 2:
            raise ValueError(f"argument 'block_mapping': expected shape [N, 2] of (src, dst) "
                             f"pairs, got {mapping.shape}")
        args = (Arg("block_mapping", mapping, "in"), Arg("key_cache", kc, "inout"),
                Arg("value_cache", vc, "inout"))
        return Signature("copy_blocks", args, ())

    def check_values(self, sig, arrays):
        num_blocks = _cache_blocks(sig, arrays)[0]
        mapping = _host(arrays["block_mapping"])
        bad = np.argwhere((mapping < 0) | (mapping >= num_blocks))
        if bad.size:
            p, j = (int(x) for x in bad[0])
            raise ValueError(f"argument 'block_mapping': entry [{p}, {j}] = {int(mapping[p, j])} "
                             f"is outside [0, {num_blocks}) (num_blocks of the caches)")
        # Pairs run in parallel on the GPU: the result must not depend on order.
        src, dst = mapping[:, 0], mapping[:, 1]
        uniq, counts = np.unique(dst, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"argument 'block_mapping': block {int(uniq[counts > 1][0])} is "
                             "the destination of more than one pair")
        both = np.intersect1d(src, dst)
        if both.size:
            raise ValueError(f"argument 'block_mapping': block {int(both[0])} is both a source "
                             "and a destination; split the copies into separate calls")

    def build(self, sig, v):
        from ..dialects import tessel as T

        return list(T.copy_blocks(v["block_mapping"], v["key_cache"], v["value_cache"]))


PAGED_ATTENTION_DOC = """Decode attention over a paged KV cache (vLLM).

    paged_attention(q, key_cache, value_cache, block_tables, context_lens, *, scale=None,
                    target="cpu")

q: [S, Hq, D]; caches: [num_blocks, block_size, Hkv, D] with block_size 8, 16
or 32; block_tables: [S, max_blocks] int32; context_lens: [S] int32. Token t of
sequence s is read from block block_tables[s, t // block_size] at offset
t % block_size. Only the block-table entries covering each context are read
(and checked). Returns o [S, Hq, D] in q's dtype; a zero-length context gives zeros.
"""

PAGED_KV_WRITE_DOC = """Write new keys/values into a paged cache (vLLM's reshape_and_cache).

    paged_kv_write(key, value, key_cache, value_cache, slot_mapping, *, target="cpu")

key, value: [T, Hkv, D]; slot_mapping: [T] int64, slot = block * block_size +
offset, negative = skip. Updates the caches in place (they must be writeable
and C-contiguous) and returns None. Nothing is written if validation fails.
"""

COPY_BLOCKS_DOC = """Copy whole cache blocks (copy-on-write).

    copy_blocks(key_cache, value_cache, block_mapping, *, target="cpu")

block_mapping: [N, 2] int64 of (src, dst) pairs. Destinations are distinct and
no block is both a source and a destination. Updates both caches in place.
"""
