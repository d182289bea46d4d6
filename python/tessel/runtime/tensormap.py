"""CUtensorMap kernel parameters: the 128-byte TMA descriptors a kernel takes
by value, encoded with the driver's cuTensorMapEncodeTiled from an artifact's
"tensormap" parameter and the call's pointer and sizes.

An artifact parameter ["tensormap", encoding] has (runtime/kernel.py's
expressions over the call's arguments; every list in memref order,
outermost dimension first — the driver's order is the reverse):
  "ptr":     the global base address, e.g. ["ptr", 0]
  "dtype":   element type: f16, bf16, f32, f64, i8, u8, i16, u16, i32, u32, i64, u64
  "dims":    global extents (expressions)
  "strides": global strides in elements (expressions; the innermost is 1)
  "box":     box extents (integers, each in [1, 256])
  "swizzle": 0, 32, 64 or 128 (bytes); "interleave": 0, 16 or 32 (bytes)
  "l2_promotion": 0, 64, 128 or 256 (bytes); "oob_fill": "zero" or "nan"
  "arg":     the argument's name, for errors (filled in by the launcher)

Encodings are cached per (pointer, dims, strides) for a prepared launch, so
a repeated call with the same buffers costs one dictionary lookup."""

from __future__ import annotations

import ctypes

ELEMENT_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "i8": 1, "u8": 1, "i16": 2,
                 "u16": 2, "i32": 4, "u32": 4, "i64": 8, "u64": 8}
# Integer types of either signedness move the same bits.
_DATA_TYPES = {"f16": "FLOAT16", "bf16": "BFLOAT16", "f32": "FLOAT32", "f64": "FLOAT64",
               "i8": "UINT8", "u8": "UINT8", "i16": "UINT16", "u16": "UINT16",
               "i32": "INT32", "u32": "UINT32", "i64": "INT64", "u64": "UINT64"}
BYTES = 128


class TensorMapError(ValueError):
    pass


def check(arg: str, dtype: str, ptr: int, dims, strides, box, swizzle: int = 0,
          interleave: int = 0, l2_promotion: int = 0, oob_fill: str = "zero") -> None:
    """Raises TensorMapError naming the argument and the value the driver
    would refuse (its own error says only CUDA_ERROR_INVALID_VALUE)."""
    what = f"argument '{arg}' (tensor map)"
    if dtype not in ELEMENT_BYTES:
        raise TensorMapError(f"{what}: element type {dtype!r} is not one of "
                             f"{', '.join(ELEMENT_BYTES)}")
    eb = ELEMENT_BYTES[dtype]
    rank = len(dims)
    if not 1 <= rank <= 5 or len(strides) != rank or len(box) != rank:
        raise TensorMapError(f"{what}: rank {rank} with {len(strides)} strides and {len(box)} "
                             "box extents; TMA takes 1 to 5 dimensions, one stride and one "
                             "box extent each")
    if swizzle not in (0, 32, 64, 128):
        raise TensorMapError(f"{what}: swizzle {swizzle} is not 0, 32, 64 or 128 bytes")
    if interleave not in (0, 16, 32):
        raise TensorMapError(f"{what}: interleave {interleave} is not 0, 16 or 32 bytes")
    if l2_promotion not in (0, 64, 128, 256):
        raise TensorMapError(f"{what}: L2 promotion {l2_promotion} is not 0, 64, 128 or 256 "
                             "bytes")
    if oob_fill not in ("zero", "nan"):
        raise TensorMapError(f"{what}: out-of-bounds fill {oob_fill!r} is not 'zero' or 'nan'")
    if interleave and rank < 3:
        raise TensorMapError(f"{what}: interleaved maps need rank 3 or more, got {rank}")
    align = 32 if interleave == 32 else 16
    if ptr % align:
        raise TensorMapError(f"{what}: the address {ptr:#x} is not {align}-byte aligned "
                             "(TMA needs it; a slice or view may have moved it)")
    for d, n in enumerate(dims):
        if not 1 <= n <= 2 ** 32:
            raise TensorMapError(f"{what}: global extent {n} of dimension {d} is not in "
                                 "[1, 2^32] (an empty tensor has no tensor map)")
    if strides[-1] != 1:
        raise TensorMapError(f"{what}: the innermost stride is {strides[-1]} elements; TMA "
                             "needs the innermost dimension contiguous (stride 1)")
    for d, s in enumerate(strides[:-1]):
        nbytes = s * eb
        if nbytes % 16 or not 0 < nbytes < 2 ** 40:
            raise TensorMapError(f"{what}: stride {s} elements ({nbytes} bytes) of dimension "
                                 f"{d} must be a positive multiple of 16 bytes below 2^40")
    for d, n in enumerate(box):
        if not 1 <= n <= 256:
            raise TensorMapError(f"{what}: box extent {n} of dimension {d} is not in [1, 256]")
    inner = box[-1] * eb
    if interleave == 0 and inner % 16:
        raise TensorMapError(f"{what}: the box's inner extent ({box[-1]} x {eb} bytes) is not a "
                             "multiple of 16 bytes")
    if interleave == 0 and swizzle and inner > swizzle:
        raise TensorMapError(f"{what}: the box's inner extent ({box[-1]} x {eb} = {inner} bytes)"
                             f" exceeds the {swizzle}-byte swizzle span")


