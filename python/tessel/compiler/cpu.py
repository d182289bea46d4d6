"""The host reference path: tessel-cpu pipelines + MLIR's ExecutionEngine."""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import mlir
import numpy as np
from mlir import ir
from mlir.execution_engine import ExecutionEngine

from ..ops._base import OpDef, Signature, spec_of
from .pipeline import run_pipeline

# Stage name -> the registered pipeline that produces it from the previous one.
CPU_STAGES = (
    ("bufferized", "tessel-bufferize"),
    ("loops", "tessel-cpu-lower"),
    ("llvm", "tessel-cpu-to-llvm"),
)


@functools.lru_cache(maxsize=None)
def _runner_utils() -> list[str]:
    """MLIR's C runner utilities (memref copies of non-identity layouts), where
    the installed toolchain ships them; the kernels tessel emits need them only
    for such copies."""
    for root in mlir.__path__:
        lib = Path(root) / "lib" / "libmlir_c_runner_utils.so"
        if lib.exists():
            return [str(lib)]
    return []


@functools.lru_cache(maxsize=None)
def _descriptor_type(rank: int):
    class MemRefDescriptor(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_longlong), ("sizes", ctypes.c_longlong * rank),
                    ("strides", ctypes.c_longlong * rank)]
    return MemRefDescriptor


def _descriptor(array: np.ndarray):
    desc = _descriptor_type(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    for i, (n, s) in enumerate(zip(array.shape, array.strides)):
        desc.sizes[i] = n
        desc.strides[i] = s // array.itemsize
    return desc


class CPUKernel:
    """A compiled signature for the host. Call it with arrays like the op."""

    target = "cpu"

    def __init__(self, opdef: OpDef, sig: Signature, module: ir.Module):
        self.opdef, self.signature = opdef, sig
        self._ir = {"tessel": str(module)}
        for stage, pipeline in CPU_STAGES:
            run_pipeline(module, pipeline)
            self._ir[stage] = str(module)
        self._engine = ExecutionEngine(module, opt_level=3, shared_libs=_runner_utils())
        self._module = module  # the engine refers to it

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(self._ir)

    def ir(self, stage: str = "tessel") -> str:
        if stage not in self._ir:
            raise ValueError(f"argument 'stage': unknown stage {stage!r}; "
                             f"expected one of {', '.join(self._ir)}")
        return self._ir[stage]

    def __call__(self, *args, **kwargs):
        arrays, extra = self.opdef.bind(args, kwargs)
        if extra:
            raise TypeError(f"tessel.{self.opdef.name} kernel: options are fixed at compile "
                            f"time; got {', '.join(extra)}")
        return self.run_checked_call(arrays)

    def run_checked_call(self, arrays: dict):
        """Runs on arrays; every host-side check still happens here."""
        from ..compiler import kernel_name

        host = prepare_host_arrays(self.signature, arrays)
        self.opdef.check_values(self.signature, host)
        outputs = {a.name: np.zeros(a.spec.shape, a.spec.dtype) for a in self.signature.outputs}
        host.update(outputs)
        # Arrays as pointers to memref descriptors, sizes by value.
        packed = [ctypes.pointer(ctypes.c_int64(int(arrays[a.name]))) if a.role == "size"
                  else ctypes.pointer(ctypes.pointer(_descriptor(host[a.name])))
                  for a in self.signature.args]
        self._engine.invoke(kernel_name(self.signature), *packed)
        if not outputs:
            return None
        values = [outputs[a.name] for a in self.signature.outputs]
        return values[0] if len(values) == 1 else tuple(values)


def prepare_host_arrays(sig: Signature, arrays: dict) -> dict:
    """Checks each array against the compiled signature. Inputs that are not
    C-contiguous are copied; arrays updated in place ('inout') must be
    C-contiguous numpy arrays, since a copy would silently drop the update."""
    host = {}
    for a in sig.args:
        if a.role == "size":
            if a.name not in arrays or arrays[a.name] is None:
                raise ValueError(f"argument '{a.name}': missing (this kernel was compiled with it)")
            host[a.name] = arrays[a.name]
            continue
        if a.role == "out":
            continue
        x = arrays.get(a.name)
        if x is None:
            raise ValueError(f"argument '{a.name}': missing (this kernel was compiled with it)")
        spec = spec_of(a.name, x)
        if spec != a.spec:
            raise ValueError(f"argument '{a.name}': got {spec}, but this kernel was "
                             f"compiled for {a.spec}")
        if not isinstance(x, np.ndarray):
            raise ValueError(f"argument '{a.name}': target 'cpu' takes numpy arrays, "
                             f"got {type(x).__name__}")
        if a.role == "inout":
            if not x.flags.c_contiguous or not x.flags.writeable:
                raise ValueError(f"argument '{a.name}': updated in place, so it must be a "
                                 "writeable C-contiguous array")
        else:
            x = np.ascontiguousarray(x)
        host[a.name] = x
    inouts = [a.name for a in sig.args if a.role == "inout"]
    for i, n in enumerate(inouts):
        for m in sig.args:
            if m.name != n and m.role != "size" and (m.role == "in" or m.name in inouts[i + 1:]) and \
                    np.shares_memory(host[n], host[m.name]):
                raise ValueError(f"argument '{n}': overlaps argument '{m.name}'; "
                                 "in-place arguments must not alias other arguments")
    return host
