"""A thin, checked layer over `cuda.bindings.driver`: one primary context on
device 0 (the one torch and cupy use), modules, launches. Every failure raises
`CudaError` naming the driver call (and the kernel, for launches)."""

from __future__ import annotations

import ctypes
import functools
import threading

import numpy as np


class CudaError(RuntimeError):
    """A CUDA driver call failed, or no GPU/driver is present."""


def _driver():
    try:
        from cuda.bindings import driver
    except ImportError as exc:  # pragma: no cover - cuda-bindings is a dependency
        raise CudaError(f"cuda-python is not installed ({exc}); pip install cuda-bindings") from exc
    return driver


def _check(result, what: str):
    drv = _driver()
    err, *rest = result if isinstance(result, tuple) else (result,)
    if err != drv.CUresult.CUDA_SUCCESS:
        _, name = drv.cuGetErrorName(err)
        _, desc = drv.cuGetErrorString(err)
        name = name.decode() if isinstance(name, bytes) else str(err)
        desc = desc.decode() if isinstance(desc, bytes) else ""
        raise CudaError(f"{what} failed: {name}: {desc}")
    if not rest:
        return None
    return rest[0] if len(rest) == 1 else tuple(rest)


_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _context():
    drv = _driver()
    try:
        _check(drv.cuInit(0), "cuInit")
    except CudaError as exc:
        raise CudaError(f"no usable NVIDIA GPU/driver: {exc}") from None
    except Exception as exc:  # libcuda.so missing: cuda-python raises its own error
        raise CudaError(f"no NVIDIA driver found (libcuda.so could not be loaded): {exc}") from None
    count = _check(drv.cuDeviceGetCount(), "cuDeviceGetCount")
    if count < 1:
        raise CudaError("no NVIDIA GPU found (cuDeviceGetCount returned 0)")
    device = _check(drv.cuDeviceGet(0), "cuDeviceGet")
    ctx = _check(drv.cuDevicePrimaryCtxRetain(device), "cuDevicePrimaryCtxRetain")
    return device, ctx


def available() -> bool:
    try:
        _context()
        return True
    except CudaError:
        return False


def ensure_context():
    """Makes the primary context current in the calling thread."""
    device, ctx = _context()
    _check(_driver().cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    return device


def device_name() -> str:
    device = ensure_context()
    name = _check(_driver().cuDeviceGetName(256, device), "cuDeviceGetName")
    return name.split(b"\0", 1)[0].decode()


def _argument_block(n: int):
    """cuLaunchKernel's kernelParams for n 64-bit arguments: an array of the
    values and an array of their addresses."""
    values = (ctypes.c_void_p * n)()
    base = ctypes.addressof(values)
    return values, (ctypes.c_void_p * n)(*range(base, base + 8 * n, 8))


class Module:
    """A loaded PTX module and one of its kernels."""

    def __init__(self, ptx: str, kernel: str):
        drv = _driver()
        ensure_context()
        self.kernel = kernel
        data = ptx.encode() + b"\0"
        self._module = _check(drv.cuModuleLoadData(data), f"cuModuleLoadData (kernel {kernel})")
        self._function = _check(drv.cuModuleGetFunction(self._module, kernel.encode()),
                                f"cuModuleGetFunction({kernel})")
        self._shared_limit = 48 * 1024
        self._drv = drv

    def _allow_shared(self, shared_bytes: int) -> None:
        if shared_bytes > self._shared_limit:
            # Beyond 48 KiB of dynamic shared memory a kernel must opt in.
            drv = self._drv
            attr = drv.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
            _check(drv.cuFuncSetAttribute(self._function, attr, shared_bytes),
                   f"cuFuncSetAttribute(kernel {self.kernel}, {shared_bytes} bytes of shared memory)")
            self._shared_limit = shared_bytes

    def launch(self, grid, block, shared_bytes: int, pointers, stream: int = 0) -> None:
        """Launches with one 64-bit pointer argument per kernel parameter."""
        self._allow_shared(shared_bytes)
        values, params = _argument_block(len(pointers))
        values[:] = pointers
        _check(self._drv.cuLaunchKernel(self._function, *grid, *block, shared_bytes, stream,
                                        ctypes.addressof(params), 0),
               f"launching kernel {self.kernel}")

    def launcher(self, grid, block, shared_bytes: int, nargs: int):
        """A launch function for repeated calls with the same geometry:
        `launch(pointers, stream)`. The argument block is allocated once and
        filled under a lock (the driver copies it during cuLaunchKernel)."""
        self._allow_shared(shared_bytes)
        values, params = _argument_block(nargs)
        address = ctypes.addressof(params)
        lock = threading.Lock()
        drv = self._drv
        fn, launch_kernel, ok = self._function, drv.cuLaunchKernel, drv.CUresult.CUDA_SUCCESS
        gx, gy, gz = grid
        bx, by, bz = block

        def launch(pointers, stream):
            with lock:
                values[:] = pointers
                err = launch_kernel(fn, gx, gy, gz, bx, by, bz, shared_bytes, stream, address, 0)
            if err[0] != ok:
                _check(err, f"launching kernel {self.kernel}")

        launch.keep = params  # only its address is captured
        return launch

    def synchronize(self, stream: int = 0) -> None:
        """Waits for the stream; a fault inside the kernel surfaces here."""
        _check(_driver().cuStreamSynchronize(stream), f"kernel {self.kernel}")


class DeviceBuffer:
    """cuMemAlloc'd memory for numpy arguments, freed when dropped."""

    def __init__(self, nbytes: int):
        ensure_context()
        self.nbytes = max(int(nbytes), 1)
        self.ptr = int(_check(_driver().cuMemAlloc(self.nbytes), f"cuMemAlloc({self.nbytes})"))

    @classmethod
    def from_host(cls, array: np.ndarray) -> "DeviceBuffer":
        buf = cls(array.nbytes)
        if array.nbytes:
            _check(_driver().cuMemcpyHtoD(buf.ptr, array.ctypes.data, array.nbytes), "cuMemcpyHtoD")
        return buf

    def to_host(self, array: np.ndarray) -> np.ndarray:
        if array.nbytes:
            _check(_driver().cuMemcpyDtoH(array.ctypes.data, self.ptr, array.nbytes), "cuMemcpyDtoH")
        return array

    def __del__(self):
        try:
            _driver().cuMemFree(self.ptr)
        except Exception:
            pass
