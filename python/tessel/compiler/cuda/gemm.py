"""tessel.gemm's GPU recipe: which rung and tiles, from a built-in table by
dtype and size class (docs/benchmarks.md), or as the caller asks; which sizes
may be run-time ones."""

from __future__ import annotations

from ...signature import Arg, Signature, Spec, dtype_name
from .recipe import Recipe, check_config, check_strategy
from .recipe import annotate as annotate_ops

STRATEGIES = ("naive", "smem", "regtile", "pipelined", "mma", "wgmma", "wgmma_tma")
# The bounds #tessel.gemm_config verifies (TesselDialect.cpp), checked first here
# so that a bad value is named as the caller's argument.
CONFIG_LIMITS = dict(block_m=1 << 14, block_n=1 << 14, block_k=1 << 14, warps_m=32, warps_n=32,
                     stages=32, group_m=1 << 16, thread_m=1 << 14, thread_n=1 << 14,
                     warpgroups=8, split_k=1 << 10, persistent=1 << 16, cluster=8)
# The kernels' bound on a run-time size (ConvertTesselToGPU's static views).
MAX_RUN_TIME_SIZE = 2 ** 31 - 1


def check_options(options: dict) -> tuple[str | None, dict]:
    return check_strategy(options, STRATEGIES), check_config(options, CONFIG_LIMITS)


def pick_strategy(sig: Signature) -> str:
    """Hopper warpgroup tensor cores for f16/bf16, the pipelined SIMT kernel for f32."""
    return "wgmma" if dtype_name(sig.arg("a").spec.dtype) in ("f16", "bf16") else "pipelined"


# SMs of the GPU the table was measured on (H200): split-K fills them.
SMS = 132
# Serving products (decode/prefill): few rows, long K. Their classes are
# named by the bound on M, e.g. "m64" for 17 <= M <= 64.
SKINNY_M = (16, 64, 128, 256, 512)
SKINNY_MIN_K = 2048


def size_class(strategy: str, m: int | None, n: int, k: int | None = None) -> str:
    """The table's classes by output size; an unknown (run-time) M counts as
    large. With K given, a tensor-core product of at most 512 rows and K >=
    SKINNY_MIN_K is skinny: its class is M's bound among SKINNY_M."""
    if (strategy in ("mma", "wgmma", "wgmma_tma") and m is not None and k is not None
            and k >= SKINNY_MIN_K):
        bound = next((b for b in SKINNY_M if m <= b), None)
        if bound is not None:
            return f"m{bound}"
    area = None if m is None else m * n
    if strategy in ("wgmma", "wgmma_tma"):
        return "small" if area is not None and area < 2048 ** 2 else "large"
    if strategy == "mma":
        if area is None or area > 3072 ** 2:
            return "large"
        return "mid" if area > 1536 ** 2 else "small"
    return "any"


def default_config(strategy: str, klass: str) -> dict:
    """Tile sizes by size class, from the sweeps recorded in docs/benchmarks.md
    (H200); the lowering's own defaults apply to anything not listed."""
    if strategy in ("wgmma", "wgmma_tma"):
        n = 128 if klass == "small" else 256  # 128 x 256 tiles would leave most SMs idle
        # wgmma_tma: 3 stages (A/B in one process, H200, 2026-12-02,
        # scripts/tma_stages.py: 0.961 / 0.973 of cuBLAS at 8192^3 f16 / bf16
        # against 4 stages' 0.919 / 0.888; 0.932 against 0.924 at 4096^3).
        stages = 3 if strategy == "wgmma_tma" and klass == "large" else 4
        return dict(block_m=128, block_n=n, block_k=64, warpgroups=2, stages=stages, group_m=8)
    if strategy == "mma":
        if klass == "large":
            return dict(block_m=128, block_n=256, block_k=64, warps_m=2, warps_n=4, stages=3,
                        group_m=8)
        return dict(block_m=128, block_n=128, block_k=32 if klass == "mid" else 64, warps_m=2,
                    warps_n=2, stages=3, group_m=8)
    if strategy == "pipelined":
        return dict(block_m=64, block_n=128)
    return {}


