//===- GemmTiles.h - pieces shared by the tensor-core GEMM rungs -*- C++ -*-===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMTILES_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMTILES_H

#include "Common/Emitter.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {

/// Elements per 16-byte cp.async of a 2-byte type.
constexpr int64_t kChunk = 8;

/// The tile of block (pidM, pidN) after grouped rasterization: consecutive
/// blocks sweep `groupM` block rows column by column, so the A and B tiles
/// they share are still in L2.
std::pair<Value, Value> rasterize(Emitter &e, Value blockX, Value blockY, int64_t gridM,
                                  int64_t gridN, int64_t groupM);

/// Where one 2-byte-element operand tile comes from and goes to.
struct TileCopy {
  Value src;          // global memref (rank 2, or 3 with `batch`)
  Value batch;        // batch index, or null
  Value dst;          // shared memref
  int64_t rows, cols; // tile shape in the global layout (cols contiguous)
  int64_t rowLimit, colLimit;
  /// Shared indices of element (r, c) of the tile.
  function_ref<SmallVector<Value>(Value r, Value c)> dstIndex;
};

/// Issues the copy of the tile whose first element is global (r0, c0) with
/// `threads` threads (thread id `tid`; any count, the last round guarded):
/// 16-byte cp.async per chunk,
/// zero-filling past the edges, or element loads and stores when rows do not
/// start on 16-byte boundaries.
void copyTile(Emitter &e, const TileCopy &t, Value tid, int64_t threads, Value r0, Value c0);

} // namespace mlir::tessel

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMTILES_H
