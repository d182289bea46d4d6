"""The GPU recipes of the paged KV-cache ops: paged_attention (decode, v1 or
split-K v2), paged_kv_write and copy_blocks (bandwidth kernels).

Every size that changes between calls of a serving loop is a run-time size:
sequences, max_blocks, tokens, pairs and the caches' num_blocks, so there is
one compile per (dtype, Hq, Hkv, D, block_size) and, for paged_attention,
strategy (v1 or v2) and the v2 partition and cluster sizes the call's sizes
choose."""

from __future__ import annotations

from ...signature import Arg, Signature, Spec, dtype_name
from .recipe import Recipe, check_config
from .recipe import annotate as annotate_ops

# H100 / H200.
SM_COUNT = 132
STRATEGIES = ("v1", "v2")
CONFIG_KEYS = ("warps", "stages", "partition_size", "rows_per_warp", "cluster")
# The bounds #tessel.paged_config verifies (TesselDialect.cpp).
CONFIG_LIMITS = dict(warps=16, stages=8, partition_size=1 << 16, rows_per_warp=32, cluster=8)
DEFAULT_PARTITION = 512


def _check_config(options: dict, allowed: tuple[str, ...]) -> dict:
    return check_config(options, {k: CONFIG_LIMITS[k] for k in allowed})


def _generalize(sig: Signature, leading: dict[str, int]) -> Signature:
    """`leading[name]`: how many leading dimensions of the argument become
    run-time sizes."""
    def dyn(a: Arg) -> Arg:
        n = leading.get(a.name, 0)
        return Arg(a.name, Spec((None,) * n + tuple(a.spec.shape[n:]), a.spec.dtype), a.role)

    return Signature(sig.op, tuple(dyn(a) for a in sig.args), sig.attrs)


def _annotate(module, recipe_: Recipe, op_name: str) -> None:
    annotate_ops(module, recipe_, op_name)


def two_row_tiles(group: int, head_dim: int = 128) -> bool:
    """Whether a block holds two 16-row tiles of the group (groups above 16
    heads up to D = 128), as Paged/Config.cpp chooses."""
    return group > 16 and head_dim <= 128


