"""Runs every implemented GEMM rung once at a small, edge-heavy shape: the
program compute-sanitizer (memcheck, racecheck) watches in scripts/gpu-check.sh."""

import sys

import numpy as np

import tessel
from tessel import reference as R

rungs = sys.argv[1:] or ["naive", "smem", "regtile", "pipelined", "mma", "wgmma", "wgmma_tma"]
# Tensor-core tiles with fewer 16-byte chunks than threads: guarded copies.
GUARDED = {"mma": [dict(block_m=32, block_n=32, block_k=16)],
           "wgmma": [dict(block_m=192, block_n=256, warpgroups=3)],
           # split-K: the parked tile goes to the workspace, then the reduction;
           # the decode class's one-consumer 64 x 256 tile.
           "wgmma_tma": [dict(block_m=128, block_n=128, split_k=2),
                         dict(block_m=64, block_n=256, warpgroups=1, split_k=2),
                         # persistent: one block walks every tile, the ring
                         # wrapping across them, the park reused per tile.
                         dict(block_m=64, block_n=64, warpgroups=1, stages=2, persistent=1),
                         dict(block_n=128, stages=3, persistent=1),
                         # clusters: B multicast, remote stage releases
                         dict(block_m=64, block_n=64, warpgroups=1, stages=2, cluster=2),
                         dict(block_n=128, stages=3, cluster=2, persistent=2)]}
rng = np.random.default_rng(0)
runs = [(r, None) for r in rungs] + [(r, c) for r in rungs for c in GUARDED.get(r, [])]
for rung, config in runs:
    # K = 45: plain masked loads; K = 48: cp.async with zero-filled edges.
    for (ta, tb), k in zip(((False, False), (True, True), (False, True), (True, False)),
                           (45, 45, 48, 48)):
        if rung == "wgmma_tma" and k % 8:
            continue  # TMA rows must be multiples of 16 bytes (refused up front)
        if config and (config.get("split_k") or config.get("persistent")
                       or config.get("cluster")):
            k = 200  # four K tiles for two parts, the last one short
        # TMA: every row (A's is M long when transposed) a multiple of 8.
        m, n = 40 if rung == "wgmma_tma" else 37, 29 if k == 45 else 136
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float16)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float16)
        c = rng.standard_normal((m, n)).astype(np.float32)
        d = tessel.gemm(a, b, c, beta=1.0, transpose_a=ta, transpose_b=tb, out_dtype="f32",
                        target="cuda", strategy=rung, config=config)
        want = R.gemm(a, b, c, beta=1.0, transpose_a=ta, transpose_b=tb)
        assert np.abs(d - want).max() < 1e-2, rung
    print(f"{rung}{' ' + str(config) if config else ''}: ok")
# A 16-bit D: the park is swizzled and stored by TMA (persistent: the next
# tile's park waiting for the last store's reads; else over the stages).
if "wgmma_tma" in rungs:
    for config in (dict(block_m=64, block_n=64, warpgroups=1, stages=2, persistent=1),
                   dict(block_n=128, stages=3, persistent=2), dict(block_n=128, stages=3),
                   dict(block_n=128, stages=3, cluster=2),
                   dict(block_n=128, stages=3, cluster=2, persistent=2)):
        for ta, tb in ((False, False), (True, True)):
            m, n, k = 200, 136, 200
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float16)
            b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float16)
            c = rng.standard_normal((m, n)).astype(np.float16)
            d = tessel.gemm(a, b, c, beta=1.0, transpose_a=ta, transpose_b=tb, target="cuda",
                            strategy="wgmma_tma", config=config)
            want = R.gemm(a, b, c, beta=1.0, transpose_a=ta, transpose_b=tb)
            assert np.abs(d.astype(np.float64) - want).max() < 0.1, config
        print(f"wgmma_tma {config} (TMA store): ok")
