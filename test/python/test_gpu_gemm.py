"""tessel.gemm on the GPU against numpy/torch. Skipped without a GPU."""

import itertools
import json
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import tessel
from tessel import reference as R

pytestmark = pytest.mark.gpu
BF16 = ml_dtypes.bfloat16
DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": BF16}
# Relative to max|ref| (outputs rounded to the dtype, f32 accumulation).
TOL = {"f32": 1e-5, "f16": 2e-3, "bf16": 1.6e-2}
SHAPES = [(1, 1, 1), (17, 33, 65), (127, 129, 255), (1000, 1000, 1000)]


def check(got, want, dtype):
    got = np.asarray(got, np.float64)
    err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
    assert err <= TOL[dtype], f"relative error {err:.3g} > {TOL[dtype]}"


RUNGS = ("naive", "smem", "regtile", "pipelined", "mma", "wgmma", "wgmma_tma")
RUNG_DTYPES = [(r, d) for r in RUNGS for d in DTYPES if d != "f32" or "mma" not in r]


def tma_refuses(rung, *operands) -> bool:
    """wgmma_tma loads rows by TMA: their lengths must be multiples of 8."""
    return rung == "wgmma_tma" and any(x.shape[-1] % 8 for x in operands)


@pytest.mark.parametrize("rung,dtype", RUNG_DTYPES)
@pytest.mark.parametrize("m,n,k", SHAPES + [(256, 192, 4096), (130, 260, 72), (1, 8, 8),
                                            (33, 40, 24), (129, 136, 264)])
def test_shapes(rung, dtype, m, n, k):
    rng = np.random.default_rng(m + n + k)
    a = rng.standard_normal((m, k)).astype(DTYPES[dtype])
    b = rng.standard_normal((k, n)).astype(DTYPES[dtype])
    if tma_refuses(rung, a, b):
        with pytest.raises(ValueError, match="strategy 'wgmma_tma' loads it by TMA"):
            tessel.gemm(a, b, target="cuda", strategy=rung)
        return
    check(tessel.gemm(a, b, target="cuda", strategy=rung), R.gemm(a, b), dtype)


@pytest.mark.parametrize("rung", RUNGS)
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("k", [90, 96])
def test_transposes_alpha_beta_batched(rung, ta, tb, k):
    rng = np.random.default_rng(3)
    # wgmma_tma: rows of A^T are M long, so M is a multiple of 8 there.
    bsz, m, n = 3, 72 if rung == "wgmma_tma" else 65, 47 if k == 90 else 48
    a = rng.standard_normal((bsz, k, m) if ta else (bsz, m, k)).astype(np.float16)
    b = rng.standard_normal((bsz, n, k) if tb else (bsz, k, n)).astype(np.float16)
    c = rng.standard_normal((bsz, m, n)).astype(np.float32)
    run = lambda: tessel.gemm(a, b, c, alpha=0.5, beta=-1.5, transpose_a=ta,  # noqa: E731
                              transpose_b=tb, out_dtype=np.float32, target="cuda", strategy=rung)
    if tma_refuses(rung, a, b):
        with pytest.raises(ValueError, match="strategy 'wgmma_tma' loads it by TMA"):
            run()
        return
    check(run(), R.gemm(a, b, c, alpha=0.5, beta=-1.5, transpose_a=ta, transpose_b=tb), "f32")


# wgmma_tma: one or two consumer warpgroups, 2 to 6 stages, K not a multiple
# of the tile (TMA zero-fills), batches, every transpose, alpha/beta/C.
WGMMA_TMA_CONFIGS = [
    dict(),
    dict(block_n=128),
    dict(block_m=64, block_n=128, warpgroups=1, stages=2),
    dict(block_m=128, block_n=64, stages=6, group_m=1),
    dict(block_k=128, block_n=128, stages=3),
]


