"""The paged KV-cache kernels without a GPU: every kernel x dtype x head dim x
block size compiles to PTX that ptxas assembles for sm_90a without spills;
one compile serves every number of sequences, tokens, pairs and blocks."""

import re
import shutil
import subprocess

import pytest

import tessel
from tessel.compiler import clear_cache
from tessel.compiler.cuda import paged as recipes

S = tessel.Spec
HEAD_DIMS = (64, 128, 256)
BLOCK_SIZES = (8, 16, 32)


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSEL_CACHE_DIR", str(tmp_path / "cache"))
    clear_cache()
    yield
    clear_cache()


def attention(dtype, d, bs, strategy, hq=8, hkv=2, **options):
    return tessel.paged_attention.compile(
        S((None, hq, d), dtype), S((None, bs, hkv, d), dtype), S((None, bs, hkv, d), dtype),
        S((None, None), "int32"), S((None,), "int32"), target="cuda", strategy=strategy,
        **options)


def kv_write(dtype, d, bs, hkv=2):
    return tessel.paged_kv_write.compile(
        S((None, hkv, d), dtype), S((None, hkv, d), dtype), S((None, bs, hkv, d), dtype),
        S((None, bs, hkv, d), dtype), S((None,), "int64"), target="cuda")


def copy_blocks(dtype, d, bs, hkv=2):
    return tessel.copy_blocks.compile(S((None, bs, hkv, d), dtype), S((None, bs, hkv, d), dtype),
                                      S((None, 2), "int64"), target="cuda")


def assemble(kernel, tmp_path):
    """ptxas -v over each PTX module of the kernel: registers per kernel;
    asserts no spills."""
    regs, spills = [], []
    for i, text in enumerate(kernel.ptx_modules.values()):
        ptx = tmp_path / f"k{i}.ptx"
        ptx.write_text(text)
        proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(ptx), "-o",
                               str(tmp_path / f"k{i}.cubin")],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        regs += [int(r) for r in re.findall(r"Used (\d+) registers", proc.stderr)]
        spills += [int(s) for s in re.findall(r"(\d+) bytes spill stores", proc.stderr)]
        assert not any(spills), proc.stderr
    assert len(regs) == len(kernel.kernels)
    return regs


CASES = ([("v1", dt, d, bs) for dt in ("f16", "bf16") for d in HEAD_DIMS for bs in BLOCK_SIZES] +
         [("v2", dt, d, bs) for dt in ("f16", "bf16") for d in HEAD_DIMS for bs in BLOCK_SIZES] +
         [("v2-cluster", dt, d, 16) for dt in ("f16", "bf16") for d in HEAD_DIMS] +
         [(op, dt, d, bs) for op in ("kv_write", "copy_blocks") for dt in ("f16", "bf16", "f32")
          for d in HEAD_DIMS for bs in BLOCK_SIZES])


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("kind,dtype,d,bs", CASES)
def test_ptxas_every_paged_kernel(kind, dtype, d, bs, tmp_path, record_property):
    if kind == "v2-cluster":
        # MQA (32 heads, one kv head) and GQA, the cluster sizes the
        # recipe picks from.
        for hq, hkv, cluster in ((32, 1, 2), (8, 2, 4), (8, 2, 8)):
            k = attention(dtype, d, bs, "v2", hq=hq, hkv=hkv,
                          config=dict(partition_size=512, cluster=cluster))
            assert len(k.kernels) == 2 and k.kernels[0]["cluster"] == [1, 1, cluster]
            regs = assemble(k, tmp_path)
        record_property("registers", regs)
        return
    if kind in ("v1", "v2"):
        k = attention(dtype, d, bs, kind)
        assert len(k.kernels) == (1 if kind == "v1" else 2)
    else:
        k = (kv_write if kind == "kv_write" else copy_blocks)(dtype, d, bs)
        assert len(k.kernels) == 1
    regs = assemble(k, tmp_path)
    record_property("registers", regs)
    print(f"{kind} {dtype} D={d} bs={bs}: registers {regs}, 0 spills")


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("hq,hkv", [(8, 8), (32, 8), (8, 1), (32, 1), (24, 1), (64, 1), (64, 8)])
def test_ptxas_group_sizes(hq, hkv, tmp_path):
    for strategy in ("v1", "v2"):
        assemble(attention("f16", 128, 16, strategy, hq, hkv), tmp_path)


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("dtype,d", [("bf16", 64), ("f16", 128), ("bf16", 256)])
def test_ptxas_mqa_row_tiles(dtype, d, tmp_path):
    """Groups above 16 heads: two row tiles per block up to D = 128 (one at
    256), without spills. Split across warps (the default), a warp holds one
    tile's accumulators: at most 128 registers, so two blocks of 8 warps
    fit an SM's register file."""
    for strategy in ("v1", "v2"):
        regs = assemble(attention(dtype, d, 16, strategy, 32, 1), tmp_path)
        assert max(regs) <= (128 if d <= 128 else 255)
        if d <= 128:
            both = assemble(attention(dtype, d, 16, strategy, 32, 1,
                                      config=dict(rows_per_warp=32, warps=4)), tmp_path)
            assert max(both) <= 255


