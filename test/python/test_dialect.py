"""The dialect from Python: builders, parsing, printing, verification, passes."""

import pytest
from mlir import ir
from mlir.dialects import func
from mlir.passmanager import PassManager

import tessel
from tessel.dialects import tessel as T


def t(ctx, s):
    return ir.Type.parse(s, ctx)


def build(ctx, arg_types, body):
    with ctx, ir.Location.unknown():
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            f = func.FuncOp("f", ir.FunctionType.get([t(ctx, s) for s in arg_types], []))
            block = f.add_entry_block()
            with ir.InsertionPoint(block):
                body(*block.arguments)
                func.ReturnOp([])
    return module


def test_context_has_dialect():
    ctx = tessel.context()
    assert ctx.get_dialect_descriptor("tessel").namespace == "tessel"
    assert "tessel" in [d for d in ("tessel",) if ctx.is_registered_operation("tessel.gemm")]


def test_build_every_op_tensor_form():
    ctx = tessel.context()
    types = ["tensor<16x32xf16>", "tensor<32x8xf16>", "tensor<16x8xf32>",
             "tensor<1x4x16x32xf16>", "tensor<1x4x16xf32>",
             "tensor<2x4x64xbf16>", "tensor<8x16x2x64xbf16>", "tensor<2x3xi32>", "tensor<2xi32>",
             "tensor<5x2x64xbf16>", "tensor<5xi64>", "tensor<3x2xi64>"]
    results = {}

    def body(a, b, d, q, lse, pq, kc, bt, lens, key, slots, mapping):
        f32 = lambda x: ir.FloatAttr.get_f32(x)  # noqa: E731
        results["gemm"] = T.gemm(a, b, d, c=d, alpha=f32(2.0), beta=f32(1.0))
        results["fa"] = T.flash_attention(q, q, q, q, lse=lse, causal=True)
        results["pa"] = T.paged_attention(pq, kc, kc, bt, lens, pq)
        results["kvw"] = T.paged_kv_write(key, key, slots, kc, kc)
        results["cb"] = T.copy_blocks(mapping, kc, kc)

    module = build(ctx, types, body)
    assert module.operation.verify()
    text = str(module)
    for name in ("gemm", "flash_attention", "paged_attention", "paged_kv_write", "copy_blocks"):
        assert f"tessel.{name}" in text
    assert isinstance(results["gemm"], ir.Value)
    assert len(results["fa"]) == 2 and len(results["kvw"]) == 2
    # Round trip through the parser and the generic printer.
    again = tessel.parse(text, ctx)
    assert str(again) == text
    generic = again.operation.get_asm(print_generic_op_form=True)
    assert '"tessel.gemm"' in generic
    assert str(tessel.parse(generic, ctx)) == text


def test_parsed_ops_are_generated_classes():
    ctx = tessel.context()
    m = tessel.parse("""
      func.func @f(%a: memref<8x4xf32>, %b: memref<8x2xf32>, %d: memref<4x2xf32>) {
        tessel.gemm %a, %b into %d {alpha = 3.0 : f32, transpose_a} : memref<8x4xf32>, memref<8x2xf32> into memref<4x2xf32>
        return
      }""", ctx)
    op = m.body.operations[0].regions[0].blocks[0].operations[0]
    assert isinstance(op, T.GemmOp)
    assert op.alpha.value == 3.0
    assert op.transpose_a and not op.transpose_b
    assert op.c is None


def test_memref_form_builder_returns_op():
    ctx = tessel.context()
    ops = []
    module = build(ctx, ["memref<4x8xf32>", "memref<8x2xf32>", "memref<4x2xf32>"],
                   lambda a, b, d: ops.append(T.gemm(a, b, d)))
    assert isinstance(ops[0], T.GemmOp) and len(ops[0].results) == 0
    assert module.operation.verify()


def test_verifier_error_raises_mlir_error():
    ctx = tessel.context()
    with pytest.raises(ir.MLIRError, match="contraction dimension K mismatch: 'a' has 8"):
        tessel.parse("""
          func.func @f(%a: tensor<16x8xf16>, %b: tensor<9x8xf16>, %i: tensor<16x8xf32>) -> tensor<16x8xf32> {
            %d = tessel.gemm %a, %b into %i : tensor<16x8xf16>, tensor<9x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
            return %d : tensor<16x8xf32>
          }""", ctx)


def test_verifier_error_from_builder():
    ctx = tessel.context()
    module = build(ctx, ["tensor<16x8xf16>", "tensor<9x8xf16>", "tensor<16x8xf32>"],
                   lambda a, b, d: T.gemm(a, b, d))
    with pytest.raises(ir.MLIRError, match="contraction dimension K"):
        module.operation.verify()


def test_pass_manager_pipeline_with_our_passes():
    ctx = tessel.context()
    m = tessel.parse("""
      func.func @f(%a: tensor<4x8xf32>, %b: tensor<8x2xf32>, %i: tensor<4x2xf32>) {
        %d = tessel.gemm %a, %b into %i : tensor<4x8xf32>, tensor<8x2xf32> into tensor<4x2xf32> -> tensor<4x2xf32>
        bufferization.materialize_in_destination %d in %i : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
        return
      }""", ctx)
    with ctx:
        PassManager.parse("builtin.module(tessel-bufferize, convert-tessel-to-linalg)").run(m.operation)
    text = str(m)
    assert "tessel." not in text and "linalg.generic" in text
    with ctx:
        PassManager.parse("builtin.module(tessel-cpu-lower, tessel-cpu-to-llvm)").run(m.operation)
    assert "llvm.func @f" in str(m)


def test_canonicalize_from_python():
    ctx = tessel.context()
    m = tessel.parse("""
      func.func @f(%a: tensor<4x8xf32>, %b: tensor<8x2xf32>, %c: tensor<4x2xf32>, %i: tensor<4x2xf32>) -> tensor<4x2xf32> {
        %d = tessel.gemm %a, %b, %c into %i {beta = 0.0 : f32} : tensor<4x8xf32>, tensor<8x2xf32>, tensor<4x2xf32> into tensor<4x2xf32> -> tensor<4x2xf32>
        return %d : tensor<4x2xf32>
      }""", ctx)
    with ctx:
        PassManager.parse("builtin.module(canonicalize)").run(m.operation)
    op = m.body.operations[0].regions[0].blocks[0].operations[0]
    assert isinstance(op, T.GemmOp) and op.c is None
