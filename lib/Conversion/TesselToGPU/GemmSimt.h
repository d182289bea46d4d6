//===- GemmSimt.h - SIMT rungs of the GEMM ladder ---------------*- C++ -*-===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMSIMT_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMSIMT_H

#include "mlir/IR/Builders.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {

enum class GemmStrategy { Naive, Smem, RegTile, Pipelined, Mma, Wgmma };

/// Tile sizes of one GEMM kernel; validated before any IR is built.
struct GemmConfig {
  GemmStrategy strategy;
  int64_t blockM, blockN, blockK;
  // mma: warps along M and N; mma and wgmma: software-pipeline stages and
  // block rows swept together.
  int64_t warpsM = 0, warpsN = 0, stages = 0, groupM = 0;
  // regtile/pipelined only: outputs per thread along M and N.
  int64_t threadM = 0, threadN = 0;
  // wgmma only: 128-thread warpgroups stacked along M.
  int64_t warpgroups = 0;
};

/// Replaces a memref-form, statically shaped gemm by a gpu.launch: naive and
/// smem rungs.
void emitSimtGemm(OpBuilder &b, GemmOp op, const GemmConfig &config);

/// Block + thread tiling with register accumulators and 128-bit shared loads
/// (regtile); with `config.strategy == Pipelined`, double-buffered shared
/// tiles with the next tile prefetched into registers during the compute.
void emitRegTileGemm(OpBuilder &b, GemmOp op, const GemmConfig &config);

/// Tensor-core GEMM (f16/bf16 inputs): cp.async multi-stage pipeline into a
/// padded shared layout, ldmatrix fragments, mma.sync m16n8k16.
void emitMmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &config);

/// Dynamic shared memory the mma kernel needs for `config` and `op`.
int64_t mmaSharedBytes(GemmOp op, const GemmConfig &config);

/// Hopper tensor-core GEMM (f16/bf16 inputs, sm_90a): cp.async multi-stage
/// pipeline into 128-byte-swizzled shared tiles read by wgmma.mma_async.
void emitWgmmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &config);

/// Dynamic shared memory the wgmma kernel needs, alignment slack included.
int64_t wgmmaSharedBytes(GemmOp op, const GemmConfig &config);

} // namespace mlir::tessel

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMSIMT_H
