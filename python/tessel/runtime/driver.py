"""A thin, checked layer over `cuda.bindings.driver`: the primary context of
each device (the one torch and cupy use), modules loaded per device, launches.
Every failure raises `CudaError` naming the driver call (and the kernel, for
launches)."""

from __future__ import annotations

import ctypes
import functools
import os
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
def _initialized():
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
    return count


def device_count() -> int:
    return _initialized()


@functools.lru_cache(maxsize=None)
def _context(index: int = 0):
    """The primary context of device `index` (the one torch and cupy use)."""
    count = _initialized()
    if not 0 <= index < count:
        raise CudaError(f"CUDA device {index} does not exist ({count} device(s) present)")
    drv = _driver()
    device = _check(drv.cuDeviceGet(index), "cuDeviceGet")
    ctx = _check(drv.cuDevicePrimaryCtxRetain(device), "cuDevicePrimaryCtxRetain")
    return device, ctx


def available() -> bool:
    try:
        _context(0)
        return True
    except CudaError:
        return False


def ensure_context(index: int = 0):
    """Makes device `index`'s primary context current in the calling thread."""
    device, ctx = _context(index)
    _check(_driver().cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    return device


def device_name(index: int = 0) -> str:
    device = ensure_context(index)
    name = _check(_driver().cuDeviceGetName(256, device), "cuDeviceGetName")
    return name.split(b"\0", 1)[0].decode()


def _argument_block(n: int):
    """cuLaunchKernel's kernelParams for n arguments of at most 8 bytes: an
    array of 64-bit slots (a 4-byte argument is read from the low half) and
    an array of their addresses."""
    values = (ctypes.c_uint64 * max(n, 1))()
    base = ctypes.addressof(values)
    return values, (ctypes.c_void_p * max(n, 1))(*range(base, base + 8 * n, 8))


class Function:
    """One kernel of a module loaded on one device."""

    def __init__(self, handle, name: str, device: int):
        self.handle, self.name, self.device = handle, name, device
        self._shared_limit = 48 * 1024

    def allow_shared(self, shared_bytes: int) -> None:
        if shared_bytes > self._shared_limit:
            # Beyond 48 KiB of dynamic shared memory a kernel must opt in.
            drv = _driver()
            attr = drv.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
            _check(drv.cuFuncSetAttribute(self.handle, attr, shared_bytes),
                   f"cuFuncSetAttribute(kernel {self.name}, {shared_bytes} bytes of shared memory)")
            self._shared_limit = shared_bytes


class Library:
    """PTX loaded lazily on each device it is used on (one module per device,
    in that device's primary context). The PTX goes to cuModuleLoadData: a
    cubin made through cuLink* and kept was 18% slower for the run-time-M
    wgmma GEMM on an H200 (docs/benchmarks.md); the driver keeps its own JIT
    cache."""

    def __init__(self, ptx: str):
        self._data = ptx.encode() + b"\0"
        self._functions: dict = {}
        self._modules: dict = {}

    def _load(self, device: int, what: str):
        return _check(_driver().cuModuleLoadData(self._data),
                      f"cuModuleLoadData ({what}, device {device})")

    def function(self, name: str, device: int = 0) -> Function:
        key = (name, device)
        fn = self._functions.get(key)
        if fn is not None:
            return fn
        with _lock:
            fn = self._functions.get(key)
            if fn is None:
                drv = _driver()
                ensure_context(device)
                module = self._modules.get(device)
                if module is None:
                    module = self._modules[device] = self._load(device, f"kernel {name}")
                handle = _check(drv.cuModuleGetFunction(module, name.encode()),
                                f"cuModuleGetFunction({name})")
                fn = self._functions[key] = Function(handle, name, device)
        return fn


def _tensormap_slots(params, wide):
    """64-byte aligned 128-byte buffers for the tensor-map parameters `wide`
    (indices), pointed to from `params`: (owner, [(index, address)])."""
    raw = ctypes.create_string_buffer(128 * len(wide) + 64)
    base = (ctypes.addressof(raw) + 63) & ~63
    slots = [(i, base + 128 * n) for n, i in enumerate(wide)]
    for i, address in slots:
        params[i] = address
    return raw, slots


def early_launch_enabled() -> bool:
    """Whether kernels that wait for the grid ahead of them are launched
    with programmatic stream serialization (PDL); TESSEL_PDL=0 (or off,
    false, no, as TESSEL_AUTOTUNE) turns it off: every launch then waits for
    the previous kernel to finish, as before."""
    return os.environ.get("TESSEL_PDL", "1").strip().lower() not in ("0", "off", "false", "no")


def _early_config(drv, grid, block, shared_bytes: int):
    """A CUlaunchConfig of one geometry that lets the driver launch the grid
    while the kernel ahead of it on the stream drains. The kernel's own
    griddepcontrol.wait keeps it from reading anything before that kernel
    has completed and its memory is visible, so what overlaps is the launch
    itself: 1-3 us a call on an H200, 4 % of the MQA decode and 6-7 % of a
    decode-step GEMM (docs/benchmarks.md, scripts/pdl_probe.py)."""
    cfg = drv.CUlaunchConfig()
    cfg.gridDimX, cfg.gridDimY, cfg.gridDimZ = (int(g) for g in grid)
    cfg.blockDimX, cfg.blockDimY, cfg.blockDimZ = (int(b) for b in block)
    cfg.sharedMemBytes = shared_bytes
    attr = drv.CUlaunchAttribute()
    attr.id = drv.CUlaunchAttributeID.CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
    attr.value.programmaticStreamSerializationAllowed = 1
    cfg.attrs = [attr]
    cfg.numAttrs = 1
    return cfg


def launcher(fn: Function, grid, block, shared_bytes: int, nargs: int, fixed=(), pointers=(),
             maps=(), early: bool = False):
    """A launch function `launch(ptrs, stream)` for one geometry and one
    assignment of the kernel's `nargs` parameters: `fixed` (index, 64-bit
    slot value) are written into the argument block once, `pointers` (index,
    position in ptrs) per call, and `maps` (index, encoder: ptrs -> the 128
    bytes of a CUtensorMap passed by value) per call where the encoding
    changed since the last launch. A repeated call writes only its pointers:
    the whole path is host time, which bounds the short serving products.
    The block belongs to this function and is filled under a lock (the
    driver copies it during cuLaunchKernel). `early`: the kernel waits for
    the grid ahead of it itself (artifact "waits_for_prior_grid"), so it is
    launched through cuLaunchKernelEx with programmatic stream
    serialization unless TESSEL_PDL=0."""
    fn.allow_shared(shared_bytes)
    values, params = _argument_block(nargs)
    for i, v in fixed:
        values[i] = v
    maps = list(maps)
    raw, map_slots = _tensormap_slots(params, [i for i, _ in maps]) if maps else (None, ())
    # (encoder, slot, the call pointer it encodes or None for an expression)
    encoders = [(encoder, slot, getattr(encoder, "pointer_arg", None))
                for (_, encoder), (_, slot) in zip(maps, map_slots)]
    last = [None] * len(encoders)
    pointers = tuple(pointers)
    memmove = ctypes.memmove
    address = ctypes.addressof(params)
    lock = threading.Lock()
    drv = _driver()
    handle, launch_kernel, ok = fn.handle, drv.cuLaunchKernel, drv.CUresult.CUDA_SUCCESS
    set_current, ctx = drv.cuCtxSetCurrent, _context(fn.device)[1]
    gx, gy, gz = (int(g) for g in grid)
    bx, by, bz = (int(b) for b in block)
    if early and early_launch_enabled():
        cfg = _early_config(drv, grid, block, shared_bytes)
        launch_ex, stream_of = drv.cuLaunchKernelEx, drv.CUstream
        last_stream = [None]

        def launch_kernel(handle, gx, gy, gz, bx, by, bz, shared_bytes, stream, params, extra):
            if stream != last_stream[0]:
                cfg.hStream = stream if isinstance(stream, stream_of) else stream_of(stream)
                last_stream[0] = stream
            return launch_ex(cfg, handle, params, extra)

    def launch(ptrs, stream):
        with lock:
            for i, a in pointers:
                values[i] = ptrs[a]
            for n, (encoder, slot, arg) in enumerate(encoders):
                if arg is None:
                    # A base computed from the pointers: compare encodings.
                    blob = encoder(ptrs)
                    if blob != last[n]:
                        memmove(slot, blob, 128)
                        last[n] = blob
                elif ptrs[arg] != last[n]:
                    # The sizes are this launch's own: the same pointer is
                    # the same map, already in the block.
                    memmove(slot, encoder(ptrs), 128)
                    last[n] = ptrs[arg]
            err = launch_kernel(handle, gx, gy, gz, bx, by, bz, shared_bytes, stream, address, 0)
            if err[0] != ok:
                # Most launches find the device's context current already; a
                # thread that has none (or another device's) sets it once.
                set_current(ctx)
                err = launch_kernel(handle, gx, gy, gz, bx, by, bz, shared_bytes, stream,
                                    address, 0)
        if err[0] != ok:
            _check(err, f"launching kernel {fn.name}")

    launch.keep = (values, params, raw)  # only their addresses are captured
    return launch


class Module:
    """A loaded PTX module and one of its kernels, on device 0, launched with
    64-bit (pointer) arguments: the minimal interface for hand-made kernels."""

    def __init__(self, ptx: str, kernel: str, device: int = 0):
        self.kernel = kernel
        self._fn = Library(ptx).function(kernel, device)

    def launch(self, grid, block, shared_bytes: int, pointers, stream: int = 0) -> None:
        n = len(pointers)
        launcher(self._fn, grid, block, shared_bytes, n,
                 pointers=[(i, i) for i in range(n)])(list(pointers), stream)

    def synchronize(self, stream: int = 0) -> None:
        synchronize(stream, self.kernel)


def synchronize(stream: int = 0, what: str = "stream") -> None:
    """Waits for the stream; a fault inside a kernel surfaces here."""
    _check(_driver().cuStreamSynchronize(stream), f"kernel {what}")


class DeviceBuffer:
    """cuMemAlloc'd memory for numpy arguments, freed when dropped."""

    def __init__(self, nbytes: int, device: int = 0):
        ensure_context(device)
        self.nbytes = max(int(nbytes), 1)
        self.ptr = int(_check(_driver().cuMemAlloc(self.nbytes), f"cuMemAlloc({self.nbytes})"))

    @classmethod
    def from_host(cls, array: np.ndarray, device: int = 0) -> "DeviceBuffer":
        buf = cls(array.nbytes, device)
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
