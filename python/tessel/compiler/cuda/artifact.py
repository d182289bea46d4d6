"""Reading a compiled artifact off the lowered IR: for each gpu.launch_func
of the host function, in order, the kernel's name, block, dynamic shared
memory, grid and parameters — grid and scalar parameters as expressions over
the function's arguments (see runtime/kernel.py), so that launching needs no
MLIR."""

from __future__ import annotations

from mlir import ir

_BINARY = {"arith.addi": "add", "arith.subi": "sub", "arith.muli": "mul",
           "arith.divui": "div", "arith.divsi": "div", "arith.floordivsi": "div",
           "arith.ceildivui": "ceildiv", "arith.ceildivsi": "ceildiv", "arith.remui": "rem",
           "arith.minui": "min", "arith.minsi": "min", "arith.maxui": "max",
           "arith.maxsi": "max"}
_PASS_THROUGH = ("arith.index_cast", "arith.index_castui", "arith.extui", "arith.extsi",
                 "arith.trunci", "memref.reinterpret_cast", "memref.cast")


def _arg_number(value) -> int | None:
    try:
        return ir.BlockArgument(value).arg_number
    except (ValueError, TypeError):
        return None


def _expr(value):
    """The expression computing `value` from the host function's arguments."""
    n = _arg_number(value)
    if n is not None:
        return ["ptr", n] if isinstance(value.type, ir.MemRefType) else ["arg", n]
    op = value.owner
    name = op.name
    if name == "arith.constant":
        return ["const", ir.IntegerAttr(op.attributes["value"]).value]
    if name == "memref.dim":
        src, index = op.operands
        idx = _expr(index)
        arg = _arg_number(src) if _arg_number(src) is not None else _expr(src)[1]
        if idx[0] != "const":
            raise RuntimeError("memref.dim with a run-time index in a launch")
        return ["dim", arg, idx[1]]
    if name in _PASS_THROUGH:
        return _expr(op.operands[0])
    if name in _BINARY:
        return [_BINARY[name], _expr(op.operands[0]), _expr(op.operands[1])]
    raise RuntimeError(f"cannot express launch operand defined by {name} without MLIR")


def _param_kind(value) -> str:
    t = value.type
    if isinstance(t, ir.MemRefType):
        return "ptr"
    if isinstance(t, ir.IndexType):
        return "i64"
    if isinstance(t, ir.IntegerType):
        return {32: "i32", 64: "i64"}[t.width]
    if isinstance(t, ir.F32Type):
        return "f32"
    raise RuntimeError(f"unsupported kernel parameter type {t}")


def launches(module: ir.Module) -> list[dict]:
    found = []

    def visit(op):
        if op.operation.name == "gpu.launch_func":
            found.append(op.opview)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    kernels = []
    for launch in found:
        grid = [_expr(v) for v in (launch.gridSizeX, launch.gridSizeY, launch.gridSizeZ)]
        block = [_expr(v) for v in (launch.blockSizeX, launch.blockSizeY, launch.blockSizeZ)]
        if any(b[0] != "const" for b in block):
            raise RuntimeError("kernel block sizes must be constants")
        smem = launch.dynamicSharedMemorySize
        shared = _expr(smem) if smem is not None else ["const", 0]
        if shared[0] != "const":
            raise RuntimeError("dynamic shared memory must be a constant")
        kernels.append({
            "name": ir.SymbolRefAttr(launch.attributes["kernel"]).value[-1],
            "block": [b[1] for b in block],
            "shared_bytes": shared[1],
            "grid": grid,
            "params": [[_param_kind(v), _expr(v)] for v in launch.kernelOperands],
        })
    return kernels


def ptx(module: ir.Module) -> str:
    from mlir.dialects import gpu

    for op in module.body.operations:
        if op.operation.name == "gpu.binary":
            obj = gpu.ObjectAttr(ir.ArrayAttr(op.attributes["objects"])[0])
            return obj.object.decode()
    raise RuntimeError("no gpu.binary in the lowered module")
