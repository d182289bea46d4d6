"""The types every layer shares, below all of them: dtypes, array specs
(static or run-time dimensions), arguments and the signature that keys
compilation. Imports nothing of tessel, nor MLIR."""

from __future__ import annotations

import dataclasses
import math
import operator
from typing import Any, Sequence

import numpy as np

F16 = np.dtype(np.float16)
F32 = np.dtype(np.float32)
I32 = np.dtype(np.int32)
I64 = np.dtype(np.int64)
# Allowed-dtype lists are names: bfloat16's numpy dtype lives in ml_dtypes,
# which is imported only when a bf16 array or name is met (it costs more
# than the rest of `import tessel`).
FLOAT_DTYPES = ("f16", "bf16", "f32")
_MLIR_NAMES = {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "int32": "i32",
               "int64": "i64"}
TARGETS = ("cpu", "cuda")
# Every array's element count and byte size must fit int64: the host path's
# index type, in which strides, offsets and allocation sizes are computed.
INT64_MAX = 2**63 - 1
F32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max


def bf16() -> np.dtype:
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def dtype_name(dt: np.dtype) -> str:
    dt = np.dtype(dt)
    return _MLIR_NAMES.get(dt.name, str(dt))


def short_repr(value: Any, limit: int = 60) -> str:
    """repr() for messages: bounded in length, and never failing (an int of
    more than 4300 digits has no repr)."""
    try:
        r = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return r if len(r) <= limit else r[: limit - 3] + "..."


def normalize_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """numpy dtypes, their names ('float16', 'bfloat16', 'f32', ...) and torch
    dtypes. `name` is the argument that errors name."""
    if isinstance(dtype, str):
        aliases = {"f16": F16, "float16": F16, "half": F16, "f32": F32, "float32": F32,
                   "float": F32, "i32": I32, "int32": I32, "i64": I64, "int64": I64}
        if dtype in aliases:
            return aliases[dtype]
        if dtype in ("bf16", "bfloat16"):
            return bf16()
    if type(dtype).__module__ == "torch":
        return normalize_dtype(str(dtype).removeprefix("torch."), name)
    if dtype is None or isinstance(dtype, (bool, int, float)):
        # np.dtype(None) is float64 and np.dtype(5) a TypeError without the name.
        raise TypeError(f"argument '{name}': expected a dtype (e.g. 'f16', numpy.float32), "
                        f"got {short_repr(dtype)}")
    if getattr(dtype, "__name__", None) == "bfloat16":
        return bf16()
    try:
        return np.dtype(dtype)
    except Exception:
        raise TypeError(f"argument '{name}': expected a dtype (e.g. 'f16', numpy.float32), "
                        f"got {short_repr(dtype)}") from None


def _dimension(shape: tuple, i: int) -> int | None:
    """Dimension i of a Spec's shape: a non-negative int below 2**63 (numpy
    integers included), or None for a dynamic dimension."""
    d = shape[i]
    if d is None:
        return None
    where = f"Spec: dimension {i} of shape {short_repr(shape)}"
    if isinstance(d, (bool, np.bool_)):
        raise TypeError(f"{where} must be a non-negative int or None, got {d!r} (bool)")
    try:
        v = operator.index(d)
    except TypeError:
        raise TypeError(f"{where} must be a non-negative int or None, got {short_repr(d)} "
                        f"({type(d).__name__})") from None
    if v < 0:
        raise ValueError(f"{where} is negative ({v}); sizes must be >= 0")
    if v > INT64_MAX:
        raise ValueError(f"{where} is {short_repr(v)}, above the int64 limit {INT64_MAX}")
    return v


@dataclasses.dataclass(frozen=True)
class Spec:
    """Shape and dtype of an array, for compiling without data. A dimension
    of None is a run-time size: the kernel takes any value there."""

    shape: tuple[int | None, ...]
    dtype: np.dtype

    def __init__(self, shape: Sequence[int | None], dtype: Any):
        if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
            raise TypeError(f"Spec: shape must be a sequence of dimensions, got "
                            f"{short_repr(shape)}")
        shape = tuple(shape)
        object.__setattr__(self, "shape", tuple(_dimension(shape, i) for i in range(len(shape))))
        object.__setattr__(self, "dtype", normalize_dtype(dtype))

    @property
    def mlir(self) -> str:
        dims = "".join("?x" if d is None else f"{d}x" for d in self.shape)
        return f"tensor<{dims}{dtype_name(self.dtype)}>"

    @property
    def is_static(self) -> bool:
        return None not in self.shape

    def matches(self, other: "Spec") -> bool:
        """Whether an array of spec `other` (static) fits this one."""
        return (other.dtype == self.dtype and len(other.shape) == len(self.shape) and
                all(s is None or s == o for s, o in zip(self.shape, other.shape)))

    def __repr__(self) -> str:
        return f"Spec({self.shape}, {dtype_name(self.dtype)})"


