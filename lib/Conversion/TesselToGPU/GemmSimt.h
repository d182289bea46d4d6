//===- GemmSimt.h - SIMT rungs of the GEMM ladder ---------------*- C++ -*-===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMSIMT_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMSIMT_H

#include "mlir/IR/Builders.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {

enum class GemmStrategy { Naive, Smem };

/// Tile sizes of one GEMM kernel; validated before any IR is built.
struct GemmConfig {
  GemmStrategy strategy;
  int64_t blockM, blockN, blockK;
};

/// Replaces a memref-form, statically shaped gemm by a gpu.launch.
void emitSimtGemm(OpBuilder &b, GemmOp op, const GemmConfig &config);

} // namespace mlir::tessel

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMSIMT_H
