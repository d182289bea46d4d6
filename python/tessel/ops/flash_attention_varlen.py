"""tessel.flash_attention_varlen: flash_attention over a packed batch of
variable-length sequences (flash-attn's varlen form, for serving prefill)."""

from __future__ import annotations

import numpy as np

from ._base import (F32, FLOAT_DTYPES, I32, I64, Arg, OpDef, Signature, Spec, check_dim,
                    check_dtype, check_flag, check_length_bound, check_rank,
                    check_scale, check_score_range, spec_of)
from .flash_attention import check_head_shapes, check_same_dtype
from .paged import _host

PACKED = "[total_tokens, heads, head_dim]"


def _check_offsets(name: str, cu: np.ndarray, total: int, bound: int, bound_name: str,
                   packed: str) -> None:
    """cu[0] = 0, non-decreasing, cu[B] <= total, each length <= bound."""
    if int(cu[0]) != 0:
        raise ValueError(f"argument '{name}': entry [0] = {int(cu[0])}; the first offset must "
                         "be 0")
    lengths = np.diff(cu.astype(np.int64))
    bad = np.flatnonzero(lengths < 0)
    if bad.size:
        b = int(bad[0])
        raise ValueError(f"argument '{name}': entry [{b + 1}] = {int(cu[b + 1])} is below "
                         f"entry [{b}] = {int(cu[b])}; offsets must be non-decreasing")
    if int(cu[-1]) > total:
        raise ValueError(f"argument '{name}': the last offset {int(cu[-1])} is beyond the "
                         f"{total} packed rows of '{packed}'")
    bad = np.flatnonzero(lengths > bound)
    if bad.size:
        b = int(bad[0])
        raise ValueError(f"argument '{bound_name}': is {bound}, but sequence {b} of "
                         f"'{name}' has length {int(lengths[b])}")


class FlashAttentionVarlen(OpDef):
    name = "flash_attention_varlen"
    params = ("q", "k", "v", "cu_seqlens_q", "cu_seqlens_k", "max_seqlen_q", "max_seqlen_k")
    # On the GPU the packed lengths and the batch are run-time sizes, and so
    # are the length bounds (kernel arguments): one compile per head counts,
    # head dim, dtype and flags.
    run_time_sizes = True
    # The offsets are checked on the host (device arrays are read back);
    # callers holding validated host copies use kernel.run_validated.
    reads_index_data = True

    def signature(self, q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, *,
                  causal=False, scale=None, return_lse=False) -> Signature:
        sq, sk, sv = spec_of("q", q), spec_of("k", k), spec_of("v", v)
        cq, ck = spec_of("cu_seqlens_q", cu_seqlens_q), spec_of("cu_seqlens_k", cu_seqlens_k)
        for name, s in (("q", sq), ("k", sk), ("v", sv)):
            check_rank(name, s, (3,), PACKED)
        check_dtype("q", sq, FLOAT_DTYPES)
        check_same_dtype("k", sk, "q", sq)
        check_same_dtype("v", sv, "q", sq)
        for name, s in (("cu_seqlens_q", cq), ("cu_seqlens_k", ck)):
            check_rank(name, s, (1,), "[batch + 1]")
            check_dtype(name, s, (I32,))
            if s.shape[0] is not None and s.shape[0] < 2:
                raise ValueError(f"argument '{name}': has {s.shape[0]} offsets; it needs "
                                 "batch + 1 >= 2 (0, then the end of each sequence)")
        check_dim("number of offsets", "cu_seqlens_k", ck.shape[0], "cu_seqlens_q", cq.shape[0])
        (total_q, hq, d), (total_k, hkv, kd), (vk, hv, dv) = sq.shape, sk.shape, sv.shape
        check_dim("packed key length (dimension 0)", "v", vk, "k", total_k)
        check_dim("number of heads (dimension 1)", "v", hv, "k", hkv)
        check_head_shapes(hq, hkv, d, kd, dv, dim_label="head dimension (dimension 2)",
                          run_time="the packed lengths")
        for name, bound in (("max_seqlen_q", max_seqlen_q), ("max_seqlen_k", max_seqlen_k)):
            check_length_bound(name, bound)
        args = [Arg("q", sq, "in"), Arg("k", sk, "in"), Arg("v", sv, "in"),
                Arg("cu_seqlens_q", cq, "in"), Arg("cu_seqlens_k", ck, "in"),
                Arg("max_seqlen_q", Spec((), I64), "size"),
                Arg("max_seqlen_k", Spec((), I64), "size"),
                Arg("out", Spec((total_q, hq, dv), sq.dtype), "out")]
        return_lse = check_flag("return_lse", return_lse)
        if return_lse:
            args.append(Arg("lse", Spec((hq, total_q), F32), "out"))
        attrs = (("causal", check_flag("causal", causal)), ("scale", check_scale(scale, d)),
                 ("return_lse", return_lse))
        return Signature("flash_attention_varlen", tuple(args), attrs)

    def check_values(self, sig, arrays):
        """The offsets and bounds the kernels trust (device arrays are copied
        to the host: a synchronization; see kernel.run_validated)."""
        cu_q, cu_k = _host(arrays["cu_seqlens_q"]), _host(arrays["cu_seqlens_k"])
        total_q, total_k = int(arrays["q"].shape[0]), int(arrays["k"].shape[0])
        max_q = check_length_bound("max_seqlen_q", arrays["max_seqlen_q"])
        max_k = check_length_bound("max_seqlen_k", arrays["max_seqlen_k"])
        _check_offsets("cu_seqlens_q", cu_q, total_q, max_q, "max_seqlen_q", "q")
        _check_offsets("cu_seqlens_k", cu_k, total_k, max_k, "max_seqlen_k", "k")
        # Scores that could overflow float32 make their rows NaN (host arrays
        # only, as for flash_attention).
        check_score_range(sig.attr("scale"), arrays["q"], arrays["k"])

    def build(self, sig, v):
        from mlir import ir

        from ..dialects import tessel as T

        res = T.flash_attention_varlen(v["q"], v["k"], v["v"], v["cu_seqlens_q"],
                                       v["cu_seqlens_k"], v["max_seqlen_q"], v["max_seqlen_k"],
                                       v["out"], lse=v.get("lse"), causal=sig.attr("causal"),
                                       scale=ir.FloatAttr.get_f32(sig.attr("scale")))
        return list(res) if isinstance(res, tuple) else [res]


