"""python -m tessel.bench gemm: TFLOP/s of each rung and dtype next to
torch.matmul (cuBLAS) in the same process on the same GPU, then the serving
shapes (`--serving`: those alone).
python -m tessel.bench paged: GB/s of the paged KV-cache kernels next to the
device copy rate (bench/paged.py).
python -m tessel.bench attention: tessel.flash_attention next to torch SDPA's
FlashAttention and cuDNN backends.
python -m tessel.bench startup: a new process's first call of a cached kernel."""

from __future__ import annotations

import argparse
import json
import time


def _time(fn, warmup=3, iters=10, repeats=3):
    """Seconds per call: the median over `repeats` runs of `iters` calls
    (one run's mean moved by ~5 % between runs of the same kernel)."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    runs = []
    for _ in range(repeats):
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        runs.append(start.elapsed_time(end) / iters / 1e3)
    return sorted(runs)[len(runs) // 2]


# Steady-state timing of GEMMs. A sustained GEMM on an H200 runs at the
# 700 W power limit, where the SM clock settles at 1350-1530 MHz (1980 MHz
# cold; scripts/gemm_steady.py logs both). Timed one after the other, the
# second of two kernels ran after the first's heat, or after an idle compile
# at a higher clock: at 8192^3 that moved the ratio between 0.85 and 0.98.
# So the GPU is brought to its steady state first, and a shape's functions
# are timed in rounds that visit every function for about PHASE_S each, in
# ABBA order (the order reverses every round, so a slow drift cancels); a
# ratio is the median of the per-round ratios.
PHASE_S, ROUNDS = 0.05, 12
# The slow rungs (a naive 8192^3 call takes seconds) get two rounds.
FAST_RUNGS = ("pipelined", "mma", "wgmma", "wgmma_tma")


def _heat(seconds=1.5):
    """Run large GEMMs for `seconds`: the power-limited steady state."""
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.matmul(a, a)
        torch.cuda.synchronize()


def _phase(fn, seconds):
    """Seconds per call over about `seconds` of back-to-back calls (at
    least two)."""
    import torch

    fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    n = max(2, int(seconds / max(time.perf_counter() - t, 1e-7)))
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(n):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / n / 1e3


def _interleaved(fns, rounds, measure):
    """{name: [measure(fn) in each round]}, every function measured once a
    round, the order reversing every round (a drift then moves every
    function alike)."""
    order = list(fns)
    times = {name: [] for name in order}
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            times[name].append(measure(fns[name]))
    return times


def _rounds(fns, rounds=ROUNDS, seconds=PHASE_S):
    """{name: [seconds per call in each round]} over phases of `seconds`."""
    _phase(fns[next(iter(fns))], 0.2)  # back to the steady state after the compiles
    return _interleaved(fns, rounds, lambda fn: _phase(fn, seconds))


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def _ratio(times, name, ref="torch"):
    """Median over rounds of ref's time / name's time."""
    return _median([t / s for t, s in zip(times[ref], times[name])])


def bench_gemm(sizes, rungs, dtypes):
    import torch

    import tessel
    from tessel.runtime import driver

    torch.backends.cuda.matmul.allow_tf32 = False
    tdt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
    rows = []
    _heat()
    for dtype in dtypes:
        for n in sizes:
            a = torch.randn(n, n, device="cuda", dtype=tdt[dtype])
            b = torch.randn(n, n, device="cuda", dtype=tdt[dtype])
            flops = 2 * n ** 3
            for rung in rungs:
                if rung in ("mma", "wgmma", "wgmma_tma") and dtype == "f32":
                    continue
                kernel = tessel.gemm.compile(a, b, target="cuda", strategy=rung)
                # Each rung in rounds with torch alone: a slower rung beside
                # it would lower the power draw its neighbours run at.
                fns = {"torch": lambda: torch.matmul(a, b),
                       rung: (lambda k: lambda: k(a, b))(kernel)}
                if rung in ("mma", "wgmma", "wgmma_tma", "pipelined"):
                    # The functional call: run-time M, one kernel per size class.
                    fns["run-time M"] = (
                        lambda r: lambda: tessel.gemm(a, b, target="cuda", strategy=r))(rung)
                times = _rounds(fns, rounds=ROUNDS if rung in FAST_RUNGS else 2)
                t, t_torch = _median(times[rung]), _median(times["torch"])
                per_round = [x / y for x, y in zip(times["torch"], times[rung])]
                row = dict(dtype=dtype, n=n, rung=rung, tflops=flops / t / 1e12,
                           torch_tflops=flops / t_torch / 1e12, ratio=_median(per_round),
                           ratio_range=[min(per_round), max(per_round)])
                if "run-time M" in times:
                    row["runtime_m_ratio"] = _ratio(times, "run-time M")
                rows.append(row)
                extra = (f"  run-time M {row['runtime_m_ratio']:.3f}"
                         if "runtime_m_ratio" in row else "")
                print(f"{dtype:>5} {n:>5} {rung:>8} {row['tflops']:8.2f} TFLOP/s  "
                      f"torch {row['torch_tflops']:8.2f}  ratio {row['ratio']:.3f} "
                      f"[{row['ratio_range'][0]:.3f}-{row['ratio_range'][1]:.3f}]{extra}",
                      flush=True)
    return dict(device=driver.device_name(), torch=torch.__version__, rows=rows,
                timing=dict(phase_s=PHASE_S, rounds=ROUNDS, heated=True))


# Decode/prefill products: M tokens against a layer's weights (N, K).
SERVING_M = (1, 16, 64, 128, 256, 512)
SERVING_NK = ((4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096))


def bench_serving(dtypes=("f16", "bf16"), auto=False):
    """The skinny serving GEMMs through the functional call (run-time M, the
    table's skinny classes; with `auto`, strategy="auto" too): TFLOP/s, the
    ratio to torch.matmul and the geometric mean of the ratios."""
    import math

    import torch

    import tessel
    from tessel.runtime import driver

    tdt = {"f16": torch.float16, "bf16": torch.bfloat16}
    rows = []
    _heat()
    for dtype in dtypes:
        for n, k in SERVING_NK:
            b = torch.randn(k, n, device="cuda", dtype=tdt[dtype])
            for m in SERVING_M:
                a = torch.randn(m, k, device="cuda", dtype=tdt[dtype])
                flops = 2 * m * n * k
                fns = {"torch": lambda: torch.matmul(a, b),
                       "tessel": lambda: tessel.gemm(a, b, target="cuda")}
                if auto:
                    fns["auto"] = lambda: tessel.gemm(a, b, target="cuda", strategy="auto")
                    fns["auto"]()  # tunes once, outside the timing
                times = _rounds(fns, rounds=6, seconds=0.03)
                t_torch, t = _median(times["torch"]), _median(times["tessel"])
                row = dict(dtype=dtype, m=m, n=n, k=k, tflops=flops / t / 1e12,
                           torch_tflops=flops / t_torch / 1e12, ratio=_ratio(times, "tessel"))
                extra = ""
                if auto:
                    row["auto_ratio"] = _ratio(times, "auto")
                    extra = f"  auto {row['auto_ratio']:.3f}"
                rows.append(row)
                print(f"{dtype:>5} M={m:>4} N={n:>6} K={k:>5} {row['tflops']:8.2f} TFLOP/s  "
                      f"torch {row['torch_tflops']:8.2f}  ratio {row['ratio']:.3f}{extra}",
                      flush=True)
    geo = {key: math.exp(sum(math.log(r[key]) for r in rows) / len(rows))
           for key in ("ratio", "auto_ratio") if rows and key in rows[0]}
    for key, v in geo.items():
        print(f"serving: geometric mean of {key} {v:.3f} over {len(rows)} shapes")
    return dict(device=driver.device_name(), torch=torch.__version__, rows=rows,
                geomean=geo)


def bench_attention(dtypes=("f16", "bf16"), head_dims=(64, 128), seqs=(1024, 4096, 16384),
                    tokens=32768, heads=16, strategies=("mma", "wgmma", "wgmma_tma")):
    """TFLOP/s (4 B H S^2 D, halved when causal) of each strategy for B S =
    `tokens`, `heads` heads, beside torch SDPA with
    SDPBackend.FLASH_ATTENTION and SDPBackend.CUDNN_ATTENTION (None where a
    backend refuses the shape)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    import tessel
    from tessel.runtime import driver

    from . import fa4

    tdt = {"f16": torch.float16, "bf16": torch.bfloat16}
    rows = []
    for dtype in dtypes:
        for d in head_dims:
            for s in seqs:
                b = max(1, tokens // s)
                q, k, v = (torch.randn(b, heads, s, d, device="cuda", dtype=tdt[dtype])
                           for _ in range(3))
                for causal in (False, True):
                    flops = 4 * b * heads * s * s * d / (2 if causal else 1)
                    torch_time = {}
                    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                                          ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                        try:
                            with sdpa_kernel(backend):
                                torch_time[name] = _time(
                                    lambda: torch.nn.functional.scaled_dot_product_attention(
                                        q, k, v, is_causal=causal))
                        except RuntimeError:
                            torch_time[name] = None
                    # FA4 JIT-compiles per shape class: the target head dim only.
                    torch_time["fa4"] = fa4.attention(q, k, v, causal, _time) if d == 128 else None
                    for strategy in strategies:
                        kernel = tessel.flash_attention.compile(q, k, v, causal=causal,
                                                                target="cuda", strategy=strategy)
                        t = _time(lambda: kernel(q, k, v))
                        row = dict(dtype=dtype, head_dim=d, seq=s, batch=b, heads=heads,
                                   causal=causal, strategy=strategy, tflops=flops / t / 1e12)
                        for name, tb in torch_time.items():
                            row[f"{name}_tflops"] = None if tb is None else flops / tb / 1e12
                            row[f"{name}_ratio"] = None if tb is None else tb / t
                        rows.append(row)
                        fmt = lambda x: "   n/a" if x is None else f"{x:6.3f}"  # noqa: E731
                        print(f"{dtype:>5} D={d:<3} S={s:<5} B={b:<3} causal={causal!s:<5} "
                              f"{strategy:<6} {row['tflops']:7.1f} TFLOP/s  "
                              f"flash {fmt(row['flash_ratio'])}  "
                              f"cudnn {fmt(row['cudnn_ratio'])}  fa4 {fmt(row['fa4_ratio'])}",
                              flush=True)
    return dict(device=driver.device_name(), torch=torch.__version__, rows=rows,
                fa4=fa4.available(), fa4_why_not=dict(fa4.why_not))


def sweep(spec: str, n: int, dtype: str):
    """TFLOP/s of each `rung:key=value,...;...` configuration at n^3."""
    import torch

    import tessel

    tdt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    a = torch.randn(n, n, device="cuda", dtype=tdt)
    b = torch.randn(n, n, device="cuda", dtype=tdt)
    t_torch = _time(lambda: torch.matmul(a, b))
    rows = []
    for item in spec.split(";"):
        rung, _, rest = item.partition(":")
        config = {k: int(v) for k, v in (kv.split("=") for kv in rest.split(",") if kv)}
        try:
            kernel = tessel.gemm.compile(a, b, target="cuda", strategy=rung, config=config)
        except (ValueError, NotImplementedError) as exc:
            print(f"{item}: rejected: {str(exc).splitlines()[0]}")
            continue
        t = _time(lambda: kernel(a, b))
        rows.append(dict(rung=rung, config=config, dtype=dtype, n=n,
                         tflops=2 * n ** 3 / t / 1e12, ratio=t_torch / t))
        print(f"{item:<60} {rows[-1]['tflops']:8.2f} TFLOP/s  ratio {rows[-1]['ratio']:.3f}",
              flush=True)
    return rows


def overheads():
    """Cold compile of one GEMM (fresh cache dir) and cached-call overhead over
    a bare driver launch of the same kernel."""
    import os
    import tempfile

    import torch

    import tessel
    from tessel.compiler import clear_cache

    os.environ["TESSEL_CACHE_DIR"] = tempfile.mkdtemp()
    clear_cache()
    a = torch.randn(256, 256, device="cuda", dtype=torch.float16)
    t0 = time.perf_counter()
    kernel = tessel.gemm.compile(a, a, target="cuda")
    cold = time.perf_counter() - t0
    kernel(a, a)
    torch.cuda.synchronize()
    n = 2000
    tessel.gemm(a, a, target="cuda")
    t0 = time.perf_counter()
    for _ in range(n):
        tessel.gemm(a, a, target="cuda")
    torch.cuda.synchronize()
    per_call = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        kernel(a, a)
    torch.cuda.synchronize()
    per_kernel_call = (time.perf_counter() - t0) / n
    # The floor: cuda-python's cuLaunchKernel of the same kernel (the
    # functional call's run-time-M kernel) with a prebuilt argument block.
    import ctypes

    from cuda.bindings import driver as drv

    from tessel.runtime.kernel import _slot

    fn_kernel = tessel.gemm._fast[tessel.gemm._fast_key((a, a), "cuda", {})]
    program = fn_kernel._launcher.program
    entry = program.kernels[0]
    out = torch.empty(256, 256, device="cuda", dtype=torch.float16)
    ptrs, shapes = (a.data_ptr(), a.data_ptr(), out.data_ptr()), ((256, 256),) * 3
    values = (ctypes.c_uint64 * len(entry.params))(
        *[_slot(kind, p(ptrs, shapes)) for kind, p in zip(entry.kinds, entry.params)])
    params = (ctypes.c_void_p * len(entry.params))(
        *[ctypes.addressof(values) + 8 * i for i in range(len(entry.params))])
    grid = [g(ptrs, shapes) for g in entry.grid]
    handle = program.library.function(entry.name, 0).handle
    stream = torch.cuda.current_stream().cuda_stream
    t0 = time.perf_counter()
    for _ in range(n):
        drv.cuLaunchKernel(handle, *grid, *entry.block, entry.shared_bytes, stream,
                           ctypes.addressof(params), 0)
    torch.cuda.synchronize()
    bare = (time.perf_counter() - t0) / n
    # Compiles for a serving step's token counts (run-time M per size class).
    from tessel.compiler import cuda

    before = set(cuda._kernels)
    w = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    for m in range(1, 4097, 37):
        tessel.gemm(torch.randn(m, 4096, device="cuda", dtype=torch.float16), w, target="cuda")
    m_sweep_compiles = len(set(cuda._kernels) - before)
    return dict(cold_compile_s=cold, call_us=per_call * 1e6,
                compiled_kernel_call_us=per_kernel_call * 1e6, bare_launch_us=bare * 1e6,
                overhead_us=(per_call - bare) * 1e6, m_sweep_calls=len(range(1, 4097, 37)),
                m_sweep_compiles=m_sweep_compiles)


_STARTUP = r"""
import sys, time, json
import torch
a = torch.randn(1024, 1024, device="cuda", dtype=torch.float16)
torch.cuda.synchronize()
t0 = time.perf_counter()
import tessel
t1 = time.perf_counter()
d = tessel.gemm(a, a, target="cuda")
t2 = time.perf_counter()
torch.cuda.synchronize()
d = tessel.gemm(a, a, target="cuda")
t3 = time.perf_counter()
torch.cuda.synchronize()
print(json.dumps(dict(import_ms=1e3 * (t1 - t0), first_call_ms=1e3 * (t2 - t1),
                      second_call_ms=1e3 * (t3 - t2), mlir_loaded="mlir" in sys.modules)))
"""


def startup():
    """A new process whose kernel is in the disk cache: `import tessel` and
    the first call (module load included), MLIR never imported."""
    import subprocess
    import sys

    runs = []
    for i in range(4):  # the first fills the cache (and the driver's JIT cache)
        out = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True,
                             check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return dict(cold=runs[0], cached=runs[1:])


def plot(result, path):
    plt = _pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, dtype in zip(axes, ("f32", "f16", "bf16")):
        rows = [r for r in result["rows"] if r["dtype"] == dtype]
        sizes = sorted({r["n"] for r in rows})
        for rung in sorted({r["rung"] for r in rows}):
            ax.plot(sizes, [next(r["tflops"] for r in rows if r["n"] == s and r["rung"] == rung)
                            for s in sizes], marker="o", label=rung)
        if rows:
            ax.plot(sizes, [next(r["torch_tflops"] for r in rows if r["n"] == s) for s in sizes],
                    marker="s", linestyle="--", label="torch (cuBLAS)")
        ax.set_title(f"{dtype} GEMM, {result['device']}")
        ax.set_xlabel("M = N = K")
        ax.set_ylabel("TFLOP/s")
        ax.set_xscale("log", base=2)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def plot_attention(result, path):
    """TFLOP/s against sequence length, one panel per (dtype, head dim, causal)."""
    plt = _pyplot()
    rows = result["rows"]
    panels = sorted({(r["dtype"], r["head_dim"], r["causal"]) for r in rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4), squeeze=False)
    for ax, (dtype, d, causal) in zip(axes[0], panels):
        sel = sorted((r for r in rows if (r["dtype"], r["head_dim"], r["causal"]) ==
                      (dtype, d, causal)), key=lambda r: r["seq"])
        seqs = [r["seq"] for r in sel]
        for key, label in (("tflops", "tessel"), ("flash_tflops", "SDPA flash"),
                           ("cudnn_tflops", "SDPA cuDNN"), ("fa4_tflops", "FA4")):
            ys = [r.get(key) for r in sel]
            if any(y is not None for y in ys):
                ax.plot(seqs, [float("nan") if y is None else y for y in ys], marker="o",
                        label=label)
        ax.set_title(f"{dtype} D={d}{' causal' if causal else ''}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sequence length")
        ax.set_ylabel("TFLOP/s")
        ax.legend()
    fig.suptitle(result["device"])
    fig.tight_layout()
    fig.savefig(path)


def plot_paged(result, path):
    """GB/s of each paged row as a fraction of the device copy rate."""
    plt = _pyplot()
    rows = result["rows"]
    labels = [_paged_label(r) for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(rows)), 4))
    ax.bar(range(len(rows)), [r["of_copy"] for r in rows], label="tessel")
    fa4 = [r.get("fa4_of_copy") for r in rows]
    if any(x is not None for x in fa4):
        ax.plot(range(len(rows)), [float("nan") if x is None else x for x in fa4], "k^",
                label="FA4")
    ax.axhline(1.0, color="gray", linestyle="--")
    ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"fraction of copy rate ({result['copy_gbs']:.0f} GB/s)")
    ax.set_title(result["device"])
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def _paged_label(r):
    if r["op"] == "paged_attention":
        return (f"{r['seqs']}x{r['context']} {r['hq']}/{r['hkv']} bs{r['block_size']} "
                f"{r['strategy']}{'' if r['forced'] else '*'}")
    return f"{r['op']} {r.get('tokens', r.get('pairs'))}"


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def main():
    parser = argparse.ArgumentParser(prog="python -m tessel.bench")
    parser.add_argument("what", choices=["gemm", "attention", "paged", "startup"])
    parser.add_argument("--sizes", default="1024,2048,4096,8192")
    parser.add_argument("--rungs", default="naive,smem,regtile,pipelined,mma,wgmma,wgmma_tma")
    parser.add_argument("--dtypes", default="f32,f16,bf16")
    parser.add_argument("--strategies", default="mma,wgmma,wgmma_tma",
                        help="attention: the flash_attention strategies to time")
    parser.add_argument("--seqs", default="1024,4096,16384", help="attention: sequence lengths")
    parser.add_argument("--head-dims", default="64,128", help="attention: head dimensions")
    parser.add_argument("--plot", metavar="FILE.png")
    parser.add_argument("--sweep", metavar="RUNG:K=V,...;...",
                        help="time these configurations at --sweep-size instead")
    parser.add_argument("--sweep-size", type=int, default=4096)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--serving", action="store_true",
                        help="gemm: only the serving shapes (M tokens x layer weights)")
    parser.add_argument("--auto", action="store_true",
                        help="gemm serving shapes: also time strategy='auto' (tunes first)")
    args = parser.parse_args()
    if args.what in ("attention", "paged", "startup"):
        if args.what == "attention":
            dtypes = [d for d in args.dtypes.split(",") if d in ("f16", "bf16")]
            result = bench_attention(dtypes, strategies=tuple(args.strategies.split(",")),
                                     seqs=tuple(int(x) for x in args.seqs.split(",")),
                                     head_dims=tuple(int(x) for x in args.head_dims.split(",")))
            print(f"device: {result['device']}; torch {result['torch']} "
                  "(ratios: torch time / tessel time)")
        elif args.what == "paged":
            from .paged import bench_paged

            result = bench_paged()
        else:
            result = startup()
            print(json.dumps(result, indent=1))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        if args.plot and args.what != "startup":
            (plot_attention if args.what == "attention" else plot_paged)(result, args.plot)
        return
    if args.sweep:
        result = {"sweep": [row for dtype in args.dtypes.split(",")
                            for row in sweep(args.sweep, args.sweep_size, dtype)]}
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        return
    serving_dtypes = [d for d in args.dtypes.split(",") if d in ("f16", "bf16")]
    if args.serving:
        result = bench_serving(serving_dtypes, args.auto)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        return
    result = bench_gemm([int(s) for s in args.sizes.split(",")], args.rungs.split(","),
                        args.dtypes.split(","))
    result["serving"] = bench_serving(serving_dtypes, args.auto)
    result["overheads"] = overheads()
    print(f"device: {result['device']}; torch {result['torch']}")
    print("overheads:", json.dumps(result["overheads"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.plot:
        plot(result, args.plot)


if __name__ == "__main__":
    main()
