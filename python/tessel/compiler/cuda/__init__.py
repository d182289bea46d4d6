"""The GPU path: signature -> recipe -> disk-cache lookup -> (on a miss) IR,
pipeline, artifact -> runtime. A cache hit imports neither MLIR nor the
native library; compiling needs no GPU, calling does."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ...runtime.kernel import NOT_PREPARED
from ...signature import Signature
from .. import cache
from . import attention as attention_recipe
from . import gemm as gemm_recipe
from . import paged as paged_recipe

CHIP = "sm_90a"
STAGES = (
    ("bufferized", "tessel-bufferize"),
    ("gpu", "convert-tessel-to-gpu,gpu-kernel-outlining,canonicalize"),
    ("nvvm", f"tessel-gpu-to-nvvm,nvvm-attach-target{{chip={CHIP} features=+ptx80 O=3}}"),
    ("binary", "gpu-module-to-binary{format=isa}"),
)
RECIPES = {"gemm": gemm_recipe,
           "flash_attention": attention_recipe,
           "flash_attention_varlen": attention_recipe.varlen,
           "paged_attention": paged_recipe.attention,
           "paged_kv_write": paged_recipe.kv_write,
           "copy_blocks": paged_recipe.copy_blocks}
ARTIFACT_FORMAT = 2

_kernels: dict = {}
_lock = threading.Lock()


def recipes_for(opdef):
    r = RECIPES.get(opdef.name)
    if r is None:
        raise NotImplementedError(f"tessel.{opdef.name}: target='cuda' is not implemented yet; "
                                  "use target='cpu'")
    return r


def _dump(key: str, stage_ir: dict, ptx: str) -> None:
    directory = os.environ.get("TESSEL_DUMP_DIR")
    if not directory:
        return
    out = Path(directory) / key[:16]
    out.mkdir(parents=True, exist_ok=True)
    for i, (stage, text) in enumerate(stage_ir.items()):
        (out / f"{i}-{stage}.mlir").write_text(text)
    (out / "kernel.ptx").write_text(ptx)


def lower(opdef, sig: Signature, recipe) -> tuple[dict, dict]:
    """Builds the IR and runs the pipeline; returns (stage -> IR text, artifact)."""
    from ..._native import PipelineError
    from ...ir import context
    from .. import build_module
    from ..pipeline import run_pipeline
    from . import artifact as read

    module = build_module(opdef, sig, context())
    recipes_for(opdef).annotate(module, recipe)
    stage_ir = {"tessel": str(module)}
    kernels, workspaces = None, []
    for stage, pipeline in STAGES:
        try:
            run_pipeline(module, pipeline)
        except PipelineError as exc:
            if "needs a grid of" in str(exc):
                names = ", ".join(f"'{a.name}'" for a in sig.args if a.role != "out")
                raise ValueError(f"arguments {names}: too large for the GPU kernels: "
                                 f"{exc}") from None
            raise ValueError(f"argument 'config': {recipe.strategy} rejected this configuration: "
                             f"{exc}") from None
        stage_ir[stage] = str(module)
        if stage == "gpu":
            kernels = read.launches(module)
            workspaces = read.workspaces(module)
    ptx, modules = read.ptx(module), read.ptx_modules(module)
    for k in kernels or []:
        k["waits_for_prior_grid"] = read.waits_for_prior_grid(modules.get(k["module"], ptx),
                                                              k["name"])
    artifact = dict(format=ARTIFACT_FORMAT, ptx=ptx, kernels=kernels,
                    workspaces=workspaces, modules=modules,
                    strategy=recipe.strategy, config=dict(recipe.config),
                    size_class=recipe.size_class, chip=CHIP)
    return stage_ir, artifact


def compile_cuda(opdef, sig: Signature, options: dict, generalize: bool = False,
                 op_options: dict | None = None):
    """The kernel for a signature; with `generalize`, for its size class (the
    functional API: one compile serves every M of the class)."""
    recipes = recipes_for(opdef)
    if options.get("strategy") == "auto":
        from .autotune import resolve

        options = resolve(opdef, sig, options, op_options or {})
    m_hint = None
    if generalize:
        sig, m_hint = recipes.generalize(sig, options)
    recipe = recipes.recipe(sig, options, m_hint)
    key = cache.key(sig.key, recipe.key, repr(STAGES), CHIP, f"artifact={ARTIFACT_FORMAT}")
    with _lock:
        kernel = _kernels.get(key)
    if kernel is not None:
        return kernel
    if recipes.is_empty(sig):
        kernel = EmptyGemm(opdef, sig, op_options or {}, recipe)
    else:
        artifact = cache.load(key)
        stage_ir = None
        if artifact is None or artifact.get("format") != ARTIFACT_FORMAT:
            stage_ir, artifact = lower(opdef, sig, recipe)
            cache.store(key, artifact)
            _dump(key, stage_ir, artifact["ptx"])
        kernel = CUDAKernel(opdef, sig, artifact, stage_ir, key, recipe, op_options or {})
    with _lock:
        return _kernels.setdefault(key, kernel)


def clear_cache() -> None:
    with _lock:
        _kernels.clear()


class _Kernel:
    """What CUDA kernels share: argument binding and checks against the
    compiled signature (run-time dimensions accept any size up to the
    kernels' bound)."""

    target = "cuda"

    def __init__(self, opdef, sig: Signature, op_options: dict):
        self.opdef, self.signature, self._op_options = opdef, sig, op_options

    def __call__(self, *args, **kwargs):
        from ...signature import spec_of

        # Repeated positional calls with torch tensors of shapes an earlier
        # call validated: the prepared launch (49 us a call on an H200
        # through the checks below, against 24 us for tessel.gemm's own).
        if not kwargs and self._positional is not None and len(args) == len(self._positional):
            result = self._prepared(args)
            if result is not NOT_PREPARED:
                return result
        given, extra = self.opdef.bind(args, kwargs)
        if extra:
            raise TypeError(f"tessel.{self.opdef.name} kernel: options are fixed at compile "
                            f"time; got {', '.join(extra)}")
        for a in self.signature.args:
            if a.role == "out":
                continue
            if a.role == "size":
                if given.get(a.name) is None:
                    raise ValueError(f"argument '{a.name}': missing (this kernel was compiled "
                                     "with it)")
                continue
            if given.get(a.name) is None:
                raise ValueError(f"argument '{a.name}': missing (this kernel was compiled with it)")
            spec = spec_of(a.name, given[a.name])
            if not a.spec.matches(spec):
                raise ValueError(f"argument '{a.name}': got {spec}, but this kernel was "
                                 f"compiled for {a.spec}")
            for d, (want, got) in enumerate(zip(a.spec.shape, spec.shape)):
                if want is None and got > gemm_recipe.MAX_RUN_TIME_SIZE:
                    raise ValueError(f"argument '{a.name}': dimension {d} is {got}; the "
                                     f"kernels take at most {gemm_recipe.MAX_RUN_TIME_SIZE}")
        return self.run_checked_call(given)

    def output_shapes(self, shapes: dict) -> dict:
        """Output shapes for a call with these input shapes."""
        if all(a.spec.is_static for a in self.signature.outputs):
            return {a.name: a.spec.shape for a in self.signature.outputs}
        from ...signature import Spec

        # A size argument's "shape" is its value (see runtime/kernel.py).
        specs = {a.name: shapes[a.name][0] if a.role == "size" else
                 Spec(shapes[a.name], a.spec.dtype)
                 for a in self.signature.args if a.role != "out"}
        static = self.opdef.signature(**specs, **self._op_options)
        return {a.name: a.spec.shape for a in static.outputs}


class CUDAKernel(_Kernel):
    """A compiled op for the GPU: `.ptx`, `.ir(stage)`, `.launch_metadata`;
    calling it launches (numpy arrays are copied to and from the device, torch
    and cupy CUDA arrays are used in place, on their device, and the result
    has their kind)."""

    def __init__(self, opdef, sig, artifact: dict, stage_ir, key: str, recipe, op_options):
        super().__init__(opdef, sig, op_options)
        self.cache_key, self.recipe = key, recipe
        self._artifact = artifact
        self._ir = stage_ir
        self._launcher = None
        # Positions, among the op's array parameters, of the signature's
        # inputs (a positional call passes them in parameter order).
        inputs = [a.name for a in sig.args if a.role != "out"]
        params = list(opdef.params)
        self._positional = ([params.index(n) for n in inputs]
                            if all(n in params for n in inputs) else None)
        self._permuted = self._positional != list(range(len(inputs)))
        self._checks_values = opdef.reads_index_data

    @property
    def ptx(self) -> str:
        return self._artifact["ptx"]

    @property
    def ptx_modules(self) -> dict:
        """PTX per module (one per kernel when the call launches several)."""
        return self._artifact.get("modules") or {None: self.ptx}

    @property
    def kernels(self) -> list[dict]:
        return self._artifact["kernels"]

    @property
    def launch_metadata(self) -> dict:
        """The first kernel's launch (its grid evaluated where static) and the
        recipe; `kernels` lists every kernel with its expressions."""
        from ...runtime.kernel import compile_expr

        first = self.kernels[0]
        shapes = tuple(a.spec.shape for a in self.signature.args)
        grid = []
        for g in first["grid"]:
            try:
                grid.append(compile_expr(g)((), shapes))
            except (TypeError, IndexError):  # depends on a run-time size
                grid.append(None)
        return dict(kernel=first["name"], grid=grid, block=first["block"],
                    shared_bytes=first["shared_bytes"], strategy=self._artifact["strategy"],
                    config=self._artifact["config"], chip=self._artifact["chip"],
                    cluster=first.get("cluster"), kernels=self.kernels)

    @property
    def stages(self) -> tuple[str, ...]:
        return ("tessel",) + tuple(s for s, _ in STAGES)

    def ir(self, stage: str = "tessel") -> str:
        if self._ir is None:  # loaded from the disk cache: recompute on demand
            self._ir, _ = lower(self.opdef, self.signature, self.recipe)
        if stage not in self._ir:
            raise ValueError(f"argument 'stage': unknown stage {stage!r}; "
                             f"expected one of {', '.join(self._ir)}")
        return self._ir[stage]

    def call_positional(self, args: tuple):
        """The api's repeated-call path (same array types, shapes, dtypes and
        options as an earlier call): the prepared launch when it applies."""
        result = self._prepared(args)
        if result is not NOT_PREPARED:
            return result
        return self.run_checked_call(dict(zip(self.opdef.params, args)))

    def prepared_call(self, args: tuple):
        """The prepared launch `call(args)` for positional arrays like `args`
        (op parameter order; see Launcher.prepared), or None: what the api
        keeps per call key so that a repeated call is one lookup away from
        the launch."""
        launcher = self._launcher
        if launcher is None or self._positional is None or self._checks_values:
            return None
        if not self._permuted:
            return launcher.prepared(args)
        order = self._positional
        call = launcher.prepared(tuple(args[i] for i in order))
        return None if call is None else (lambda xs: call(tuple(xs[i] for i in order)))

    def _prepared(self, args: tuple):
        """The prepared launch of positional `args` (op parameter order), or
        NOT_PREPARED where it does not apply."""
        call = self.prepared_call(args)
        return NOT_PREPARED if call is None else call(args)

    def run_checked_call(self, given: dict):
        """Launches on arrays whose shapes and dtypes match the signature,
        after the op's checks on index data (block tables, slots), which read
        device arrays back to the host."""
        self.opdef.check_values(self.signature, given)
        return self.run_validated(given)

    def run_validated(self, given: dict):
        """Launches without the checks on index data: for callers that have
        validated host copies of them (tessel.kvcache), so a decode step adds
        no device-to-host synchronization."""
        launcher = self._launcher
        if launcher is None:
            from ...runtime.kernel import Launcher, Program

            args = [(a.name, a.role, a.spec) for a in self.signature.args]
            launcher = self._launcher = Launcher(Program(self._artifact), args,
                                                 self.output_shapes)
        return launcher(given)


class EmptyGemm(_Kernel):
    """A gemm with M, N or K = 0 or alpha = 0: no kernel; the result is
    empty, or beta * C (zeros without C) — as on the CPU path."""

    def __init__(self, opdef, sig, op_options, recipe):
        super().__init__(opdef, sig, op_options)
        self.recipe = recipe
        self.ptx = ""
        self.launch_metadata = dict(kernel=None, kernels=[], strategy=recipe.strategy,
                                    config=dict(recipe.config), chip=CHIP)
        self._ir = None

    # Only the op's own IR exists: the pipeline would fold it away.
    stages = ("tessel",)

    def ir(self, stage: str = "tessel") -> str:
        if stage != "tessel":
            raise ValueError(f"argument 'stage': this gemm is empty (M, N or K is 0, or "
                             f"alpha is 0) and compiles to no kernel; its only stage is "
                             f"'tessel', not {stage!r}")
        if self._ir is None:
            from ...ir import context
            from .. import build_module

            self._ir = str(build_module(self.opdef, self.signature, context()))
        return self._ir

    def run_checked_call(self, given: dict):
        import numpy as np

        from ...runtime import arrays as rt

        out = self.signature.outputs[0]
        shape = self.output_shapes({k: tuple(v.shape) for k, v in given.items()
                                    if v is not None and hasattr(v, "shape")})[out.name]
        beta, c = self.signature.attr("beta"), given.get("c")
        kinds = [rt.kind(given[a.name]) for a in self.signature.args if a.role != "out"]
        if "torch" in kinds:
            import torch

            like = next(given[a.name] for a in self.signature.args
                        if a.role != "out" and rt.kind(given[a.name]) == "torch")
            dt = rt.torch_dtype(out.spec.dtype)
            if c is None or beta == 0:
                return torch.zeros(shape, dtype=dt, device=like.device)
            return (beta * torch.as_tensor(c, device=like.device).float()).to(dt)
        if "cupy" in kinds:
            import cupy

            if c is None or beta == 0:
                return cupy.zeros(shape, dtype=out.spec.dtype)
            return (beta * cupy.asarray(c).astype(np.float32)).astype(out.spec.dtype)
        if c is None or beta == 0:
            return np.zeros(shape, out.spec.dtype)
        return (beta * np.asarray(c).astype(np.float32)).astype(out.spec.dtype)
