"""tessel.flash_attention: softmax(scale * Q K^T) V with GQA and causal masking."""

from __future__ import annotations

from ._base import (F32, FLOAT_DTYPES, Arg, OpDef, Signature, Spec, check_dim,
                    check_dtype, check_flag, check_head_dim, check_rank, check_scale,
                    check_score_range, dtype_name, spec_of)


def check_same_dtype(name, spec, ref_name, ref):
    if spec.dtype != ref.dtype:
        raise ValueError(f"argument '{name}': dtype {dtype_name(spec.dtype)} does not match "
                         f"'{ref_name}' ({dtype_name(ref.dtype)})")


def check_heads(q_name, hq, kv_name, hkv):
    if hkv <= 0 or hq % hkv:
        raise ValueError(f"argument '{kv_name}': {hkv} key/value heads do not divide the "
                         f"{hq} query heads of '{q_name}'")


def check_head_shapes(hq, hkv, d, kd, dv, *, dim_label: str, run_time: str) -> None:
    """Heads and head dimensions of q, k, v: static, GQA-divisible, D shared
    by q and k (`dim_label` names k's dimension; `run_time` says which sizes
    may be run-time ones instead)."""
    if hq is None or hkv is None or d is None or dv is None:
        raise ValueError("arguments 'q', 'k', 'v': heads and head dimensions must be static "
                         f"(run-time sizes are taken for {run_time})")
    check_heads("q", hq, "k", hkv)
    check_head_dim("q", d)
    check_dim(dim_label, "k", kd, "q", d)
    check_head_dim("v", dv)


LAYOUTS = {"bhsd": "[batch, heads, seq, head_dim]", "bshd": "[batch, seq, heads, head_dim]"}


def check_layout(layout) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"argument 'layout': expected 'bhsd' or 'bshd', got {layout!r}")
    return layout


class FlashAttention(OpDef):
    name = "flash_attention"
    params = ("q", "k", "v")
    # On the GPU, batch and sequence lengths may be run-time sizes.
    run_time_sizes = True

    def signature(self, q, k, v, *, causal=False, scale=None, return_lse=False,
                  layout="bhsd") -> Signature:
        layout = check_layout(layout)
        sq, sk, sv = spec_of("q", q), spec_of("k", k), spec_of("v", v)
        for name, s in (("q", sq), ("k", sk), ("v", sv)):
            check_rank(name, s, (4,), LAYOUTS[layout])
        check_dtype("q", sq, FLOAT_DTYPES)
        check_same_dtype("k", sk, "q", sq)
        check_same_dtype("v", sv, "q", sq)
        # (batch, heads, seq, head_dim) whatever the layout.
        bhsd = (lambda s: (s[0], s[2], s[1], s[3])) if layout == "bshd" else tuple
        (b, hq, lq, d), (kb, hkv, lk, kd), (vb, hv, lv, dv) = map(bhsd, (sq.shape, sk.shape,
                                                                        sv.shape))
        check_dim("batch size", "k", kb, "q", b)
        check_dim("batch size", "v", vb, "q", b)
        check_dim("number of heads", "v", hv, "k", hkv)
        check_dim("sequence length", "v", lv, "k", lk)
        check_head_shapes(hq, hkv, d, kd, dv, dim_label="head dimension",
                          run_time="the batch and sequence lengths")
        out = (b, lq, hq, dv) if layout == "bshd" else (b, hq, lq, dv)
        args = [Arg("q", sq, "in"), Arg("k", sk, "in"), Arg("v", sv, "in"),
                Arg("out", Spec(out, sq.dtype), "out")]
        return_lse = check_flag("return_lse", return_lse)
        if return_lse:
            args.append(Arg("lse", Spec((b, hq, lq), F32), "out"))
        attrs = (("causal", check_flag("causal", causal)), ("scale", check_scale(scale, d)),
                 ("return_lse", return_lse), ("layout", layout))
        return Signature("flash_attention", tuple(args), attrs)

    def check_values(self, sig, arrays):
        # Scores that could overflow float32 would make their rows NaN: such a
        # call (a huge scale, or huge inputs) is refused (see check_score_range).
        check_score_range(sig.attr("scale"), arrays["q"], arrays["k"])

    def build(self, sig, v):
        from mlir import ir

        from ..dialects import tessel as T

        layout = sig.attr("layout")
        res = T.flash_attention(v["q"], v["k"], v["v"], v["out"], lse=v.get("lse"),
                                causal=sig.attr("causal"),
                                scale=ir.FloatAttr.get_f32(sig.attr("scale")),
                                layout=ir.StringAttr.get(layout) if layout != "bhsd" else None)
        return list(res) if isinstance(res, tuple) else [res]


DOC = """Exact attention, FlashAttention-2 semantics.

    flash_attention(q, k, v, *, causal=False, scale=None, return_lse=False, layout="bhsd",
                    target="cpu", strategy=None, config=None)

q: [B, Hq, Sq, D], k: [B, Hkv, Skv, D], v: [B, Hkv, Skv, Dv] (layout "bhsd"), or
[B, S, H, D] each with layout="bshd" (flash-attn's layout; the output too); Hkv
divides Hq and query head h reads kv head h // (Hq // Hkv) (GQA/MQA). causal
masks bottom-right aligned: query i sees keys j <= i + (Skv - Sq); a row that
sees no key gets zeros (and lse -inf). scale defaults to 1/sqrt(D). Head dims
are multiples of 8 up to 256. Returns o in q's dtype and layout, or (o, lse)
with lse [B, Hq, Sq] float32 = log of each row's softmax denominator (natural
log).

target="cuda": FlashAttention-2 on mma.sync (strategy "mma"), f16/bf16, head
dims multiples of 16 up to 128 with Dv == D; config={"block_m", "block_n",
"warps", "stages"} overrides the built-in table. Batch and sequence lengths are
run-time sizes: one compile serves every length.
"""
