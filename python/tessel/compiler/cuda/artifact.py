"""Reading a compiled artifact off the lowered IR: for each gpu.launch_func
of the host function, in order, the kernel's name, block, dynamic shared
memory, grid and parameters — grid and scalar parameters as expressions over
the function's arguments (see runtime/kernel.py), so that launching needs no
MLIR.

Workspaces: a memref.alloc of the host function whose buffer is passed to
kernels (v2 paged attention's partial results) becomes artifact entry
{"bytes": expression}; the runtime allocates it per call and passes it as
pointer number (function arguments + workspace index), i.e. ["ptr", n].

Tensor maps: a kernel operand made by lib/GPU/Tma.h's `describe` (an
nvgpu.tma.create.descriptor cast to !llvm.ptr) becomes parameter
["tensormap", encoding], the encoding as runtime/tensormap.py reads it."""

from __future__ import annotations

import re

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


def _expr(value, ws=None):
    """The expression computing `value` from the host function's arguments
    (`ws`: the workspaces found so far, see `workspaces`)."""
    n = _arg_number(value)
    if n is not None:
        return ["ptr", n] if isinstance(value.type, ir.MemRefType) else ["arg", n]
    op = value.owner
    name = op.name
    if name == "memref.alloc" and ws is not None:
        return ["ptr", ws.index(value)]
    if name == "arith.constant":
        return ["const", ir.IntegerAttr(op.attributes["value"]).value]
    if name == "memref.dim":
        src, index = op.operands
        idx = _expr(index)
        arg = _arg_number(src) if _arg_number(src) is not None else _expr(src, ws)[1]
        if idx[0] != "const":
            raise RuntimeError("memref.dim with a run-time index in a launch")
        return ["dim", arg, idx[1]]
    if name in _PASS_THROUGH:
        return _expr(op.operands[0], ws)
    if name in _BINARY:
        return [_BINARY[name], _expr(op.operands[0], ws), _expr(op.operands[1], ws)]
    raise RuntimeError(f"cannot express launch operand defined by {name} without MLIR")


_DESCRIPTOR = re.compile(
    r"tensor = memref<(?P<box>[0-9x]+)x(?P<elt>[a-z0-9]+)\b.*?swizzle = (?P<swizzle>\w+), "
    r"l2promo = (?P<l2>\w+), oob = (?P<oob>\w+), interleave = (?P<interleave>\w+)>")
_BYTES = {"none": 0, "swizzle_32b": 32, "swizzle_64b": 64, "swizzle_128b": 128,
          "l2promo_64b": 64, "l2promo_128b": 128, "l2promo_256b": 256,
          "interleave_16b": 16, "interleave_32b": 32}


def _tensormap_descriptor(value):
    """The nvgpu.tma.create.descriptor behind a kernel operand, if it is a
    tensor map (lib/GPU/Tma.h: the descriptor cast to !llvm.ptr)."""
    try:
        op = value.owner
    except (ValueError, TypeError):
        return None
    if not hasattr(op, "name") or op.name != "builtin.unrealized_conversion_cast":
        return None
    src = op.operands[0].owner
    if not hasattr(src, "name") or src.name != "nvgpu.tma.create.descriptor":
        return None
    return src


def _static_or(values, static, ws):
    out, dynamic = [], iter(values)
    for v in static:
        out.append(_expr(next(dynamic), ws) if v == ir.ShapedType.get_dynamic_size()
                   else ["const", v])
    return out


def _tensormap(desc, ws) -> dict:
    """A tensor map parameter's encoding (runtime/tensormap.py): the global
    memref is a function argument (dims from its shape, row-major strides)
    or a memref.reinterpret_cast of one (its sizes and strides)."""
    m = _DESCRIPTOR.search(str(desc.results[0].type))
    if m is None:
        raise RuntimeError(f"cannot read tensor map type {desc.results[0].type}")
    tensor = desc.operands[0]
    while not isinstance(tensor, ir.BlockArgument) and tensor.owner.name == "memref.cast":
        tensor = tensor.owner.operands[0]
    if _arg_number(tensor) is not None:
        t = ir.MemRefType(tensor.type)
        n = _arg_number(tensor)
        dims = [["dim", n, d] if t.is_dynamic_dim(d) else ["const", t.shape[d]]
                for d in range(t.rank)]
        strides, acc = [], ["const", 1]
        for d in reversed(range(t.rank)):
            strides.insert(0, acc)
            acc = (["const", acc[1] * dims[d][1]] if acc[0] == dims[d][0] == "const"
                   else ["mul", acc, dims[d]])
        ptr = ["ptr", n]
    elif tensor.owner.name == "memref.reinterpret_cast":
        op = tensor.owner
        static = {k: list(ir.DenseI64ArrayAttr(op.attributes[k]))
                  for k in ("static_offsets", "static_sizes", "static_strides")}
        if static["static_offsets"] != [0]:
            raise RuntimeError("a tensor map's memref.reinterpret_cast must have offset 0")
        view = op.opview
        dims = _static_or(view.sizes, static["static_sizes"], ws)
        strides = _static_or(view.strides, static["static_strides"], ws)
        ptr = _expr(view.source, ws)
    else:
        raise RuntimeError(f"a tensor map of a memref defined by {tensor.owner.name}: expected "
                           "a function argument or a memref.reinterpret_cast of one")
    return {"ptr": ptr, "dtype": m["elt"], "dims": dims, "strides": strides,
            "box": [int(b) for b in m["box"].split("x")],
            "swizzle": _BYTES[m["swizzle"]], "interleave": _BYTES[m["interleave"]],
            "l2_promotion": _BYTES[m["l2"]], "oob_fill": m["oob"]}


