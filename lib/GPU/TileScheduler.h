//===- TileScheduler.h - which tile a thread block works on -----*- C++ -*-===//
//
// Grouped rasterization (consecutive blocks sweep `groupM` block rows column
// by column, so the operand tiles they share are still in L2), persistent
// tiles (a grid of about one block per SM walks the tile space), and split
// ranges (split-K: part s of n items cut into `splits` aligned parts).
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_TILESCHEDULER_H
#define TESSEL_LIB_GPU_TILESCHEDULER_H

#include "GPU/KernelBuilder.h"

namespace mlir::tessel {

/// (tile row, tile column) of block (blockX, blockY) in a gridM x gridN tile
/// space after grouped rasterization; identity when groupM <= 1.
std::pair<Value, Value> rasterize(KernelBuilder &e, Value blockX, Value blockY, Size gridM,
                                  int64_t gridN, int64_t groupM);

/// for (tile = first, j = 0; tile < numTiles; tile += stride, ++j)
/// body(tile, j): a persistent block's walk over the tile space (first =
/// block id, stride = grid size), j the tiles it walked before. The loop
/// runs over j, so neither j nor anything a caller derives from it (a ring
/// count) needs a division by the run-time stride.
void forEachTile(KernelBuilder &e, Value first, Value numTiles, Value stride,
                 function_ref<void(Value tile, Value j)> body);

/// [begin, end) of part `s` when [0, n) is cut into `splits` parts whose
/// boundaries are multiples of `align`; empty (begin == end) for parts past
/// the end.
std::pair<Value, Value> splitRange(KernelBuilder &e, Value n, Value s, Value splits,
                                   int64_t align);

} // namespace mlir::tessel

#endif // TESSEL_LIB_GPU_TILESCHEDULER_H
