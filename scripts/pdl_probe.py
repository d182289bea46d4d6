"""Programmatic dependent launch (PDL) against plain launches of the same
kernels, back to back: every tessel kernel begins with griddepcontrol.wait,
and the runtime launches it with programmatic stream serialization unless
TESSEL_PDL=0 (read when a call's launcher is built). Two copies of each
compiled kernel get their launchers under each setting; they are timed in
interleaved ABBA rounds after their outputs are compared. A probe for the
GPU machine, not a test:

    python3 scripts/pdl_probe.py [OUT.json]"""
import copy
import json
import os
import sys

import torch

import tessel
from tessel.bench.__main__ import _time
from tessel.bench.paged import _decode_inputs, copy_rate
from tessel.runtime import driver


def launched(k, given, pdl):
    """A copy of compiled kernel `k` whose launcher is built (and the call
    run once) with TESSEL_PDL set to `pdl`."""
    w = copy.copy(k)
    w._launcher = None
    os.environ["TESSEL_PDL"] = "1" if pdl else "0"
    try:
        w.run_validated(given)
    finally:
        os.environ.pop("TESSEL_PDL", None)
    return w


def measure(name, nbytes, k, given, copy_gbs):
    kernels = dict(plain=launched(k, given, False), pdl=launched(k, given, True))
    outs = {m: kk.run_validated(given).float() for m, kk in kernels.items()}
    torch.cuda.synchronize()
    same = float((outs["pdl"] - outs["plain"]).abs().max())
    times = {m: [] for m in kernels}
    order = list(kernels.items())
    for _ in range(4):
        for mode, kk in order + order[::-1]:
            times[mode].append(_time(lambda: kk.run_validated(given), iters=50) * 1e6)
    med = {m: sorted(v)[len(v) // 2] for m, v in times.items()}
    row = dict(case=name, us=med, all_us=times, max_abs_diff=same,
               saved_us=med["plain"] - med["pdl"],
               of_copy={m: nbytes / (t * 1e-6) / 1e9 / copy_gbs for m, t in med.items()})
    print(f"{name}: plain {med['plain']:.2f} us, pdl {med['pdl']:.2f} us "
          f"(saved {row['saved_us']:.2f}; of copy {row['of_copy']['plain']:.3f} -> "
          f"{row['of_copy']['pdl']:.3f}); max diff {same}", flush=True)
    return row


def main():
    copy_gbs = copy_rate()
    cases = []
    for s, ctx, hq, hkv in ((64, 4096, 32, 1), (64, 4096, 32, 8), (16, 16384, 32, 8),
                            (256, 1024, 32, 8), (8, 512, 32, 8)):
        a = _decode_inputs(torch, s, ctx, hq, hkv, 128, 16)
        nbytes = 2 * s * ctx * hkv * 128 * 2 + 2 * s * hq * 128 * 2
        k = tessel.paged_attention.compile(*a.values(), target="cuda")
        cases.append((f"decode {s}x{ctx} {hq}/{hkv}", nbytes, k, a))
    for m, n, kk in ((1, 64, 64), (1, 4096, 4096), (16, 4096, 4096), (64, 4096, 4096),
                     (1, 14336, 4096), (16, 4096, 14336), (4096, 4096, 4096)):
        x = torch.randn(m, kk, dtype=torch.float16, device="cuda")
        w = torch.randn(kk, n, dtype=torch.float16, device="cuda")
        k = tessel.gemm.compile(x, w, target="cuda")
        cases.append((f"gemm {m}x{n}x{kk}", 2 * (m * kk + kk * n + m * n), k, dict(a=x, b=w)))
    rows = []
    for name, nbytes, k, given in cases:
        try:
            rows.append(measure(name, nbytes, k, given, copy_gbs))
        except Exception as err:  # a probe: report and go on
            print(name, "failed:", repr(err), flush=True)
            rows.append(dict(case=name, error=repr(err)))
    if len(sys.argv) > 1:
        json.dump(dict(device=driver.device_name(), copy_gbs=copy_gbs, rows=rows),
                  open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