@pytest.mark.parametrize("config", WGMMA_TMA_CONFIGS,
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
def test_wgmma_tma_configs(config, ta, tb):
    rng = np.random.default_rng(13)
    bsz, m, n, k = 2, 200, 136, 264
    a = rng.standard_normal((bsz, k, m) if ta else (bsz, m, k)).astype(BF16)
    b = rng.standard_normal((bsz, n, k) if tb else (bsz, k, n)).astype(BF16)
    c = rng.standard_normal((bsz, m, n)).astype(np.float32)
    got = tessel.gemm(a, b, c, alpha=2.0, beta=0.25, transpose_a=ta, transpose_b=tb,
                      out_dtype=np.float32, target="cuda", strategy="wgmma_tma", config=config)
    check(got, R.gemm(a, b, c, alpha=2.0, beta=0.25, transpose_a=ta, transpose_b=tb), "f16")


# Persistent wgmma_tma: few blocks walking many tiles (the ring's phases run
# on across tiles, the park is reused per tile), every transpose, alpha,
# beta * C, batches, 16-bit and f32 outputs, edges in M, N and K.
PERSISTENT_CASES = [
    (dict(persistent=1), np.float16),
    (dict(persistent=5, block_n=128), BF16),
    (dict(persistent=3, block_m=64, block_n=128, warpgroups=1, stages=2), np.float32),
    (dict(persistent=132, stages=3), BF16),
    (dict(persistent=4, block_n=128, stages=3), np.float32),
]


@pytest.mark.parametrize("config,out", PERSISTENT_CASES,
                         ids=lambda c: (",".join(f"{k}={v}" for k, v in c.items())
                                        if isinstance(c, dict) else np.dtype(c).name))
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("with_c", [False, True])
def test_wgmma_tma_persistent(config, out, ta, tb, with_c):
    rng = np.random.default_rng(17)
    bsz, m, n, k = 3, 328, 264, 200
    a = rng.standard_normal((bsz, k, m) if ta else (bsz, m, k)).astype(BF16)
    b = rng.standard_normal((bsz, n, k) if tb else (bsz, k, n)).astype(BF16)
    c = rng.standard_normal((bsz, m, n)).astype(out) if with_c else None
    kw = dict(alpha=1.5, beta=-0.5) if with_c else dict(alpha=0.5)
    kernel = tessel.gemm.compile(a, b, c, transpose_a=ta, transpose_b=tb, out_dtype=out,
                                 target="cuda", strategy="wgmma_tma", config=config, **kw)
    assert kernel.launch_metadata["grid"][0] <= config["persistent"]
    got = kernel(a, b, c) if with_c else kernel(a, b)
    want = R.gemm(a, b, c, transpose_a=ta, transpose_b=tb, **kw)
    check(got, want, "bf16" if out is BF16 else "f16")


# Clusters: 328 rows are 3 tile rows of 128 (two clusters of 2, the last
# block's rows all past M), 6 of 64 (cluster 4: one cluster and a half).
CLUSTER_CASES = [
    (dict(cluster=2), np.float16),
    (dict(cluster=2, block_n=128), np.float32),
    (dict(cluster=2, persistent=132, stages=3), BF16),
    (dict(cluster=2, persistent=4, block_n=128, stages=3), np.float16),
    (dict(cluster=2, persistent=2, block_n=128, stages=3), np.float32),
    (dict(cluster=4, block_m=64, block_n=128, warpgroups=1, stages=3), BF16),
    (dict(cluster=4, block_m=64, block_n=128, warpgroups=1, stages=2, persistent=8),
     np.float16),
]


@pytest.mark.parametrize("config,out", CLUSTER_CASES,
                         ids=lambda c: (",".join(f"{k}={v}" for k, v in c.items())
                                        if isinstance(c, dict) else np.dtype(c).name))
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("with_c", [False, True])
def test_wgmma_tma_cluster(config, out, ta, tb, with_c):
    rng = np.random.default_rng(23)
    bsz, m, n, k = 3, 328, 264, 200
    a = rng.standard_normal((bsz, k, m) if ta else (bsz, m, k)).astype(BF16)
    b = rng.standard_normal((bsz, n, k) if tb else (bsz, k, n)).astype(BF16)
    c = rng.standard_normal((bsz, m, n)).astype(out) if with_c else None
    kw = dict(alpha=1.5, beta=-0.5) if with_c else dict(alpha=0.5)
    kernel = tessel.gemm.compile(a, b, c, transpose_a=ta, transpose_b=tb, out_dtype=out,
                                 target="cuda", strategy="wgmma_tma", config=config, **kw)
    meta = kernel.launch_metadata
    axis = 0 if "persistent" in config else 1
    assert meta["cluster"][axis] == config["cluster"]
    assert meta["grid"][axis] % config["cluster"] == 0
    got = kernel(a, b, c) if with_c else kernel(a, b)
    want = R.gemm(a, b, c, transpose_a=ta, transpose_b=tb, **kw)
    check(got, want, "bf16" if out is BF16 else "f16")


@pytest.mark.parametrize("config", [dict(cluster=2, stages=3),
                                    dict(cluster=2, stages=3, persistent=6)],
                         ids=["tiles", "persistent"])
def test_wgmma_tma_cluster_run_time_m(config):
    # One compile for every M, the cluster count following M (M = 1: one
    # block of the cluster has rows, the other none).
    rng = np.random.default_rng(5)
    kern = tessel.gemm.compile(tessel.Spec((None, 1024), "f16"), tessel.Spec((1024, 520), "f16"),
                               target="cuda", strategy="wgmma_tma", config=config)
    bb = rng.standard_normal((1024, 520)).astype(np.float16)
    for m in (1, 129, 300, 1000):
        aa = rng.standard_normal((m, 1024)).astype(np.float16)
        check(kern(aa, bb), R.gemm(aa, bb), "f16")


def test_wgmma_tma_cluster_torch_large():
    torch = pytest.importorskip("torch")
    a = torch.randn(2048, 2048, device="cuda", dtype=torch.float16)
    b = torch.randn(2048, 2048, device="cuda", dtype=torch.float16) / 2048 ** 0.5
    want = torch.matmul(a, b).float()
    for config in (dict(cluster=2), dict(cluster=2, stages=3, persistent=132)):
        kern = tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma", config=config)
        for _ in range(3):  # repeated calls reuse the launch
            err = (kern(a, b).float() - want).abs().max().item()
            assert err < 5e-2, (config, err)


def test_wgmma_tma_persistent_run_time_m_and_odd_n():
    # One compile for every M; N = 130 (B transposed: rows of K) takes the
    # element-by-element edge of the epilogue.
    rng = np.random.default_rng(3)
    kern = tessel.gemm.compile(tessel.Spec((None, 4096), "f16"), tessel.Spec((130, 4096), "f16"),
                               transpose_b=True, target="cuda", strategy="wgmma_tma",
                               config=dict(stages=3, persistent=6))
    bb = rng.standard_normal((130, 4096)).astype(np.float16)
    for m in (1, 17, 300, 1000):
        aa = rng.standard_normal((m, 4096)).astype(np.float16)
        check(kern(aa, bb), R.gemm(aa, bb, transpose_b=True), "f16")


def test_wgmma_tma_persistent_torch_repeated_calls():
    # D is stored by TMA: its tensor map follows each call's new output.
    torch = pytest.importorskip("torch")
    cfg = dict(stages=3, persistent=132)
    outs = []
    for seed in range(3):
        g = torch.Generator(device="cuda").manual_seed(seed)
        a = torch.randn(520, 1024, device="cuda", dtype=torch.bfloat16, generator=g)
        b = torch.randn(1024, 776, device="cuda", dtype=torch.bfloat16, generator=g)
        got = tessel.gemm(a, b, target="cuda", strategy="wgmma_tma", config=cfg)
        outs.append(got)
        check(got.float().cpu().numpy(), (a.double() @ b.double()).cpu().numpy(), "bf16")
    assert len({o.data_ptr() for o in outs}) == 3


def test_wgmma_tma_torch_and_cupy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(17)
    a = rng.standard_normal((300, 520)).astype(np.float16)
    b = rng.standard_normal((520, 264)).astype(np.float16)
    want = R.gemm(a, b)
    got = tessel.gemm(torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda(), target="cuda",
                      strategy="wgmma_tma")
    assert isinstance(got, torch.Tensor) and got.is_cuda
    check(got.float().cpu().numpy(), want, "f16")
    # A misaligned view: TMA needs a 16-byte aligned base; the error names it.
    buf = torch.empty(300 * 520 + 1, dtype=torch.float16, device="cuda")
    flat = buf[1:].view(300, 520)
    flat.copy_(torch.from_numpy(a))
    with pytest.raises(ValueError, match="argument 'a' .*not 16-byte aligned"):
        tessel.gemm(flat, torch.from_numpy(b).cuda(), target="cuda", strategy="wgmma_tma")
    try:
        import cupy
    except ImportError:
        return
    got = tessel.gemm(cupy.asarray(a), cupy.asarray(b), target="cuda", strategy="wgmma_tma")
    assert isinstance(got, cupy.ndarray)
    check(cupy.asnumpy(got).astype(np.float32), want, "f16")


# Tile shapes the built-in table or a user may pick: one to four
# warpgroups, 64- to 256-wide wgmma, deeper K tiles, 3 to 5 stages.
WGMMA_CONFIGS = [
    dict(block_m=128, block_n=128, warpgroups=1),
    dict(block_m=128, block_n=128, warpgroups=2, stages=5),
    dict(block_m=256, block_n=128, warpgroups=4),
    dict(block_m=64, block_n=256, warpgroups=1, stages=3),
    dict(block_m=128, block_n=128, block_k=128, stages=3, group_m=1),
    dict(block_m=128, block_n=192, warpgroups=2),
    # 2048 B chunks for 384 threads: the copy's last round is guarded.
    dict(block_m=192, block_n=256, warpgroups=3),
    dict(block_m=256, block_n=64, warpgroups=4, stages=5),
]


@pytest.mark.parametrize("config", WGMMA_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
def test_wgmma_configs(config, ta, tb):
    rng = np.random.default_rng(7)
    bsz, m, n, k = 2, 300, 270, 264
    a = rng.standard_normal((bsz, k, m) if ta else (bsz, m, k)).astype(BF16)
    b = rng.standard_normal((bsz, n, k) if tb else (bsz, k, n)).astype(BF16)
    got = tessel.gemm(a, b, transpose_a=ta, transpose_b=tb, out_dtype=np.float32,
                      target="cuda", strategy="wgmma", config=config)
    check(got, R.gemm(a, b, transpose_a=ta, transpose_b=tb), "f16")


@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
def test_mma_tiles_smaller_than_the_block(ta, tb):
    # 32 x 16 tiles are 64 chunks for 128 threads: half the threads copy.
    rng = np.random.default_rng(11)
    m, n, k = 77, 45, 88
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float16)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float16)
    got = tessel.gemm(a, b, transpose_a=ta, transpose_b=tb, out_dtype=np.float32, target="cuda",
                      strategy="mma", config=dict(block_m=32, block_n=32, block_k=16))
    check(got, R.gemm(a, b, transpose_a=ta, transpose_b=tb), "f16")


