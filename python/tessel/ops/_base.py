"""What every op shares: array specs, argument validation, the signature that
keys compilation, and the generic call path (validate -> compile once -> run)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import ml_dtypes
import numpy as np

F16 = np.dtype(np.float16)
BF16 = np.dtype(ml_dtypes.bfloat16)
F32 = np.dtype(np.float32)
I32 = np.dtype(np.int32)
I64 = np.dtype(np.int64)
FLOAT_DTYPES = (F16, BF16, F32)
_MLIR_NAMES = {F16: "f16", BF16: "bf16", F32: "f32", I32: "i32", I64: "i64"}
TARGETS = ("cpu", "cuda")


def dtype_name(dt: np.dtype) -> str:
    return _MLIR_NAMES.get(np.dtype(dt), str(dt))


def normalize_dtype(dtype: Any) -> np.dtype:
    """numpy dtypes, their names ('float16', 'bfloat16', 'f32', ...) and torch dtypes."""
    if isinstance(dtype, str):
        aliases = {"f16": F16, "float16": F16, "half": F16, "bf16": BF16,
                   "bfloat16": BF16, "f32": F32, "float32": F32, "float": F32,
                   "i32": I32, "int32": I32, "i64": I64, "int64": I64}
        if dtype in aliases:
            return aliases[dtype]
    if type(dtype).__module__ == "torch":
        return normalize_dtype(str(dtype).removeprefix("torch."))
    return np.dtype(dtype)


@dataclasses.dataclass(frozen=True)
class Spec:
    """Shape and dtype of an array, for compiling without data."""

    shape: tuple[int, ...]
    dtype: np.dtype

    def __init__(self, shape: Sequence[int], dtype: Any):
        object.__setattr__(self, "shape", tuple(int(s) for s in shape))
        object.__setattr__(self, "dtype", normalize_dtype(dtype))

    @property
    def mlir(self) -> str:
        return "tensor<" + "".join(f"{d}x" for d in self.shape) + dtype_name(self.dtype) + ">"

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


def check_dtype(name: str, spec: Spec, allowed: Sequence[np.dtype]) -> None:
    if spec.dtype not in allowed:
        names = ", ".join(dtype_name(d) for d in allowed)
        raise ValueError(f"argument '{name}': dtype {dtype_name(spec.dtype)} is not "
                         f"supported; expected one of {names}")


def check_rank(name: str, spec: Spec, ranks: Sequence[int], layout: str) -> None:
    if len(spec.shape) not in ranks:
        raise ValueError(f"argument '{name}': expected a {layout} array "
                         f"(rank {' or '.join(map(str, ranks))}), got shape {spec.shape}")


def check_dim(what: str, name: str, size: int, ref_name: str, ref: int) -> None:
    if size != ref:
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


class OpDef:
    """One tessel op's Python face. Subclasses define:
    - `params`: names of the array parameters, in call order;
    - `signature(*arrays, **options)`: validation of shapes/dtypes/options;
    - `build(sig, values)`: the tessel op(s) on tensor values, returning the
      result values in the order of the inits (`out`/`inout` args);
    - optionally `check_values(sig, arrays)`: checks that need the data
      (block tables, slots), run before anything is launched or written."""

    name: str
    params: tuple[str, ...]

    def signature(self, *args, **kwargs) -> Signature:
        raise NotImplementedError

    def build(self, sig: Signature, values: dict) -> list:
        raise NotImplementedError

    def check_values(self, sig: Signature, arrays: dict) -> None:
        pass

    def bind(self, args: tuple, kwargs: dict) -> tuple[dict, dict]:
        """Splits a call into (array arguments by name, options)."""
        arrays = dict(zip(self.params, args))
        if len(args) > len(self.params):
            raise TypeError(f"tessel.{self.name}: takes at most {len(self.params)} "
                            f"array arguments, got {len(args)}")
        options = {}
        for k, v in kwargs.items():
            if k in self.params:
                if k in arrays:
                    raise TypeError(f"tessel.{self.name}: argument '{k}' given twice")
                arrays[k] = v
            else:
                options[k] = v
        return arrays, options


class Operation:
    """The public callable: `tessel.gemm(...)` runs, `tessel.gemm.compile(...)`
    compiles ahead of time (arrays or Specs) and returns a callable kernel."""

    def __init__(self, opdef: OpDef, doc: str):
        self._def = opdef
        # (target, array types/shapes/dtypes, options) -> kernel: lets a repeated
        # call skip validation and signature building entirely.
        self._fast: dict = {}
        self.__doc__ = doc
        self.__name__ = opdef.name
        self.__qualname__ = opdef.name

    def compile(self, *args, target: str = "cpu", **kwargs):
        return self._compile(args, target, kwargs)[0]

    def __call__(self, *args, target: str = "cpu", **kwargs):
        key = self._fast_key(args, target, kwargs)
        kernel = self._fast.get(key) if key is not None else None
        if kernel is not None:
            return kernel.run_checked_call(dict(zip(self._def.params, args)))
        kernel, arrays = self._compile(args, target, dict(kwargs))
        if key is not None and len(self._fast) < 4096:
            self._fast[key] = kernel
        return kernel(**arrays)

    def _fast_key(self, args, target, kwargs):
        """A cheap key for calls whose arrays are all positional; None when the
        call does not qualify (arrays passed by keyword, unhashable options)."""
        if len(args) > len(self._def.params) or any(hasattr(v, "shape") for v in kwargs.values()):
            return None
        try:
            # torch.Size is a tuple: it hashes and compares like numpy's shapes.
            arrays = tuple([(type(a), a.shape, a.dtype) for a in args])
            key = (target, arrays, tuple(sorted(kwargs.items())))
            hash(key)
            return key
        except (TypeError, AttributeError):
            return None

    def _compile(self, args, target, kwargs):
        from ..compiler import compile_signature

        check_target(target)
        # Options of the GPU lowering, not of the op's semantics.
        lowering = {k: kwargs.pop(k) for k in ("strategy", "config") if k in kwargs}
        if target != "cuda" and any(v is not None for v in lowering.values()):
            name = next(k for k, v in lowering.items() if v is not None)
            raise ValueError(f"argument '{name}': only applies to target='cuda'")
        arrays, options = self._def.bind(args, kwargs)
        sig = self._def.signature(**arrays, **options)
        return compile_signature(self._def, sig, target, lowering), arrays

    def __repr__(self) -> str:
        return f"<tessel op {self.__name__}>"