def spec_of(name: str, x: Any, *, dynamic: bool = True) -> Spec:
    """The Spec of an argument: a Spec, a numpy array, or a device array
    (torch/cupy: anything with shape and dtype, checked later by the target).
    Its size is checked (check_size); dynamic (None) dimensions are refused
    with `dynamic=False` (the api refuses them for ops and targets without
    run-time sizes, naming the op)."""
    spec = None
    if isinstance(x, Spec):
        spec = x
    elif isinstance(x, np.ndarray):
        spec = Spec(x.shape, x.dtype)
    elif hasattr(x, "shape") and hasattr(x, "dtype"):
        try:
            spec = Spec(tuple(x.shape), x.dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"argument '{name}': not an array ({e})") from None
    if spec is None:
        raise TypeError(f"argument '{name}': expected a numpy array, a device array or "
                        f"tessel.Spec, got {type(x).__name__}")
    if not dynamic and None in spec.shape:
        raise ValueError(f"argument '{name}': dimension {spec.shape.index(None)} of "
                         f"{spec} is dynamic (None); tessel ops need every size for now")
    check_size(name, spec)
    return spec


def check_size(name: str, spec: Spec, what: str = "argument") -> None:
    """The element count and the byte size fit int64. Like MLIR's layout, this
    multiplies the non-zero static dimensions: a zero dimension empties the
    array but its strides are still the products of the others."""
    n = 1
    for d in spec.shape:
        if d:
            n *= d
    nbytes = n * spec.dtype.itemsize
    if nbytes > INT64_MAX:
        counted = "the product of its non-zero dimensions is" if 0 in spec.shape else "it has"
        raise ValueError(f"{what} '{name}': {spec} is too large: {counted} {n} elements of "
                         f"{spec.dtype.itemsize} bytes, more than the int64 limit of "
                         f"{INT64_MAX} bytes")


def check_float32(name: str, value: Any, *, positive: bool = False) -> float:
    """A number that is finite (and, with `positive`, > 0) once rounded to
    float32, the type of the op's attribute; returns the rounded value."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"argument '{name}': expected a number, got {short_repr(value)}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"argument '{name}': {short_repr(value)} is outside the float32 "
                         f"range (magnitude at most {F32_MAX:.8g})") from None
    except (TypeError, ValueError):
        raise TypeError(f"argument '{name}': expected a number, got {short_repr(value)}") from None
    if not math.isfinite(v):
        raise ValueError(f"argument '{name}': must be finite, got {short_repr(value)}")
    with np.errstate(over="ignore"):
        rounded = float(np.float32(v))
    if not math.isfinite(rounded):
        raise ValueError(f"argument '{name}': {short_repr(value)} is outside the float32 "
                         f"range (magnitude at most {F32_MAX:.8g})")
    if positive and not rounded > 0:
        if v > 0:
            raise ValueError(f"argument '{name}': {short_repr(value)} rounds to 0 in float32; "
                             "must be positive")
        raise ValueError(f"argument '{name}': must be finite and positive, got "
                         f"{short_repr(value)}")
    return rounded


def check_flag(name: str, value: Any) -> bool:
    """A boolean option: bool, numpy bool, or the ints 0 and 1."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer))
                                               and value in (0, 1)):
        return bool(value)
    raise TypeError(f"argument '{name}': expected True or False, got {short_repr(value)}")


def check_dtype(name: str, spec: Spec, allowed: Sequence) -> None:
    """`allowed`: dtype names ('f16', ...) or numpy dtypes."""
    allowed = [a if isinstance(a, str) else dtype_name(a) for a in allowed]
    if dtype_name(spec.dtype) not in allowed:
        names = ", ".join(allowed)
        raise ValueError(f"argument '{name}': dtype {dtype_name(spec.dtype)} is not "
                         f"supported; expected one of {names}")


def check_rank(name: str, spec: Spec, ranks: Sequence[int], layout: str) -> None:
    if len(spec.shape) not in ranks:
        raise ValueError(f"argument '{name}': expected a {layout} array "
                         f"(rank {' or '.join(map(str, ranks))}), got shape {spec.shape}")


def check_dim(what: str, name: str, size: int | None, ref_name: str, ref: int | None) -> None:
    if size is not None and ref is not None and size != ref:
        raise ValueError(f"argument '{name}': {what} is {size} but '{ref_name}' has {ref}")


def check_head_dim(name: str, d: int | None) -> None:
    if d is None:
        raise ValueError(f"argument '{name}': the head dimension must be static, not None")
    if d % 8 or d > 256 or d <= 0:
        raise ValueError(f"argument '{name}': head dimension {d} is not supported; "
                         "use a multiple of 8 up to 256")


