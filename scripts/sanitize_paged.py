"""Small runs of every paged KV-cache kernel, for compute-sanitizer:

    compute-sanitizer --tool memcheck python scripts/sanitize_paged.py
    compute-sanitizer --tool racecheck python scripts/sanitize_paged.py
    compute-sanitizer --tool initcheck python scripts/sanitize_paged.py

Each case is also checked against the numpy reference; exits non-zero on a
mismatch. Shapes are tiny (the tools slow kernels down 10-100x) but cover
context 0, partial tiles and blocks, several partitions (v2, with and
without clusters), GQA and MQA,
skipped slots and exact-size caches (an overrun faults instead of landing in
slack)."""

from __future__ import annotations

import sys

import ml_dtypes
import numpy as np

import tessel
from tessel import reference as R


def decode_case(rng, dtype, lens, d, bs, hq, hkv, strategy, cluster=0):
    need = [-(-n // bs) for n in lens]
    num_blocks = max(sum(need), 1)
    perm = rng.permutation(num_blocks)
    max_blocks = max(max(need), 1)
    tables = np.zeros((len(lens), max_blocks), np.int32)
    at = 0
    for s, n in enumerate(need):
        tables[s, :n] = perm[at:at + n]
        at += n
    kc = rng.standard_normal((num_blocks, bs, hkv, d)).astype(dtype)
    vc = rng.standard_normal((num_blocks, bs, hkv, d)).astype(dtype)
    q = rng.standard_normal((len(lens), hq, d)).astype(dtype)
    lens = np.asarray(lens, np.int32)
    config = None
    if strategy == "v2":
        config = dict(partition_size=64, **({"cluster": cluster} if cluster else {}))
    got = tessel.paged_attention(q, kc, vc, tables, lens, target="cuda", strategy=strategy,
                                 config=config)
    want = R.paged_attention(q, kc, vc, tables, lens)
    return np.abs(np.asarray(got, np.float64) - want).max() / max(1.0, np.abs(want).max())


def main() -> int:
    rng = np.random.default_rng(0)
    failures = 0
    for dtype, tol in ((np.float16, 5e-3), (ml_dtypes.bfloat16, 3e-2)):
        # v2 with a cluster of 2 (one cluster per sequence up to 128 tokens,
        # the reduction kernel past that) and of 4.
        for strategy, cluster in (("v1", 0), ("v2", 0), ("v2", 2), ("v2", 4)):
            for d, bs, hq, hkv in ((64, 8, 4, 2), (128, 16, 8, 1), (256, 32, 2, 2),
                                   (64, 16, 32, 1), (128, 16, 32, 1)):
                err = decode_case(rng, dtype, [0, 1, 17, 200], d, bs, hq, hkv, strategy,
                                  cluster)
                ok = err <= tol
                failures += not ok
                name = f"{strategy} cluster {cluster}" if cluster else strategy
                print(f"paged_attention {name} {np.dtype(dtype).name} D={d} bs={bs} "
                      f"{hq}/{hkv}: {'ok' if ok else 'MISMATCH'} ({err:.2g})", flush=True)
    for dtype in (np.float16, ml_dtypes.bfloat16, np.float32):
        kc = rng.standard_normal((3, 8, 2, 64)).astype(dtype)
        vc = rng.standard_normal((3, 8, 2, 64)).astype(dtype)
        k = rng.standard_normal((5, 2, 64)).astype(dtype)
        slots = np.array([0, -1, 23, 9, -4], np.int64)
        want = R.paged_kv_write(k, -k, kc, vc, slots)
        tessel.paged_kv_write(k, -k, kc, vc, slots, target="cuda")
        ok = all(np.array_equal(x, y) for x, y in zip((kc, vc), want))
        mapping = np.array([[0, 2]], np.int64)
        want = R.copy_blocks(kc, vc, mapping)
        tessel.copy_blocks(kc, vc, mapping, target="cuda")
        ok &= all(np.array_equal(x, y) for x, y in zip((kc, vc), want))
        failures += not ok
        print(f"paged_kv_write + copy_blocks {np.dtype(dtype).name}: "
              f"{'ok' if ok else 'MISMATCH'}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
