"""strategy="auto": the op's candidate configurations (its recipe module's
`candidates`) timed on the current GPU on first use; the fastest correct one
is stored per (GPU name, signature class, toolchain and native-library
hash) in the disk cache, so that later processes read it without timing.

Every candidate is compiled through the normal path (and so lands in the
compile cache), run once on random inputs and compared with the default
configuration's result (a candidate that fails to compile, to run or to
match is dropped and reported, never picked), then timed with CUDA events:
the median of a few runs after warmup. TESSEL_AUTOTUNE=0 turns timing off:
"auto" then means the built-in table (a stored choice is still read).

An entry is one JSON file written atomically (temp file + os.replace), so
two processes tuning the same key at once each write a whole file and the
last one wins; an entry that does not parse, fails its checksum or is of
another format is ignored with one warning and tuned again."""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import threading
import time
import warnings

from .. import cache

FORMAT = 1

_chosen: dict = {}  # entry key -> lowering options, in this process
_warned: set = set()
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("TESSEL_AUTOTUNE", "1").strip().lower() not in ("0", "off", "false",
                                                                          "no")


@dataclasses.dataclass
class Result:
    """The outcome of tuning one signature class."""

    strategy: str
    config: dict
    key: str
    # (label, median seconds) of every candidate timed, fastest first.
    timings: list = dataclasses.field(default_factory=list)
    # (label, reason) of every candidate dropped.
    dropped: list = dataclasses.field(default_factory=list)
    cached: bool = False  # read from the disk cache, not timed now

    @property
    def options(self) -> dict:
        return {"strategy": self.strategy, "config": dict(self.config)}


def label(strategy: str, config: dict) -> str:
    return strategy + "(" + ", ".join(f"{k}={v}" for k, v in sorted(config.items())) + ")"


class TorchBackend:
    """What tuning needs from the GPU, through torch (the GPU tests' and the
    benchmarks' array library): inputs, a checked run, a timer."""

    warmup, runs, reps = 3, 5, 10

    def __init__(self):
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        self.torch = torch

    def gpu_name(self) -> str:
        from ...runtime import driver

        return driver.device_name()

    def inputs(self, sig) -> dict:
        from ...runtime.arrays import torch_dtype

        g = self.torch.Generator(device="cuda").manual_seed(0)
        out = {}
        for a in sig.args:
            if a.role == "out":
                continue
            x = self.torch.empty(a.spec.shape, dtype=self.torch.float32, device="cuda")
            out[a.name] = x.uniform_(-1, 1, generator=g).to(torch_dtype(a.spec.dtype))
        return out

    def run(self, kernel, inputs):
        out = kernel(**inputs)
        self.torch.cuda.synchronize()
        return out.float().cpu().numpy()

    def time(self, fn) -> float:
        """Median seconds per call over `runs` event-timed batches of `reps`
        calls, after `warmup` calls."""
        torch = self.torch
        for _ in range(self.warmup):
            fn()
        samples = []
        for _ in range(self.runs):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(self.reps):
                fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3 / self.reps)
        return statistics.median(samples)


def default_backend():
    """The torch backend, or None where there is no GPU (or no torch)."""
    try:
        return TorchBackend()
    except Exception:
        return None


def entry_key(gpu: str, klass: str) -> str:
    """The cache key: cache.key adds the cache format, tessel's and the MLIR
    bindings' versions and the native library's hash."""
    return cache.key("autotune", f"autotune-format={FORMAT}", f"gpu={gpu}", f"class={klass}")


