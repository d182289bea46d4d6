//===- TesselDialect.td - the tessel dialect ---------------*- tablegen -*-===//

#ifndef TESSEL_DIALECT_TD
#define TESSEL_DIALECT_TD

include "mlir/IR/OpBase.td"

def Tessel_Dialect : Dialect {
  let name = "tessel";
  let summary = "Tensor-level GEMM and attention kernels lowered to GPU code";
  let description = [{
    The `tessel` dialect holds a handful of coarse tensor operations that GPU
    kernel authors care about: tiled GEMM, flash attention, paged (decode)
    attention and the two paged KV-cache maintenance operations of a
    vLLM-style block manager.

    Every op is in destination-passing style: it takes its init tensor(s)
    and, in the tensor form, returns the updated value(s). One-shot
    bufferization turns the tensor form into the memref form, in which the
    ops have no results and write their init buffers in place. Lowerings
    (to linalg/scf for the host, to gpu/nvgpu/nvvm for NVIDIA GPUs) work on
    the memref form.
  }];
  let cppNamespace = "::mlir::tessel";
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
  ];
}

class Tessel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tessel_Dialect, mnemonic, traits>;

#endif // TESSEL_DIALECT_TD