def _driver():
    from cuda.bindings import driver

    return driver


_ZEROS: dict = {}


def _zeros(drv) -> int:
    """256 zeroed bytes of device memory in the current context (kept for
    the process): what the tensor map of an empty tensor covers."""
    err, ctx = drv.cuCtxGetCurrent()
    key = int(ctx) if err == drv.CUresult.CUDA_SUCCESS else 0
    if key not in _ZEROS:
        err, buf = drv.cuMemAlloc(256)
        if err != drv.CUresult.CUDA_SUCCESS:
            raise TensorMapError(f"cannot allocate the empty-tensor scratch buffer: {err.name}")
        drv.cuMemsetD8(buf, 0, 256)
        _ZEROS[key] = int(buf)
    return _ZEROS[key]


def encode(arg: str, dtype: str, ptr: int, dims, strides, box, swizzle: int = 0,
           interleave: int = 0, l2_promotion: int = 0, oob_fill: str = "zero") -> bytes:
    """The 128 bytes of the CUtensorMap (checked first, see `check`)."""
    dims, strides, box = [int(v) for v in dims], [int(v) for v in strides], [int(v) for v in box]
    drv = _driver()
    if 0 in dims and dtype in ELEMENT_BYTES:
        # An empty tensor (e.g. no keys): the driver refuses extent 0, and a
        # kernel reads nothing of it, or boxes wholly out of bounds. Its map
        # covers one element of a zeroed scratch buffer instead, so that any
        # box reads zeros.
        step = max(1, 16 // ELEMENT_BYTES[dtype])
        ptr, dims, strides = _zeros(drv), [1] * len(dims), [step] * (len(dims) - 1) + [1]
    check(arg, dtype, int(ptr), dims, strides, box, swizzle, interleave, l2_promotion, oob_fill)
    eb = ELEMENT_BYTES[dtype]
    kind = getattr(drv.CUtensorMapDataType, f"CU_TENSOR_MAP_DATA_TYPE_{_DATA_TYPES[dtype]}")
    swz = getattr(drv.CUtensorMapSwizzle,
                  "CU_TENSOR_MAP_SWIZZLE_" + (f"{swizzle}B" if swizzle else "NONE"))
    il = getattr(drv.CUtensorMapInterleave,
                 "CU_TENSOR_MAP_INTERLEAVE_" + (f"{interleave}B" if interleave else "NONE"))
    l2 = getattr(drv.CUtensorMapL2promotion,
                 "CU_TENSOR_MAP_L2_PROMOTION_" + (f"L2_{l2_promotion}B" if l2_promotion
                                                  else "NONE"))
    oob = getattr(drv.CUtensorMapFloatOOBfill,
                  "CU_TENSOR_MAP_FLOAT_OOB_FILL_" + ("NONE" if oob_fill == "zero"
                                                     else "NAN_REQUEST_ZERO_FMA"))
    rank = len(dims)
    # The driver counts dimensions innermost first and omits the innermost
    # stride (always the element size); strides are in bytes.
    u64, u32 = drv.cuuint64_t, drv.cuuint32_t
    err, tmap = drv.cuTensorMapEncodeTiled(
        kind, rank, int(ptr), [u64(d) for d in reversed(dims)],
        [u64(s * eb) for s in reversed(strides[:-1])], [u32(b) for b in reversed(box)],
        [u32(1)] * rank, il, swz, l2, oob)
    if err != drv.CUresult.CUDA_SUCCESS:
        raise TensorMapError(f"argument '{arg}' (tensor map): cuTensorMapEncodeTiled failed "
                             f"with {err.name} for {dtype} dims {dims} strides {strides} box "
                             f"{box} swizzle {swizzle} at {int(ptr):#x}")
    return ctypes.string_at(tmap.getPtr(), BYTES)


class Encoder:
    """One tensor-map parameter of a kernel for calls of fixed sizes: dims
    and strides are evaluated once; encodings are kept per pointer."""

    def __init__(self, spec: dict, ptr_fn, dims, strides, limit: int = 64):
        self.spec, self.ptr_fn = spec, ptr_fn
        base = spec.get("ptr")
        # The call pointer the map covers when its base is one as given:
        # launchers compare it instead of encoding.
        self.pointer_arg = (int(base[1]) if isinstance(base, (list, tuple)) and len(base) == 2
                            and base[0] == "ptr" else None)
        self.dims, self.strides = tuple(int(d) for d in dims), tuple(int(s) for s in strides)
        self.box = tuple(int(b) for b in spec["box"])
        self._cache: dict = {}
        self._limit = limit

    def __call__(self, ptrs) -> bytes:
        ptr = self.ptr_fn(ptrs, ())
        found = self._cache.get(ptr)
        if found is None:
            s = self.spec
            found = encode(s.get("arg", "?"), s["dtype"], ptr, self.dims, self.strides, self.box,
                           s.get("swizzle", 0), s.get("interleave", 0),
                           s.get("l2_promotion", 0), s.get("oob_fill", "zero"))
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[ptr] = found
        return found
