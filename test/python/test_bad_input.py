"""Malformed input never crashes, aborts or hangs: tessel-opt exits non-zero
with a diagnostic, and Python raises while the process lives on."""

import os
import subprocess

import pytest
from mlir import ir

import tessel

GOOD = """func.func @f(%a: tensor<16x32xf16>, %b: tensor<32x8xf16>, %i: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %d = tessel.gemm %a, %b into %i : tensor<16x32xf16>, tensor<32x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return %d : tensor<16x8xf32>
}
"""

BAD_INPUTS = {
    "syntax": GOOD.replace("into %i", "into"),
    "unknown_op": GOOD.replace("tessel.gemm", "tessel.gemmm"),
    "wrong_result_type": GOOD.replace("-> tensor<16x8xf32>\n", "-> tensor<16x8xf16>\n"),
    "missing_result": GOOD.replace(" -> tensor<16x8xf32>\n  return", "\n  return"),
    "memref_with_result": GOOD.replace("tensor<", "memref<"),
    "truncated": GOOD[: len(GOOD) // 2],
    "truncated_in_type": GOOD[:60],
    "unranked": GOOD.replace("tensor<16x32xf16>", "tensor<*xf16>"),
    "bad_attr_type": GOOD.replace("into %i :", "into %i {alpha = 1 : i32} :"),
    "bad_unit_attr": GOOD.replace("into %i :", "into %i {transpose_a = 3 : i64} :"),
    "scalar_operand": GOOD.replace("%a: tensor<16x32xf16>", "%a: f16").replace(
        "tensor<16x32xf16>, tensor<32x8xf16> into", "f16, tensor<32x8xf16> into"),
    "zero_rank": GOOD.replace("tensor<16x32xf16>", "tensor<f16>"),
    "generic_missing_operand": '"tessel.gemm"() : () -> ()',
    "fa_no_out": '"tessel.flash_attention"(%q) : (tensor<1x1x8x8xf32>) -> ()',
    "copy_blocks_dims": """func.func @f(%m: memref<?x?xi64>, %k: memref<?x?x?x?xf16>) {
      tessel.copy_blocks %m into %k, %k : memref<?x?xi64> into memref<?x?x?x?xf16>, memref<?x?x?x?xf16>
      return }""",
    "empty": "",
    "garbage_binary": bytes(range(255, 0, -1)).decode("latin-1") * 4,
    "nul_bytes": "\x00" * 64,
    "deep_nesting": "(" * 5000,
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_tessel_opt_rejects(opt_path, tmp_path, name):
    path = tmp_path / f"{name}.mlir"
    path.write_bytes(BAD_INPUTS[name].encode("latin-1"))
    proc = subprocess.run([opt_path, str(path)], capture_output=True, timeout=60)
    if name in ("empty", "nul_bytes"):
        # An empty module is valid, and MLIR's lexer ends a buffer at a NUL.
        assert proc.returncode == 0 and b"module" in proc.stdout
        return
    # A positive exit code: an error, not a signal (abort/segfault would be < 0).
    assert proc.returncode > 0, (proc.returncode, proc.stderr[-2000:])
    assert b"error" in proc.stderr, proc.stderr[-2000:]


def test_tessel_opt_pipeline_failure_is_an_error(opt_path, tmp_path):
    path = tmp_path / "t.mlir"
    path.write_text(GOOD)
    proc = subprocess.run([opt_path, str(path), "--convert-tessel-to-linalg"],
                          capture_output=True, timeout=60)
    assert proc.returncode > 0 and b"expects the memref form" in proc.stderr


def test_tessel_opt_missing_file(opt_path, tmp_path):
    proc = subprocess.run([opt_path, str(tmp_path / "nope.mlir")], capture_output=True, timeout=60)
    assert proc.returncode > 0 and b"nope.mlir" in proc.stderr


@pytest.mark.parametrize("name", sorted(set(BAD_INPUTS) - {"empty", "nul_bytes"}))
def test_python_parse_raises(name):
    ctx = tessel.context()
    with pytest.raises((ir.MLIRError, ValueError)):
        tessel.parse(BAD_INPUTS[name], ctx)
    # The process lives on and the context still works.
    assert "tessel.gemm" in str(tessel.parse(GOOD, ctx))
