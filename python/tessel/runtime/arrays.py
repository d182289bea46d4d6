"""Device arrays in and out: numpy (copied to and from the device), torch and
cupy CUDA arrays (used in place, zero-copy, on whichever device they live),
anything else exposing `__cuda_array_interface__` (inputs only, device 0)."""

from __future__ import annotations

import numpy as np

from ..signature import dtype_name


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


def torch_dtype(dt):
    import torch

    return {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32,
            "i32": torch.int32, "i64": torch.int64}[dtype_name(dt)]


def device_of(x, k: str) -> int | None:
    """The CUDA device an array lives on; None for host arrays."""
    if k == "torch":
        return x.device.index if x.is_cuda else None
    if k == "cupy":
        return x.device.id
    if k == "cai":
        return 0
    return None


def prepare_input(name: str, x, device: int):
    """(device pointer, keep-alive object) for an input on `device`; host
    arrays are copied there, non-contiguous device arrays are copied to
    contiguous ones (on their device)."""
    k = kind(x)
    if k == "numpy":
        from .driver import DeviceBuffer

        buf = DeviceBuffer.from_host(np.ascontiguousarray(x), device)
        return buf.ptr, buf
    if k == "torch":
        if not x.is_cuda:
            x = x.cuda(device)
        x = x.contiguous()
        return x.data_ptr(), x
    if k == "cupy":
        import cupy

        with cupy.cuda.Device(x.device.id):
            x = cupy.ascontiguousarray(x)
        return x.data.ptr, x
    if k == "cai":
        cai = x.__cuda_array_interface__
        if cai.get("strides") is not None:
            raise ValueError(f"argument '{name}': non-contiguous __cuda_array_interface__ "
                             "arrays are not supported; pass a contiguous array")
        return cai["data"][0], x
    raise TypeError(f"argument '{name}': unsupported array type {type(x).__name__}")


def empty(kind_: str, device: int, shape, dtype):
    """(array, device pointer, finisher) for an output of the given kind;
    torch outputs come from torch's caching allocator (CUDA-graph safe)."""
    if kind_ == "torch":
        import torch

        out = torch.empty(shape, dtype=torch_dtype(dtype), device=f"cuda:{device}")
        return out, out.data_ptr(), lambda: out
    if kind_ == "cupy":
        import cupy

        with cupy.cuda.Device(device):
            out = cupy.empty(shape, dtype=dtype)
        return out, out.data.ptr, lambda: out
    from .driver import DeviceBuffer

    host = np.empty(shape, dtype)
    buf = DeviceBuffer(host.nbytes, device)
    return host, buf.ptr, lambda: buf.to_host(host)


def current_stream(kind_: str, device: int) -> int:
    """The stream the caller's framework is issuing work on."""
    if kind_ == "torch":
        import torch

        raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
        return raw(device) if raw else torch.cuda.current_stream(device).cuda_stream
    if kind_ == "cupy":
        import cupy

        with cupy.cuda.Device(device):
            return cupy.cuda.get_current_stream().ptr
    return 0
