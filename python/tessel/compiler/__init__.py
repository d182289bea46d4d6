"""From a Signature to something that runs: IR building, pipelines, caches."""

from __future__ import annotations

import threading

from ..ops._base import OpDef
from ..signature import Signature


def kernel_name(sig: Signature) -> str:
    """The function's name, which names the GPU kernel in errors and profiles."""
    return f"tessel_{sig.op}"


_cache: dict = {}
_lock = threading.Lock()


def build_module(opdef: OpDef, sig: Signature, ctx):
    """func.func @tessel_<op>(<every arg as a tensor>) -> (): one tessel op,
    whose results are materialized into their init arguments so that the
    bufferized function writes the caller's buffers in place."""
    from mlir import ir
    from mlir.dialects import bufferization, func

    with ctx, ir.Location.name(f"tessel.{sig.op}"):
        module = ir.Module.create()
        types = [ir.IndexType.get() if a.role == "size" else ir.Type.parse(a.spec.mlir)
                 for a in sig.args]
        with ir.InsertionPoint(module.body):
            f = func.FuncOp(kernel_name(sig), ir.FunctionType.get(types, []))
            f.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
            block = f.add_entry_block()
            with ir.InsertionPoint(block):
                values = {a.name: block.arguments[i] for i, a in enumerate(sig.args)}
                results = opdef.build(sig, values)
                inits = [a for a in sig.args if a.role in ("out", "inout")]
                for result, init in zip(results, inits):
                    bufferization.materialize_in_destination(
                        result.type, result, values[init.name])
                func.ReturnOp([])
        module.operation.verify()
        return module


def compile_signature(opdef: OpDef, sig: Signature, target: str, options: dict,
                      generalize: bool = False, op_options: dict | None = None):
    """Compiles once per (signature, target, lowering options) in this process."""
    if target == "cuda":
        from .cuda import compile_cuda

        return compile_cuda(opdef, sig, options, generalize, op_options)
    key = (sig.key, target)
    with _lock:
        kernel = _cache.get(key)
    if kernel is not None:
        return kernel
    from ..ir import context
    from .cpu import CPUKernel

    kernel = CPUKernel(opdef, sig, build_module(opdef, sig, context()))
    with _lock:
        return _cache.setdefault(key, kernel)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
    import sys

    cuda = sys.modules.get(__name__ + ".cuda")
    if cuda is not None:
        cuda.clear_cache()