@pytest.mark.parametrize("rung,dtype", RUNG_DTYPES)
def test_4096_cubed(rung, dtype):
    rng = np.random.default_rng(4096)
    a = rng.standard_normal((4096, 4096)).astype(DTYPES[dtype])
    b = rng.standard_normal((4096, 4096)).astype(DTYPES[dtype])
    torch = pytest.importorskip("torch")
    ta, tb = torch.from_numpy(a.view(np.uint16) if dtype == "bf16" else a).cuda(), None
    if dtype == "bf16":
        ta = ta.view(torch.bfloat16)
        tb = torch.from_numpy(b.view(np.uint16)).cuda().view(torch.bfloat16)
    else:
        tb = torch.from_numpy(b).cuda()
    got = tessel.gemm(ta, tb, target="cuda", strategy=rung)
    assert isinstance(got, torch.Tensor) and got.is_cuda and got.dtype == ta.dtype
    want = (ta.double() @ tb.double()).cpu().numpy()
    check(got.float().cpu().numpy(), want, dtype)


def test_torch_repeated_calls_streams_and_fallbacks():
    torch = pytest.importorskip("torch")
    a = torch.randn(130, 70, device="cuda", dtype=torch.float16)
    b = torch.randn(70, 90, device="cuda", dtype=torch.float16)
    want = (a.double() @ b.double()).cpu().numpy()
    for _ in range(3):  # the second call on takes the prepared launch path
        check(tessel.gemm(a, b, target="cuda").float().cpu().numpy(), want, "f16")
    # The functional call compiles for M's size class (run-time M) and has
    # prepared the torch path for this shape.
    k = tessel.gemm._fast[tessel.gemm._fast_key((a, b), "cuda", {})]
    assert k.signature.arg("a").spec.shape == (None, 70) and k._launcher._fast
    # Non-contiguous and host tensors leave that path and are copied.
    a_strided = torch.empty(70, 130, device="cuda", dtype=torch.float16).t()
    a_strided.copy_(a)
    assert not a_strided.is_contiguous()
    check(tessel.gemm(a_strided, b, target="cuda").float().cpu().numpy(), want, "f16")
    d = tessel.gemm(a.cpu(), b, target="cuda")
    assert d.is_cuda
    check(d.float().cpu().numpy(), want, "f16")
    # The launch goes to the caller's current stream.
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        x = a * 2
        d = tessel.gemm(x, b, target="cuda")
    s.synchronize()
    check(d.float().cpu().numpy(), 2 * want, "f16")


