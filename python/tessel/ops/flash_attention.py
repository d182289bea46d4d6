"""tessel.flash_attention: softmax(scale * Q K^T) V with GQA and causal masking."""

from __future__ import annotations

from mlir import ir

from ..dialects import tessel as T
from ._base import (F32, FLOAT_DTYPES, Arg, OpDef, Operation, Signature, Spec, check_dim,
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


class FlashAttention(OpDef):
    name = "flash_attention"
    params = ("q", "k", "v")

    def signature(self, q, k, v, *, causal=False, scale=None, return_lse=False) -> Signature:
        sq, sk, sv = spec_of("q", q), spec_of("k", k), spec_of("v", v)
        layout = "[batch, heads, seq, head_dim]"
        for name, s in (("q", sq), ("k", sk), ("v", sv)):
            check_rank(name, s, (4,), layout)
        check_dtype("q", sq, FLOAT_DTYPES)
        check_same_dtype("k", sk, "q", sq)
        check_same_dtype("v", sv, "q", sq)
        b, hq, lq, d = sq.shape
        check_dim("batch size", "k", sk.shape[0], "q", b)
        check_dim("batch size", "v", sv.shape[0], "q", b)
        check_dim("number of heads", "v", sv.shape[1], "k", sk.shape[1])
        check_dim("sequence length", "v", sv.shape[2], "k", sk.shape[2])
        check_heads("q", hq, "k", sk.shape[1])
        check_head_dim("q", d)
        check_dim("head dimension", "k", sk.shape[3], "q", d)
        check_head_dim("v", sv.shape[3])
        args = [Arg("q", sq, "in"), Arg("k", sk, "in"), Arg("v", sv, "in"),
                Arg("out", Spec((b, hq, lq, sv.shape[3]), sq.dtype), "out")]
        return_lse = check_flag("return_lse", return_lse)
        if return_lse:
            args.append(Arg("lse", Spec((b, hq, lq), F32), "out"))
        attrs = (("causal", check_flag("causal", causal)), ("scale", check_scale(scale, d)),
                 ("return_lse", return_lse))
        return Signature("flash_attention", tuple(args), attrs)

    def check_values(self, sig, arrays):
        # Scores that could overflow float32 would make their rows NaN: such a
        # call (a huge scale, or huge inputs) is refused (see check_score_range).
        check_score_range(sig.attr("scale"), arrays["q"], arrays["k"])

    def build(self, sig, v):
        res = T.flash_attention(v["q"], v["k"], v["v"], v["out"], lse=v.get("lse"),
                                causal=sig.attr("causal"),
                                scale=ir.FloatAttr.get_f32(sig.attr("scale")))
        return list(res) if isinstance(res, tuple) else [res]


flash_attention = Operation(FlashAttention(), """Exact attention, FlashAttention-2 semantics.

    flash_attention(q, k, v, *, causal=False, scale=None, return_lse=False, target="cpu")

q: [B, Hq, Sq, D], k: [B, Hkv, Skv, D], v: [B, Hkv, Skv, Dv]; Hkv divides Hq and
query head h reads kv head h // (Hq // Hkv) (GQA/MQA). causal masks bottom-right
aligned: query i sees keys j <= i + (Skv - Sq); a row that sees no key gets
zeros (and lse -inf). scale defaults to 1/sqrt(D). Head dims are multiples of
8 up to 256. Returns o [B, Hq, Sq, Dv] in q's dtype, or (o, lse) with lse
[B, Hq, Sq] float32 = log of each row's softmax denominator (natural log).
""")
