"""The types every layer shares, below all of them: dtypes, array specs
(static or run-time dimensions), arguments and the signature that keys
compilation. Imports nothing of tessel, nor MLIR."""

from __future__ import annotations

import dataclasses
import math
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
# Dimensions are int64 in MLIR; byte sizes must fit too.
MAX_DIM = 2 ** 63 - 1


def bf16() -> np.dtype:
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def dtype_name(dt: np.dtype) -> str:
    dt = np.dtype(dt)
    return _MLIR_NAMES.get(dt.name, str(dt))


def normalize_dtype(dtype: Any) -> np.dtype:
    """numpy dtypes, their names ('float16', 'bfloat16', 'f32', ...) and torch dtypes."""
    if isinstance(dtype, str):
        aliases = {"f16": F16, "float16": F16, "half": F16, "f32": F32, "float32": F32,
                   "float": F32, "i32": I32, "int32": I32, "i64": I64, "int64": I64}
        if dtype in aliases:
            return aliases[dtype]
        if dtype in ("bf16", "bfloat16"):
            return bf16()
    if type(dtype).__module__ == "torch":
        return normalize_dtype(str(dtype).removeprefix("torch."))
    if getattr(dtype, "__name__", None) == "bfloat16" or str(dtype) == "bfloat16":
        return bf16()
    return np.dtype(dtype)


def _dim(i: int, d: Any) -> int | None:
    """A dimension: a non-negative int (numpy ints too), or None for a size
    known only at run time."""
    if d is None:
        return None
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
        raise TypeError(f"Spec: dimension {i} must be an int or None, got {d!r}")
    d = int(d)
    if d < 0 or d > MAX_DIM:
        raise ValueError(f"Spec: dimension {i} = {d} is outside [0, 2^63 - 1]")
    return d


@dataclasses.dataclass(frozen=True)
class Spec:
    """Shape and dtype of an array, for compiling without data. A dimension
    of None is a run-time size: the kernel takes any value there."""

    shape: tuple[int | None, ...]
    dtype: np.dtype

    def __init__(self, shape: Sequence[int | None], dtype: Any):
        object.__setattr__(self, "shape", tuple(_dim(i, s) for i, s in enumerate(shape)))
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


def spec_of(name: str, x: Any) -> Spec:
    """The Spec of an argument: a Spec, a numpy array, or a device array
    (torch/cupy: anything with shape and dtype, checked later by the target)."""
    if isinstance(x, Spec):
        return x
    if isinstance(x, np.ndarray):
        return Spec(x.shape, x.dtype)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        try:
            return Spec(tuple(x.shape), x.dtype)
        except TypeError:
            pass
    raise TypeError(f"argument '{name}': expected a numpy array, a device array or "
                    f"tessel.Spec, got {type(x).__name__}")


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


def check_head_dim(name: str, d: int) -> None:
    if d % 8 or d > 256 or d <= 0:
        raise ValueError(f"argument '{name}': head dimension {d} is not supported; "
                         "use a multiple of 8 up to 256")


def check_block_size(name: str, bs: int) -> None:
    if bs not in (8, 16, 32):
        raise ValueError(f"argument '{name}': block size (dimension 1) is {bs}; "
                         "expected 8, 16 or 32")


def check_scale(scale: Any, head_dim: int) -> float:
    if scale is None:
        return 1.0 / math.sqrt(head_dim)
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"argument 'scale': expected a number, got {scale!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"argument 'scale': must be finite and positive, got {scale!r}")
    return value


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"argument 'target': expected one of {', '.join(TARGETS)}, got {target!r}")
    return target


@dataclasses.dataclass(frozen=True)
class Arg:
    """One argument of the compiled function. role: 'in' (read), 'out'
    (created by the call and returned), 'inout' (a caller's array updated in
    place)."""

    name: str
    spec: Spec
    role: str


@dataclasses.dataclass(frozen=True)
class Signature:
    """Everything compilation depends on; hashable, built without MLIR."""

    op: str
    args: tuple[Arg, ...]
    attrs: tuple[tuple[str, Any], ...]

    def attr(self, name: str) -> Any:
        return dict(self.attrs)[name]

    def arg(self, name: str) -> Arg:
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def outputs(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.role == "out")

    @property
    def key(self) -> str:
        args = ",".join(f"{a.name}:{a.role}:{a.spec.mlir}" for a in self.args)
        attrs = ",".join(f"{k}={v!r}" for k, v in self.attrs)
        return f"{self.op}({args}){{{attrs}}}"


