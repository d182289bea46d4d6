"""Steady-state A/B of GEMM configs against torch.matmul (cuBLAS) with the
GPU's clock and power beside each phase (a tuning aid for the GPU machine,
not a test).

Why another A/B: at 8192^3 the ratio moved between 0.85 and 0.98 from run
to run. A long GEMM runs at the power limit, so a config timed right after
an idle gap (a compile) runs at higher clocks than one timed after another
GEMM. Here the GPU is first brought to its steady state, each round times
every config for about `PHASE_S` in ABBA order (the order reverses every
round, so a slow drift cancels), and each phase's SM clock and power come
from an nvidia-smi log taken in the background.

    python3 scripts/gemm_steady.py OUT.json [shapes] [configs]

shapes: comma-separated MxNxK (default 4096^3 and 8192^3); configs: a JSON
object {name: config dict or null for the table's own choice}."""
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

import tessel
from tessel.bench.__main__ import _heat, _phase

SMS = torch.cuda.get_device_properties(0).multi_processor_count
PHASE_S, ROUNDS = 0.06, int(os.environ.get("ROUNDS", 8))
BASE = dict(block_m=128, block_n=256, block_k=64, warpgroups=2, group_m=8)
CONFIGS = {
    "table": None,
    "tiles_s4": dict(BASE, stages=4),
    "persistent_s3": dict(BASE, stages=3, persistent=SMS),
}


def shapes(arg):
    if not arg:
        return [(4096, 4096, 4096), (8192, 8192, 8192)]
    return [tuple(int(x) for x in s.split("x")) for s in arg.split(",")]


def smi_start():
    log = tempfile.NamedTemporaryFile("w+", suffix=".csv", delete=False)
    try:
        proc = subprocess.Popen(
            ["nvidia-smi", "-i", str(torch.cuda.current_device()),
             "--query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu",
             "--format=csv,noheader,nounits", "-lms", "20"],
            stdout=log, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        return None, log.name
    return proc, log.name


def smi_samples(path):
    out = []
    for line in open(path):
        parts = [p.strip() for p in line.split(",")]
        try:
            ts = datetime.datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
            out.append((ts, float(parts[1]), float(parts[2]), float(parts[3])))
        except (ValueError, IndexError):
            continue
    return out


def phase(fn, seconds):
    """The bench's seconds per call over about `seconds`, and the phase's
    wall-clock span (for the clock log)."""
    w0 = time.time()
    s = _phase(fn, seconds)
    return s, (w0, time.time())


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else None
    configs = json.loads(sys.argv[3]) if len(sys.argv) > 3 else CONFIGS
    proc, log = smi_start()
    spans = []  # (shape, dtype, name, round, t0, t1)
    rows = []
    _heat()  # the steady state before the first timing
    for m, n, k in shapes(sys.argv[2] if len(sys.argv) > 2 else ""):
        for dt in (torch.float16, torch.bfloat16):
            a = torch.randn(m, k, device="cuda", dtype=dt)
            b = torch.randn(k, n, device="cuda", dtype=dt) / k ** 0.5
            want = torch.matmul(a, b).float()
            fns = {"torch": lambda: torch.matmul(a, b)}
            for name, cfg in configs.items():
                kern = tessel.gemm.compile(a, b, target="cuda", strategy="wgmma_tma",
                                           **({} if cfg is None else dict(config=cfg)))
                err = (kern(a, b).float() - want).abs().max().item()
                assert err < 5e-2, (name, m, n, k, err)
                fns[name] = (lambda kern: lambda: kern(a, b))(kern)
            # Back to the steady state after the compiles' idle time.
            phase(fns["torch"], 0.3)
            times = {name: [] for name in fns}
            order = list(fns)
            for r in range(ROUNDS):
                for name in (order if r % 2 == 0 else order[::-1]):
                    s, span = phase(fns[name], PHASE_S)
                    times[name].append(s)
                    spans.append(((m, n, k), str(dt), name, r, *span))
            tdt = str(dt).split(".")[-1]
            row = dict(m=m, n=n, k=k, dtype=tdt, torch_us=statistics.median(times["torch"]) * 1e6)
            for name in configs:
                ratios = [t / s for t, s in zip(times["torch"], times[name])]
                row[name] = dict(us=statistics.median(times[name]) * 1e6,
                                 ratio=statistics.median(ratios),
                                 ratio_min=min(ratios), ratio_max=max(ratios))
            rows.append(row)
            print(f"{m}x{n}x{k} {tdt}: torch {row['torch_us']:8.1f} us  " + "  ".join(
                f"{name} {row[name]['ratio']:.3f} [{row[name]['ratio_min']:.3f}"
                f"-{row[name]['ratio_max']:.3f}]" for name in configs), flush=True)
    clocks = {}
    if proc is not None:
        time.sleep(0.1)
        proc.terminate()
        proc.wait()
        samples = smi_samples(log)
        for shape, dt, name, r, w0, w1 in spans:
            inside = [s for s in samples if w0 <= s[0] <= w1]
            if inside:
                key = f"{'x'.join(map(str, shape))} {dt.split('.')[-1]} {name}"
                c = clocks.setdefault(key, dict(mhz=[], watts=[], celsius=[]))
                c["mhz"] += [s[1] for s in inside]
                c["watts"] += [s[2] for s in inside]
                c["celsius"] += [s[3] for s in inside]
        for key, c in clocks.items():
            clocks[key] = {f: statistics.median(v) for f, v in c.items()}
            print(f"  {key:36s} {clocks[key]['mhz']:6.0f} MHz {clocks[key]['watts']:6.0f} W "
                  f"{clocks[key]['celsius']:4.0f} C")
    os.unlink(log)
    result = dict(device=torch.cuda.get_device_name(0), sms=SMS, phase_s=PHASE_S,
                  rounds=ROUNDS, configs=configs, rows=rows, clocks=clocks)
    if out_path:
        json.dump(result, open(out_path, "w"), indent=1)


if __name__ == "__main__":
    main()
