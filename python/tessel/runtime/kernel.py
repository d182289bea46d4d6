"""Running a compiled artifact: a list of kernels, each with typed parameters
(pointer, i32, i64, f32, or a 128-byte CUtensorMap), a block size, dynamic
shared memory and a grid that is a function of the call's sizes. Knows
nothing of MLIR or the compiler: the artifact is plain data.

Expressions (grid dimensions, scalar parameters) are nested lists over the
call's arguments in signature order: ["const", v], ["dim", arg, d] (size d
of argument arg), ["ptr", arg], ["arg", arg] (the value of a size argument:
an integer passed by value, whose "shape" in the launcher's shapes tuple is
(value,) so that prepared launches are keyed by it too), and ["add"|"sub"|"mul"|"div"|"ceildiv"|
"rem"|"min"|"max", x, y].

Tensor maps (["tensormap", encoding], see runtime/tensormap.py) are encoded
per call from the argument's pointer, cached per pointer for given sizes,
and passed as 128 bytes by value.

Workspaces (artifact "workspaces": [{"bytes": expression}]) are scratch
buffers a call needs between its kernels (split-K partial results): the
launcher allocates them per call, from torch's caching allocator for torch
calls (stream-ordered: freeing after the launch is safe), from cupy's pool
for cupy and with the driver otherwise, and passes them as the pointers after
the arguments' (["ptr", number of arguments + i])."""

from __future__ import annotations

import operator
import struct
import threading

from . import arrays as rt
from . import driver

_BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
           "div": operator.floordiv, "rem": operator.mod, "min": min, "max": max,
           "ceildiv": lambda x, y: -(-x // y)}


def compile_expr(e):
    """A function (ptrs, shapes) -> int for an expression."""
    kind = e[0]
    if kind == "const":
        value = int(e[1])
        return lambda ptrs, shapes: value
    if kind == "dim":
        arg, d = int(e[1]), int(e[2])
        return lambda ptrs, shapes: shapes[arg][d]
    if kind == "ptr":
        arg = int(e[1])
        return lambda ptrs, shapes: ptrs[arg]
    if kind == "arg":
        arg = int(e[1])
        return lambda ptrs, shapes: shapes[arg][0]
    if kind in _BINARY:
        fn, x, y = _BINARY[kind], compile_expr(e[1]), compile_expr(e[2])
        return lambda ptrs, shapes: fn(x(ptrs, shapes), y(ptrs, shapes))
    raise ValueError(f"tessel artifact: unknown expression {e!r}")


def _slot(kind: str, value) -> int:
    """A parameter's value as the 64-bit slot cuLaunchKernel reads it from."""
    if kind in ("ptr", "i64"):
        return int(value) & 0xFFFFFFFFFFFFFFFF
    if kind == "i32":
        return int(value) & 0xFFFFFFFF
    if kind == "f32":
        return struct.unpack("<I", struct.pack("<f", float(value)))[0]
    raise ValueError(f"tessel artifact: parameter kind {kind!r} has no 64-bit slot")


class KernelEntry:
    """One kernel of an artifact, its expressions compiled."""

    def __init__(self, entry: dict):
        self.name = entry["name"]
        self.module = entry.get("module")
        self.block = tuple(entry["block"])
        self.shared_bytes = int(entry["shared_bytes"])
        # Safe to launch before the kernel ahead of it has finished (PDL).
        self.early = bool(entry.get("waits_for_prior_grid"))
        self.grid = [compile_expr(g) for g in entry["grid"]]
        self.kinds = [p[0] for p in entry["params"]]
        # Tensor maps (runtime/tensormap.py): the base pointer per call, the
        # dims and strides per shapes.
        self.tensormaps = {}
        self.params = []
        for i, (kind, value) in enumerate(entry["params"]):
            if kind == "tensormap":
                self.tensormaps[i] = (value, compile_expr(value["ptr"]),
                                      [compile_expr(d) for d in value["dims"]],
                                      [compile_expr(s) for s in value["strides"]])
                self.params.append(None)
            else:
                self.params.append(compile_expr(value))
        # Parameters that are pointers are filled per call; the others only
        # depend on the sizes.
        self.pointer_args = [int(p[1][1]) if p[0] != "tensormap" and p[1][0] == "ptr" else None
                             for p in entry["params"]]

    def encoders(self, shapes, names=None) -> dict:
        """index -> tensormap.Encoder for calls with these shapes; `names`:
        the call's argument names, for errors."""
        from . import tensormap

        out = {}
        for i, (spec, ptr, dims, strides) in self.tensormaps.items():
            arg = spec["ptr"][1] if spec["ptr"][0] == "ptr" else None
            spec = dict(spec, arg=(names[arg] if names and arg is not None and arg < len(names)
                                   else f"#{arg}"))
            out[i] = tensormap.Encoder(spec, ptr, [d((), shapes) for d in dims],
                                       [s((), shapes) for s in strides])
        return out


class Program:
    """The kernels of one artifact, loaded per device and launched in order on
    one stream."""

    def __init__(self, artifact: dict):
        # One PTX module per kernel when there are several ("modules": name
        # -> PTX); artifacts without them have every kernel in "ptx".
        modules = artifact.get("modules") or {}
        self.library = driver.Library(artifact["ptx"])
        self.libraries = {name: (self.library if text == artifact["ptx"] else driver.Library(text))
                          for name, text in modules.items()}
        self.kernels = [KernelEntry(k) for k in artifact["kernels"]]
        self.workspaces = [compile_expr(w["bytes"]) for w in artifact.get("workspaces", [])]
        self._prepared: dict = {}
        self._lock = threading.Lock()
        self.arg_names = artifact.get("arg_names")  # for tensor-map errors, when known

    def prepare(self, shapes: tuple, device: int):
        """A launch function `run(ptrs, stream)` for calls with these argument
        shapes on this device: grids and size parameters evaluated once."""
        key = (shapes, device)
        run = self._prepared.get(key)
        if run is not None:
            return run
        steps = []
        for k in self.kernels:
            grid = [int(g((), shapes)) for g in k.grid]
            if grid[0] >= 2 ** 31 or grid[1] > 65535 or grid[2] > 65535:
                raise ValueError(f"kernel {k.name}: these sizes need a grid of "
                                 f"{grid[0]} x {grid[1]} x {grid[2]} thread blocks; CUDA's "
                                 "limits are 2^31 - 1 x 65535 x 65535")
            if min(grid) <= 0:
                continue  # nothing to do for an empty range (e.g. M = 0)
            fixed = [(i, _slot(kind, p((), shapes)))
                     for i, (kind, p, arg) in enumerate(zip(k.kinds, k.params, k.pointer_args))
                     if arg is None and kind != "tensormap"]
            pointers = [(i, arg) for i, arg in enumerate(k.pointer_args) if arg is not None]
            library = self.libraries.get(k.module, self.library)
            steps.append(driver.launcher(library.function(k.name, device), grid, k.block,
                                         k.shared_bytes, len(k.params), fixed, pointers,
                                         sorted(k.encoders(shapes, self.arg_names).items()),
                                         early=k.early))
        if len(steps) == 1:
            run = steps[0]
        else:
            def run(ptrs, stream):
                for launch in steps:
                    launch(ptrs, stream)

        with self._lock:
            if len(self._prepared) > 1024:
                self._prepared.clear()
            self._prepared[key] = run
        return run


NOT_PREPARED = object()  # Launcher.fast's "take the general path"


def _workspace(kind: str, device: int, nbytes: int):
    """(owner to keep alive, device pointer) of a scratch buffer."""
    nbytes = max(int(nbytes), 16)
    if kind == "torch":
        import torch

        buf = torch.empty(nbytes, dtype=torch.uint8, device=f"cuda:{device}")
        return buf, buf.data_ptr()
    if kind == "cupy":
        import cupy

        with cupy.cuda.Device(device):
            buf = cupy.empty(nbytes, dtype=cupy.uint8)
        return buf, buf.data.ptr
    buf = driver.DeviceBuffer(nbytes, device)
    return buf, buf.ptr


def _contiguous(x, k: str) -> bool:
    if k == "torch":
        return x.is_contiguous()
    if k == "cupy":
        return x.flags.c_contiguous
    return x.__cuda_array_interface__.get("strides") is None


class Launcher:
    """Calls of one compiled signature: checks devices, prepares inputs,
    allocates outputs of the inputs' kind on their device, launches on the
    caller's current stream (numpy: copies and synchronizes)."""

    NOT_PREPARED = NOT_PREPARED

    def __init__(self, program: Program, args, output_shapes):
        """args: (name, role, spec) per signature argument; output_shapes:
        function(input shapes by name) -> shapes of the outputs by name (for
        run-time sizes)."""
        self.program = program
        self.args = list(args)
        if program.arg_names is None:
            program.arg_names = [a[0] for a in self.args]
        self.inputs = [a for a in self.args if a[1] != "out"]
        self.outputs = [a for a in self.args if a[1] == "out"]
        self.output_shapes = output_shapes
        self._fast = {}

    def _device(self, given: dict) -> tuple[int, str, object]:
        device, first, out_kind, like = None, None, "numpy", None
        for name, role, _ in self.inputs:
            if role == "size":
                continue
            x = given[name]
            k = rt.kind(x)
            d = rt.device_of(x, k)
            if k in ("torch", "cupy") and like is None:
                out_kind, like = k, x
            if d is None:
                continue
            if device is None:
                device, first = d, name
            elif d != device:
                raise ValueError(f"argument '{name}': is on CUDA device {d} but '{first}' is on "
                                 f"device {device}; all arrays must be on one device")
        return (0 if device is None else device), out_kind, like

    def __call__(self, given: dict):
        fast = self._fast_call(given)
        if fast is not NOT_PREPARED:
            return fast
        device, out_kind, _ = self._device(given)
        keep, ptrs_by_name, shapes_by_name, write_back = [], {}, {}, []
        for name, role, _ in self.inputs:
            x = given[name]
            if role == "size":
                ptrs_by_name[name], shapes_by_name[name] = 0, (int(x),)
                continue
            k = rt.kind(x)
            if role == "inout" and (k in ("torch", "cupy", "cai") and not _contiguous(x, k)
                                    or k == "numpy" and not (x.flags.c_contiguous and
                                                             x.flags.writeable)):
                raise ValueError(f"argument '{name}': updated in place, so it must be a "
                                 "writeable contiguous array (a copy would lose the update)")
            ptr, obj = rt.prepare_input(name, x, device)
            ptrs_by_name[name] = ptr
            shapes_by_name[name] = tuple(int(s) for s in x.shape)
            keep.append(obj)
            if role == "inout" and k == "numpy":
                write_back.append((obj, x))
        out_shapes = self.output_shapes(shapes_by_name)
        results = []
        for name, _, spec in self.outputs:
            arr, ptr, finish = rt.empty(out_kind, device, out_shapes[name], spec.dtype)
            ptrs_by_name[name], shapes_by_name[name] = ptr, tuple(out_shapes[name])
            keep.append(arr)
            results.append(finish)
        names = [a[0] for a in self.args]
        shapes = tuple(shapes_by_name[n] for n in names)
        ptrs = [ptrs_by_name[n] for n in names]
        for nbytes in self.program.workspaces:
            buf, ptr = _workspace(out_kind, device, nbytes((), shapes))
            keep.append(buf)
            ptrs.append(ptr)
        stream = rt.current_stream(out_kind, device)
        run = self.program.prepare(shapes, device)
        run(ptrs, stream)
        if out_kind == "numpy":
            driver.synchronize(stream, self.program.kernels[0].name if self.program.kernels else "")
            for buf, host in write_back:
                buf.to_host(host)
        elif out_kind == "torch":
            self._remember_torch(shapes, device, run)
        values = [f() for f in results]
        del keep
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    def _remember_torch(self, shapes, device, run):
        """The prepared path for repeated torch calls with these shapes:
        contiguous tensors on this device, no conversions, the raw current
        stream."""
        import torch

        n_in = len(self.inputs)
        in_shapes = shapes[:n_in] if all(a[1] != "out" for a in self.args[:n_in]) else None
        if in_shapes is None or len(self._fast) > 256:
            return
        self._fast[(in_shapes, device)] = _torch_call(
            run, device,
            # The dtypes too: a compiled kernel's own call reaches fast() with
            # nothing else having checked them.
            [rt.torch_dtype(a[2].dtype) for a in self.args[:n_in]],
            [(shapes[i], rt.torch_dtype(a[2].dtype))
             for i, a in enumerate(self.args) if a[1] == "out"],
            [(max(int(w((), shapes)), 16),) for w in self.program.workspaces])

    def prepared(self, xs: tuple):
        """The prepared torch call `call(xs)` for inputs like `xs` (in
        signature order: their shapes, on their device), or None. It returns
        NOT_PREPARED for inputs it does not apply to (another kind, dtype or
        device, a non-contiguous tensor), and the caller then takes the
        general path."""
        try:
            return self._fast.get((tuple([x.shape for x in xs]), xs[0].get_device()))
        except (AttributeError, TypeError, IndexError):
            return None

    def _fast_call(self, given):
        if not self._fast:
            return NOT_PREPARED
        return self.fast(tuple(given[a[0]] for a in self.inputs))

    def fast(self, xs: tuple):
        """The prepared torch path for inputs `xs` (in signature order), or
        NOT_PREPARED when it does not apply: the caller then takes the
        general path."""
        call = self.prepared(xs)
        return NOT_PREPARED if call is None else call(xs)


def _torch_call(run, device: int, dtypes, outs, workspaces):
    """A repeated torch call on one device: checks each input's type, dtype,
    contiguity and device, allocates the outputs and workspaces from torch's
    caching allocator and launches on the current stream. Everything that
    depends only on the shapes was done once; this is the whole host path
    of a cached call."""
    import torch

    empty, tensor, dev = torch.empty, torch.Tensor, torch.device("cuda", device)
    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    stream = ((lambda: raw(device)) if raw else
              (lambda: torch.cuda.current_stream(device).cuda_stream))
    # Sizes as separate arguments: torch parses them ~2 us faster than one
    # tuple (H200 host, scripts/host_breakdown.py). A 0-d shape keeps ().
    allocs = [(tuple(shape) or ((),), dt)
              for shape, dt in outs + [(shape, torch.uint8) for shape in workspaces]]
    n_out = len(outs)

    def call(xs):
        ptrs = []
        for x, dt in zip(xs, dtypes):
            if (type(x) is not tensor or x.dtype is not dt or not x.is_contiguous()
                    or x.get_device() != device):
                return NOT_PREPARED
            ptrs.append(x.data_ptr())
        if n_out == 1 and len(allocs) == 1:
            shape, dt = allocs[0]
            out = empty(*shape, dtype=dt, device=dev)
            ptrs.append(out.data_ptr())
            run(ptrs, stream())
            return out
        buffers = [empty(*shape, dtype=dt, device=dev) for shape, dt in allocs]
        ptrs += [r.data_ptr() for r in buffers]
        run(ptrs, stream())
        if not n_out:
            return None
        return buffers[0] if n_out == 1 else tuple(buffers[:n_out])

    return call
