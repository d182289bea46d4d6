//===- GemmTiles.h - pieces shared by the tensor-core GEMM rungs -*- C++ -*-===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMTILES_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMTILES_H

#include "Common/Emitter.h"
#include "GemmSimt.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {

/// Elements per 16-byte cp.async of a 2-byte type.
constexpr int64_t kChunk = 8;

/// The tile of block (pidM, pidN) after grouped rasterization: consecutive
/// blocks sweep `groupM` block rows column by column, so the A and B tiles
/// they share are still in L2.
std::pair<Value, Value> rasterize(Emitter &e, Value blockX, Value blockY, int64_t gridM,
                                  int64_t gridN, int64_t groupM);

/// Sizes of a memref-form gemm and the extents, in their global layouts
/// (rows x cols, cols contiguous), of one block's A and B tiles.
struct GemmShape {
  bool batched;
  int64_t batches, M, N, K;
  int64_t aRows, aCols, bRows, bCols;
};
GemmShape gemmShape(GemmOp op, const GemmConfig &config);

/// Shared indices of element (r, c) of an operand tile.
using TileIndex = function_ref<SmallVector<Value>(Value r, Value c)>;

/// Issues the copies of one block's A and B tiles at K offset `k0` with
/// `threads` threads (thread id `tid`; any count, the last round guarded):
/// 16-byte cp.async per chunk, zero-filling past the edges, or element loads
/// and stores when rows do not start on 16-byte boundaries. `batch` is null
/// for unbatched gemms.
void copyOperandTiles(Emitter &e, GemmOp op, const GemmShape &shape, Value batch, Value tid,
                      int64_t threads, Value k0, Value rowBase, Value colBase, Value dstA,
                      TileIndex indexA, Value dstB, TileIndex indexB);

/// D[row, col] = alpha * acc (+ beta * C[row, col]) when `inBounds`.
void storeResult(Emitter &e, GemmOp op, Value batch, Value row, Value col, Value acc,
                 Value inBounds);

} // namespace mlir::tessel

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMMTILES_H