def test_repeated_calls_through_the_api_prepared_launch():
    """After two calls, tessel.gemm keeps the prepared launch per call key;
    fresh operands (new tensor maps) alternating with old ones, outputs held
    by the caller (new output pointers) and a strided tensor all give the
    right products."""
    torch = pytest.importorskip("torch")
    b = torch.randn(2048, 264, device="cuda", dtype=torch.bfloat16)
    xs = [torch.randn(48, 2048, device="cuda", dtype=torch.bfloat16) for _ in range(3)]
    wants = [(x.double() @ b.double()).cpu().numpy() for x in xs]
    held = []
    for i in range(9):
        j = [0, 1, 0, 2, 2, 1, 0, 1, 2][i]
        held.append((j, tessel.gemm(xs[j], b, target="cuda")))
    key = tessel.gemm._fast_key((xs[0], b), "cuda", {})
    assert key in tessel.gemm._calls
    assert tessel.gemm._fast[key].recipe.strategy == "wgmma_tma"
    for j, d in held:
        check(d.float().cpu().numpy(), wants[j], "bf16")
    strided = torch.empty(2048, 48, device="cuda", dtype=torch.bfloat16).t()
    strided.copy_(xs[1])
    check(tessel.gemm(strided, b, target="cuda").float().cpu().numpy(), wants[1], "bf16")
    check(tessel.gemm(xs[2], b, target="cuda").float().cpu().numpy(), wants[2], "bf16")