def check_block_size(name: str, bs: int | None) -> None:
    if bs is None:
        raise ValueError(f"argument '{name}': the block size (dimension 1) must be static, "
                         "not None")
    if bs not in (8, 16, 32):
        raise ValueError(f"argument '{name}': block size (dimension 1) is {bs}; "
                         "expected 8, 16 or 32")


def check_scale(scale: Any, head_dim: int) -> float:
    if scale is None:
        return 1.0 / math.sqrt(head_dim)
    return check_float32("scale", scale, positive=True)


def check_score_range(scale: float, queries: np.ndarray, keys: np.ndarray,
                      names: tuple[str, str] = ("q", "k")) -> None:
    """Refuses a call whose scores could overflow float32. The kernels
    compute dot(q, k) in float32, multiply it by `scale` and subtract the row
    maximum; an infinite maximum makes the whole row NaN. By Cauchy-Schwarz
    every partial dot product is bounded by |q| |k| (Euclidean norms of the
    rows, last axis), so the call is refused only when max|q| max|k| or
    scale * max|q| max|k| comes within 1/256 of float32's maximum.
    Non-finite inputs are not checked: they propagate as IEEE arithmetic says.
    Only host (numpy) arrays are checked: reading device arrays back would
    synchronize and copy on every call, so on the GPU such scores give NaN rows."""
    if not (isinstance(queries, np.ndarray) and isinstance(keys, np.ndarray)):
        return
    if queries.size == 0 or keys.size == 0:
        return

    def max_norm(x):
        return float(np.sqrt(np.max(np.sum(np.square(x.astype(np.float64)), axis=-1))))

    raw = max_norm(queries) * max_norm(keys)
    if not math.isfinite(raw):
        return
    limit = F32_MAX / (1 + 2**-8)
    if raw > limit:
        raise ValueError(f"arguments '{names[0]}' and '{names[1]}': their dot products may "
                         f"reach {raw:.8g} (largest |{names[0]}| |{names[1]}|), beyond the "
                         f"float32 range ({F32_MAX:.8g}) of the scores, which would make rows "
                         "NaN; scale the inputs down")
    if scale * raw > limit:
        raise ValueError(f"argument 'scale': scale {scale:.8g} times the largest "
                         f"|{names[0]}| |{names[1]}| ({raw:.8g}) may exceed the float32 range "
                         f"({F32_MAX:.8g}) of the scores, which would make rows NaN; use a "
                         "smaller scale or smaller inputs")


def check_length_bound(name: str, value: Any) -> int:
    """A run-time length bound (an int >= 0 that the kernels index with 32
    bits: below 2^31)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"argument '{name}': expected a non-negative int, got "
                        f"{short_repr(value)} ({type(value).__name__})")
    v = int(value)
    if v < 0:
        raise ValueError(f"argument '{name}': is negative ({v}); a length bound must be >= 0")
    if v >= 2**31:
        raise ValueError(f"argument '{name}': {v} is not below 2^31")
    return v


def check_target(target: str) -> str:
    if not isinstance(target, str) or target not in TARGETS:
        raise ValueError(f"argument 'target': expected one of {', '.join(TARGETS)}, got {short_repr(target)}")
    return target


@dataclasses.dataclass(frozen=True)
class Arg:
    """One argument of the compiled function. role: 'in' (read), 'out'
    (created by the call and returned), 'inout' (a caller's array updated in
    place), 'size' (a non-negative integer passed by value, an `index` in the
    IR: a run-time size such as a length bound; its spec is Spec((), int64)
    and its value is not part of the signature)."""

    name: str
    spec: Spec
    role: str


@dataclasses.dataclass(frozen=True)
class Signature:
    """Everything compilation depends on; hashable, built without MLIR."""

    op: str
    args: tuple[Arg, ...]
    attrs: tuple[tuple[str, Any], ...]

    def __post_init__(self):
        # Results are derived from the arguments (gemm's [M, N]): their size is
        # checked here, before any IR is built.
        for a in self.args:
            check_size(a.name, a.spec, "result" if a.role == "out" else "argument")

    def attr(self, name: str) -> Any:
        return dict(self.attrs)[name]

    def arg(self, name: str) -> Arg:
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def arrays(self) -> tuple[Arg, ...]:
        """The array arguments (every role but 'size')."""
        return tuple(a for a in self.args if a.role != "size")

    @property
    def outputs(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.role == "out")

    @property
    def key(self) -> str:
        args = ",".join(f"{a.name}:{a.role}:{a.spec.mlir}" for a in self.args)
        attrs = ",".join(f"{k}={v!r}" for k, v in self.attrs)
        return f"{self.op}({args}){{{attrs}}}"