def _warn_once(what: str, message: str) -> None:
    with _lock:
        if what in _warned:
            return
        _warned.add(what)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def read_entry(k: str, strategies) -> dict | None:
    """The stored choice for key `k`, or None (missing; or unusable, with
    one warning per file)."""
    path = cache.cache_dir() / f"{k}.json"
    if not path.exists():
        return None
    entry = cache.load(k)
    problem = None
    if entry is None:
        problem = "it does not parse or its checksum is wrong"
    elif entry.get("format") != FORMAT or entry.get("kind") != "autotune":
        problem = f"format {entry.get('format')!r}, expected {FORMAT}"
    elif entry.get("strategy") not in strategies or not isinstance(entry.get("config"), dict) \
            or not all(isinstance(v, int) for v in entry["config"].values()):
        problem = f"unknown strategy or config {entry.get('strategy')!r} {entry.get('config')!r}"
    if problem:
        _warn_once(str(path), f"tessel autotune: ignoring the stored entry {path} ({problem}); "
                              "tuning again")
        return None
    return entry


def _close(out, ref, dtype: str) -> tuple[bool, float]:
    """Within the output type's rounding of the default kernel's result
    (another accumulation order), scaled by the result's magnitude."""
    import numpy as np

    if out.shape != ref.shape:
        return False, float("inf")
    if not np.all(np.isfinite(out)):
        return False, float("nan")
    err = float(np.max(np.abs(out - ref))) if out.size else 0.0
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    rel = {"f32": 1e-4, "f16": 1e-2, "bf16": 2e-2}.get(dtype, 2e-2)
    return err <= rel * (scale + 1.0), err


