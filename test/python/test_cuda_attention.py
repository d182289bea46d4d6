"""tessel.flash_attention's GPU path without a GPU: PTX for every head dim x
dtype x causal, assembled by ptxas with no spills; run-time sizes in the
launch metadata; option errors; the bshd layout on the CPU reference path.
Runs in CPU-only CI."""

import re
import shutil

import numpy as np
import pytest

import tessel
from ptxtools import ptxas
from tessel import reference as R
from tessel.compiler import clear_cache

S = tessel.Spec


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSEL_CACHE_DIR", str(tmp_path / "cache"))
    clear_cache()
    yield
    clear_cache()


def specs(d, dtype, layout="bhsd", hq=8, hkv=2):
    if layout == "bshd":
        return S((None, None, hq, d), dtype), S((None, None, hkv, d), dtype)
    return S((None, hq, None, d), dtype), S((None, hkv, None, d), dtype)




@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("d", [64, 128, 192, 256])
def test_ptxas_no_spills(d, dtype, causal, tmp_path, record_property):
    q, kv = specs(d, dtype)
    k = tessel.flash_attention.compile(q, kv, kv, causal=causal, return_lse=True,
                                       target="cuda", strategy="mma")
    for piece in ("mma.sync.aligned.m16n8k16", "ldmatrix.sync.aligned.m8n8.x4.trans",
                  "ldmatrix.sync.aligned.m8n8.x4.shared", "cp.async", "shfl.sync.bfly",
                  "ex2.approx"):
        assert piece in k.ptx, piece
    regs, stores, loads = ptxas(k.ptx, tmp_path)
    record_property("registers", regs)
    print(f"D={d} {dtype} causal={causal}: {regs} registers, {stores} bytes spill stores, "
          f"{loads} bytes spill loads")
    assert stores == 0 and loads == 0


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("d", [64, 128, 192, 256])
def test_wgmma_ptxas_no_spills(d, dtype, causal, tmp_path, record_property):
    q, kv = specs(d, dtype)
    k = tessel.flash_attention.compile(q, kv, kv, causal=causal, return_lse=True,
                                       target="cuda", strategy="wgmma")
    assert k.launch_metadata["strategy"] == "wgmma"
    n = 128 if d <= 128 else 64
    for piece in (f"wgmma.mma_async.sync.aligned.m64n{n}k16.f32.{dtype}.{dtype}",
                  f"wgmma.mma_async.sync.aligned.m64n{d}k16.f32.{dtype}.{dtype}",
                  "wgmma.wait_group.sync.aligned", "fence.proxy.async.shared::cta", "cp.async",
                  "shfl.sync.bfly", "ex2.approx"):
        assert piece in k.ptx, piece
    assert "ldmatrix" not in k.ptx  # Q, K and V are read by the tensor cores
    regs, stores, loads = ptxas(k.ptx, tmp_path)
    record_property("registers", regs)
    print(f"wgmma D={d} {dtype} causal={causal}: {regs} registers, {stores} bytes spill "
          f"stores, {loads} bytes spill loads")
    assert stores == 0 and loads == 0


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("config", [dict(block_m=192, block_n=64, warps=12, stages=2),
                                    dict(block_m=128, block_n=128, warps=8, stages=3),
                                    dict(block_m=64, block_n=128, warps=4, stages=3),
                                    dict(block_m=128, block_n=16, warps=8, stages=4)],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_wgmma_ptxas_other_configs(config, tmp_path):
    q, kv = specs(128, "f16")
    k = tessel.flash_attention.compile(q, kv, kv, causal=True, target="cuda", strategy="wgmma",
                                       config=config)
    assert k.launch_metadata["block"] == [32 * config["warps"], 1, 1]
    regs, stores, loads = ptxas(k.ptx, tmp_path)
    print(f"wgmma {config}: {regs} registers, {stores} bytes spill stores")
    assert stores == 0 and loads == 0


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("config", [dict(block_m=64, block_n=32, warps=4, stages=3),
                                    dict(block_m=64, block_n=64, warps=4, stages=2),
                                    dict(block_m=128, block_n=32, warps=4, stages=2),
                                    dict(block_m=32, block_n=16, warps=2, stages=4)],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_ptxas_other_configs(config, tmp_path):
    q, kv = specs(128, "f16")
    k = tessel.flash_attention.compile(q, kv, kv, causal=True, target="cuda", strategy="mma",
                                       config=config)
    assert k.launch_metadata["block"] == [32 * config["warps"], 1, 1]
    regs, stores, loads = ptxas(k.ptx, tmp_path)
    print(f"{config}: {regs} registers, {stores} bytes spill stores")


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
def test_ptxas_two_m_tiles_per_warp(tmp_path):
    # 32 query rows per warp: two m16 tiles share each K/V fragment.
    q, kv = specs(64, "bf16")
    k = tessel.flash_attention.compile(q, kv, kv, causal=True, return_lse=True, target="cuda",
                                       strategy="mma",
                                       config=dict(block_m=64, block_n=32, warps=2, stages=2))
    regs, stores, loads = ptxas(k.ptx, tmp_path)
    print(f"D=64 bf16, 2 m tiles per warp: {regs} registers, {stores} bytes spill stores")
    assert stores == 0


def test_default_strategy_is_the_measured_faster_rung():
    for d, causal, want in ((64, False, "wgmma_tma"), (64, True, "wgmma_tma"),
                            (128, False, "wgmma_tma"), (128, True, "wgmma_tma"),
                            (256, False, "mma"), (96, False, "mma")):
        q, kv = specs(d, "f16")
        k = tessel.flash_attention.compile(q, kv, kv, causal=causal, target="cuda")
        assert k.launch_metadata["strategy"] == want, (d, causal)
    meta = tessel.flash_attention.compile(*specs(128, "bf16"), specs(128, "bf16")[1],
                                          causal=True, target="cuda").launch_metadata
    assert meta["config"] == dict(block_m=128, block_n=128, warps=8, stages=2)
    # Two consumer warpgroups and the producer's; the ring's full and empty
    # barriers and Q's.
    assert meta["block"] == [384, 1, 1]
    assert meta["shared_bytes"] == (128 + 2 * 2 * 128) * 128 * 2 + 1024 + (2 * 2 + 2) * 8
    # D = 256 runs on mma with 16 rows a warp, Q re-read from shared memory.
    meta = tessel.flash_attention.compile(*specs(256, "f16"), specs(256, "f16")[1],
                                          target="cuda").launch_metadata
    assert meta["config"] == dict(block_m=128, block_n=32, warps=8, stages=2)


def test_launch_metadata_has_run_time_sizes():
    q, kv = specs(128, "bf16")
    k = tessel.flash_attention.compile(q, kv, kv, causal=True, return_lse=True, target="cuda",
                                       strategy="mma")
    meta = k.launch_metadata
    assert meta["strategy"] == "mma" and meta["block"] == [128, 1, 1]
    assert meta["config"] == dict(block_m=128, block_n=64, warps=4, stages=2)
    assert meta["grid"] == [None, 1, 1]  # B * Hq * ceil(Sq / 128): run-time
    assert meta["shared_bytes"] == (128 + 2 * 2 * 64) * 136 * 2
    (kernel,) = meta["kernels"]
    from tessel.runtime.kernel import compile_expr

    # The call's shapes, in signature order: q, k, v, out, lse.
    shapes = ((3, 8, 1000, 128), (3, 2, 900, 128), (3, 2, 900, 128), (3, 8, 1000, 128),
              (3, 8, 1000))
    grid = [compile_expr(g)((), shapes) for g in kernel["grid"]]
    assert grid == [24 * 8, 1, 1]
    gpu_ir = k.ir("gpu")
    assert "memref<1099511627776xbf16>" in gpu_ir and "nvvm.mma.sync" in gpu_ir


def test_bshd_is_strides_only():
    q, kv = specs(64, "f16", "bshd")
    k1 = tessel.flash_attention.compile(q, kv, kv, layout="bshd", target="cuda")
    q2, kv2 = specs(64, "f16")
    k2 = tessel.flash_attention.compile(q2, kv2, kv2, target="cuda")
    assert k1.launch_metadata["shared_bytes"] == k2.launch_metadata["shared_bytes"]
    assert 'layout = "bshd"' in k1.ir("tessel")
    count = lambda ptx: len(re.findall(r"mma\.sync|wgmma\.mma_async", ptx))  # noqa: E731
    assert count(k1.ptx) == count(k2.ptx)


def test_static_shapes_compile_too():
    q = S((2, 4, 100, 64), "f16")
    kv = S((2, 1, 70, 64), "f16")
    k = tessel.flash_attention.compile(q, kv, kv, causal=True, target="cuda")
    assert k.launch_metadata["grid"] == [8, 1, 1]


def test_bad_options():
    q, kv = specs(64, "f16")
    with pytest.raises(ValueError, match="argument 'strategy': expected one of mma, wgmma"):
        tessel.flash_attention.compile(q, kv, kv, target="cuda", strategy="tma")
    with pytest.raises(ValueError, match="head dimension 80 is not supported by strategy 'wgmma'"):
        q80, kv80 = specs(80, "f16")
        tessel.flash_attention.compile(q80, kv80, kv80, target="cuda", strategy="wgmma")
    with pytest.raises(ValueError, match="strategy 'wgmma': block_m .* must be 16 x warps"):
        tessel.flash_attention.compile(q, kv, kv, target="cuda", strategy="wgmma",
                                       config={"block_m": 64})
    with pytest.raises(ValueError, match="argument 'config': unknown key 'block_k'"):
        tessel.flash_attention.compile(q, kv, kv, target="cuda", config={"block_k": 32})
    with pytest.raises(ValueError, match="needs f16 or bf16 inputs, got f32"):
        f = S((1, 2, 8, 64), "f32")
        tessel.flash_attention.compile(f, f, f, target="cuda")
    with pytest.raises(ValueError, match="keeps 320 registers per thread live"):
        tessel.flash_attention.compile(*specs(128, "f16")[:1], specs(128, "f16")[1],
                                       specs(128, "f16")[1], target="cuda", strategy="mma",
                                       config={"block_n": 128})
    with pytest.raises(ValueError, match="head dimension 256 with 32 query rows .* the limit is 224"):
        q256, kv256 = specs(256, "bf16")
        tessel.flash_attention.compile(q256, kv256, kv256, target="cuda",
                                       config={"warps": 4, "block_n": 16})
    with pytest.raises(ValueError, match="argument 'q': head dimension 72 is not supported"):
        q72, kv72 = specs(72, "f16")
        tessel.flash_attention.compile(q72, kv72, kv72, target="cuda")
    with pytest.raises(ValueError, match="argument 'v': head dimension 128 differs"):
        tessel.flash_attention.compile(q, kv, specs(128, "f16")[1], target="cuda")
    with pytest.raises(ValueError, match="argument 'layout': expected 'bhsd' or 'bshd'"):
        tessel.flash_attention.compile(q, kv, kv, target="cuda", layout="sbhd")
    with pytest.raises(ValueError, match="run-time dimensions .* not supported"):
        tessel.flash_attention.compile(q, kv, kv)  # target="cpu"


@pytest.mark.parametrize("causal", [False, True])
def test_cpu_reference_honours_bshd(causal):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 4, 9, 16)).astype(np.float32)
    k = rng.standard_normal((2, 2, 7, 16)).astype(np.float32)
    v = rng.standard_normal((2, 2, 7, 16)).astype(np.float32)
    t = [np.ascontiguousarray(x.transpose(0, 2, 1, 3)) for x in (q, k, v)]
    o, lse = tessel.flash_attention(*t, causal=causal, return_lse=True, layout="bshd")
    want, want_lse = R.flash_attention(q, k, v, causal=causal)
    assert o.shape == (2, 9, 4, 16) and lse.shape == (2, 4, 9)
    np.testing.assert_allclose(o.transpose(0, 2, 1, 3), want, atol=1e-5)
    np.testing.assert_allclose(lse, want_lse, atol=1e-5)
