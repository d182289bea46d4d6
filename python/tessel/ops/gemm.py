"""tessel.gemm: D = alpha * op(A) @ op(B) + beta * C."""

from __future__ import annotations

from ._base import (FLOAT_DTYPES, Arg, OpDef, Signature, check_dim, check_dtype,
                    check_flag, check_float32, check_rank, check_size, dtype_name,
                    normalize_dtype, spec_of, Spec)


class Gemm(OpDef):
    name = "gemm"
    params = ("a", "b", "c")
    run_time_sizes = True

    def signature(self, a, b, c=None, *, alpha=1.0, beta=0.0, transpose_a=False,
                  transpose_b=False, out_dtype=None) -> Signature:
        sa, sb = spec_of("a", a), spec_of("b", b)
        check_rank("a", sa, (2, 3), "[M, K] or [batch, M, K]")
        rank = len(sa.shape)
        check_rank("b", sb, (rank,), "[K, N] or [batch, K, N] array matching 'a', a")
        check_dtype("a", sa, FLOAT_DTYPES)
        if sb.dtype != sa.dtype:
            raise ValueError(f"argument 'b': dtype {dtype_name(sb.dtype)} does not match "
                             f"'a' ({dtype_name(sa.dtype)})")
        transpose_a = check_flag("transpose_a", transpose_a)
        transpose_b = check_flag("transpose_b", transpose_b)
        m, k = sa.shape[-2:][::-1] if transpose_a else sa.shape[-2:]
        kb, n = sb.shape[-2:][::-1] if transpose_b else sb.shape[-2:]
        check_dim("contraction dimension K", "b", kb, "a", k)
        batch = sa.shape[:-2]
        if k is None or n is None:
            raise ValueError("arguments 'a', 'b': K and N must be static (run-time sizes are "
                             "taken for M and the batch only)")
        if m is None and (rank == 3 or transpose_a):
            raise ValueError("argument 'a': a run-time M must be the leading dimension "
                             "(unbatched, transpose_a=False)")
        if rank == 3:
            check_dim("batch size", "b", sb.shape[0], "a", sa.shape[0])
        odt = sa.dtype if out_dtype is None else normalize_dtype(out_dtype, "out_dtype")
        out = Spec((*batch, m, n), odt)
        check_dtype("out_dtype", out, FLOAT_DTYPES)
        check_size("out", out, "result")
        args = [Arg("a", sa, "in"), Arg("b", sb, "in")]
        if c is not None:
            sc = spec_of("c", c)
            check_dtype("c", sc, FLOAT_DTYPES)
            if sc.shape != out.shape:
                raise ValueError(f"argument 'c': shape {sc.shape} does not match the "
                                 f"result shape {out.shape}")
            args.append(Arg("c", sc, "in"))
        args.append(Arg("out", out, "out"))
        attrs = (("alpha", check_float32("alpha", alpha)), ("beta", check_float32("beta", beta)),
                 ("transpose_a", transpose_a), ("transpose_b", transpose_b))
        return Signature("gemm", tuple(args), attrs)

    def build(self, sig, v):
        from mlir import ir

        from ..dialects import tessel as T

        f32 = lambda x: ir.FloatAttr.get_f32(x)  # noqa: E731
        return [T.gemm(v["a"], v["b"], v["out"], c=v.get("c"), alpha=f32(sig.attr("alpha")),
                       beta=f32(sig.attr("beta")), transpose_a=sig.attr("transpose_a"),
                       transpose_b=sig.attr("transpose_b"))]


DOC = """D = alpha * op(a) @ op(b) + beta * c.

    gemm(a, b, c=None, *, alpha=1.0, beta=0.0, transpose_a=False, transpose_b=False,
         out_dtype=None, target="cpu")

a: [M, K] (or [K, M] with transpose_a), b: [K, N] (or [N, K] with transpose_b);
3-D operands carry a leading batch dimension. a and b share one dtype among
float16, bfloat16 (ml_dtypes) and float32; products accumulate in float32.
The result has out_dtype (default: a's dtype). c, if given, has the result's
shape and any of the three float dtypes. Returns a new array.
"""
