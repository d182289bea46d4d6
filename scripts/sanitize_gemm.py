"""Runs every implemented GEMM rung once at a small, edge-heavy shape: the
program compute-sanitizer (memcheck, racecheck) watches in scripts/gpu-check.sh."""

import sys

import numpy as np

import tessel
from tessel import reference as R

rungs = sys.argv[1:] or ["naive", "smem"]
rng = np.random.default_rng(0)
for rung in rungs:
    for ta, tb in ((False, False), (True, True)):
        a = rng.standard_normal((45, 37) if ta else (37, 45)).astype(np.float16)
        b = rng.standard_normal((29, 45) if tb else (45, 29)).astype(np.float16)
        c = rng.standard_normal((37, 29)).astype(np.float32)
        d = tessel.gemm(a, b, c, beta=1.0, transpose_a=ta, transpose_b=tb, out_dtype="f32",
                        target="cuda", strategy=rung)
        want = R.gemm(a, b, c, beta=1.0, transpose_a=ta, transpose_b=tb)
        assert np.abs(d - want).max() < 1e-2, rung
    print(f"{rung}: ok")