def _param(value, ws) -> list:
    desc = _tensormap_descriptor(value)
    if desc is not None:
        return ["tensormap", _tensormap(desc, ws)]
    return [_param_kind(value), _expr(value, ws)]


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


class _Workspaces:
    """The host function's memref.allocs, numbered after its arguments."""

    def __init__(self, module: ir.Module):
        self.allocs, self.num_args = [], 0

        def visit(op):
            if op.operation.name == "func.func":
                self.num_args = max(self.num_args,
                                    len(op.operation.regions[0].blocks[0].arguments))
            elif op.operation.name == "memref.alloc":
                self.allocs.append(op.operation.results[0])
            return ir.WalkResult.ADVANCE

        module.operation.walk(visit)

    def index(self, value) -> int:
        for i, v in enumerate(self.allocs):
            if v == value:
                return self.num_args + i
        raise RuntimeError("memref.alloc outside the host function feeds a launch")


def workspaces(module: ir.Module) -> list[dict]:
    """{"bytes": expression} per workspace, in pointer order."""
    ws = _Workspaces(module)
    out = []
    for v in ws.allocs:
        t = ir.MemRefType(v.type)
        elem = t.element_type
        width = elem.width if hasattr(elem, "width") else ir.FloatType(elem).width
        if t.rank != 1:
            raise RuntimeError("workspaces must be 1-D memref.allocs")
        size = (["const", t.shape[0]] if not t.is_dynamic_dim(0)
                else _expr(v.owner.operands[0], ws))
        out.append({"bytes": ["mul", size, ["const", width // 8]]})
    return out


def launches(module: ir.Module) -> list[dict]:
    found = []

    def visit(op):
        if op.operation.name == "gpu.launch_func":
            found.append(op.opview)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    ws = _Workspaces(module)
    kernels = []
    for launch in found:
        grid = [_expr(v, ws) for v in (launch.gridSizeX, launch.gridSizeY, launch.gridSizeZ)]
        block = [_expr(v) for v in (launch.blockSizeX, launch.blockSizeY, launch.blockSizeZ)]
        if any(b[0] != "const" for b in block):
            raise RuntimeError("kernel block sizes must be constants")
        smem = launch.dynamicSharedMemorySize
        shared = _expr(smem) if smem is not None else ["const", 0]
        if shared[0] != "const":
            raise RuntimeError("dynamic shared memory must be a constant")
        symbol = ir.SymbolRefAttr(launch.attributes["kernel"]).value
        # A cluster shape is declared by the kernel (.reqnctapercluster), so
        # the plain launch of the grid runs it; it is recorded to be seen.
        cluster = None
        if launch.clusterSizeX is not None:
            cluster = [_expr(v) for v in (launch.clusterSizeX, launch.clusterSizeY,
                                          launch.clusterSizeZ)]
            if any(c[0] != "const" for c in cluster):
                raise RuntimeError("kernel cluster sizes must be constants")
            cluster = [c[1] for c in cluster]
        kernels.append({
            "name": symbol[-1],
            "module": symbol[0],
            "block": [b[1] for b in block],
            "shared_bytes": shared[1],
            "grid": grid,
            "params": [_param(v, ws) for v in launch.kernelOperands],
            **({"cluster": cluster} if cluster else {}),
        })
    return kernels


# What a kernel may do before its griddepcontrol.wait: read its parameters
# (memory no earlier grid writes) and move them into registers.
_BEFORE_WAIT = ("ld.param", "cvta", "mov")


def waits_for_prior_grid(ptx: str, name: str) -> bool:
    """Whether kernel `name` of `ptx` reads no memory but its parameters
    before a griddepcontrol.wait (tessel-finalize-kernels begins every kernel
    with one): only such a kernel may be launched while the kernel ahead of
    it on the stream still runs (runtime/driver.py, PDL)."""
    entry = re.search(r"\.entry\s+" + re.escape(name) + r"\s*\(", ptx)
    if entry is None:
        return False
    for line in ptx[ptx.find("{", entry.end()) + 1:].splitlines():
        s = line.strip()
        if not s or s.startswith(("//", ".")):
            continue  # declarations
        if s.startswith("griddepcontrol.wait"):
            return True
        if not s.startswith(_BEFORE_WAIT):
            return False
    return False


def ptx_modules(module: ir.Module) -> dict:
    """PTX of every gpu.binary by name: gpu-kernel-outlining makes one
    module per gpu.launch, and two launches of one function give kernels of
    the same name in modules named apart (f_kernel, f_kernel_0)."""
    from mlir.dialects import gpu

    out = {}
    for op in module.body.operations:
        if op.operation.name == "gpu.binary":
            obj = gpu.ObjectAttr(ir.ArrayAttr(op.attributes["objects"])[0])
            out[ir.StringAttr(op.attributes["sym_name"]).value] = obj.object.decode()
    return out


def ptx(module: ir.Module) -> str:
    from mlir.dialects import gpu

    for op in module.body.operations:
        if op.operation.name == "gpu.binary":
            obj = gpu.ObjectAttr(ir.ArrayAttr(op.attributes["objects"])[0])
            return obj.object.decode()
    raise RuntimeError("no gpu.binary in the lowered module")