def skinny_config(strategy: str, klass: str, n: int, k: int, batches: int = 1) -> dict:
    """Tiles for a skinny class (M <= its bound): a 64-row tile (one wgmma
    warpgroup) up to 64 rows, 128 x 128 beyond; and split-K when the output
    tiles alone would leave more than half the SMs idle, into at most 8
    parts of at least 8 K tiles each."""
    bound = int(klass[1:])
    if strategy == "wgmma_tma":
        return skinny_tma_config(bound, n, k, batches)
    if strategy == "wgmma":
        cfg = (dict(block_m=64, block_n=128, block_k=64, warpgroups=1, stages=4, group_m=1)
               if bound <= 64 else
               dict(block_m=128, block_n=128, block_k=64, warpgroups=2, stages=4, group_m=8))
    else:
        cfg = (dict(block_m=64, block_n=128, block_k=64, warps_m=1, warps_n=4, stages=3, group_m=1)
               if bound <= 64 else
               dict(block_m=128, block_n=128, block_k=64, warps_m=2, warps_n=2, stages=3,
                    group_m=8))
    cfg["split_k"] = pick_split_k(bound, n, k, cfg, batches)
    return cfg


# wgmma_tma's skinny tiles (bm, bn, consumer warpgroups) and the share of the
# tensor cores each keeps busy: one 64-row consumer runs alone, 128 x 256 is
# the large class's tile (scripts/gemm_sweep.py, H200, 2026-12-02).
TMA_SKINNY_TILES = ((64, 128, 1, 0.8), (64, 256, 1, 0.8), (128, 128, 2, 0.9), (128, 256, 2, 1.0))
# K tiles (of 64) a split-K part keeps at least: below that the second
# launch and the workspace round trip cost more than the parts gain (no
# split won at K = 4096 in the sweep; 2 and 4 parts won at K = 14336).
TMA_MIN_PART_K_TILES = 48
# A split's reduction (second launch, workspace written and read) as a
# share of the work it spreads: 128 x 128 unsplit beat 128 x 256 in two
# parts at M = 512, K = 14336.
TMA_SPLIT_COST = 1.15


# A decode step's product (M <= 16) only streams the weights: 64 x 256
# tiles read them faster than 64 x 128 ones at the same bytes in flight
# (H200, 2026-12-02, scripts/skinny_sweep.py: 36.0 against 42.6 us at
# N = 14336, K = 4096, and 35.7 against 40.6 us at N = 4096, K = 14336 with
# 4 K parts), provided the blocks still cover a third of the SMs (N = K =
# 4096: 16 blocks, 24.4 against 19.0 us); the wave model decides elsewhere.
TMA_DECODE_TILES = ((64, 256, 1, 0.8),)
TMA_DECODE_MIN_SM_SHARE = 1 / 3


def skinny_tma_config(m: int, n: int, k: int, batches: int = 1, sms: int = SMS) -> dict:
    """wgmma_tma's tile and split for a product of at most `m` rows: the
    fewest waves of blocks times each block's work over its tile's
    efficiency (a split's by TMA_SPLIT_COST more). 64-row tiles only up to
    256 rows (above, B is read from L2 once per 64 rows: 0.59 of cuBLAS at
    M = 512, against 0.99 at M = 256, N = K = 4096; scripts/ab_skinny.py); splits keep
    one wave and parts of at least TMA_MIN_PART_K_TILES K tiles; ties go to
    the larger tile. Decode products take TMA_DECODE_TILES where they fill
    enough SMs."""
    if m <= 16:
        config, blocks = _wave_model(TMA_DECODE_TILES, m, n, k, batches, sms)
        if blocks >= TMA_DECODE_MIN_SM_SHARE * sms:
            return config
    return _wave_model(TMA_SKINNY_TILES, m, n, k, batches, sms)[0]


