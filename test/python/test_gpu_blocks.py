"""Each kernel building block of lib/GPU on its own, through the test pass
tessel-test-kernel-blocks: one small kernel per case, lowered to PTX and
assembled with ptxas (CPU-only, runs in CI), then run on the GPU against a
numpy model (@pytest.mark.gpu, skipped without a GPU). wgmma with A from
registers has its own case (wgmma_rs); wgmma from shared memory is covered by the
GEMM tests (test_gpu_gemm.py, test_cuda_compile.py), not here."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from typing import Callable

import ml_dtypes
import numpy as np
import pytest
from mlir import ir
from mlir.dialects import gpu  # noqa: F401  (registers gpu.launch_func's OpView)

from tessel import _native
from tessel.compiler.cuda import artifact
from tessel.ir import context

BF16 = ml_dtypes.bfloat16
MLIR_TYPES = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16", np.dtype(BF16): "bf16",
              np.dtype(np.int8): "i8", np.dtype(np.int32): "i32"}
STAGES = (
    "tessel-test-kernel-blocks,gpu-kernel-outlining,canonicalize",
    "tessel-gpu-to-nvvm",
    "nvvm-attach-target{chip=sm_90a features=+ptx80 O=3}",
    "gpu-module-to-binary{format=isa}",
)


@dataclass
class Arg:
    name: str
    shape: tuple
    dtype: type
    out: bool = False

    def mlir_type(self) -> str:
        return f"memref<{'x'.join(map(str, self.shape))}x{MLIR_TYPES[np.dtype(self.dtype)]}>"


@dataclass
class Case:
    id: str
    block: str
    args: list
    inputs: Callable  # rng -> {name: array} for the inputs
    check: Callable  # (inputs, outputs) -> None, asserting
    options: dict = field(default_factory=dict)
    threads: int | None = None  # expected block size (x)

    def mlir(self) -> str:
        def value(v):
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, str):
                return f'"{v}"'
            return repr(v)

        attrs = f'tessel.test_block = "{self.block}"'
        if self.options:
            opts = ", ".join(f"{k} = {value(v)}" for k, v in self.options.items())
            attrs += f", tessel.test_options = {{{opts}}}"
        params = ", ".join(f"%{a.name}: {a.mlir_type()}" for a in self.args)
        return f"func.func @{self.id}({params}) attributes {{{attrs}}} {{\n  return\n}}\n"


# --------------------------------------------------------------------------
# warp_reduce
# --------------------------------------------------------------------------

def _warp_reduce(width: int) -> Case:
    per_lane = width != 32

    def inputs(rng):
        return {"x": rng.standard_normal(32).astype(np.float32)}

    def check(i, o):
        x = i["x"].astype(np.float64)
        if not per_lane:
            np.testing.assert_allclose(o["out"], [x.max(), x.sum()], rtol=1e-5, atol=1e-5)
            return
        groups = x.reshape(32 // width, width)
        want_max = np.repeat(groups.max(axis=1), width)
        want_sum = np.repeat(groups.sum(axis=1), width)
        np.testing.assert_array_equal(o["out"][0], want_max.astype(np.float32))
        np.testing.assert_allclose(o["out"][1], want_sum, rtol=1e-5, atol=1e-6)

    out = (2, 32) if per_lane else (2,)
    return Case(f"warp_reduce_w{width}", "warp_reduce",
                [Arg("x", (32,), np.float32), Arg("out", out, np.float32, out=True)],
                inputs, check, {} if width == 32 else {"width": width}, threads=32)


# --------------------------------------------------------------------------
# online_softmax
# --------------------------------------------------------------------------

def _online_softmax(rows: int, cols: int, scale: float | None) -> Case:
    def inputs(rng):
        s = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
        s[rng.random((rows, cols)) < 0.2] = -np.inf  # scattered masked keys
        s[3] = -np.inf  # a fully masked row: 0 and -inf
        s[5, : cols // 2] = -np.inf  # the first tiles masked: the state starts empty
        s[7, :] = -np.inf
        s[7, cols - 1] = 1.5  # one key, in the last tile
        s[9, :] = 40.0  # large equal scores
        return {"scores": s, "values": rng.standard_normal(cols).astype(np.float32)}

    def check(i, o):
        z = i["scores"].astype(np.float64) * (1.0 if scale is None else scale)
        v = i["values"].astype(np.float64)
        m = z.max(axis=1)
        empty = np.isneginf(m)
        safe = np.where(empty, 0.0, m)
        p = np.exp(z - safe[:, None])
        denom = p.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.where(empty, 0.0, (p @ v) / denom)
            lse = np.where(empty, -np.inf, safe + np.log(denom))
        np.testing.assert_allclose(o["out"], want, rtol=2e-5, atol=2e-5)
        assert np.all(np.isneginf(o["lse"][empty])) and np.all(o["out"][empty] == 0)
        np.testing.assert_allclose(o["lse"][~empty], lse[~empty], rtol=2e-5, atol=2e-5)

    return Case(f"online_softmax_{rows}x{cols}" + ("" if scale is None else "_scaled"),
                "online_softmax",
                [Arg("scores", (rows, cols), np.float32), Arg("values", (cols,), np.float32),
                 Arg("out", (rows,), np.float32, out=True),
                 Arg("lse", (rows,), np.float32, out=True)],
                inputs, check, {} if scale is None else {"scale": scale}, threads=4 * rows)


# --------------------------------------------------------------------------
# tile_copy
# --------------------------------------------------------------------------

def swizzled_offset(r: int, c: int, rows: int, elem_bytes: int, swizzle: int) -> int:
    """Element offset of tile element (r, c) in the TMA/wgmma swizzled layout,
    written from the hardware definition (CUTLASS Swizzle<log2(swizzle/16), 4,
    3>): the tile is cut into column blocks one swizzle row wide; inside a
    block, byte address a = r * swizzle + byte column has its bits [4, 7) XORed
    with its bits [7, 10), as many bits as the pattern has 16-byte chunks."""
    atom = swizzle // elem_bytes
    a = r * swizzle + (c % atom) * elem_bytes
    mask = swizzle // 16 - 1
    a ^= ((a >> 7) & mask) << 4
    return (c // atom) * rows * atom + a // elem_bytes


def _tile_copy(name: str, dtype, src_shape, rows, cols, layout="padded", pad=None, row0=0,
               col0=0, row_limit=None, col_limit=None, aligned=True, threads=128,
               gather: int | None = None) -> Case:
    eb = np.dtype(dtype).itemsize
    chunk = 16 // eb
    pad_elems = chunk if pad is None else pad
    swizzle = {"padded": 0, "swizzle128": 128, "swizzle64": 64, "swizzle32": 32}[layout]
    elems = rows * cols if swizzle else rows * (cols + pad_elems)
    options = {"layout": layout, "rows": rows, "cols": cols}
    for key, value in (("pad", pad), ("row_limit", row_limit), ("col_limit", col_limit)):
        if value is not None:
            options[key] = value
    if row0:
        options["row0"] = row0
    if col0:
        options["col0"] = col0
    if not aligned:
        options["aligned"] = False
    if threads != 128:
        options["threads"] = threads
    args = [Arg("src", src_shape, dtype)]
    if gather is not None:
        args.append(Arg("index", (gather,), np.int32))
    args.append(Arg("out", (elems,), dtype, out=True))

    def inputs(rng):
        # Values >= 1: 0 is the zero fill, -1 what the copy left alone.
        hi = {1: 128, 2: 2048, 4: 1 << 20}[eb]
        src = rng.integers(1, hi, size=src_shape).astype(dtype)
        out = {"src": src}
        if gather is not None:
            out["index"] = rng.integers(0, src_shape[0], size=gather).astype(np.int32)
        return out

    def check(i, o):
        src = i["src"]
        rlim = row_limit if row_limit is not None else (gather or src_shape[0])
        clim = col_limit if col_limit is not None else src_shape[1]
        want = np.full(elems, -1, dtype=dtype)
        for r in range(rows):
            for c in range(cols):
                gr, gc = row0 + r, col0 + c
                if gr < rlim and gc < clim:
                    v = src[i["index"][gr] if gather is not None else gr, gc]
                else:
                    v = 0
                at = (swizzled_offset(r, c, rows, eb, swizzle) if swizzle
                      else r * (cols + pad_elems) + c)
                want[at] = v
        got = o["out"]
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (f"{bad.size} of {elems} elements differ; first at {bad[:8]}: "
                               f"got {got[bad[:8]]}, want {want[bad[:8]]}")

    return Case(f"tile_copy_{name}", "tile_copy", args, inputs, check, options, threads=threads)


# --------------------------------------------------------------------------
# mma
# --------------------------------------------------------------------------

def _mma(dtype, a_k: bool, b_k: bool) -> Case:
    tname = MLIR_TYPES[np.dtype(dtype)]

    def inputs(rng):
        # Small integers: S (|S| <= 144) and its f16/bf16 rounding are exact,
        # so any layout slip shows as an exact mismatch.
        return {k: rng.integers(-3, 4, size=s).astype(dtype)
                for k, s in (("a", (16, 16)), ("b", (16, 16)), ("c", (16, 8)))}

    def check(i, o):
        a = i["a"].astype(np.float64)
        b = i["b"].astype(np.float64)
        A = a if a_k else a.T  # a holds A (m x k) or A^T
        B = b.T if b_k else b  # b holds B^T (n x k) or B (k x n)
        S = A @ B
        np.testing.assert_array_equal(o["s"], S.astype(np.float32))
        P = o["s"].astype(dtype).astype(np.float64)
        np.testing.assert_array_equal(o["o"], (P @ i["c"].astype(np.float64)).astype(np.float32))

    return Case(f"mma_{tname}_a{'k' if a_k else 'm'}_b{'k' if b_k else 'n'}", "mma",
                [Arg("a", (16, 16), dtype), Arg("b", (16, 16), dtype), Arg("c", (16, 8), dtype),
                 Arg("s", (16, 16), np.float32, out=True), Arg("o", (16, 8), np.float32, out=True)],
                inputs, check, {"a_k_contiguous": a_k, "b_k_contiguous": b_k}, threads=32)


def _mma_random(dtype) -> Case:
    """Non-integer data: checks the rounding of P to the element type."""
    case = _mma(dtype, True, False)

    def inputs(rng):
        return {k: rng.standard_normal(s).astype(dtype)
                for k, s in (("a", (16, 16)), ("b", (16, 16)), ("c", (16, 8)))}

    def check(i, o):
        a, b, c = (i[k].astype(np.float64) for k in "abc")
        S = a @ b
        np.testing.assert_allclose(o["s"], S, rtol=1e-5, atol=1e-5)
        # P is S rounded to the element type (round to nearest even).
        P = o["s"].astype(dtype).astype(np.float64)
        np.testing.assert_allclose(o["o"], P @ c, rtol=1e-5, atol=1e-4)

    case.id = case.id + "_random"
    case.inputs, case.check = inputs, check
    return case


def _wgmma_rs(dtype, n: int) -> Case:
    """wgmma with A from registers (mma.sync A fragments) and B from a
    128-byte-swizzled shared tile: D = A (64 x 16) x B (16 x n)."""
    tname = MLIR_TYPES[np.dtype(dtype)]

    def inputs(rng):
        return {"a": rng.integers(-3, 4, size=(64, 16)).astype(dtype),
                "b": rng.integers(-3, 4, size=(16, n)).astype(dtype)}

    def check(i, o):
        want = i["a"].astype(np.float64) @ i["b"].astype(np.float64)
        np.testing.assert_array_equal(o["d"], want.astype(np.float32))

    return Case(f"wgmma_rs_{tname}_n{n}", "wgmma_rs",
                [Arg("a", (64, 16), dtype), Arg("b", (16, n), dtype),
                 Arg("d", (64, n), np.float32, out=True)], inputs, check, threads=128)


# --------------------------------------------------------------------------
# split_range, rasterize, for_each_tile
# --------------------------------------------------------------------------

def _split_range(ns, splits: int, align: int) -> Case:
    ns = np.asarray(ns, np.int32)

    def check(i, o):
        got = o["out"]
        for n, parts in zip(i["n"].tolist(), got):
            units = -(-n // align)
            per = -(-units // splits) * align
            want = [(min(s * per, n), min(min(s * per, n) + per, n)) for s in range(splits)]
            assert parts.tolist() == [list(w) for w in want], (n, parts.tolist())
            # The parts tile [0, n) in order, cut on multiples of align.
            assert parts[0, 0] == 0 and parts[-1, 1] == n
            assert np.all(parts[1:, 0] == parts[:-1, 1])
            assert all(b % align == 0 or b == n for b in parts[:, 0])

    return Case(f"split_range_s{splits}_a{align}", "split_range",
                [Arg("n", (len(ns),), np.int32),
                 Arg("out", (len(ns), splits, 2), np.int32, out=True)],
                lambda rng: {"n": ns}, check, {"align": align} if align != 1 else {}, threads=1)


def _rasterize(m: int, n: int, group_m: int, dynamic: bool = False) -> Case:
    def check(i, o):
        got = o["out"]
        for y in range(m):
            for x in range(n):
                if group_m <= 1 or m <= 1:
                    want = (y, x)
                else:
                    # Triton's grouped ordering: pid runs down `group_m`
                    # block rows, then to the next column.
                    pid = y * n + x
                    first = pid // (group_m * n) * group_m
                    size = min(m - first, group_m)
                    want = (first + pid % (group_m * n) % size, pid % (group_m * n) // size)
                assert tuple(got[y, x]) == want, (y, x, got[y, x].tolist(), want)
        # Every tile exactly once.
        tiles = {tuple(t) for t in got.reshape(-1, 2).tolist()}
        assert tiles == {(r, c) for r in range(m) for c in range(n)}

    return Case(f"rasterize_{m}x{n}_g{group_m}" + ("_dyn" if dynamic else ""), "rasterize",
                [Arg("out", (m, n, 2), np.int32, out=True)], lambda rng: {}, check,
                {"group_m": group_m, **({"dynamic": True} if dynamic else {})}, threads=1)


def _for_each_tile(tiles: int, blocks: int) -> Case:
    def check(i, o):
        # Block b's j-th tile is b + j * blocks: it writes 100 b + j there.
        t = np.arange(tiles)
        np.testing.assert_array_equal(o["out"], t % blocks * 100 + t // blocks)

    return Case(f"for_each_tile_{tiles}_b{blocks}", "for_each_tile",
                [Arg("out", (tiles,), np.int32, out=True)], lambda rng: {}, check,
                {"blocks": blocks}, threads=1)


CASES = [
    _warp_reduce(32), _warp_reduce(4), _warp_reduce(8),
    _online_softmax(16, 128, None), _online_softmax(16, 128, 0.125), _online_softmax(32, 64, 0.5),
    # padded, aligned (cp.async), whole tile inside
    _tile_copy("f32_padded", np.float32, (64, 64), 16, 32, row0=16, col0=8),
    # padded f16 hanging over both edges, a column limit inside a chunk
    _tile_copy("f16_padded_edge", np.float16, (37, 40), 32, 64, row0=16, col0=8, col_limit=36),
    # i8 row gather through an index, rows past the index's valid rows zero
    _tile_copy("i8_padded_gather", np.int8, (50, 64), 32, 32, pad=16, col0=16, gather=24),
    # the unaligned fallback (rows of 37 f16), more threads than chunks
    _tile_copy("f16_unaligned", np.float16, (30, 37), 16, 32, row0=8, col0=16, aligned=False,
               threads=96),
    _tile_copy("f16_unaligned_gather", np.float16, (30, 37), 16, 16, aligned=False, gather=12,
               threads=32),
    # swizzled layouts (SmemLayout::offset; the arena aligned to the pattern)
    _tile_copy("f16_swizzle128", np.float16, (64, 128), 16, 128, "swizzle128", row0=8,
               row_limit=20),
    _tile_copy("f16_swizzle64", np.float16, (24, 64), 24, 64, "swizzle64", col_limit=60),
    _tile_copy("f16_swizzle32", np.float16, (16, 32), 16, 32, "swizzle32"),
    _tile_copy("f32_swizzle128", np.float32, (40, 64), 32, 64, "swizzle128", row0=24, threads=64),
    _tile_copy("f32_swizzle64", np.float32, (24, 40), 24, 32, "swizzle64", col_limit=30),
    _tile_copy("f32_swizzle32_unaligned", np.float32, (20, 33), 16, 32, "swizzle32",
               aligned=False),
    _tile_copy("i8_swizzle128_gather", np.int8, (40, 128), 16, 128, "swizzle128", gather=16,
               threads=100),
    _tile_copy("i8_swizzle64", np.int8, (16, 128), 16, 128, "swizzle64", col_limit=100),
    _tile_copy("i8_swizzle32_edge", np.int8, (20, 64), 16, 64, "swizzle32", row0=8, col0=16),
] + [
    _mma(d, ak, bk) for d in (np.float16, BF16) for ak in (True, False) for bk in (True, False)
] + [
    _mma_random(np.float16), _mma_random(BF16),
    _wgmma_rs(np.float16, 64), _wgmma_rs(BF16, 128),
    _split_range([0, 1, 15, 16, 17, 100, 1000, 4097], 5, 16),
    _split_range([0, 1, 6, 7, 8, 50], 7, 1),
    _split_range([64, 65, 200, 1 << 20], 3, 64),
    _rasterize(5, 7, 2), _rasterize(5, 7, 2, dynamic=True), _rasterize(9, 4, 4),
    _rasterize(9, 4, 4, dynamic=True), _rasterize(6, 3, 1), _rasterize(1, 5, 8),
    _for_each_tile(10, 3), _for_each_tile(2, 4),
]
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES)


# --------------------------------------------------------------------------
# tma_load, tma_store, pipeline (TMA through mbarriers; tensor-map parameters)
# --------------------------------------------------------------------------

def _tile_values(rng, shape, dtype):
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(-100, 100, shape).astype(dtype)
    # Distinct nonzero values: a misplaced or missing element shows.
    return (rng.permutation(np.prod(shape)).reshape(shape) % 1000 + 1).astype(dtype)


def _window(src, row0, col0, rows, cols):
    """The rows x cols window of src at (row0, col0), zeros outside src."""
    want = np.zeros((rows, cols), src.dtype)
    r = np.arange(rows) + row0
    c = np.arange(cols) + col0
    rm, cm = (r >= 0) & (r < src.shape[0]), (c >= 0) & (c < src.shape[1])
    want[np.ix_(rm, cm)] = src[np.ix_(r[rm], c[cm])]
    return want


def _tma_load(name, dtype, shape, rows, cols, layout, row0=0, col0=0, threads=128) -> Case:
    eb = np.dtype(dtype).itemsize
    swizzle = 0 if layout == "plain" else int(layout[len("swizzle"):])

    def inputs(rng):
        return {"src": _tile_values(rng, shape, dtype)}

    def check(i, o):
        tile = _window(i["src"], row0, col0, rows, cols)
        want = np.empty(rows * cols, dtype)
        for r in range(rows):
            for c in range(cols):
                at = swizzled_offset(r, c, rows, eb, swizzle) if swizzle else r * cols + c
                want[at] = tile[r, c]
        bad = np.flatnonzero(o["out"] != want)
        assert bad.size == 0, (f"{bad.size} of {want.size} elements differ; first at {bad[:8]}: "
                               f"got {o['out'][bad[:8]]}, want {want[bad[:8]]}")

    options = {"layout": layout, "rows": rows, "cols": cols, "row0": row0, "col0": col0}
    if threads != 128:
        options["threads"] = threads
    return Case(f"tma_load_{name}", "tma_load",
                [Arg("src", shape, dtype), Arg("out", (rows * cols,), dtype, out=True)],
                inputs, check, options, threads=threads)


def _tma_store(name, dtype, shape, rows, cols, layout, row0=0, col0=0) -> Case:
    def inputs(rng):
        return {"src": _tile_values(rng, shape, dtype)}

    def check(i, o):
        src, got = i["src"], o["dst"]
        fill = (np.isnan(got) if np.issubdtype(np.dtype(dtype), np.floating) else got == -77)
        inside = np.zeros(shape, bool)
        inside[max(row0, 0):max(row0 + rows, 0), max(col0, 0):max(col0 + cols, 0)] = True
        np.testing.assert_array_equal(got[inside], src[inside])
        assert fill[~inside].all(), "the store wrote outside its box"

    return Case(f"tma_store_{name}", "tma_store",
                [Arg("src", shape, dtype), Arg("dst", shape, dtype, out=True)], inputs, check,
                {"layout": layout, "rows": rows, "cols": cols, "row0": row0, "col0": col0},
                threads=128)


def _pipeline(tiles, rows, cols, stages) -> Case:
    def inputs(rng):
        return {"src": rng.standard_normal((tiles * rows, cols)).astype(np.float32)}

    def check(i, o):
        want = i["src"].astype(np.float64).reshape(tiles, rows, cols).sum(axis=0)
        np.testing.assert_allclose(o["out"], want, rtol=1e-5, atol=1e-5)

    return Case(f"pipeline_{tiles}x{rows}x{cols}_s{stages}", "pipeline",
                [Arg("src", (tiles * rows, cols), np.float32),
                 Arg("out", (rows, cols), np.float32, out=True)],
                inputs, check, {"stages": stages}, threads=256)


CASES += [
    # the box inside, then overhanging the ends (zero fill), negative origins
    _tma_load("f16_swizzle128", np.float16, (64, 128), 16, 128, "swizzle128", row0=8),
    _tma_load("f16_swizzle128_edges", np.float16, (40, 104), 16, 128, "swizzle128", row0=30,
              col0=-8),
    _tma_load("bf16_swizzle64", BF16, (24, 64), 24, 64, "swizzle64", col0=8),
    _tma_load("f32_swizzle32", np.float32, (20, 40), 16, 16, "swizzle32", row0=-3, col0=28),
    _tma_load("i8_swizzle128", np.int8, (40, 256), 16, 256, "swizzle128", row0=32, threads=64),
    _tma_load("f16_plain", np.float16, (16, 72), 8, 64, "plain", col0=16),
    _tma_store("f16_swizzle128", np.float16, (40, 136), 16, 128, "swizzle128", row0=8, col0=8),
    _tma_store("f32_clipped", np.float32, (20, 40), 16, 32, "swizzle128", row0=10, col0=16),
    # one stage; a ring that wraps several times (parity flips); deeper
    _pipeline(3, 8, 32, 1), _pipeline(7, 8, 32, 3), _pipeline(12, 16, 64, 4),
]
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES)


@dataclass
class Compiled:
    ptx: str
    kernel: str
    grid: list
    block: list
    shared_bytes: int
    arg_order: list  # function argument index of each kernel parameter
    gpu_ir: str
    entry: dict  # the artifact's kernel entry

    @property
    def tensormaps(self) -> int:
        return sum(kind == "tensormap" for kind, _ in self.entry["params"])


def _launch(module: ir.Module) -> dict:
    """The one launch, read as the compiler's artifact reader reads it (the
    test pass's kernels take function arguments, as bare pointers or as
    tensor maps of them)."""
    (k,) = artifact.launches(module)
    for kind, expr in k["params"]:
        arg = expr["ptr"] if kind == "tensormap" else expr
        assert kind in ("ptr", "tensormap") and arg[0] == "ptr", (
            f"kernel parameter {expr} is not an argument")
    grid = [g[1] for g in k["grid"]]  # constants: the blocks' launches are static
    return {"kernel": k["name"], "grid": grid, "block": k["block"],
            "shared_bytes": k["shared_bytes"],
            "arg_order": [(e["ptr"] if kind == "tensormap" else e)[1] for kind, e in k["params"]],
            "entry": k}


@functools.lru_cache(maxsize=None)
def compiled(case_id: str) -> Compiled:
    case = BY_ID[case_id]
    with context():
        module = ir.Module.parse(case.mlir())
        _native.run_pass_pipeline(module.operation, STAGES[0])
        meta = _launch(module)
        gpu_ir = str(module)
        for stage in STAGES[1:]:
            _native.run_pass_pipeline(module.operation, stage)
        return Compiled(artifact.ptx(module), gpu_ir=gpu_ir, **meta)


IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case_id", IDS)
def test_lowers_to_ptx(case_id):
    case, k = BY_ID[case_id], compiled(case_id)
    assert k.kernel == f"{case.id}_kernel"
    assert ".target sm_90a" in k.ptx and f".entry {k.kernel}(" in k.ptx
    assert sorted(k.arg_order) == list(range(len(case.args)))
    assert k.block == [case.threads, 1, 1]
    # bare pointers, and tensor maps by value
    assert k.ptx.count(".param .u64") == len(case.args) - k.tensormaps
    assert k.ptx.count(".param .align 64 .b8") == k.tensormaps
    assert ".extern" not in k.ptx  # no libdevice calls left unresolved


def _expect_in_ir(case: Case, ir_text: str) -> None:
    # What each block must have emitted, read off the outlined kernel.
    pieces = {
        "warp_reduce": ["gpu.shuffle  xor"],
        "online_softmax": ["gpu.shuffle  xor", "math.exp2", "math.log", "scf.for"],
        "mma": ["nvgpu.ldmatrix", "mma.sync"],
        "wgmma_rs": ["nvgpu.ldmatrix", "wgmma.mma_async.sync.aligned.m64n", "nvvm.wgmma.fence"],
        "split_range": ["arith.ceildivui", "gpu.grid_dim  x"],
        "rasterize": [],
        "for_each_tile": ["scf.for", "gpu.grid_dim  x"],
        "tile_copy": ["gpu.dynamic_shared_memory", "nvgpu.device_async_create_group"],
        "tma_load": ["nvvm.cp.async.bulk.tensor.shared.cluster.global", "nvvm.mbarrier.init",
                     "nvvm.mbarrier.arrive.expect_tx", "nvvm.mbarrier.try_wait.parity",
                     "nvvm.fence.proxy", "nvgpu.tma.create.descriptor"],
        "tma_store": ["nvvm.cp.async.bulk.tensor.shared.cluster.global",
                      "nvvm.cp.async.bulk.tensor.global.shared.cta",
                      "nvvm.cp.async.bulk.commit.group", "nvvm.cp.async.bulk.wait_group"],
        "pipeline": ["nvvm.setmaxregister  decrease 40", "nvvm.setmaxregister  increase 232",
                     "nvvm.elect.sync", "nvvm.mbarrier.arrive ", "nvvm.prefetch tensormap"],
    }[case.block]
    if case.block == "tile_copy":
        aligned = case.options.get("aligned", True)
        assert ("nvgpu.device_async_copy" in ir_text) == aligned
        if "swizzle" in case.options["layout"]:
            pieces.append("memref.extract_aligned_pointer_as_index")
        if any(a.name == "index" for a in case.args):
            pieces.append("memref<%dxi32>" % case.args[1].shape[0])
    if case.block == "rasterize" and case.options.get("dynamic"):
        pieces.append("gpu.grid_dim  y")
    for piece in pieces:
        assert piece in ir_text, piece


@pytest.mark.parametrize("case_id", IDS)
def test_kernel_ir(case_id):
    _expect_in_ir(BY_ID[case_id], compiled(case_id).gpu_ir)


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("case_id", IDS)
def test_ptxas_assembles(case_id, tmp_path):
    k = compiled(case_id)
    ptx = tmp_path / "k.ptx"
    ptx.write_text(k.ptx)
    proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(ptx), "-o",
                           str(tmp_path / "k.cubin")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", proc.stderr)
    assert spills and all(s == ("0", "0") for s in spills), proc.stderr
    # setmaxnreg honoured (tessel-finalize-kernels gives the launch bounds)
    assert "C7508" not in proc.stderr, proc.stderr


def test_swizzle_model_is_a_permutation():
    # The numpy model itself: every layout is a bijection of the tile.
    for eb in (1, 2, 4):
        for sw in (128, 64, 32):
            atom = sw // eb
            rows, cols = 16, 2 * atom
            offs = {swizzled_offset(r, c, rows, eb, sw) for r in range(rows) for c in range(cols)}
            assert offs == set(range(rows * cols))
    # 128-byte swizzle of f16: row r's chunk c at chunk c ^ (r % 8).
    assert swizzled_offset(3, 8, 8, 2, 128) == 3 * 64 + (1 ^ 3) * 8


# --------------------------------------------------------------------------
# On the GPU
# --------------------------------------------------------------------------

def _pointer(buf) -> int:
    return int(buf.ptr)


@pytest.mark.gpu
@pytest.mark.parametrize("case_id", IDS)
def test_block_on_gpu(case_id):
    from tessel.runtime.driver import DeviceBuffer, Module

    case, k = BY_ID[case_id], compiled(case_id)
    rng = np.random.default_rng(zlib.crc32(case_id.encode()))
    inputs = case.inputs(rng)
    host = {}
    for a in case.args:
        if a.out:
            fill = np.nan if np.issubdtype(np.dtype(a.dtype), np.floating) else -77
            host[a.name] = np.full(a.shape, fill, dtype=a.dtype)
        else:
            host[a.name] = np.ascontiguousarray(inputs[a.name], dtype=a.dtype)
            assert host[a.name].shape == a.shape
    buffers = {name: DeviceBuffer.from_host(arr) for name, arr in host.items()}
    if k.tensormaps:
        # The runtime's own path: tensor maps encoded from the artifact entry.
        from tessel.runtime import driver
        from tessel.runtime.kernel import Program

        program = Program({"ptx": k.ptx, "kernels": [k.entry],
                           "arg_names": [a.name for a in case.args]})
        run = program.prepare(tuple(a.shape for a in case.args), 0)
        run([_pointer(buffers[a.name]) for a in case.args], 0)
        driver.synchronize(0, k.kernel)
    else:
        module = Module(k.ptx, k.kernel)
        module.launch(k.grid, k.block, k.shared_bytes,
                      [_pointer(buffers[case.args[i].name]) for i in k.arg_order])
        module.synchronize()
    outputs = {a.name: buffers[a.name].to_host(np.empty(a.shape, a.dtype))
               for a in case.args if a.out}
    case.check(inputs, outputs)
