"""Writes (or checks) the SHA-256 of the PTX of a fixed set of GEMM
configurations: the kernel-layer refactor must not change a single byte of
them. `python scripts/gemm_ptx_hashes.py --write` records; without it, checks.
test/python/test_ptx_identity.py runs the check in CI."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

HASHES = Path(__file__).resolve().parent.parent / "test" / "python" / "data" / "gemm_ptx_hashes.json"


def cases():
    """(name, a shape, b shape, c shape or None, dtype, options)."""
    out = []
    for rung, dtypes in (("naive", ("f32", "f16")), ("smem", ("f32", "bf16")),
                         ("regtile", ("f32", "f16")), ("pipelined", ("f32", "bf16")),
                         ("mma", ("f16", "bf16")), ("wgmma", ("f16", "bf16"))):
        for dt in dtypes:
            out.append((f"{rung}-{dt}-square", (256, 256), (256, 256), None, dt, {}, rung, None))
            out.append((f"{rung}-{dt}-odd-tb-beta", (100, 72), (33, 72), (100, 33), dt,
                        dict(beta=1.0, transpose_b=True), rung, None))
    for rung in ("mma", "wgmma"):
        out += [
            (f"{rung}-ta", (72, 130), (72, 96), None, "f16", dict(transpose_a=True), rung, None),
            (f"{rung}-ta-tb", (64, 128), (192, 64), None, "bf16",
             dict(transpose_a=True, transpose_b=True), rung, None),
            (f"{rung}-batch", (3, 128, 64), (3, 64, 128), None, "f16", {}, rung, None),
            (f"{rung}-unaligned-k", (129, 255), (255, 127), None, "f16", {}, rung, None),
            (f"{rung}-alpha-c", (128, 128), (128, 128), (128, 128), "bf16",
             dict(alpha=2.0, beta=0.5), rung, None),
            (f"{rung}-batch-tb-c", (2, 64, 80), (2, 96, 80), (2, 64, 96), "f16",
             dict(beta=1.0, alpha=0.5, transpose_b=True), rung, None),
        ]
    out += [
        ("mma-cfg-128x256", (512, 512), (512, 512), None, "f16", {}, "mma",
         dict(block_m=128, block_n=256, block_k=64, warps_m=2, warps_n=4, stages=3, group_m=8)),
        ("mma-cfg-k64", (300, 200), (200, 100), None, "bf16", {}, "mma",
         dict(block_k=64, stages=4, group_m=1)),
        ("wgmma-cfg-128x128", (512, 512), (512, 512), None, "f16", {}, "wgmma",
         dict(block_m=128, block_n=128, block_k=64, warpgroups=2, stages=4, group_m=8)),
        ("wgmma-cfg-1wg", (200, 300), (300, 64), None, "bf16", {}, "wgmma",
         dict(block_m=64, block_n=64, warpgroups=1, stages=3)),
        ("regtile-cfg", (200, 200), (200, 200), None, "f32", {}, "regtile",
         dict(block_m=64, block_n=64, thread_m=4, thread_n=4)),
        ("pipelined-batch", (2, 96, 40), (2, 40, 96), None, "f32", {}, "pipelined", None),
        ("smem-batch-ta", (2, 40, 70), (2, 40, 50), None, "f16", dict(transpose_a=True), "smem",
         None),
    ]
    return out


def compute() -> dict[str, str]:
    os.environ["TESSEL_CACHE_DIR"] = tempfile.mkdtemp(prefix="tessel-ptx-")
    import tessel

    S = tessel.Spec
    result = {}
    for name, sa, sb, sc, dt, opts, rung, cfg in cases():
        specs = [S(sa, dt), S(sb, dt)] + ([S(sc, "f32")] if sc else [])
        k = tessel.gemm.compile(*specs, **opts, target="cuda", strategy=rung, config=cfg)
        # Less the grid-dependency wait that tessel-finalize-kernels puts
        # first in every kernel since the hashes were recorded: the rest of
        # each kernel is still the recorded bytes.
        ptx = k.ptx.replace("\tgriddepcontrol.wait;\n", "", 1)
        result[name] = hashlib.sha256(ptx.encode()).hexdigest()
    return result


def main(argv):
    got = compute()
    if "--write" in argv:
        HASHES.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(got)} hashes to {HASHES}")
        return 0
    want = json.loads(HASHES.read_text())
    bad = [n for n in want if got.get(n) != want[n]]
    print(f"{len(want) - len(bad)} of {len(want)} PTX hashes identical")
    for n in bad:
        print("  differs:", n)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
