"""Where a repeated call's host time goes (a diagnosis aid for the GPU
machine): python scripts/host_overhead.py. Times the serving rows at
N = K = 4096 with torch, cProfiles tessel.gemm on a tiny product, and times
bare launches of an empty kernel through the runtime's launcher
(cuda-python's cuLaunchKernel) and through libcuda by ctypes (H200 host,
2026-12-02: 5.2-5.5 against 6.0-6.3 us, so the runtime stays on
cuda-python)."""
import cProfile
import ctypes
import io
import json
import pstats
import time

import torch

import tessel
from tessel.bench.__main__ import _time
from tessel.runtime import driver


def ctypes_launch(fn, nargs: int):
    """cuLaunchKernel of `fn` (grid 1, one warp, `nargs` zero arguments)
    straight through ctypes, on the runtime's argument block."""
    launch = ctypes.CDLL("libcuda.so.1").cuLaunchKernel
    u32, ptr = ctypes.c_uint, ctypes.c_void_p
    launch.argtypes = [ptr, u32, u32, u32, u32, u32, u32, u32, ptr, ptr, ptr]
    launch.restype = ctypes.c_int
    values, params = driver._argument_block(nargs)
    handle, address = int(fn.handle), ctypes.addressof(params)

    def run(slot_values, stream):
        values[:nargs] = slot_values
        err = launch(handle, 1, 1, 1, 32, 1, 1, 0, stream or None, address, None)
        if err:
            raise RuntimeError(f"cuLaunchKernel failed: {err}")

    run.keep = (values, params)
    return run


out = dict(rows=[])


def host(fn, n=300):
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    h = (time.perf_counter() - t) / n
    torch.cuda.synchronize()
    return h


for dt in (torch.float16, torch.bfloat16):
    b = torch.randn(4096, 4096, device="cuda", dtype=dt)
    for m in (16, 64, 256):
        a = torch.randn(m, 4096, device="cuda", dtype=dt)
        k = tessel.gemm.compile(a, b, target="cuda")
        ref = torch.matmul(a, b)
        err = (tessel.gemm(a, b, target="cuda").float() - ref.float()).abs().max().item()
        row = dict(dtype=str(dt), m=m, err=err,
                   torch_us=_time(lambda: torch.matmul(a, b), iters=10) * 1e6,
                   gemm_us=_time(lambda: tessel.gemm(a, b, target="cuda"), iters=10) * 1e6,
                   compiled_us=_time(lambda: k(a, b), iters=10) * 1e6,
                   gemm_us_100=_time(lambda: tessel.gemm(a, b, target="cuda"), iters=100) * 1e6,
                   torch_host_us=host(lambda: torch.matmul(a, b)) * 1e6,
                   gemm_host_us=host(lambda: tessel.gemm(a, b, target="cuda")) * 1e6,
                   compiled_host_us=host(lambda: k(a, b)) * 1e6)
        out["rows"].append(row)
        print(row, flush=True)

# A tiny product: host time dominates.
a = torch.randn(16, 128, device="cuda", dtype=torch.float16)
b = torch.randn(128, 128, device="cuda", dtype=torch.float16)
out["tiny_gemm_host_us"] = host(lambda: tessel.gemm(a, b, target="cuda"), 2000) * 1e6
out["tiny_torch_host_us"] = host(lambda: torch.matmul(a, b), 2000) * 1e6
pr = cProfile.Profile()
pr.enable()
for _ in range(2000):
    tessel.gemm(a, b, target="cuda")
pr.disable()
torch.cuda.synchronize()
s = io.StringIO()
pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(18)
print(s.getvalue())

# Bare launches of an empty kernel: cuda-python's wrapper against ctypes.
ptx = """.version 8.0
.target sm_90
.address_size 64
.visible .entry empty(.param .u64 p0, .param .u64 p1, .param .u64 p2) { ret; }
"""
lib = driver.Library(ptx)
fn = lib.function("empty", 0)
stream = torch.cuda.current_stream().cuda_stream
for name, launch in (("cuda-python", driver.launcher(fn, (1, 1, 1), (32, 1, 1), 0, 3)),
                     ("ctypes", ctypes_launch(fn, 3))):
    vals = [0, 0, 0]
    out[f"empty_launch_{name}_us"] = host(lambda: launch(vals, stream), 5000) * 1e6
    print(name, "empty-kernel launch host us", out[f"empty_launch_{name}_us"], flush=True)
print(json.dumps(out))