def test_v2_workspace_and_grids_are_expressions_of_the_call():
    k = attention("f16", 128, 16, "v2")
    art = k._artifact
    # S x Hq x parts x (D + 2) f32, parts = ceil(max_blocks * 16 / 512).
    assert len(art["workspaces"]) == 1
    from tessel.runtime.kernel import compile_expr

    size = compile_expr(art["workspaces"][0]["bytes"])
    shapes = ((3, 8, 128), (10, 16, 2, 128), (10, 16, 2, 128), (3, 64), (3,), (3, 8, 128))
    parts = -(-64 * 16 // 512)
    assert size((), shapes) == 3 * 8 * parts * 130 * 4
    attn, reduce = art["kernels"]
    # Outlining puts each launch in its own module; the runtime loads each.
    assert attn["module"] != reduce["module"] and set(art["modules"]) == {attn["module"],
                                                                          reduce["module"]}
    assert [compile_expr(g)((), shapes) for g in attn["grid"]] == [3 * 2, 1, parts]
    assert [compile_expr(g)((), shapes) for g in reduce["grid"]] == [3, 8, 1]
    # The workspace is the pointer after the 6 arguments, in both kernels.
    assert ["ptr", 6] in [p[1] for p in attn["params"]]
    assert ["ptr", 6] in [p[1] for p in reduce["params"]]


def test_one_compile_for_every_size():
    from tessel.compiler import cuda

    a = kv_write("f16", 64, 16)
    before = len(cuda._kernels)
    assert kv_write("f16", 64, 16) is a and len(cuda._kernels) == before
    grid = [g for g in a.kernels[0]["grid"]]
    from tessel.runtime.kernel import compile_expr

    shapes = ((7, 2, 64), (7, 2, 64), (5, 16, 2, 64), (5, 16, 2, 64), (7,))
    # 7 tokens x 16 vectors over 128 threads.
    assert compile_expr(grid[0])((), shapes) == 1


def test_strategy_heuristic():
    assert recipes.choose_strategy(64, 4096, 8, 4) == "v1"
    assert recipes.choose_strategy(16, 16384, 8, 4) == "v2"
    assert recipes.choose_strategy(256, 1024, 8, 4) == "v1"
    assert recipes.choose_strategy(4, 512, 8, 4) == "v1"  # one partition: nothing to split
    assert recipes.choose_strategy(None, 16384, 8, 4) == "v1"
    # The longest partition that keeps about eight warps per SM (4 a block;
    # 8 for MQA's split row tiles, or as configured).
    assert recipes.choose_partition(16, 16384, 8, 4) == 4096  # 512 blocks of 4 warps
    assert recipes.choose_partition(4, 16384, 8, 4) == 2048  # 256 blocks
    assert recipes.choose_partition(64, 4096, 1, 32) == 2048  # MQA: 128 blocks of 8 warps
    assert recipes.choose_partition(64, 4096, 1, 32, warps=4) == 1024
    assert recipes.choose_partition(2, 4096, 8, 4) == 512  # under a wave even at 512
    assert recipes.choose_partition(128, 65536, 8, 4) == 4096
    assert recipes.choose_partition(None, 4096, 8, 4) == 512
    # MQA: 32 heads are one block per kv head up to D = 128, two at 256.
    assert [recipes.head_blocks(g, d) for g, d in ((8, 128), (32, 128), (24, 64), (64, 128),
                                                   (32, 256))] == [1, 1, 1, 2, 2]
    assert recipes.choose_strategy(64, 4096, 1, 32) == "v2"  # 64 blocks: split
    # A cluster of a sequence's two partitions when the split grid is one
    # wave of at most a block per SM.
    assert recipes.choose_cluster(64, 4096, 1, 32, 2048) == 2  # MQA: 128 blocks
    assert recipes.choose_cluster(66, 4096, 1, 32, 2048) == 2  # 132 blocks
    assert recipes.choose_cluster(67, 4096, 1, 32, 2048) == 1  # 134 blocks
    assert recipes.choose_cluster(16, 16384, 8, 4, 4096) == 1  # 512 blocks
    assert recipes.choose_cluster(2, 16384, 8, 4, 4096) == 1  # 4 partitions: opt-in
    assert recipes.choose_cluster(1, 65536, 8, 4, 4096) == 1  # 16 partitions
    assert recipes.choose_cluster(4, 1024, 8, 4, 1024) == 1  # one partition
    assert recipes.choose_cluster(None, 4096, 1, 32, 2048) == 1


def test_default_mqa_decode_is_one_cluster_kernel():
    k = tessel.paged_attention.compile(
        S((64, 32, 128), "f16"), S((None, 16, 1, 128), "f16"), S((None, 16, 1, 128), "f16"),
        S((64, 256), "int32"), S((64,), "int32"), target="cuda")
    assert k.kernels[0]["cluster"] == [1, 1, 2]
    # The reduction kernel stays in the artifact for longer tables; with
    # this table's 2 partitions its grid is empty.
    from tessel.runtime.kernel import compile_expr
    shapes = [(64, 32, 128), (600, 16, 1, 128), (600, 16, 1, 128), (64, 256), (64,),
              (64, 32, 128)]
    assert [compile_expr(g)((), shapes) for g in k.kernels[1]["grid"]] == [0, 32, 1]


def test_bad_options():
    with pytest.raises(ValueError, match="argument 'strategy': expected 'v1' or 'v2'"):
        attention("f16", 64, 16, "v3")
    with pytest.raises(ValueError, match="rows_per_warp must be 16 or 32, got 24"):
        attention("f16", 64, 16, "v1", config=dict(rows_per_warp=24))
    with pytest.raises(ValueError, match="rows_per_warp = 32 exceeds the 16 query-head rows"):
        attention("f16", 64, 16, "v1", config=dict(rows_per_warp=32))
    with pytest.raises(ValueError, match="warps = 5 does not split into the 2 row tiles"):
        attention("f16", 64, 16, "v1", 32, 1, config=dict(warps=5))
    with pytest.raises(ValueError, match="cluster must be an integer in \\[1, 8\\], got 9"):
        attention("f16", 64, 16, "v2", config=dict(cluster=9))
    with pytest.raises(ValueError, match="config cluster = 2 needs the split-K kernel"):
        attention("f16", 64, 16, "v1", config=dict(cluster=2))
    with pytest.raises(ValueError, match="argument 'q': paged_attention on target='cuda' needs f16"):
        attention("f32", 64, 16, None)
    with pytest.raises(ValueError, match="argument 'config': unknown key 'block_m'"):
        tessel.copy_blocks.compile(S((4, 16, 2, 64), "f16"), S((4, 16, 2, 64), "f16"),
                                   S((1, 2), "int64"), target="cuda", config=dict(block_m=4))
    with pytest.raises(ValueError, match="copy_blocks has one kernel"):
        tessel.copy_blocks.compile(S((4, 16, 2, 64), "f16"), S((4, 16, 2, 64), "f16"),
                                   S((1, 2), "int64"), target="cuda", strategy="v1")


def test_every_kernel_waits_for_the_grid_before_it(tmp_path):
    # tessel-finalize-kernels begins each kernel with griddepcontrol.wait, so
    # the runtime launches it early (PDL): v1 and both kernels of v2, the
    # cache write, the block copy, both attention ops and the GEMM rungs.
    kv = S((2, 8, 256, 64), "f16")
    kernels = [attention("f16", 128, 16, "v1"), attention("bf16", 64, 32, "v2"),
               kv_write("f16", 128, 16), copy_blocks("bf16", 64, 8),
               tessel.flash_attention.compile(kv, kv, kv, causal=True, target="cuda"),
               tessel.gemm.compile(S((256, 512), "f16"), S((512, 128), "f16"), target="cuda",
                                   strategy="wgmma_tma"),
               tessel.gemm.compile(S((64, 4096), "bf16"), S((4096, 64), "bf16"), target="cuda",
                                   strategy="mma", config=dict(split_k=4)),
               tessel.gemm.compile(S((40, 72), "f32"), S((72, 33), "f32"), target="cuda",
                                   strategy="naive")]
    for k in kernels:
        assert k.kernels and all(e["waits_for_prior_grid"] for e in k.kernels), k.kernels
        for text in k.ptx_modules.values():
            assert text.count("griddepcontrol.wait;") == text.count(".entry ")
    assert len(attention("bf16", 64, 32, "v2").kernels) == 2