class _Progress:
    """A bar on stderr while tuning when stderr is a terminal; one summary
    line in any case."""

    def __init__(self, title: str, total: int, stream=None):
        self.stream = stream or sys.stderr
        self.title, self.total = title, total
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False

    def step(self, i: int, what: str) -> None:
        if not self.tty:
            return
        width = 24
        done = width * i // max(self.total, 1)
        self.stream.write(f"\r{self.title} [{'#' * done}{'.' * (width - done)}] "
                          f"{i}/{self.total} {what[:60]}\x1b[K")
        self.stream.flush()

    def finish(self, summary: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(summary + "\n")
        self.stream.flush()


def tune(opdef, sig, op_options: dict, backend, stream=None) -> Result:
    """Times the candidates of `sig` (static sizes) and returns the fastest
    correct one; stores nothing."""
    from . import compile_cuda, recipes_for
    from ...signature import dtype_name

    recipes = recipes_for(opdef)
    gpu = backend.gpu_name()
    klass = recipes.tune_class(sig)
    key = entry_key(gpu, klass)
    cands = recipes.candidates(sig)
    started = time.perf_counter()
    dtype = dtype_name(sig.outputs[0].spec.dtype)
    shape = "x".join(str(d) for d in sig.outputs[0].spec.shape)
    progress = _Progress(f"tessel autotune {opdef.name} {shape} {dtype}", len(cands), stream)
    inputs = backend.inputs(sig)
    baseline = compile_cuda(opdef, sig, {}, True, op_options)
    ref = backend.run(baseline, inputs)
    timed, dropped = [], []
    for i, (strategy, config) in enumerate(cands):
        name = label(strategy, config)
        progress.step(i, name)
        try:
            kernel = compile_cuda(opdef, sig, {"strategy": strategy, "config": config}, True,
                                  op_options)
        except Exception as exc:  # a configuration this shape does not take
            dropped.append((name, f"compile: {exc}"))
            continue
        try:
            ok, err = _close(backend.run(kernel, inputs), ref, dtype)
            if not ok:
                dropped.append((name, f"wrong result: max error {err:g} against the default "
                                      "configuration"))
                continue
            seconds = backend.time(lambda: kernel(**inputs))
        except Exception as exc:
            dropped.append((name, f"run: {exc}"))
            continue
        timed.append((seconds, strategy, config, name))
    progress.step(len(cands), "done")
    timed.sort(key=lambda t: t[0])
    elapsed = time.perf_counter() - started
    if not timed:
        table = baseline.recipe
        progress.finish(f"tessel autotune: {opdef.name} {shape} {dtype} on {gpu}: every "
                        f"candidate was dropped; using the table's {table.strategy}")
        return Result(table.strategy, dict(table.config), key, [],
                      dropped)
    best = timed[0]
    note = f", {len(dropped)} dropped: " + "; ".join(f"{n}: {r}" for n, r in dropped) \
        if dropped else ""
    progress.finish(f"tessel autotune: {opdef.name} {shape} {dtype} on {gpu}: {best[3]} "
                    f"{best[0] * 1e6:.1f} us ({len(timed)} timed{note}) in {elapsed:.1f} s")
    return Result(best[1], dict(best[2]), key, [(t[3], t[0]) for t in timed], dropped)


def store(result: Result, gpu: str, klass: str) -> None:
    from ... import __version__

    cache.store(result.key, dict(
        format=FORMAT, kind="autotune", gpu=gpu, signature_class=klass, tessel=__version__,
        mlir=cache.toolchain_version(), native=cache.native_fingerprint(),
        strategy=result.strategy, config=result.config,
        timings=[[n, t] for n, t in result.timings],
        dropped=[[n, r] for n, r in result.dropped]))


def autotune(opdef, sig, op_options: dict, force: bool = False, backend=None,
             stream=None) -> Result:
    """The stored choice for `sig`'s class, or (none stored, or `force`) a
    new tuning, stored."""
    from . import recipes_for

    recipes = recipes_for(opdef)
    if not hasattr(recipes, "candidates"):
        raise ValueError(f"argument 'strategy': tessel.{opdef.name} has no tuning candidates; "
                         "'auto' applies to tessel.gemm")
    if any(d is None for d in sig.outputs[0].spec.shape):
        raise ValueError("autotune needs static sizes (the tuning inputs are made from them); "
                         "got a run-time dimension")
    backend = backend or default_backend()
    if backend is None:
        raise RuntimeError("autotune needs a CUDA GPU (and torch) to time the candidates")
    gpu = backend.gpu_name()
    klass = recipes.tune_class(sig)
    key = entry_key(gpu, klass)
    if not force:
        entry = read_entry(key, recipes.STRATEGIES)
        if entry is not None:
            return Result(entry["strategy"], entry["config"], key,
                          [tuple(t) for t in entry.get("timings", [])],
                          [tuple(d) for d in entry.get("dropped", [])], cached=True)
    result = tune(opdef, sig, op_options, backend, stream)
    if result.timings:  # nothing timed: nothing learned, try again next time
        store(result, gpu, klass)
    with _lock:
        _chosen[key] = result.options
    return result


def resolve(opdef, sig, options: dict, op_options: dict, backend=None) -> dict:
    """The lowering options that strategy="auto" stands for: a tuned choice,
    or {} (the built-in table) when timing is off, the sizes are not all
    static, or there is no GPU."""
    from . import recipes_for

    if options.get("config") is not None:
        raise ValueError("argument 'config': strategy='auto' chooses the configuration; leave "
                         "config unset or name a strategy")
    recipes = recipes_for(opdef)
    if not hasattr(recipes, "candidates"):
        raise ValueError(f"argument 'strategy': 'auto' applies to tessel.gemm, not "
                         f"tessel.{opdef.name}")
    if recipes.is_empty(sig) or any(d is None for d in sig.outputs[0].spec.shape):
        return {}
    backend = backend or default_backend()
    if backend is None:
        return {}
    gpu = backend.gpu_name()
    klass = recipes.tune_class(sig)
    key = entry_key(gpu, klass)
    with _lock:
        chosen = _chosen.get(key)
    if chosen is not None:
        return chosen
    entry = read_entry(key, recipes.STRATEGIES)
    if entry is not None:
        chosen = {"strategy": entry["strategy"], "config": dict(entry["config"])}
    elif not enabled():
        return {}
    else:
        chosen = autotune(opdef, sig, op_options, force=True, backend=backend).options
    with _lock:
        _chosen[key] = chosen
    return chosen


def clear() -> None:
    """Forgets this process's choices (the disk entries stay)."""
    with _lock:
        _chosen.clear()
        _warned.clear()