def head_blocks(group: int, head_dim: int = 128) -> int:
    """Blocks per (sequence, kv head): the group in slices of 32 query heads
    (16 when a block holds one row tile)."""
    return -(-group // (32 if two_row_tiles(group, head_dim) else 16))


def choose_strategy(seqs: int | None, max_context: int | None, kv_heads: int, group: int,
                    partition: int = DEFAULT_PARTITION, head_dim: int = 128) -> str:
    """v1 (a block per sequence and KV head) unless it would leave the SMs
    idle on long contexts: split (v2) when the longest context the block
    table can hold spans several partitions and v1 has fewer than two blocks
    per SM. Unknown sizes count as many sequences (v1)."""
    if seqs is None or max_context is None or max_context <= partition:
        return "v1"
    blocks = seqs * kv_heads * head_blocks(group, head_dim)
    return "v2" if blocks < 2 * SM_COUNT else "v1"


def default_warps(group: int, head_dim: int = 128) -> int:
    """The decode kernel's warps per block (Paged/Config.cpp): 4, or 8 where
    the block holds two 16-row tiles and the warps split them (MQA)."""
    return 8 if two_row_tiles(group, head_dim) else 4


def choose_partition(seqs: int | None, max_context: int | None, kv_heads: int,
                     group: int, head_dim: int = 128, warps: int | None = None) -> int:
    """The longest partition (512 .. 4096 tokens) whose split grid still
    holds about eight warps per SM: longer partitions pay the ring's fill,
    the combine and the reduction fewer times. H200, D = 128
    (scripts/paged_probe.py, docs/benchmarks.md):
    MQA 64 x 4096 (8 warps): 1024 -> 50-52 us, 2048 -> 48 us, 4096 -> 84 us;
    GQA 16 x 16384 (4 warps): 1024 -> 0.89 of copy, 4096 -> 0.92."""
    if seqs is None or max_context is None:
        return DEFAULT_PARTITION
    blocks = seqs * kv_heads * head_blocks(group, head_dim)
    warps = warps or default_warps(group, head_dim)
    for p in (4096, 2048, 1024):
        if blocks * -(-max_context // p) * warps >= 0.9 * 8 * SM_COUNT:
            return p
    return DEFAULT_PARTITION


def choose_cluster(seqs: int | None, max_context: int | None, kv_heads: int, group: int,
                   partition: int, head_dim: int = 128) -> int:
    """v2's partitions per thread-block cluster: a sequence's two
    partitions when the split grid is a single wave of at most one block per
    SM. There the reduction kernel is a serial tail nothing overlaps; in a
    cluster the partitions combine through each other's shared memory
    instead. H200, D = 128 (scripts/paged_ab.py, docs/benchmarks.md): MQA
    64 x 4096 at partition 2048, 46.7 -> 45.2 us; GQA 32/8 rows with more
    blocks than SMs lost 1-4 % with clusters. Larger clusters stay opt-in:
    unmeasured in a single wave, and a GPC's SMs need not split into whole
    clusters of 3 or more (a grid that fits the SMs may not fit at once).
    1: no cluster."""
    if seqs is None or max_context is None:
        return 1
    parts = -(-max_context // partition)
    blocks = seqs * kv_heads * head_blocks(group, head_dim)
    return 2 if parts == 2 and blocks * parts <= SM_COUNT else 1


class _Attention:
    op = "tessel.paged_attention"

    def generalize(self, sig: Signature, options: dict | None = None):
        """Sequences, max_blocks and num_blocks as run-time sizes; the hint
        is (sequences, max_blocks * block_size) of the call."""
        q, bt = sig.arg("q").spec.shape, sig.arg("block_tables").spec.shape
        bs = sig.arg("key_cache").spec.shape[1]
        hint = (q[0], None if bt[1] is None else bt[1] * bs)
        leading = dict(q=1, key_cache=1, value_cache=1, block_tables=2, context_lens=1, out=1)
        return _generalize(sig, leading), hint

    def recipe(self, sig: Signature, options: dict, hint) -> Recipe:
        strategy = options.get("strategy")
        if strategy is not None and strategy not in STRATEGIES:
            raise ValueError(f"argument 'strategy': expected 'v1' or 'v2', got {strategy!r}")
        config = _check_config(options, CONFIG_KEYS)
        if config.get("rows_per_warp", 16) not in (16, 32):
            raise ValueError(f"argument 'config': rows_per_warp must be 16 or 32, got "
                             f"{config['rows_per_warp']!r}")
        dtype = dtype_name(sig.arg("q").spec.dtype)
        if dtype not in ("f16", "bf16"):
            raise ValueError(f"argument 'q': paged_attention on target='cuda' needs f16 or bf16 "
                             f"(mma.sync), got {dtype}; use target='cpu' for f32")
        q, kc = sig.arg("q").spec.shape, sig.arg("key_cache").spec.shape
        bt = sig.arg("block_tables").spec.shape
        hq, hkv, d = q[1], kc[2], q[2]
        seqs, max_context = hint if hint is not None else (q[0], None if bt[1] is None
                                                             else bt[1] * kc[1])
        if "partition_size" not in config:
            config["partition_size"] = choose_partition(seqs, max_context, hkv, hq // hkv, d,
                                                        config.get("warps"))
        if strategy is None:
            strategy = choose_strategy(seqs, max_context, hkv, hq // hkv,
                                       config["partition_size"], d)
        if strategy == "v1":
            config.pop("partition_size", None)
        elif "cluster" not in config:
            cluster = choose_cluster(seqs, max_context, hkv, hq // hkv, config["partition_size"], d)
            if cluster > 1:
                config["cluster"] = cluster
        return Recipe(strategy, tuple(sorted(config.items())), strategy, "paged_config")

    def is_empty(self, sig: Signature) -> bool:
        return False  # empty grids are skipped at launch

    def annotate(self, module, recipe_: Recipe) -> None:
        _annotate(module, recipe_, self.op)


class _Bandwidth:
    def __init__(self, op: str, leading: dict[str, int]):
        self.op, self.leading = op, leading

    def generalize(self, sig: Signature, options: dict | None = None):
        return _generalize(sig, self.leading), None

    def recipe(self, sig: Signature, options: dict, hint) -> Recipe:
        if options.get("strategy") is not None:
            raise ValueError(f"argument 'strategy': {self.op} has one kernel; got "
                             f"{options['strategy']!r}")
        config = _check_config(options, ("warps",))
        return Recipe("vector", tuple(sorted(config.items())), "any", "paged_config",
                      strategy_in_attribute=False)

    def is_empty(self, sig: Signature) -> bool:
        return False

    def annotate(self, module, recipe_: Recipe) -> None:
        _annotate(module, recipe_, self.op)


attention = _Attention()
kv_write = _Bandwidth("tessel.paged_kv_write",
                      dict(key=1, value=1, slot_mapping=1, key_cache=1, value_cache=1))
copy_blocks = _Bandwidth("tessel.copy_blocks",
                         dict(block_mapping=1, key_cache=1, value_cache=1))
