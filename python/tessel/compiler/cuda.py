"""The GPU path: tessel -> gpu/nvvm -> PTX, cached on disk, launched with
cuda-python. Compiling needs no GPU; calling does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlir import ir
from mlir.dialects import gpu  # also registers gpu.launch_func's OpView

from ..ops._base import OpDef, Signature, dtype_name, spec_of
from ..runtime import arrays as rt
from .._native import PipelineError
from . import cache
from .cpu import run_pipeline

CHIP = "sm_90a"
STRATEGIES = ("naive", "smem", "regtile", "pipelined", "mma", "wgmma")
CONFIG_KEYS = ("block_m", "block_n", "block_k", "warps_m", "warps_n", "stages", "group_m",
               "thread_m", "thread_n", "warpgroups")


def check_options(opdef: OpDef, options: dict) -> tuple[str, dict]:
    if opdef.name != "gemm":
        raise NotImplementedError(f"tessel.{opdef.name}: target='cuda' is not implemented yet; "
                                  "use target='cpu'")
    strategy = options.get("strategy")
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"argument 'strategy': expected one of {', '.join(STRATEGIES)}, "
                         f"got {strategy!r}")
    config = dict(options.get("config") or {})
    for k, v in config.items():
        if k not in CONFIG_KEYS:
            raise ValueError(f"argument 'config': unknown key {k!r}; expected {', '.join(CONFIG_KEYS)}")
        if not isinstance(v, int) or v <= 0:
            raise ValueError(f"argument 'config': {k} must be a positive integer, got {v!r}")
    return strategy, config


def check_dtype_for(strategy: str, sig: Signature) -> None:
    dtype = sig.arg("a").spec.dtype
    if strategy in ("mma", "wgmma") and dtype_name(dtype) not in ("f16", "bf16"):
        raise ValueError(f"argument 'strategy': {strategy!r} needs f16 or bf16 inputs, got "
                         f"{dtype_name(dtype)}; use naive, smem, regtile or pipelined")


def pick_strategy(sig: Signature) -> str:
    """The built-in choice when the caller names no strategy (docs/benchmarks.md):
    Hopper warpgroup tensor cores for f16/bf16, the pipelined SIMT kernel for f32."""
    return "wgmma" if dtype_name(sig.arg("a").spec.dtype) in ("f16", "bf16") else "pipelined"


def default_config(strategy: str, sig: Signature) -> dict:
    """Tile sizes by size class, from the sweeps recorded in docs/benchmarks.md
    (H200); the pass's own defaults apply to anything not listed."""
    m, n = sig.outputs[0].spec.shape[-2:]
    if strategy == "wgmma":
        if m * n < 2048 ** 2:  # 128 x 256 tiles would leave most SMs idle
            return dict(block_m=128, block_n=128, block_k=64, warpgroups=2, stages=4, group_m=8)
        return dict(block_m=128, block_n=256, block_k=64, warpgroups=2, stages=4, group_m=8)
    if strategy == "mma":
        if m * n > 3072 ** 2:
            return dict(block_m=128, block_n=256, block_k=64, warps_m=2, warps_n=4, stages=3,
                        group_m=8)
        mid = m * n > 1536 ** 2
        return dict(block_m=128, block_n=128, block_k=32 if mid else 64, warps_m=2, warps_n=2,
                    stages=3, group_m=8)
    if strategy == "pipelined":
        return dict(block_m=64, block_n=128)
    return {}


def stages(strategy: str, config: dict) -> list[tuple[str, str]]:
    opts = " ".join([f"strategy={strategy}"] +
                    [f"{k.replace('_', '-')}={v}" for k, v in sorted(config.items())])
    return [
        ("bufferized", "tessel-bufferize"),
        ("gpu", f"convert-tessel-to-gpu{{{opts}}},gpu-kernel-outlining,canonicalize"),
        ("nvvm", f"tessel-gpu-to-nvvm,nvvm-attach-target{{chip={CHIP} features=+ptx80 O=3}}"),
        ("binary", "gpu-module-to-binary{format=isa}"),
    ]


