//===- Passes.td - tessel passes ---------------------------*- tablegen -*-===//

#ifndef TESSEL_PASSES_TD
#define TESSEL_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertTesselToLinalg : Pass<"convert-tessel-to-linalg"> {
  let summary = "Lower memref-form tessel ops to linalg, scf, arith and math";
  let description = [{
    The reference semantics of every tessel op, for the host: `tessel.gemm`
    becomes a zero fill of an f32 accumulator, a `linalg.generic` contraction
    and an epilogue `linalg.generic`; the attention and paged-cache ops become
    `scf.for` nests over `memref.load`/`memref.store`, computing scores,
    softmax and products in f32.

    The pass works on the memref form: run `one-shot-bufferize` first. A
    tensor-form tessel op left in the input is reported as an error.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

#endif // TESSEL_PASSES_TD