def test_compiled_kernel_repeated_calls_take_the_prepared_path_safely():
    """A .compile()d kernel called again with tensors like an earlier call's
    launches through the prepared path; another dtype, a strided tensor or
    another shape still meets the checks."""
    torch = pytest.importorskip("torch")
    a = torch.randn(64, 136, device="cuda", dtype=torch.float16)
    b = torch.randn(136, 72, device="cuda", dtype=torch.float16)
    k = tessel.gemm.compile(a, b, target="cuda")
    want = (a.double() @ b.double()).cpu().numpy()
    for _ in range(3):
        check(k(a, b).float().cpu().numpy(), want, "f16")
    assert k._launcher._fast
    with pytest.raises(ValueError, match="argument 'a'"):
        k(a.to(torch.bfloat16), b)
    with pytest.raises(ValueError, match="argument 'a'"):
        k(a.float(), b)
    with pytest.raises(ValueError, match="argument 'a'"):
        k(a[:32], b)
    a_strided = torch.empty(136, 64, device="cuda", dtype=torch.float16).t()
    a_strided.copy_(a)
    check(k(a_strided, b).float().cpu().numpy(), want, "f16")


def test_torch_in_torch_out_and_cache_hit():
    torch = pytest.importorskip("torch")
    a = torch.randn(300, 200, device="cuda", dtype=torch.float16)
    b = torch.randn(200, 100, device="cuda", dtype=torch.float16)
    d = tessel.gemm(a, b, target="cuda")
    assert isinstance(d, torch.Tensor) and d.device == a.device
    check(d.float().cpu().numpy(), (a.double() @ b.double()).cpu().numpy(), "f16")
    k1 = tessel.gemm.compile(a, b, target="cuda")
    k2 = tessel.gemm.compile(a, b, target="cuda")
    assert k1 is k2
    # Non-contiguous inputs are copied.
    check(tessel.gemm(a.t().contiguous().t(), b, target="cuda").float().cpu().numpy(),
          (a.double() @ b.double()).cpu().numpy(), "f16")


