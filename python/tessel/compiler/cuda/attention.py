"""tessel.flash_attention's GPU recipe: FlashAttention-2 on mma.sync or the
sm_90a warpgroup rung on wgmma, tiles from a built-in table by strategy, head
dimension and dtype (or as the caller asks);
batch and sequence lengths become run-time sizes, so one compile serves every
length."""

from __future__ import annotations

from ...signature import Arg, Signature, Spec, dtype_name
from .recipe import Recipe, check_config, check_strategy
from .recipe import annotate as annotate_ops

STRATEGIES = ("mma", "wgmma", "wgmma_tma")
# The bounds #tessel.attention_config verifies (TesselDialect.cpp), checked
# first here so that a bad value is named as the caller's argument.
CONFIG_LIMITS = dict(block_m=1 << 14, block_n=1 << 14, warps=32, stages=32)
# (head_dim, dtype) -> tiles, the lowering's defaults (Attention/Config.cpp),
# which also apply to head dims not listed: FlashAttention-2's 32 query rows
# per warp (4 warps), Q re-read from shared memory, 2 stages (two blocks an
# SM), 64 keys a step (FlashAttention-2's 128 x 64 tile). Measured on the
# H200 (scripts/attention_mma_ab.py, docs/benchmarks.md, 2026-12-03): 1.00-1.07x
# SDPA-flash at D = 128, against 0.92-0.99x with 32-key steps. ptxas (sm_90a):
# 236-255 registers, 0 spills.
TABLE = {
    (64, "f16"): dict(block_m=128, block_n=64, warps=4, stages=2),
    (64, "bf16"): dict(block_m=128, block_n=64, warps=4, stages=2),
    (128, "f16"): dict(block_m=128, block_n=64, warps=4, stages=2),
    (128, "bf16"): dict(block_m=128, block_n=64, warps=4, stages=2),
    # Larger heads: 16 rows a warp (O alone is D / 2 registers), Q re-read.
    **{(d, dt): dict(block_m=128, block_n=32, warps=8, stages=2)
       for d in (192, 256) for dt in ("f16", "bf16")},
}
# The packed (varlen) kernel: at D = 128 the 32-row layout spills there (its
# loaded offsets take registers too), so it keeps 8 warps of 16 rows with Q
# in registers, 3 stages (0 spills); the same as the lowering's defaults.
VARLEN_TABLE = {**TABLE, **{(128, dt): dict(block_m=128, block_n=64, warps=8, stages=3)
                            for dt in ("f16", "bf16")}}
# The wgmma rung (sm_90a): two warpgroups of 64 query rows; Q stays in
# shared memory, so 128-key steps fit up to D = 128. 2 stages: the plain
# schedule measured faster on the H200 than the overlapped one (stages >= 3,
# FlashWgmma.cpp): D = 128 bf16, B S = 32768, 16 heads, S 4096 / 16384:
# 481 / 469 TFLOP/s against 424 / 437 (not causal), 449 / 537 against
# 385 / 457 (causal). The same as the lowering's defaults.
WGMMA_TABLE = {
    (d, dt): dict(block_m=128, block_n=128 if d <= 128 else 64, warps=8, stages=2)
    for d in (64, 128, 192, 256) for dt in ("f16", "bf16")
}
# wgmma_tma: the same tiles, K/V (and Q) brought by a TMA producer
# warpgroup through an mbarrier ring (FlashWgmma.cpp).
# The strategy when the caller names none, by (head_dim, dtype), causal or
# not, from the H200 A/B of 2026-12-03 (scripts/attention_mma_ab.py, S 4096 and
# 16384, both dtypes; docs/benchmarks.md): wgmma_tma, with and without a
# mask. D 128: 1.49-1.61x SDPA-flash without one, against wgmma's
# 1.32-1.41x; causal 1.50-1.66x against 1.37-1.52x, since its softmax skips
# O's rescale on most tiles. D 64: 1.22-1.34x against 1.13-1.30x. mma
# elsewhere.
DEFAULT_STRATEGY = {(d, dt): "wgmma_tma" for d in (64, 128) for dt in ("f16", "bf16")}