def _launch_metadata(module: ir.Module) -> dict:
    """Kernel name, grid, block and argument order from the gpu.launch_func."""
    found = []

    def visit(op):
        if op.operation.name == "gpu.launch_func":
            found.append(op.opview)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if len(found) != 1:
        raise RuntimeError(f"expected one gpu.launch_func after lowering, found {len(found)}")
    launch = found[0]

    def const(v):
        return ir.IntegerAttr(v.owner.attributes["value"]).value

    return {
        "kernel": ir.SymbolRefAttr(launch.attributes["kernel"]).value[-1],
        "grid": [const(v) for v in (launch.gridSizeX, launch.gridSizeY, launch.gridSizeZ)],
        "block": [const(v) for v in (launch.blockSizeX, launch.blockSizeY, launch.blockSizeZ)],
        "shared_bytes": (const(launch.dynamicSharedMemorySize)
                         if launch.dynamicSharedMemorySize is not None else 0),
        "arg_order": [ir.BlockArgument(v).arg_number for v in launch.kernelOperands],
    }


def _ptx(module: ir.Module) -> str:
    for op in module.body.operations:
        if op.operation.name == "gpu.binary":
            obj = gpu.ObjectAttr(ir.ArrayAttr(op.attributes["objects"])[0])
            return obj.object.decode()
    raise RuntimeError("no gpu.binary in the lowered module")


def _dump(key: str, stage_ir: dict, ptx: str) -> None:
    directory = os.environ.get("TESSEL_DUMP_DIR")
    if not directory:
        return
    out = Path(directory) / key[:16]
    out.mkdir(parents=True, exist_ok=True)
    for i, (stage, text) in enumerate(stage_ir.items()):
        (out / f"{i}-{stage}.mlir").write_text(text)
    (out / "kernel.ptx").write_text(ptx)


def lower(opdef: OpDef, sig: Signature, strategy: str, config: dict, module=None):
    """Runs the pipeline on `module` (built from the signature when not given);
    returns (stage -> IR text, artifact)."""
    from . import build_module
    from ..ir import context

    if module is None:
        module = build_module(opdef, sig, context())
    stage_ir = {"tessel": str(module)}
    meta = None
    for stage, pipeline in stages(strategy, config):
        try:
            run_pipeline(module, pipeline)
        except PipelineError as exc:
            raise ValueError(f"argument 'config': {strategy} rejected this configuration: "
                             f"{exc}") from None
        stage_ir[stage] = str(module)
        if stage == "gpu":
            meta = _launch_metadata(module)
    artifact = dict(meta, ptx=_ptx(module), strategy=strategy, config=config, chip=CHIP)
    return stage_ir, artifact


def compile_cuda(opdef: OpDef, sig: Signature, options: dict):
    strategy, config = check_options(opdef, options)
    if strategy is None:
        strategy = pick_strategy(sig)
    check_dtype_for(strategy, sig)
    config = {**default_config(strategy, sig), **config}
    from . import build_module
    from ..ir import context

    module = build_module(opdef, sig, context())
    k = cache.key(str(module), repr(stages(strategy, config)), CHIP)
    artifact = cache.load(k)
    stage_ir = None
    if artifact is None:
        stage_ir, artifact = lower(opdef, sig, strategy, config, module)
        cache.store(k, artifact)
        _dump(k, stage_ir, artifact["ptx"])
    return CUDAKernel(opdef, sig, artifact, stage_ir, k)


