"""The GPU path without a GPU: PTX generation, ptxas, launch metadata, the
disk cache, option errors. Runs in CPU-only CI."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tessel
from tessel.compiler import cache, clear_cache

S = tessel.Spec
RUNGS = ["naive", "smem", "regtile", "pipelined", "mma", "wgmma", "wgmma_tma"]
RUNG_DTYPES = [(r, d) for r in RUNGS for d in ("f32", "f16", "bf16") if d != "f32" or "mma" not in r]


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSEL_CACHE_DIR", str(tmp_path / "cache"))
    clear_cache()
    yield
    clear_cache()


@pytest.mark.parametrize("rung,dtype", RUNG_DTYPES)
def test_compile_exposes_ptx_ir_and_metadata(rung, dtype):
    k = tessel.gemm.compile(S((100, 72), dtype), S((33, 72), dtype), S((100, 33), "f32"),
                            beta=1.0, transpose_b=True, target="cuda", strategy=rung)
    assert ".target sm_90a" in k.ptx and ".entry " + k.launch_metadata["kernel"] in k.ptx
    meta = k.launch_metadata
    assert meta["strategy"] == rung and meta["chip"] == "sm_90a"
    assert meta["block"][0] * meta["block"][1] <= 1024
    assert "gpu.launch_func" in k.ir("gpu") and "gpu.binary" in k.ir("binary")
    gpu_ir = k.ir("gpu")
    if rung == "smem":
        assert "#gpu.address_space<workgroup>" in gpu_ir and "gpu.barrier" in gpu_ir
    if rung in ("regtile", "pipelined"):
        assert "vector.fma" in gpu_ir and "ld.shared.v4" in k.ptx
        assert gpu_ir.count("gpu.barrier") == (2 if rung == "pipelined" else 2)
        assert ("memref<2x8x128xf32, #gpu.address_space<workgroup>>" in gpu_ir) == (rung == "pipelined")
    if rung == "mma":
        for piece in ("gpu.dynamic_shared_memory", "nvgpu.device_async_copy",
                      "nvgpu.device_async_wait", "nvgpu.ldmatrix", "gpu.barrier"):
            assert piece in gpu_ir, piece
        assert ("nvgpu.mma.sync" if dtype == "f16" else "nvvm.mma.sync") in gpu_ir
        assert meta["shared_bytes"] > 48 * 1024 and "mma.sync.aligned.m16n8k16" in k.ptx
        assert "cp.async" in k.ptx and "ldmatrix" in k.ptx
    if rung == "wgmma":
        for piece in ("gpu.dynamic_shared_memory", "nvgpu.device_async_copy", "gpu.barrier",
                      "nvvm.wgmma.fence.aligned", "nvvm.wgmma.mma_async",
                      "nvvm.wgmma.commit.group.sync.aligned", "nvvm.wgmma.wait.group.sync.aligned"):
            assert piece in gpu_ir, piece
        # B is K-major here (transpose_b): wgmma's transpose-b immediate is 0.
        assert f"wgmma.mma_async.sync.aligned.m64n128k16.f32.{dtype}.{dtype}" in k.ptx
        assert "fence.proxy.async.shared::cta" in k.ptx and "cp.async" in k.ptx
        assert "ldmatrix" not in k.ptx
    if rung == "wgmma_tma":
        for piece in ("nvgpu.tma.create.descriptor", "nvvm.cp.async.bulk.tensor.shared.cluster",
                      "nvvm.mbarrier.try_wait.parity", "nvvm.setmaxregister",
                      "nvvm.wgmma.mma_async"):
            assert piece in gpu_ir, piece
        assert "nvgpu.device_async_copy" not in gpu_ir
        assert meta["block"] == [384, 1, 1]
        assert f"wgmma.mma_async.sync.aligned.m64n128k16.f32.{dtype}.{dtype}" in k.ptx
        # A and B as 128-byte tensor maps by value
        assert k.ptx.count(".param .align 64 .b8") == 2 and ".minnctapersm 1" in k.ptx


@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
def test_mma_unaligned_k_falls_back_to_plain_loads(ta, tb):
    a = S((17, 33) if ta else (33, 17), "f16")
    b = S((65, 17) if tb else (17, 65), "f16")
    k = tessel.gemm.compile(a, b, transpose_a=ta, transpose_b=tb, target="cuda", strategy="mma")
    assert "nvgpu.device_async_copy" not in k.ir("gpu") and "nvgpu.ldmatrix" in k.ir("gpu")


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("rung,dtype", RUNG_DTYPES)
def test_ptxas_assembles_every_rung(rung, dtype, tmp_path, record_property):
    # wgmma_tma needs rows of a multiple of 8 elements (TMA)
    k_, n_ = (256, 136) if rung == "wgmma_tma" else (255, 129)
    k = tessel.gemm.compile(S((127, k_), dtype), S((k_, n_), dtype), alpha=0.5,
                            target="cuda", strategy=rung)
    ptx = tmp_path / "k.ptx"
    ptx.write_text(k.ptx)
    proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(ptx), "-o", str(tmp_path / "k.cubin")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # C7514: ptxas serialized the wgmmas, having found a group in flight where
    # it could not prove the accumulators untouched.
    assert "C7514" not in proc.stderr, proc.stderr
    # C7508: setmaxnreg ignored (wgmma_tma's producer/consumer split)
    assert "C7508" not in proc.stderr, proc.stderr
    regs = re.search(r"Used (\d+) registers", proc.stderr)
    spills = re.search(r"(\d+) bytes spill stores", proc.stderr)
    assert regs, proc.stderr
    record_property("registers", int(regs.group(1)))
    record_property("spill_stores", int(spills.group(1)) if spills else 0)
    print(f"{rung} {dtype}: {regs.group(1)} registers, "
          f"{spills.group(1) if spills else 0} bytes spill stores")


def test_copy_rounds_with_more_threads_than_chunks_are_guarded():
    a, b = S((100, 72), "bf16"), S((72, 80), "bf16")
    k = tessel.gemm.compile(a, b, target="cuda", strategy="wgmma",
                            config=dict(block_m=192, block_n=256, warpgroups=3))
    assert k.launch_metadata["block"] == [384, 1, 1]
    k = tessel.gemm.compile(a, b, target="cuda", strategy="mma",
                            config=dict(block_m=32, block_n=32, block_k=16))
    gpu_ir = k.ir("gpu")
    assert "nvgpu.device_async_copy" in gpu_ir and "scf.if" in gpu_ir


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("config", [dict(block_m=192, block_n=256, warpgroups=3),
                                    dict(block_m=256, block_n=128, warpgroups=4),
                                    dict(block_m=256, block_n=64, warpgroups=4, stages=5),
                                    dict(block_m=64, block_n=64, warpgroups=1, block_k=128)],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_ptxas_assembles_wgmma_shapes(config, tmp_path):
    # Accepted configurations must fit the register file (wgmma accumulators
    # cannot spill: ptxas stops) and keep the wgmmas asynchronous. Other
    # values may spill at the edges of tight shapes (192 x 256 with 384
    # threads: 108 bytes here), which costs speed only.
    k = tessel.gemm.compile(S((1000, 520), "f16"), S((520, 700), "f16"), target="cuda",
                            strategy="wgmma", config=config)
    (tmp_path / "k.ptx").write_text(k.ptx)
    proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(tmp_path / "k.ptx"), "-o",
                           str(tmp_path / "k.cubin")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "C7514" not in proc.stderr, proc.stderr


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("config", [dict(), dict(block_n=128),
                                    dict(block_m=64, block_n=128, warpgroups=1, stages=2),
                                    dict(block_k=128, block_n=128, stages=3),
                                    dict(stages=3, persistent=132),
                                    dict(block_n=128, persistent=7),
                                    dict(cluster=2), dict(stages=3, persistent=132, cluster=2),
                                    dict(block_m=64, block_n=128, warpgroups=1, cluster=4)],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
def test_ptxas_wgmma_tma_without_spills(config, ta, tb, tmp_path):
    a = S((2, 520, 1000) if ta else (2, 1000, 520), "bf16")
    b = S((2, 704, 520) if tb else (2, 520, 704), "bf16")
    k = tessel.gemm.compile(a, b, transpose_a=ta, transpose_b=tb, target="cuda",
                            strategy="wgmma_tma", config=config)
    (tmp_path / "k.ptx").write_text(k.ptx)
    proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(tmp_path / "k.ptx"), "-o",
                           str(tmp_path / "k.cubin")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for warning in ("C7514", "C7508"):
        assert warning not in proc.stderr, proc.stderr
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", proc.stderr)
    assert spills and all(x == ("0", "0") for x in spills), proc.stderr


def test_persistent_grid_is_at_most_the_blocks_asked_for():
    # 2 batches x 5 x 3 tiles of 128 x 256: 30 tiles walked by min(30, P) blocks.
    a, b = S((2, 520, 1000), "f16"), S((2, 1000, 704), "f16")
    for blocks, grid in ((132, [30, 1, 1]), (7, [7, 1, 1])):
        k = tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma",
                                config=dict(block_n=256, stages=3, persistent=blocks))
        assert k.launch_metadata["grid"] == grid
    with pytest.raises(ValueError, match="persistent must be an integer in"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma",
                            config=dict(persistent=0))
    with pytest.raises(ValueError, match="argument 'config': wgmma rejected this configuration: .*"
                       "persistent applies to strategy 'wgmma_tma' only, not 'wgmma'"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma", config=dict(persistent=8))


def test_cluster_grid_is_whole_clusters():
    # 1000 rows are 8 tile rows of 128 (4 clusters of 2), 704 columns 3
    # tiles of 256; persistent: min(2 x 4 x 3 cluster tiles, 132 / 2)
    # clusters of 2 along x.
    a, b = S((2, 1000, 520), "f16"), S((2, 520, 704), "f16")
    k = tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma",
                            config=dict(block_n=256, cluster=2))
    assert k.launch_metadata["grid"] == [3, 8, 2]
    assert k.launch_metadata["cluster"] == [1, 2, 1]
    assert ".reqnctapercluster 1, 2, 1" in k.ptx and "multicast::cluster" in k.ptx
    k = tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma",
                            config=dict(block_n=256, stages=3, cluster=2, persistent=132))
    assert k.launch_metadata["grid"] == [48, 1, 1]
    assert k.launch_metadata["cluster"] == [2, 1, 1]
    # 1100 rows: 9 tile rows, rounded up to 5 clusters.
    k = tessel.gemm.compile(S((1100, 520), "f16"), S((520, 704), "f16"), target="cuda",
                            strategy="wgmma_tma", config=dict(block_n=256, cluster=2))
    assert k.launch_metadata["grid"] == [3, 10, 1]
    assert tessel.gemm.compile(S((64, 64), "f16"), S((64, 64), "f16"), target="cuda",
                               strategy="wgmma_tma").launch_metadata["cluster"] is None
    with pytest.raises(ValueError, match="cluster must be an integer in"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma", config=dict(cluster=9))
    with pytest.raises(ValueError, match="cluster applies to strategy 'wgmma_tma' only"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma", config=dict(cluster=2))
    with pytest.raises(ValueError, match=r"cluster \(3\) must split B's tile rows \(64, block-k\)"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma", config=dict(cluster=3))


def test_wgmma_tma_refuses_rows_tma_cannot_read():
    with pytest.raises(ValueError, match="argument 'b': strategy 'wgmma_tma' loads it by TMA, "
                                         "which needs rows of a multiple of 8 elements"):
        tessel.gemm.compile(S((64, 64), "f16"), S((64, 60), "f16"), target="cuda",
                            strategy="wgmma_tma")
    with pytest.raises(ValueError, match="'wgmma_tma' needs f16 or bf16 inputs"):
        tessel.gemm.compile(S((64, 64), "f32"), S((64, 64), "f32"), target="cuda",
                            strategy="wgmma_tma")


def test_pipeline_errors_keep_the_head_of_long_notes():
    from tessel._native import PipelineError
    from tessel.compiler import build_module
    from tessel.compiler.cuda import STAGES, recipes_for
    from tessel.compiler.pipeline import run_pipeline
    from tessel.ir import context

    k = tessel.gemm.compile(S((128, 64), "f16"), S((64, 128), "f16"), target="cuda",
                            strategy="wgmma")
    module = build_module(tessel.gemm._def, k.signature, context())
    recipes_for(tessel.gemm._def).annotate(module, k.recipe)
    for _, pipeline in STAGES[:2]:
        run_pipeline(module, pipeline)
    # A pipeline that leaves ops LLVM cannot translate: MLIR attaches the
    # whole kernel module to the diagnostic.
    with pytest.raises(PipelineError) as info:
        run_pipeline(module, "gpu.module(convert-gpu-to-nvvm,convert-scf-to-cf,"
                             "reconcile-unrealized-casts),nvvm-attach-target{chip=sm_90a},"
                             "gpu-module-to-binary{format=isa}")
    message = str(info.value)
    assert "LLVM Translation failed for operation" in message
    assert "more lines; run the pipeline with tessel-opt for the whole text" in message
    assert len(message) < 20000


def test_disk_cache_hit_and_corruption(tmp_path):
    args = (S((64, 32), "f16"), S((32, 16), "f16"))
    k1 = tessel.gemm.compile(*args, target="cuda")
    files = list(cache.cache_dir().glob("*.json"))
    assert len(files) == 1
    clear_cache()
    k2 = tessel.gemm.compile(*args, target="cuda")
    assert k2.ptx == k1.ptx and k2._ir is None  # served from disk, no MLIR run
    assert "tessel.gemm" in k2.ir("tessel")  # recomputed on demand
    files[0].write_text('{"ptx": "garbage", "checksum": "0"}')
    clear_cache()
    k3 = tessel.gemm.compile(*args, target="cuda")
    assert k3.ptx == k1.ptx and k3._ir is not None  # rebuilt
    assert json.loads(files[0].read_text())["ptx"] == k1.ptx


def test_cache_key_covers_the_native_library(monkeypatch):
    assert cache.native_fingerprint() != "unknown"
    k1 = cache.key("ir", "pipeline")
    monkeypatch.setattr(cache, "native_fingerprint", lambda: "rebuilt")
    assert cache.key("ir", "pipeline") != k1


def test_disk_cache_concurrent_processes(tmp_path):
    code = ("import tessel; k = tessel.gemm.compile(tessel.Spec((48, 40), 'bf16'), "
            "tessel.Spec((40, 24), 'bf16'), target='cuda'); print(len(k.ptx))")
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o[0] for o in outs}) == 1
    entries = list(cache.cache_dir().glob("*.json"))
    assert len(entries) == 1 and cache.load(entries[0].stem) is not None
    assert not list(cache.cache_dir().glob("*.tmp"))


def test_dump_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSEL_DUMP_DIR", str(tmp_path / "dump"))
    tessel.gemm.compile(S((8, 8), "f32"), S((8, 8), "f32"), target="cuda", strategy="naive")
    (entry,) = (tmp_path / "dump").iterdir()
    names = sorted(p.name for p in entry.iterdir())
    assert names == ["0-tessel.mlir", "1-bufferized.mlir", "2-gpu.mlir", "3-nvvm.mlir",
                     "4-binary.mlir", "kernel.ptx"]


def test_bad_options():
    a, b = S((8, 8), "f16"), S((8, 8), "f16")
    with pytest.raises(ValueError, match="argument 'strategy': expected one of"):
        tessel.gemm.compile(a, b, target="cuda", strategy="fast")
    with pytest.raises(ValueError, match="a 16 x 16 thread tile needs 256 accumulator registers"):
        tessel.gemm.compile(a, b, target="cuda", strategy="regtile",
                            config={"thread_m": 16, "thread_n": 16})
    with pytest.raises(ValueError, match="thread-m \\(6\\) and thread-n \\(8\\) must be multiples of 4"):
        tessel.gemm.compile(a, b, target="cuda", strategy="pipelined", config={"thread_m": 6})
    for rung in ("mma", "wgmma"):
        with pytest.raises(ValueError, match=f"'{rung}' needs f16 or bf16 inputs, got f32"):
            tessel.gemm.compile(S((8, 8), "f32"), S((8, 8), "f32"), target="cuda", strategy=rung)
    with pytest.raises(ValueError, match="block-n \\(96\\) must be a multiple of 64 up to 256"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma", config={"block_n": 96})
    with pytest.raises(ValueError, match="warps-m does not apply"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma", config={"warps_m": 2})
    with pytest.raises(ValueError, match="stages must be at least 3"):
        tessel.gemm.compile(a, b, target="cuda", strategy="wgmma", config={"stages": 2})
    with pytest.raises(ValueError, match="a 128 x 64 warp tile needs 256 f32 accumulator registers"):
        tessel.gemm.compile(a, b, target="cuda", strategy="mma", config={"warps_m": 1})
    with pytest.raises(ValueError, match="stages must be at least 2"):
        tessel.gemm.compile(a, b, target="cuda", strategy="mma", config={"stages": 1})
    with pytest.raises(ValueError, match="2048 threads per block exceeds the limit of 1024"):
        tessel.gemm.compile(a, b, target="cuda", strategy="smem", config={"block_m": 64, "block_n": 32})
    with pytest.raises(ValueError, match="shared-memory tiles need 65536 bytes"):
        tessel.gemm.compile(a, b, target="cuda", strategy="smem",
                            config={"block_m": 32, "block_n": 32, "block_k": 256})
    with pytest.raises(ValueError, match="argument 'config': unknown key 'tile'"):
        tessel.gemm.compile(a, b, target="cuda", config={"tile": 4})
    with pytest.raises(ValueError, match="argument 'strategy': only applies to target='cuda'"):
        tessel.gemm.compile(a, b, strategy="smem")


def test_missing_gpu_is_a_clear_error():
    from tessel.runtime import driver

    if driver.available():
        pytest.skip("a GPU is present")
    k = tessel.gemm.compile(S((8, 8), "f32"), S((8, 8), "f32"), target="cuda")
    import numpy as np

    x = np.ones((8, 8), np.float32)
    with pytest.raises(driver.CudaError, match="NVIDIA"):
        k(x, x)


def test_empty_gemm_compiles_to_no_kernel_and_says_so():
    k = tessel.gemm.compile(S((0, 8), "f16"), S((8, 4), "f16"), target="cuda")
    assert k.stages == ("tessel",) and "tessel.gemm" in k.ir("tessel") and k.ptx == ""
    with pytest.raises(ValueError, match="compiles to no kernel; its only stage is 'tessel'"):
        k.ir("gpu")
    k = tessel.gemm.compile(S((8, 8), "f16"), S((8, 4), "f16"), alpha=0.0, target="cuda")
    assert k.launch_metadata["kernels"] == []
    with pytest.raises(ValueError, match="heads and head dimensions must be static"):
        tessel.flash_attention.compile(S((1, 2, 8, None), "f16"), S((1, 2, 8, 8), "f16"),
                                       S((1, 2, 8, 8), "f16"), target="cuda")


def test_fast_path_keys_calls_with_a_config():
    """A call passing config= must reach the cached-kernel path like any
    other: an unhashable dict in the key used to send every such call through
    validation and signature building again (~300 us a call on an H200)."""
    a = np.zeros((64, 64), np.float16)
    key = tessel.gemm._fast_key((a, a), "cuda", dict(strategy="wgmma", config=dict(split_k=2)))
    same = tessel.gemm._fast_key((a, a), "cuda", dict(config={"split_k": 2}, strategy="wgmma"))
    other = tessel.gemm._fast_key((a, a), "cuda", dict(strategy="wgmma", config=dict(split_k=3)))
    assert key is not None and key == same and key != other
    # A tuple spelled like the dict's items is a different option.
    as_tuple = tessel.gemm._fast_key((a, a), "cuda",
                                     dict(strategy="wgmma", config=(("split_k", 2),)))
    assert as_tuple != key
    # Unhashable option values still fall back to the general path.
    assert tessel.gemm._fast_key((a, a), "cuda", dict(config=dict(split_k=[2]))) is None
