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

/// (group, tile) of a 1-D grid over groups x tilesPerGroup with the tile
/// varying fastest: the blocks running at once are the tiles of a few groups
/// (attention: the query tiles of a few heads), so the operand they share
/// (that head's K and V) is read from DRAM about once and then hit in L2.
/// `reverse` walks each group's tiles last first (causal attention: the
/// heaviest query tiles start first).
std::pair<Value, Value> tileMajor(KernelBuilder &e, Value block, Value tilesPerGroup,
                                  bool reverse);

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