def _wave_model(candidates, m: int, n: int, k: int, batches: int, sms: int):
    """(config, blocks) of the cheapest tile and split among `candidates`
    by skinny_tma_config's model."""
    k_tiles = -(-k // 64)
    best = None
    for bm, bn, wg, eff in candidates:
        if bm == 64 and m > 256:
            continue
        tiles = -(-m // bm) * -(-n // bn) * batches
        for split in range(1, 9):
            if split > 1 and (tiles * split > sms or k_tiles // split < TMA_MIN_PART_K_TILES):
                break
            waves = -(-tiles * split // sms)
            cost = waves * bm * bn / eff / split * (TMA_SPLIT_COST if split > 1 else 1)
            key = (cost, -bm * bn, split)
            if best is None or key < best[0]:
                best = (key, dict(block_m=bm, block_n=bn, block_k=64, warpgroups=wg, stages=4,
                                  group_m=8, split_k=split), tiles * split)
    return best[1], best[2]


# Persistent tiles (grid = SMs walking the tiles, the producer loading the
# next tile during the epilogue, D stored by TMA from a swizzled park; H200,
# 2026-12-02, scripts/persistent_ab.py, docs/benchmarks.md). Against one
# block per 128 x 256 tile: 4096^3 0.966 / 0.968 of cuBLAS (f16 / bf16)
# against 0.920 / 0.928; 2048 x 14336 x 4096 0.976 / 0.981 against 0.94;
# M = 256, N = 128256 0.96 against 0.90. Where 128 x 256 tiles would not
# fill the SMs once (2048^3), 128 x 128 tiles with 5 stages walked two per
# SM: 0.971 / 1.005 against 0.939 / 0.964. With K beyond PERSISTENT_MAX_K
# over several waves, 128 x 256 tiles walked persistent lost (8192^3: 0.887
# against 0.929 for one tile per block), but 128 x 128 ones with 5 stages
# win in the power-limited steady state (scripts/gemm_steady.py, H200,
# 2026-12-03, two machine instances: 8192^3 0.987 / 1.002 against 0.968 /
# 0.965 for one 128 x 256 tile per block; 4096 x 4096 x 8192 even).
PERSISTENT_MAX_K = 4096


def with_persistent(cfg: dict, m: int | None, n: int, k: int, out_dtype: str,
                    batches: int = 1, sms: int = SMS) -> dict:
    """The table's wgmma_tma config made persistent where that was measured
    faster: 128-row tiles without a split, a 16-bit D whose rows TMA can
    store (N a multiple of 8); 3 stages with 128 x 256 tiles (4 and the
    park would not fit), or 128 x 128 tiles with 5 stages where K exceeds
    PERSISTENT_MAX_K over more than one wave. `m`: the
    rows, or None for a run-time M of the large class, taken as many waves
    so that one kernel serves every M of the class."""
    if (cfg.get("split_k", 1) > 1 or cfg.get("block_m") != 128
            or out_dtype not in ("f16", "bf16") or n % 8):
        return cfg
    tiles = None if m is None else -(-m // 128) * -(-n // cfg["block_n"]) * batches
    deep_k = (tiles is None or tiles > sms) and k > PERSISTENT_MAX_K
    if deep_k and cfg["block_n"] != 256:
        return cfg
    under_two_waves = (tiles is not None and cfg["block_n"] == 256 and tiles <= sms < 2 * tiles
                       and m * n >= 2048 ** 2)
    if deep_k or under_two_waves:
        return dict(cfg, block_n=128, stages=5, persistent=sms)
    return dict(cfg, persistent=sms, stages=3 if cfg["block_n"] == 256 else cfg["stages"])


def pick_split_k(m: int, n: int, k: int, cfg: dict, batches: int = 1, sms: int = SMS) -> int:
    """The most K parts (up to 8, each of at least 8 K tiles) that keep the
    grid within one wave of `sms` blocks; 1 when the output tiles alone
    fill half the SMs. The split is then omitted from the config (1 is the
    lowering's default, so the PTX is that of the unsplit kernel)."""
    tiles = -(-m // cfg["block_m"]) * -(-n // cfg["block_n"]) * batches
    if 2 * tiles > sms:
        return 1
    k_tiles = -(-k // cfg["block_k"])
    return max(1, min(8, sms // tiles, k_tiles // 8))


def recipe(sig: Signature, options: dict, m_hint: int | None) -> Recipe:
    """`m_hint`: the call's M when the signature's M is a run-time size."""
    strategy, config = check_options(options)
    m, n = sig.outputs[0].spec.shape[-2:]
    m = m if m is not None else m_hint
    k = sig.arg("a").spec.shape[-2 if sig.attr("transpose_a") else -1]
    rows = [sig.arg(name).spec.shape[-1] for name in ("a", "b")]
    if strategy is None:
        strategy = pick_strategy(sig)
        # wgmma_tma where it was measured faster (docs/benchmarks.md, H200,
        # 2026-12-02: 0.92 / 0.90 of cuBLAS at 4096^3 f16 / bf16 against
        # wgmma's 0.71 / 0.69, 0.96 / 0.94 at 8192^3 against 0.83 / 0.81):
        # the large class, with rows TMA can load, known at compile time.
        # The skinny classes too (the same sweep: 0.85-0.98 of cuBLAS on
        # most serving shapes against wgmma's 0.49-0.84), except the LM
        # head's decode step, where wgmma's 64 x 128 tiles stay ahead.
        klass = size_class(strategy, m, n, k)
        lm_head_decode = klass == "m16" and n >= 65536
        if (strategy == "wgmma" and (klass == "large" or klass.startswith("m"))
                and not lm_head_decode and all(r is not None and r % 8 == 0 for r in rows)):
            strategy = "wgmma_tma"
    dtype = dtype_name(sig.arg("a").spec.dtype)
    if strategy in ("mma", "wgmma", "wgmma_tma") and dtype not in ("f16", "bf16"):
        raise ValueError(f"argument 'strategy': {strategy!r} needs f16 or bf16 inputs, got "
                         f"{dtype}; use naive, smem, regtile or pipelined")
    if strategy == "wgmma_tma":
        # TMA reads rows starting on 16-byte boundaries (run-time row
        # lengths are checked when the tensor map is encoded).
        for name, row in zip(("a", "b"), rows):
            if row is not None and row % 8:
                raise ValueError(f"argument '{name}': strategy 'wgmma_tma' loads it by TMA, "
                                 "which needs rows of a multiple of 8 elements (16 bytes); "
                                 f"its rows have {row}; use strategy 'wgmma'")
    klass = size_class(strategy, m, n, k)
    if klass.startswith("m"):
        shape = sig.outputs[0].spec.shape
        table = skinny_config(strategy, klass, n, k, (shape[0] or 1) if len(shape) == 3 else 1)
        if table["split_k"] == 1:
            del table["split_k"]
    else:
        table = default_config(strategy, klass)
    if strategy == "wgmma_tma" and not config:
        # By the class, not the call's M, where M is a run-time size (the
        # skinny classes: their bound).
        shape = sig.outputs[0].spec.shape
        rows = int(klass[1:]) if klass.startswith("m") else shape[-2]
        table = with_persistent(table, rows, n, k, dtype_name(sig.outputs[0].spec.dtype),
                                (shape[0] or 1) if len(shape) == 3 else 1)
    config = {**table, **config}
    return Recipe(strategy, tuple(sorted(config.items())), klass)


# Rungs whose kernels lose nothing measurable with a run-time M. The SIMT
# rungs do: with a constant grid, the outlined kernel's known grid size lets
# LLVM prove their per-element bounds checks away (3 compares left in the
# pipelined kernel's PTX instead of 17; -22% at 4096^3 on an H200).
RUN_TIME_M_RUNGS = ("mma", "wgmma", "wgmma_tma")


def generalize(sig: Signature, options: dict) -> tuple[Signature, int | None]:
    """The signature with M a run-time size where the kernels allow it
    (unbatched, A not transposed, a tensor-core rung), and the call's M."""
    a = sig.arg("a")
    if len(a.spec.shape) != 2 or sig.attr("transpose_a") or a.spec.shape[0] is None:
        return sig, None
    strategy = check_options(options)[0] or pick_strategy(sig)
    if strategy not in RUN_TIME_M_RUNGS:
        return sig, None
    m = a.spec.shape[0]

    def dyn(arg: Arg) -> Arg:
        if arg.name == "b":
            return arg
        return Arg(arg.name, Spec((None, *arg.spec.shape[1:]), arg.spec.dtype), arg.role)

    return Signature(sig.op, tuple(dyn(x) for x in sig.args), sig.attrs), m


def is_empty(sig: Signature) -> bool:
    """M, N or K statically 0, or alpha = 0: the result (empty, beta * C or
    zeros) needs no kernel."""
    k = sig.arg("a").spec.shape[-2 if sig.attr("transpose_a") else -1]
    return 0 in sig.outputs[0].spec.shape or k == 0 or sig.attr("alpha") == 0


def annotate(module, recipe_: Recipe) -> None:
    annotate_ops(module, recipe_, "tessel.gemm")


# strategy="auto": the configurations the tuner times, per strategy, with
# the input dtypes they take. A strategy joins the tuner by adding its list.
# Each config names every field its strategy reads (the table's values
# would fill in the others).
CANDIDATES = {
    "wgmma_tma": (("f16", "bf16"), [
        dict(block_m=128, block_n=256, block_k=64, warpgroups=2, stages=4, group_m=8),
        dict(block_m=128, block_n=256, block_k=64, warpgroups=2, stages=3, group_m=8),
        dict(block_m=128, block_n=128, block_k=64, warpgroups=2, stages=4, group_m=8),
        dict(block_m=64, block_n=256, block_k=64, warpgroups=1, stages=4, group_m=8),
        dict(block_m=64, block_n=128, block_k=64, warpgroups=1, stages=4, group_m=8),
        # persistent (16-bit outputs only: see candidates)
        dict(block_m=128, block_n=256, block_k=64, warpgroups=2, stages=3, group_m=8,
             persistent=SMS),
        dict(block_m=128, block_n=128, block_k=64, warpgroups=2, stages=5, group_m=8,
             persistent=SMS),
        # clusters of 2 sharing B by multicast: 0.98-1.0x of one tile per
        # block on H200 (docs/benchmarks.md, seventh session), kept for GPUs
        # whose L2 bandwidth limits more.
        dict(block_m=128, block_n=256, block_k=64, warpgroups=2, stages=4, group_m=8,
             cluster=2),
    ]),
    "wgmma": (("f16", "bf16"), [
        dict(block_m=128, block_n=256, block_k=64, warpgroups=2, stages=4, group_m=8),
        dict(block_m=128, block_n=128, block_k=64, warpgroups=2, stages=4, group_m=8),
        dict(block_m=128, block_n=128, block_k=64, warpgroups=2, stages=5, group_m=4),
        dict(block_m=64, block_n=128, block_k=64, warpgroups=1, stages=4, group_m=8),
        dict(block_m=64, block_n=256, block_k=64, warpgroups=1, stages=3, group_m=8),
    ]),
    "mma": (("f16", "bf16"), [
        dict(block_m=128, block_n=256, block_k=64, warps_m=2, warps_n=4, stages=3, group_m=8),
        dict(block_m=128, block_n=128, block_k=32, warps_m=2, warps_n=2, stages=3, group_m=8),
        dict(block_m=64, block_n=128, block_k=64, warps_m=1, warps_n=4, stages=3, group_m=1),
    ]),
    "pipelined": (("f32",), [
        dict(block_m=64, block_n=128),
        dict(block_m=128, block_n=128),
        dict(block_m=64, block_n=64, thread_m=4, thread_n=8),
    ]),
}
# Rungs that take split_k, and the splits tried where the output tiles
# leave SMs idle.
SPLIT_K_RUNGS = ("mma", "wgmma", "wgmma_tma")
SPLIT_SWEEP = (2, 4, 8)
MAX_CANDIDATES = 16


def _mnk(sig: Signature) -> tuple[int, int, int, int]:
    shape = sig.outputs[0].spec.shape
    k = sig.arg("a").spec.shape[-2 if sig.attr("transpose_a") else -1]
    return shape[-2], shape[-1], k, (shape[0] or 1) if len(shape) == 3 else 1


def candidates(sig: Signature) -> list[tuple[str, dict]]:
    """(strategy, config) pairs to time for a signature with a static M:
    the table's own pick first, then CANDIDATES for the dtype, each
    tensor-core one also with the splits of SPLIT_SWEEP that keep at least 8
    K tiles per part and at most two waves of blocks; at most
    MAX_CANDIDATES."""
    dtype = dtype_name(sig.arg("a").spec.dtype)
    m, n, k, batches = _mnk(sig)
    table = recipe(sig, {}, None)
    first = dict(table.config)
    if table.strategy in SPLIT_K_RUNGS:
        first.setdefault("split_k", 1)
    out = [(table.strategy, first)]
    for strategy, (dtypes, configs) in CANDIDATES.items():
        if dtype not in dtypes:
            continue
        for cfg in configs:
            # The persistent park holds D in its own type: an f32 D's does
            # not fit beside the stages of these tiles. No split with it.
            if "persistent" in cfg:
                if dtype_name(sig.outputs[0].spec.dtype) in ("f16", "bf16"):
                    out.append((strategy, dict(cfg)))
                continue
            if "cluster" in cfg:  # no split with it either
                out.append((strategy, dict(cfg)))
                continue
            if strategy not in SPLIT_K_RUNGS:
                out.append((strategy, dict(cfg)))
                continue
            out.append((strategy, dict(cfg, split_k=1)))
            tiles = -(-m // cfg["block_m"]) * -(-n // cfg["block_n"]) * batches
            k_tiles = -(-k // cfg["block_k"])
            out += [(strategy, dict(cfg, split_k=s)) for s in SPLIT_SWEEP
                    if k_tiles // s >= 8 and tiles * s <= 2 * SMS]
    unique = []
    for c in out:
        if c not in unique:
            unique.append(c)
    return unique[:MAX_CANDIDATES]


def tune_class(sig: Signature) -> str:
    """What a tuned choice is stored for: the signature with M generalized
    (unbatched, A not transposed: the functional API's kernels) and M
    rounded up to a power of two."""
    m = _mnk(sig)[0]
    a = sig.arg("a")
    if len(a.spec.shape) == 2 and not sig.attr("transpose_a"):
        def dyn(arg: Arg) -> Arg:
            if arg.name == "b":
                return arg
            return Arg(arg.name, Spec((None, *arg.spec.shape[1:]), arg.spec.dtype), arg.role)

        sig = Signature(sig.op, tuple(dyn(x) for x in sig.args), sig.attrs)
    return f"{sig.key}|M<={1 << max(0, (m - 1).bit_length())}"