def check_options(options: dict) -> tuple[str | None, dict]:
    return check_strategy(options, STRATEGIES), check_config(options, CONFIG_LIMITS)


def recipe(sig: Signature, options: dict, hint=None, strategies=STRATEGIES,
           mma_table=None) -> Recipe:
    strategy, config = check_strategy(options, strategies), check_config(options, CONFIG_LIMITS)
    q = sig.arg("q").spec
    dtype = dtype_name(q.dtype)
    if dtype not in ("f16", "bf16"):
        raise ValueError(f"argument 'q': tessel.{sig.op} on target='cuda' needs f16 or "
                         f"bf16 inputs, got {dtype}; use target='cpu'")
    d, dv = q.shape[-1], sig.arg("v").spec.shape[-1]
    default = (DEFAULT_STRATEGY.get((d, dtype), "mma") if "wgmma" in strategies
               else "mma")
    strategy = strategy or default
    if strategy == "mma" and d % 16:
        raise ValueError(f"argument 'q': head dimension {d} is not supported on target='cuda' "
                         "(strategy 'mma' takes multiples of 16); use target='cpu'")
    if strategy in ("wgmma", "wgmma_tma") and (d % 64 or d > 256):
        raise ValueError(f"argument 'q': head dimension {d} is not supported by strategy "
                         f"'{strategy}' (64, 128, 192 or 256); use strategy='mma' or "
                         "target='cpu'")
    if dv != d:
        raise ValueError(f"argument 'v': head dimension {dv} differs from q's ({d}); "
                         "target='cuda' needs them equal; use target='cpu'")
    table = WGMMA_TABLE if strategy in ("wgmma", "wgmma_tma") else (mma_table or TABLE)
    config = {**table.get((d, dtype), {}), **config}
    return Recipe(strategy, tuple(sorted(config.items())), "any", "attention_config")


def generalize(sig: Signature, options: dict | None = None) -> tuple[Signature, None]:
    """The signature with the batch and the sequence lengths as run-time
    sizes (heads and head dims stay static)."""
    seq = 1 if sig.attr("layout") == "bshd" else 2

    def dyn(arg: Arg) -> Arg:
        shape = list(arg.spec.shape)
        shape[0] = None
        shape[2 if arg.name == "lse" else seq] = None
        return Arg(arg.name, Spec(tuple(shape), arg.spec.dtype), arg.role)

    return Signature(sig.op, tuple(dyn(a) for a in sig.args), sig.attrs), None


def is_empty(sig: Signature) -> bool:
    """Never: an empty batch or query length launches no block (the runtime
    skips empty grids) and an empty key length is the kernel's own case
    (O = 0, LSE = -inf)."""
    return False


def annotate(module, recipe_: Recipe) -> None:
    annotate_ops(module, recipe_, "tessel.flash_attention")


class _Varlen:
    """tessel.flash_attention_varlen: the mma kernel and table (the wgmma
    rung has no packed form yet); the packed lengths and the batch become
    run-time sizes (the length bounds are kernel arguments already), so one
    compile serves every batch composition."""

    op = "tessel.flash_attention_varlen"

    def recipe(self, sig: Signature, options: dict, hint=None) -> Recipe:
        return recipe(sig, options, hint, strategies=("mma",), mma_table=VARLEN_TABLE)

    def generalize(self, sig: Signature, options: dict | None = None) -> tuple[Signature, None]:
        def dyn(arg: Arg) -> Arg:
            if arg.role == "size":
                return arg
            shape = list(arg.spec.shape)
            shape[1 if arg.name == "lse" else 0] = None  # lse is [Hq, total_q]
            return Arg(arg.name, Spec(tuple(shape), arg.spec.dtype), arg.role)

        return Signature(sig.op, tuple(dyn(a) for a in sig.args), sig.attrs), None

    def is_empty(self, sig: Signature) -> bool:
        """Never: an empty batch or max_seqlen_q = 0 launches no block."""
        return False

    def annotate(self, module, recipe_: Recipe) -> None:
        annotate_ops(module, recipe_, self.op)


varlen = _Varlen()
