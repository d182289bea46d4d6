"""A few small tessel.flash_attention shapes for compute-sanitizer:

    compute-sanitizer --tool memcheck python scripts/sanitize_attention.py
    compute-sanitizer --tool racecheck python scripts/sanitize_attention.py
    compute-sanitizer --tool synccheck python scripts/sanitize_attention.py

Covers the edges (lengths not multiples of the tiles, Sq > Skv with fully
masked rows, one key), GQA, both layouts, LSE, on both rungs (mma and
wgmma, or those named: `python scripts/sanitize_attention.py wgmma`); checks
each result against the float64 reference so a silent out-of-bounds read
shows up as a wrong value too."""

import sys

import numpy as np

import tessel
from tessel import reference as R

SHAPES = [  # (B, Hq, Hkv, Sq, Skv, D)
    (1, 2, 1, 17, 33, 64),
    (2, 4, 2, 100, 70, 128),
    (1, 2, 2, 1, 1, 64),
    (1, 8, 1, 130, 129, 128),
]


def main():
    strategies = sys.argv[1:] or ["mma", "wgmma", "wgmma_tma"]
    for strategy in strategies:
        check_all(strategy)


def check_all(strategy):
    rng = np.random.default_rng(0)
    for b, hq, hkv, sq, skv, d in SHAPES:
        for causal in (False, True):
            for layout in ("bhsd", "bshd"):
                q = rng.standard_normal((b, hq, sq, d)).astype(np.float16)
                k = rng.standard_normal((b, hkv, skv, d)).astype(np.float16)
                v = rng.standard_normal((b, hkv, skv, d)).astype(np.float16)
                args = [q, k, v]
                if layout == "bshd":
                    args = [np.ascontiguousarray(x.transpose(0, 2, 1, 3)) for x in args]
                o, lse = tessel.flash_attention(*args, causal=causal, return_lse=True,
                                                layout=layout, target="cuda", strategy=strategy)
                o = np.asarray(o, np.float64)
                if layout == "bshd":
                    o = o.transpose(0, 2, 1, 3)
                want, want_lse = R.flash_attention(q, k, v, causal=causal)
                err = np.abs(o - want).max()
                lse_ok = np.allclose(lse, want_lse, atol=1e-2)
                print(f"{strategy} B={b} Hq={hq} Hkv={hkv} Sq={sq} Skv={skv} D={d} causal={causal} "
                      f"{layout}: max error {err:.2e}, lse {'ok' if lse_ok else 'WRONG'}")
                assert err < 5e-3 and lse_ok and not np.isnan(o).any()


if __name__ == "__main__":
    main()
