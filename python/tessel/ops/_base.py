"""What every op shares: array specs, argument validation, the signature that
keys compilation, and the generic call path (validate -> compile once -> run)."""

from __future__ import annotations

import dataclasses
import inspect
import math
import operator
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
# Every array's element count and byte size must fit int64: the host path's
# index type, in which strides, offsets and allocation sizes are computed.
INT64_MAX = 2**63 - 1
F32_MAX = float(np.finfo(np.float32).max)


def dtype_name(dt: np.dtype) -> str:
    return _MLIR_NAMES.get(np.dtype(dt), str(dt))


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
        aliases = {"f16": F16, "float16": F16, "half": F16, "bf16": BF16,
                   "bfloat16": BF16, "f32": F32, "float32": F32, "float": F32,
                   "i32": I32, "int32": I32, "i64": I64, "int64": I64}
        if dtype in aliases:
            return aliases[dtype]
    if type(dtype).__module__ == "torch":
        return normalize_dtype(str(dtype).removeprefix("torch."), name)
    if dtype is None or isinstance(dtype, (bool, int, float)):
        # np.dtype(None) is float64 and np.dtype(5) a TypeError without the name.
        raise TypeError(f"argument '{name}': expected a dtype (e.g. 'f16', numpy.float32), "
                        f"got {short_repr(dtype)}")
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
    """Shape and dtype of an array, for compiling without data. Dimensions are
    non-negative ints (numpy integers too) below 2**63, or None for a dynamic
    dimension (`?` in the IR)."""

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
        return "tensor<" + dims + dtype_name(self.dtype) + ">"

    def __repr__(self) -> str:
        return f"Spec({self.shape}, {dtype_name(self.dtype)})"


def spec_of(name: str, x: Any, *, dynamic: bool = False) -> Spec:
    """The Spec of an argument: a Spec, a numpy array, or a device array
    (torch/cupy: anything with shape and dtype, checked later by the target).
    Its size is checked (check_size); dynamic (None) dimensions are refused
    unless `dynamic`."""
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
    return check_float32("scale", scale, positive=True)


def check_score_range(scale: float, queries: np.ndarray, keys: np.ndarray,
                      names: tuple[str, str] = ("q", "k")) -> None:
    """Refuses a call whose scores could overflow float32. The kernels
    compute dot(q, k) in float32, multiply it by `scale` and subtract the row
    maximum; an infinite maximum makes the whole row NaN. By Cauchy-Schwarz
    every partial dot product is bounded by |q| |k| (Euclidean norms of the
    rows, last axis), so the call is refused only when max|q| max|k| or
    scale * max|q| max|k| comes within 1/256 of float32's maximum.
    Non-finite inputs are not checked: they propagate as IEEE arithmetic says."""
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


def check_target(target: str) -> str:
    if not isinstance(target, str) or target not in TARGETS:
        raise ValueError(f"argument 'target': expected one of {', '.join(TARGETS)}, got {short_repr(target)}")
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

    def check_call(self, arrays: dict, options: dict) -> None:
        """Missing arrays and unknown options get a message naming them (not
        Python's one about `signature()`)."""
        params = inspect.signature(self.signature).parameters
        for k in options:
            if k not in params or params[k].kind != inspect.Parameter.KEYWORD_ONLY:
                known = [n for n, p in params.items() if p.kind == inspect.Parameter.KEYWORD_ONLY]
                raise TypeError(f"tessel.{self.name}: unexpected argument {short_repr(k)}; "
                                f"options are {', '.join(known + ['target'])}")
        for n in self.params:
            if n not in arrays and params[n].default is inspect.Parameter.empty:
                raise TypeError(f"tessel.{self.name}: missing array argument '{n}'")


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
        self._def.check_call(arrays, options)
        sig = self._def.signature(**arrays, **options)
        return compile_signature(self._def, sig, target, lowering), arrays

    def __repr__(self) -> str:
        return f"<tessel op {self.__name__}>"

