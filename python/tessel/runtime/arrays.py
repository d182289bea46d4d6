"""Device arrays in and out: numpy (copied to and from the device), torch and
cupy CUDA arrays (used in place, zero-copy), anything else exposing
`__cuda_array_interface__` (inputs only)."""

from __future__ import annotations

import numpy as np

from ..ops._base import BF16, F16, F32, I32, I64


def kind(x) -> str:
    if isinstance(x, np.ndarray):
        return "numpy"
    module = type(x).__module__.split(".")[0]
    if module == "torch":
        return "torch"
    if module == "cupy":
        return "cupy"
    if hasattr(x, "__cuda_array_interface__"):
        return "cai"
    return "unknown"


def _torch_dtype(dt):
    import torch

    return {F16: torch.float16, BF16: torch.bfloat16, F32: torch.float32,
            I32: torch.int32, I64: torch.int64}[np.dtype(dt)]


def prepare_input(name: str, x):
    """(device pointer, keep-alive object) for an input; host arrays are copied
    to the device, non-contiguous device arrays are copied to contiguous ones."""
    k = kind(x)
    if k == "numpy":
        from .driver import DeviceBuffer

        buf = DeviceBuffer.from_host(np.ascontiguousarray(x))
        return buf.ptr, buf
    if k == "torch":
        if not x.is_cuda:
            x = x.contiguous().cuda(0)
        elif x.device.index not in (None, 0):
            raise ValueError(f"argument '{name}': is on {x.device}; tessel launches on cuda:0")
        x = x.contiguous()
        return x.data_ptr(), x
    if k == "cupy":
        import cupy

        if x.device.id != 0:
            raise ValueError(f"argument '{name}': is on cupy device {x.device.id}; "
                             "tessel launches on device 0")
        x = cupy.ascontiguousarray(x)
        return x.data.ptr, x
    if k == "cai":
        cai = x.__cuda_array_interface__
        if cai.get("strides") is not None:
            raise ValueError(f"argument '{name}': non-contiguous __cuda_array_interface__ "
                             "arrays are not supported; pass a contiguous array")
        return cai["data"][0], x
    raise TypeError(f"argument '{name}': unsupported array type {type(x).__name__}")


def empty(kind_: str, like, shape, dtype):
    """(array, device pointer, finisher) for an output of the given kind."""
    if kind_ == "torch":
        import torch

        out = torch.empty(shape, dtype=_torch_dtype(dtype), device="cuda:0")
        return out, out.data_ptr(), lambda: out
    if kind_ == "cupy":
        import cupy

        out = cupy.empty(shape, dtype=dtype)
        return out, out.data.ptr, lambda: out
    from .driver import DeviceBuffer

    host = np.empty(shape, dtype)
    buf = DeviceBuffer(host.nbytes)
    return host, buf.ptr, lambda: buf.to_host(host)