DOC = """Exact attention over a packed batch of variable-length sequences (flash-attn's
flash_attn_varlen_func).

    flash_attention_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, *,
                           causal=False, scale=None, return_lse=False, target="cpu",
                           strategy=None, config=None)

q: [total_q, Hq, D], k: [total_k, Hkv, D], v: [total_k, Hkv, Dv]; cu_seqlens_q and
cu_seqlens_k: int32 [B + 1], the cumulative lengths (cu[0] = 0, non-decreasing,
cu[B] <= total); max_seqlen_q / max_seqlen_k: ints bounding every sequence's
length. Sequence b is rows cu_seqlens_q[b]:cu_seqlens_q[b + 1] of q against rows
cu_seqlens_k[b]:cu_seqlens_k[b + 1] of k and v, with tessel.flash_attention's
semantics per sequence: GQA/MQA (query head h reads kv head h // (Hq // Hkv)),
causal bottom-right aligned per sequence (query i sees keys j <= i + Sk_b - Sq_b),
a row that sees no key gets zeros (and lse -inf), zero-length sequences give
nothing, scale defaults to 1/sqrt(D).

Returns o [total_q, Hq, Dv] in q's dtype, or (o, lse) with lse float32
[Hq, total_q] -- flash-attn's varlen LSE layout (heads first), not
flash_attention's [B, Hq, Sq]. Rows of o (and lse) past cu_seqlens_q[B] are not
written (zeros on target="cpu", unspecified on the GPU).

The offsets and bounds are checked before anything runs (device arrays are
copied to the host for it, which synchronizes). `kernel.run_validated(...)`
launches without the check, for callers that validated host copies: the
kernel then trusts them -- offsets outside the packed arrays read or write out
of bounds, and a sequence longer than max_seqlen_q has its queries past
ceil(max_seqlen_q / block_m) * block_m left unwritten.

target="cuda": FlashAttention-2 on mma.sync (strategy "mma"), f16/bf16, head dims
multiples of 16 up to 128 with Dv == D; config={"block_m", "block_n", "warps",
"stages"} as for flash_attention. The packed lengths, the batch and the bounds
are run-time values: one compile serves every batch composition.
"""
