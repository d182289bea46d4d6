"""Where a repeated tessel.gemm call's host time goes, piece by piece (a
diagnosis aid for the GPU machine): python scripts/host_breakdown.py [out.json].
Times, per call, each step of the cached path of one serving product
(M = 64, N = K = 4096, f16) in isolation: the api's key, the prepared
launcher, the output allocation, the launch, and the torch accessors they
use; beside torch.matmul of the same product."""
import json
import sys
import time

import torch

import tessel
from tessel.runtime import driver


def host(fn, n=3000):
    """Host seconds per call, synchronizing every 200 calls so the launch
    queue never fills (a full queue blocks, which is GPU time)."""
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    total = 0.0
    done = 0
    while done < n:
        t = time.perf_counter()
        for _ in range(200):
            fn()
        total += time.perf_counter() - t
        done += 200
        torch.cuda.synchronize()
    return total / done * 1e6


out = dict(device=driver.device_name(), torch=torch.__version__, rows={})
m, n, k = (int(v) for v in (sys.argv[2:5] if len(sys.argv) > 4 else (64, 4096, 4096)))
a = torch.randn(m, k, device="cuda", dtype=torch.float16)
b = torch.randn(k, n, device="cuda", dtype=torch.float16)
ref = torch.matmul(a, b).float()
for _ in range(3):  # the general path, the kernel's prepared one, the api's
    err = float((tessel.gemm(a, b, target="cuda").float() - ref).abs().max())
    assert err < 0.05 * float(ref.abs().max()), err
    torch.cuda.synchronize()
out["max_error"] = err
kern = tessel.gemm._fast[tessel.gemm._fast_key((a, b), "cuda", {})]
launcher = kern._launcher
entry = next(iter(launcher._fast.values()))
dev = torch.device("cuda", 0)
raw = torch._C._cuda_getCurrentRawStream
stream = lambda: raw(0)  # noqa: E731
run = next(iter(launcher.program._prepared.values()))
c = torch.empty(m, n, device="cuda", dtype=torch.float16)
ptrs = [a.data_ptr(), b.data_ptr(), c.data_ptr()]
s = stream()
empty = torch.empty
rows = out["rows"]
rows["torch.matmul"] = host(lambda: torch.matmul(a, b))
rows["tessel.gemm"] = host(lambda: tessel.gemm(a, b, target="cuda"))
rows["compiled kernel(a, b)"] = host(lambda: kern(a, b))
rows["launcher.fast((a, b))"] = host(lambda: launcher.fast((a, b)))
if callable(entry):  # the prepared call of this tree's runtime
    rows["prepared call((a, b))"] = host(lambda: entry((a, b)))
rows["run(ptrs, stream)"] = host(lambda: run(ptrs, s))
rows["api _fast_key"] = host(lambda: tessel.gemm._fast_key((a, b), "cuda", {}))
rows["torch.empty(shape, dtype, device)"] = host(
    lambda: empty((m, n), dtype=torch.float16, device=dev))
rows["torch.empty(m, n, ...)"] = host(lambda: torch.empty(m, n, dtype=torch.float16, device=dev))
rows["a.new_empty((m, n))"] = host(lambda: a.new_empty((m, n)))
rows["stream()"] = host(stream)
rows["x.shape"] = host(lambda: a.shape)
rows["x.dtype"] = host(lambda: a.dtype)
rows["x.is_contiguous()"] = host(lambda: a.is_contiguous())
rows["x.get_device()"] = host(lambda: a.get_device())
rows["x.data_ptr()"] = host(lambda: a.data_ptr())
rows["x.stride()"] = host(lambda: a.stride())
rows["type(x)"] = host(lambda: type(a))
rows["empty lambda"] = host(lambda: None)
# The launch alone: cuda-python's cuLaunchKernel on the prepared block.
prog = launcher.program
k0 = prog.kernels[0]
fn = prog.library.function(k0.name, 0)
drv = driver._driver()
import ctypes  # noqa: E402

values, params = driver._argument_block(len(k0.params))
addr = ctypes.addressof(params)
out["kernel"] = dict(name=k0.name, params=len(k0.params), tensormaps=len(k0.tensormaps),
                     block=k0.block, shared=k0.shared_bytes, kernels=len(prog.kernels))
# A zero-argument empty kernel: the driver's own floor.
ptx = """.version 8.0
.target sm_90
.address_size 64
.visible .entry empty() { ret; }
"""
lib = driver.Library(ptx)
efn = lib.function("empty", 0)
eh = efn.handle
rows["cuLaunchKernel empty kernel, cuda-python"] = host(
    lambda: drv.cuLaunchKernel(eh, 1, 1, 1, 32, 1, 1, 0, s, 0, 0))
sh = drv.CUstream(s)
rows["cuLaunchKernel empty kernel, CUstream object"] = host(
    lambda: drv.cuLaunchKernel(eh, 1, 1, 1, 32, 1, 1, 0, sh, 0, 0))
print(json.dumps(out, indent=1))
if len(sys.argv) > 1:
    json.dump(out, open(sys.argv[1], "w"), indent=1)
