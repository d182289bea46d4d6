"""tessel.gemm on the GPU against numpy/torch. Skipped without a GPU."""

import itertools

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


RUNGS = ("naive", "smem", "regtile", "pipelined", "mma", "wgmma")
RUNG_DTYPES = [(r, d) for r in RUNGS for d in DTYPES if d != "f32" or "mma" not in r]


@pytest.mark.parametrize("rung,dtype", RUNG_DTYPES)
@pytest.mark.parametrize("m,n,k", SHAPES + [(256, 192, 4096), (130, 260, 72)])
def test_shapes(rung, dtype, m, n, k):
    rng = np.random.default_rng(m + n + k)
    a = rng.standard_normal((m, k)).astype(DTYPES[dtype])
    b = rng.standard_normal((k, n)).astype(DTYPES[dtype])
    check(tessel.gemm(a, b, target="cuda", strategy=rung), R.gemm(a, b), dtype)


@pytest.mark.parametrize("rung", RUNGS)
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("k", [90, 96])
def test_transposes_alpha_beta_batched(rung, ta, tb, k):
    rng = np.random.default_rng(3)
    bsz, m, n = 3, 65, 47 if k == 90 else 48
    a = rng.standard_normal((bsz, k, m) if ta else (bsz, m, k)).astype(np.float16)
    b = rng.standard_normal((bsz, n, k) if tb else (bsz, k, n)).astype(np.float16)
    c = rng.standard_normal((bsz, m, n)).astype(np.float32)
    got = tessel.gemm(a, b, c, alpha=0.5, beta=-1.5, transpose_a=ta, transpose_b=tb,
                      out_dtype=np.float32, target="cuda", strategy=rung)
    check(got, R.gemm(a, b, c, alpha=0.5, beta=-1.5, transpose_a=ta, transpose_b=tb), "f32")


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
    assert tessel.gemm.compile(a, b, target="cuda")._torch_fast is not None
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
k = tessel.gemm.compile(tessel.Spec((256, 256), 'f32'), tessel.Spec((256, 256), 'f32'), target='cuda')
m = k._loaded()
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