def test_cupy_in_cupy_out():
    cupy = pytest.importorskip("cupy")
    a = cupy.random.standard_normal((64, 48), dtype=cupy.float32)
    b = cupy.random.standard_normal((48, 32), dtype=cupy.float32)
    d = tessel.gemm(a, b, target="cuda")
    assert isinstance(d, cupy.ndarray)
    check(cupy.asnumpy(d), cupy.asnumpy(a).astype(np.float64) @ cupy.asnumpy(b), "f32")


def test_mismatched_arrays_rejected_before_launch():
    x = np.ones((8, 8), np.float32)
    k = tessel.gemm.compile(x, x, target="cuda")
    with pytest.raises(ValueError, match="argument 'b': got Spec"):
        k(x, np.ones((8, 4), np.float32))


def test_kernel_fault_is_an_exception_naming_the_kernel():
    """A faulting kernel poisons its CUDA context, so it runs in a child process."""
    import subprocess
    import sys

    code = """
import numpy as np, tessel
from tessel.runtime.driver import CudaError
from tessel.runtime import driver
k = tessel.gemm.compile(tessel.Spec((256, 256), 'f32'), tessel.Spec((256, 256), 'f32'), target='cuda')
m = driver.Module(k.ptx, k.launch_metadata['kernel'])
meta = k.launch_metadata
try:
    m.launch(meta['grid'], meta['block'], meta['shared_bytes'], [8, 8, 8])
    m.synchronize()
except CudaError as e:
    print('raised:', e)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "raised:" in proc.stdout and "tessel_gemm_kernel" in proc.stdout, proc.stdout + proc.stderr
    assert "CUDA_ERROR_ILLEGAL_ADDRESS" in proc.stdout or "CUDA_ERROR" in proc.stdout


def test_run_time_m_one_compile_per_size_class():
    """A serving step's token count changes every call: M = 1..4096 compiles
    one kernel per size class, and every M is right."""
    torch = pytest.importorskip("torch")
    from tessel.compiler import cuda

    before = set(cuda._kernels)
    b = torch.randn(1024, 4096, device="cuda", dtype=torch.bfloat16)
    for m in (1, 2, 7, 16, 64, 100, 255, 256, 1000, 1023, 1024, 2047, 4096):
        a = torch.randn(m, 1024, device="cuda", dtype=torch.bfloat16)
        got = tessel.gemm(a, b, target="cuda")
        assert got.shape == (m, 4096)
        check(got.float().cpu().numpy(), (a.double() @ b.double()).cpu().numpy(), "bf16")
    compiled = set(cuda._kernels) - before
    # 128x128 tiles below 2048^2 outputs, persistent 128x256 above (for
    # every M of the class alike: the table's choice does not read M).
    assert len(compiled) == 2


def test_run_time_m_compiled_ahead_and_zero_rows():
    torch = pytest.importorskip("torch")
    k = tessel.gemm.compile(tessel.Spec((None, 96), "f16"), tessel.Spec((96, 64), "f16"),
                            target="cuda", strategy="mma")
    assert k.launch_metadata["grid"][1] is None  # computed at launch
    b = torch.randn(96, 64, device="cuda", dtype=torch.float16)
    for m in (0, 1, 33, 300):
        a = torch.randn(m, 96, device="cuda", dtype=torch.float16)
        got = k(a, b)
        assert got.shape == (m, 64)
        if m:
            check(got.float().cpu().numpy(), (a.double() @ b.double()).cpu().numpy(), "f16")
    with pytest.raises(ValueError, match="argument 'b': got Spec"):
        k(a, torch.randn(96, 32, device="cuda", dtype=torch.float16))


def test_empty_gemm_needs_no_kernel():
    torch = pytest.importorskip("torch")
    a = torch.randn(5, 0, device="cuda", dtype=torch.float16)
    b = torch.randn(0, 7, device="cuda", dtype=torch.float16)
    c = torch.randn(5, 7, device="cuda", dtype=torch.float32)
    got = tessel.gemm(a, b, c, beta=2.0, target="cuda")
    assert got.shape == (5, 7) and got.dtype == torch.float16
    np.testing.assert_allclose(got.float().cpu().numpy(), 2 * c.cpu().numpy(), rtol=1e-3)
    assert tessel.gemm(torch.randn(0, 8, device="cuda", dtype=torch.float16),
                       torch.randn(8, 4, device="cuda", dtype=torch.float16),
                       target="cuda").shape == (0, 4)


def test_cuda_graph_capture_and_replay():
    torch = pytest.importorskip("torch")
    a = torch.randn(256, 128, device="cuda", dtype=torch.float16)
    b = torch.randn(128, 192, device="cuda", dtype=torch.float16)
    want = (a.double() @ b.double()).cpu().numpy()
    tessel.gemm(a, b, target="cuda")  # warm up: compile and load outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        d1 = tessel.gemm(a, b, target="cuda")
        d2 = tessel.gemm(d1, b.t().contiguous(), target="cuda")
    a.mul_(2)
    graph.replay()
    torch.cuda.synchronize()
    check(d1.float().cpu().numpy(), 2 * want, "f16")
    want2 = (d1.double() @ b.t().double()).cpu().numpy()
    check(d2.float().cpu().numpy(), want2, "f16")


def test_mixed_devices_are_refused():
    torch = pytest.importorskip("torch")
    a = torch.randn(8, 8, device="cuda", dtype=torch.float16)
    if torch.cuda.device_count() < 2:
        b = torch.randn(8, 8, dtype=torch.float16)  # a host tensor is copied, not refused
        assert tessel.gemm(a, b, target="cuda").is_cuda
        pytest.skip("one GPU: the mixed-device error needs two")
    b = torch.randn(8, 8, device="cuda:1", dtype=torch.float16)
    with pytest.raises(ValueError, match="argument 'b': is on CUDA device 1 but 'a' is on device 0"):
        tessel.gemm(a, b, target="cuda")


def test_two_devices_from_two_threads():
    torch = pytest.importorskip("torch")
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs")
    import threading

    errors = []

    def work(dev):
        try:
            torch.cuda.set_device(dev)
            a = torch.randn(512, 256, device=f"cuda:{dev}", dtype=torch.float16)
            b = torch.randn(256, 384, device=f"cuda:{dev}", dtype=torch.float16)
            for _ in range(20):
                d = tessel.gemm(a, b, target="cuda")
            assert d.device == a.device
            check(d.float().cpu().numpy(), (a.double() @ b.double()).cpu().numpy(), "f16")
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


# split-K: K parts into an f32 workspace, then the reduction kernel applies
# alpha, beta * C and the output type. K is never a multiple of block-k
# here, so the last part is the shorter one and is masked (wgmma_tma: TMA
# zero-fills it).
SPLIT_CASES = [(rung, split, dtype) for rung in ("mma", "wgmma", "wgmma_tma")
               for split in (2, 3, 8) for dtype in ("f16", "bf16")]


@pytest.mark.parametrize("rung,split,dtype", SPLIT_CASES)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_split_k_alpha_beta_c_transposes(rung, split, dtype, ta, tb):
    rng = np.random.default_rng(split)
    # wgmma_tma reads rows of a multiple of 8 elements: A^T's rows are M long.
    m, n, k = (72 if rung == "wgmma_tma" else 70), 200, 1000
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(DTYPES[dtype])
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(DTYPES[dtype])
    c = rng.standard_normal((m, n)).astype(np.float32)
    config = dict(split_k=split)
    if rung == "wgmma":
        config.update(block_m=64, block_n=128, warpgroups=1)
    if rung == "wgmma_tma":
        config.update(block_m=128, block_n=128)
    kernel = tessel.gemm.compile(a, b, c, alpha=0.75, beta=-0.5, transpose_a=ta, transpose_b=tb,
                                 target="cuda", strategy=rung, config=config)
    assert len(kernel.kernels) == 2 and kernel.launch_metadata["grid"][2] == split
    got = kernel(a, b, c)
    check(got, R.gemm(a, b, c, alpha=0.75, beta=-0.5, transpose_a=ta, transpose_b=tb), dtype)


@pytest.mark.parametrize("rung,split", [("mma", 3), ("wgmma", 8), ("wgmma_tma", 5)])
def test_split_k_batched_and_run_time_m(rung, split):
    rng = np.random.default_rng(5)
    # wgmma_tma: rows of a multiple of 8 elements (TMA's 16-byte pitch).
    kk, k2 = (776, 4104) if rung == "wgmma_tma" else (777, 4100)
    a = rng.standard_normal((3, 33, kk)).astype(np.float16)
    b = rng.standard_normal((3, kk, 96)).astype(np.float16)
    got = tessel.gemm(a, b, out_dtype=np.float32, target="cuda", strategy=rung,
                      config=dict(split_k=split))
    check(got, R.gemm(a, b), "f32")
    k = tessel.gemm.compile(tessel.Spec((None, k2), "bf16"), tessel.Spec((k2, 64), "bf16"),
                            target="cuda", strategy=rung, config=dict(split_k=split))
    bb = rng.standard_normal((k2, 64)).astype(BF16)
    for m in (1, 17, 300):
        aa = rng.standard_normal((m, k2)).astype(BF16)
        check(k(aa, bb), R.gemm(aa, bb), "bf16")


@pytest.mark.parametrize("m", [1, 16, 64, 128, 256, 512])
@pytest.mark.parametrize("n,k", [(4096, 4096), (4096, 14336)])
def test_serving_shapes_from_the_table(m, n, k):
    """The skinny classes' tiles and split-K, as the functional call picks them."""
    torch = pytest.importorskip("torch")
    a = torch.randn(m, k, device="cuda", dtype=torch.float16)
    b = torch.randn(k, n, device="cuda", dtype=torch.float16)
    got = tessel.gemm(a, b, target="cuda")
    check(got.float().cpu().numpy(), (a.double() @ b.double()).cpu().numpy(), "f16")


def test_auto_tunes_once_stores_and_is_right(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from tessel.compiler.cuda import autotune

    monkeypatch.setenv("TESSEL_CACHE_DIR", str(tmp_path))
    autotune.clear()
    a = torch.randn(16, 4096, device="cuda", dtype=torch.float16)
    b = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    got = tessel.gemm(a, b, target="cuda", strategy="auto")
    check(got.float().cpu().numpy(), (a.double() @ b.double()).cpu().numpy(), "f16")
    result = tessel.autotune(tessel.gemm, a, b)
    assert result.cached and result.timings and result.strategy in ("mma", "wgmma", "wgmma_tma")
    entries = [p for p in tmp_path.glob("*.json")
               if json.loads(p.read_text()).get("kind") == "autotune"]
    assert len(entries) == 1
    # Another process reads the entry: no timing, no progress line.
    code = ("import torch, tessel; a = torch.randn(9, 4096, device='cuda', dtype=torch.float16);"
            "b = torch.randn(4096, 4096, device='cuda', dtype=torch.float16);"
            "tessel.gemm(a, b, target='cuda', strategy='auto'); torch.cuda.synchronize()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TESSEL_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "tessel autotune" not in proc.stderr