class CUDAKernel:
    """A compiled GEMM for the GPU: `.ptx`, `.ir(stage)`, `.launch_metadata`;
    calling it launches (numpy arrays are copied to and from the device, torch
    and cupy CUDA arrays are used in place and the result has their kind)."""

    target = "cuda"

    def __init__(self, opdef: OpDef, sig: Signature, artifact: dict, stage_ir, key: str):
        self.opdef, self.signature, self.cache_key = opdef, sig, key
        self._artifact = artifact
        self._ir = stage_ir
        self._module = None
        self._inputs = [a for a in sig.args if a.role != "out"]
        self._order = [sig.args[i].name for i in artifact["arg_order"]]
        self._empty = any(d == 0 for a in sig.outputs for d in a.spec.shape)
        self._torch_fast = None  # set up by the first call with torch tensors

    @property
    def ptx(self) -> str:
        return self._artifact["ptx"]

    @property
    def launch_metadata(self) -> dict:
        return {k: self._artifact[k] for k in ("kernel", "grid", "block", "shared_bytes",
                                               "strategy", "config", "chip")}

    @property
    def stages(self) -> tuple[str, ...]:
        return ("tessel",) + tuple(s for s, _ in stages(self._artifact["strategy"],
                                                        self._artifact["config"]))

    def ir(self, stage: str = "tessel") -> str:
        if self._ir is None:  # loaded from the disk cache: recompute on demand
            self._ir, _ = lower(self.opdef, self.signature, self._artifact["strategy"],
                                self._artifact["config"])
        if stage not in self._ir:
            raise ValueError(f"argument 'stage': unknown stage {stage!r}; "
                             f"expected one of {', '.join(self._ir)}")
        return self._ir[stage]

    def _loaded(self):
        if self._module is None:
            from ..runtime.driver import Module

            self._module = Module(self.ptx, self._artifact["kernel"])
        return self._module

    def __call__(self, *args, **kwargs):
        given, extra = self.opdef.bind(args, kwargs)
        if extra:
            raise TypeError(f"tessel.{self.opdef.name} kernel: options are fixed at compile "
                            f"time; got {', '.join(extra)}")
        for a in self.signature.args:
            if a.role == "out":
                continue
            if given.get(a.name) is None:
                raise ValueError(f"argument '{a.name}': missing (this kernel was compiled with it)")
            spec = spec_of(a.name, given[a.name])
            if spec != a.spec:
                raise ValueError(f"argument '{a.name}': got {spec}, but this kernel was "
                                 f"compiled for {a.spec}")
        return self.run_checked_call(given)

    def _setup_torch_fast(self, module) -> None:
        """The launch path for calls whose inputs are all contiguous torch
        tensors on cuda:0: no per-call conversions, a prepared argument block,
        the raw current stream."""
        import torch

        names = [a.name for a in self._inputs] + [a.name for a in self.signature.outputs]
        slots = [names.index(n) for n in self._order]
        device = torch.device("cuda", 0)
        outs = [(tuple(a.spec.shape), rt._torch_dtype(a.spec.dtype), device)
                for a in self.signature.outputs]
        raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
        stream = (lambda: raw(0)) if raw else (lambda: torch.cuda.current_stream(0).cuda_stream)
        launch = module.launcher(self._artifact["grid"], self._artifact["block"],
                                 self._artifact["shared_bytes"], len(slots))
        self._torch_fast = (torch.Tensor, torch.empty, [a.name for a in self._inputs], outs,
                            slots, stream, launch)

    def run_checked_call(self, given: dict):
        """Launches on arrays whose shapes and dtypes match the signature."""
        fast = self._torch_fast
        if fast is not None:
            tensor, empty, names, outs, slots, stream, launch = fast
            xs = [given[n] for n in names]
            if all(type(x) is tensor and x.get_device() == 0 and x.is_contiguous() for x in xs):
                results = [empty(shape, dtype=dt, device=dev) for shape, dt, dev in outs]
                ptrs = [x.data_ptr() for x in xs] + [r.data_ptr() for r in results]
                launch([ptrs[i] for i in slots], stream())
                return results[0] if len(results) == 1 else tuple(results)
        module = self._loaded()
        keep, pointers = [], {}
        out_kind, like = "numpy", None
        for a in self._inputs:
            x = given[a.name]
            ptr, obj = rt.prepare_input(a.name, x)
            pointers[a.name] = ptr
            keep.append(obj)
            # Results come back as the first torch/cupy input's kind.
            k = rt.kind(obj)
            if like is None and k in ("torch", "cupy"):
                out_kind, like = k, obj
        results = []
        for a in self.signature.outputs:
            arr, ptr, finish = rt.empty(out_kind, like, a.spec.shape, a.spec.dtype)
            pointers[a.name] = ptr
            keep.append(arr)
            results.append(finish)
        if self._empty:
            return results[0]() if len(results) == 1 else tuple(f() for f in results)
        stream = 0
        if out_kind == "torch":
            # Inputs are on cuda:0 (checked above), so is the stream.
            stream = sys.modules["torch"].cuda.current_stream(0).cuda_stream
        module.launch(self._artifact["grid"], self._artifact["block"],
                      self._artifact["shared_bytes"], [pointers[n] for n in self._order], stream)
        if out_kind == "numpy":
            module.synchronize(stream)
        elif out_kind == "torch" and fast is None:
            self._setup_torch_fast(module)
        values = [f() for f in results]
        del keep
        return values[0] if len(values) == 1 else tuple(values)
