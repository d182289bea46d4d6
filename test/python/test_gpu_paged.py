"""The paged KV-cache ops on the GPU against the numpy reference. Skipped
without a GPU; sized to run in well under two minutes on an H200."""

import ml_dtypes
import numpy as np
import pytest

import tessel
from tessel import reference as R

pytestmark = pytest.mark.gpu
BF16 = ml_dtypes.bfloat16
DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": BF16}
# Relative to max|ref|: P is rounded to the input dtype before P.V.
TOL = {"f32": 1e-5, "f16": 5e-3, "bf16": 3e-2}


def check(got, want, dtype):
    got = np.asarray(got, np.float64)
    err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
    assert err <= TOL[dtype], f"relative error {err:.3g} > {TOL[dtype]}"


def decode_inputs(rng, dtype, lens, d=128, bs=16, hq=8, hkv=2, spare=7, shared=False):
    """Caches with shuffled blocks; block tables padded with garbage past each
    context (never read); with `shared`, every sequence starts with the first
    sequence's blocks (a shared prefix)."""
    dt = DTYPES[dtype]
    need = [-(-n // bs) for n in lens]
    max_blocks = max(max(need), 1) + 1
    num_blocks = sum(need) + spare
    perm = rng.permutation(num_blocks)
    tables = np.full((len(lens), max_blocks), 10 ** 6, np.int32)  # out of range: unused
    at = 0
    for s, n in enumerate(need):
        tables[s, :n] = perm[at:at + n]
        at += n
    if shared and len(lens) > 1:
        prefix = min(need) // 2
        tables[1:, :prefix] = tables[0, :prefix]
    kc = rng.standard_normal((num_blocks, bs, hkv, d)).astype(dt)
    vc = rng.standard_normal((num_blocks, bs, hkv, d)).astype(dt)
    q = rng.standard_normal((len(lens), hq, d)).astype(dt)
    return q, kc, vc, tables, np.asarray(lens, np.int32)


def reference(q, kc, vc, tables, lens):
    return R.paged_attention(q, kc, vc, tables, lens)


LENS = [0, 1, 15, 16, 17, 1000]


@pytest.mark.parametrize("strategy", ["v1", "v2"])
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("d,bs,hq,hkv", [(128, 16, 8, 2), (64, 8, 4, 4), (256, 32, 8, 1),
                                         (128, 32, 32, 8), (64, 16, 32, 1), (256, 8, 16, 2),
                                         # two row tiles per block: full, partial,
                                         # two blocks per kv head; D = 256 keeps one
                                         (128, 16, 32, 1), (128, 16, 24, 1), (128, 16, 64, 1),
                                         (256, 16, 32, 1)])
def test_decode_matches_reference(strategy, dtype, d, bs, hq, hkv):
    rng = np.random.default_rng(d + bs + hq)
    args = decode_inputs(rng, dtype, LENS, d, bs, hq, hkv)
    got = tessel.paged_attention(*args, target="cuda", strategy=strategy)
    check(got, reference(*args), dtype)
    assert not np.asarray(got[0], np.float32).any()  # context 0: zeros


@pytest.mark.parametrize("strategy", ["v1", "v2"])
@pytest.mark.parametrize("hq,d,config", [
    # every warp on both row tiles (the layout before the split)
    (32, 128, dict(rows_per_warp=32, warps=4)), (32, 64, dict(rows_per_warp=32, warps=2)),
    # split rows at other warp counts; a partial second tile (24 heads)
    (32, 128, dict(warps=4)), (32, 128, dict(warps=16, stages=2)), (24, 128, dict(warps=2)),
    (64, 64, dict(warps=6, partition_size=192))])
def test_mqa_warp_layouts(strategy, hq, d, config):
    rng = np.random.default_rng(hq + d + config["warps"])
    args = decode_inputs(rng, "f16", LENS + [3000], d, 16, hq, 1)
    if strategy == "v1":
        config = {k: v for k, v in config.items() if k != "partition_size"}
    got = tessel.paged_attention(*args, target="cuda", strategy=strategy, config=config)
    check(got, reference(*args), "f16")


@pytest.mark.parametrize("strategy", ["v1", "v2"])
@pytest.mark.parametrize("hq,hkv", [(8, 2), (32, 1)])
def test_scores_rising_along_the_context(strategy, hq, hkv):
    """Keys whose scores climb by more than the lazy-rescale threshold from
    tile to tile, then fall: the skipped and the applied rescales of O must
    both match the reference."""
    rng = np.random.default_rng(12)
    d, bs = 128, 16
    lens = [1500, 700, 37]
    q, kc, vc, tables, lens = decode_inputs(rng, "f16", lens, d, bs, hq, hkv)
    u = rng.choice([-1.0, 1.0], d)
    q[:] = (u + 0.05 * rng.standard_normal((len(lens), hq, d))).astype(np.float16)
    for s, n in enumerate(lens):
        t = np.arange(n)
        c = np.minimum(t, n * 0.6) - np.maximum(t - n * 0.6, 0) * 0.5
        rows = (c[:, None] * 90 / max(n * 0.6, 1) / np.sqrt(d)) * u
        for i in range(n):
            blk, off = tables[s, i // bs], i % bs
            kc[blk, off] = (rows[i] + 0.05 * rng.standard_normal((hkv, d))).astype(np.float16)
    got = tessel.paged_attention(q, kc, vc, tables, lens, target="cuda", strategy=strategy,
                                 config=dict(partition_size=256) if strategy == "v2" else None)
    want = reference(q, kc, vc, tables, lens)
    check(got, want, "f16")
    if strategy == "v2":
        got = tessel.paged_attention(q, kc, vc, tables, lens, target="cuda", strategy="v2",
                                     config=dict(partition_size=256, cluster=4))
        check(got, want, "f16")


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_v1_and_v2_agree_on_long_contexts(dtype):
    rng = np.random.default_rng(3)
    args = decode_inputs(rng, dtype, [16384, 17, 0, 5000], shared=True)
    want = reference(*args)
    v1 = tessel.paged_attention(*args, target="cuda", strategy="v1")
    v2 = tessel.paged_attention(*args, target="cuda", strategy="v2")
    check(v1, want, dtype)
    check(v2, want, dtype)
    check(v1, np.asarray(v2, np.float64), dtype)


def test_v2_partition_sizes():
    rng = np.random.default_rng(4)
    args = decode_inputs(rng, "f16", [1, 64, 65, 700, 3000])
    want = reference(*args)
    for p in (64, 256, 1024):
        got = tessel.paged_attention(*args, target="cuda", strategy="v2",
                                     config=dict(partition_size=p))
        check(got, want, "f16")


@pytest.mark.parametrize("cluster,partition", [(2, 64), (4, 256), (8, 64), (3, 128)])
@pytest.mark.parametrize("d,bs,hq,hkv", [(128, 16, 8, 2), (128, 16, 32, 1), (64, 8, 4, 4),
                                         (256, 32, 8, 1)])
def test_v2_clusters(cluster, partition, d, bs, hq, hkv):
    """The partitions of a cluster combine through each other's shared
    memory: contexts of 0, 1, one partition, exactly `cluster` partitions
    (no reduction kernel) and more (clusters' results through the reduction
    kernel) in one call, and a call whose longest context fits one cluster."""
    rng = np.random.default_rng(cluster + partition + d + hq)
    span = cluster * partition
    lens = [0, 1, partition - 1, partition + 17, span, span + 1, 3 * span + 5]
    args = decode_inputs(rng, "f16", lens, d, bs, hq, hkv)
    config = dict(partition_size=partition, cluster=cluster)
    got = tessel.paged_attention(*args, target="cuda", strategy="v2", config=config)
    check(got, reference(*args), "f16")
    assert not np.asarray(got[0], np.float32).any()
    short = decode_inputs(rng, "bf16", [span, 1, 0, span - 3], d, bs, hq, hkv)
    got = tessel.paged_attention(*short, target="cuda", strategy="v2", config=config)
    check(got, reference(*short), "bf16")


def test_shared_block_tables():
    rng = np.random.default_rng(5)
    args = decode_inputs(rng, "f16", [300, 300, 301, 64], shared=True)
    check(tessel.paged_attention(*args, target="cuda"), reference(*args), "f16")


def test_torch_inputs_and_one_compile_across_sequence_counts():
    torch = pytest.importorskip("torch")
    from tessel.compiler import cuda

    rng = np.random.default_rng(6)
    sizes = []
    for lens in ([5, 40, 0], [100, 3, 17, 16, 1, 900]):
        args = decode_inputs(rng, "f16", lens, spare=3 * len(lens))
        dev = [torch.from_numpy(a).cuda() for a in args]
        got = tessel.paged_attention(*dev, target="cuda", strategy="v1")
        assert isinstance(got, torch.Tensor) and got.is_cuda
        check(got.cpu().numpy(), reference(*args), "f16")
        sizes.append(len(cuda._kernels))
    assert sizes[0] == sizes[1], "a new number of sequences / blocks recompiled"


@pytest.mark.parametrize("dtype", ["f16", "bf16", "f32"])
@pytest.mark.parametrize("d,bs", [(64, 8), (128, 16), (256, 32)])
def test_kv_write_skips_negative_slots(dtype, d, bs):
    rng = np.random.default_rng(d)
    dt = DTYPES[dtype]
    num_blocks, hkv, t = 9, 2, 37
    kc = rng.standard_normal((num_blocks, bs, hkv, d)).astype(dt)
    vc = rng.standard_normal((num_blocks, bs, hkv, d)).astype(dt)
    k = rng.standard_normal((t, hkv, d)).astype(dt)
    v = rng.standard_normal((t, hkv, d)).astype(dt)
    slots = rng.permutation(num_blocks * bs)[:t].astype(np.int64)
    slots[::5] = -1
    want_k, want_v = R.paged_kv_write(k, v, kc, vc, slots)
    tessel.paged_kv_write(k, v, kc, vc, slots, target="cuda")
    np.testing.assert_array_equal(kc, want_k)
    np.testing.assert_array_equal(vc, want_v)


@pytest.mark.parametrize("dtype", ["f16", "bf16", "f32"])
def test_copy_blocks(dtype):
    rng = np.random.default_rng(8)
    dt = DTYPES[dtype]
    kc = rng.standard_normal((12, 16, 2, 128)).astype(dt)
    vc = rng.standard_normal((12, 16, 2, 128)).astype(dt)
    mapping = np.array([[0, 5], [1, 7], [2, 11], [3, 6]], np.int64)
    want_k, want_v = R.copy_blocks(kc, vc, mapping)
    tessel.copy_blocks(kc, vc, mapping, target="cuda")
    np.testing.assert_array_equal(kc, want_k)
    np.testing.assert_array_equal(vc, want_v)


def test_failed_calls_leave_the_caches_untouched():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    kc = torch.randn(4, 16, 2, 64, dtype=torch.float16, device="cuda")
    vc = torch.randn(4, 16, 2, 64, dtype=torch.float16, device="cuda")
    k0, v0 = kc.clone(), vc.clone()
    k = torch.randn(3, 2, 64, dtype=torch.float16, device="cuda")
    bad = torch.tensor([1, 64, 2], dtype=torch.int64, device="cuda")  # 64 = 4 x 16: beyond
    with pytest.raises(ValueError, match="slot_mapping"):
        tessel.paged_kv_write(k, k, kc, vc, bad, target="cuda")
    with pytest.raises(ValueError, match="block_mapping"):
        tessel.copy_blocks(kc, vc, torch.tensor([[0, 4]], device="cuda"), target="cuda")
    torch.cuda.synchronize()
    assert torch.equal(kc, k0) and torch.equal(vc, v0)
    del rng


def test_torch_cache_ops_in_place():
    torch = pytest.importorskip("torch")
    kc = torch.zeros(4, 8, 1, 64, dtype=torch.bfloat16, device="cuda")
    vc = torch.zeros_like(kc)
    k = torch.randn(2, 1, 64, dtype=torch.bfloat16, device="cuda")
    tessel.paged_kv_write(k, -k, kc, vc, torch.tensor([9, -1], device="cuda"), target="cuda")
    assert torch.equal(kc[1, 1], k[0]) and torch.equal(vc[1, 1], -k[0])
    assert kc.abs().sum() == k[0].abs().sum()
    tessel.copy_blocks(kc, vc, torch.tensor([[1, 3]], device="cuda"), target="cuda")
    assert torch.equal(kc[3], kc[1]) and torch.equal(vc[3], vc[1])
