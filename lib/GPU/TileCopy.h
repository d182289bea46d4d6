//===- TileCopy.h - global -> shared tile copies ----------------*- C++ -*-===//
//
// A block's threads copy a rows x cols tile (cols contiguous in global
// memory) into shared memory, 16 bytes per cp.async (nvgpu.device_async_copy)
// for 1-, 2- and 4-byte elements, zero-filling whatever lies past the valid
// extents; element loads and stores instead when rows do not start on
// 16-byte boundaries. Where the tile's rows come from is a callback: a
// prefix of fixed indices (batch, head), a strided layout, or a gather
// through a block table (paged KV) all use the same copy.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_TILECOPY_H
#define TESSEL_LIB_GPU_TILECOPY_H

#include "GPU/KernelBuilder.h"

namespace mlir::tessel {

/// Indices of element (r, c) in a memref.
using TileIndex = function_ref<SmallVector<Value>(Value r, Value c)>;

struct TileCopy {
  Value src;             // global memref
  int64_t rows, cols;    // tile extents; cols * element size a multiple of 16 bytes
  Value rowLimit;        // valid rows / columns (index); beyond them: zeros
  Value colLimit;
  bool aligned;          // every row starts on a 16-byte boundary: cp.async
  TileIndex srcIndex;    // src indices of global element (row, col)
  Value dst;             // shared memref
  TileIndex dstIndex;    // dst indices of tile element (r, c)
};

/// Issues the copy of the tile whose first element is global (r0, c0) with
/// `threads` threads, `tid` the caller's index among them (any count: the
/// last round is guarded). Asynchronous copies still have to be committed
/// and waited for by the caller.
void copyTile(KernelBuilder &e, const TileCopy &t, Value tid, int64_t threads, Value r0,
              Value c0);

/// The indices {prefix..., row, col}: a tile of a plain (batched) matrix.
SmallVector<Value> withPrefix(ValueRange prefix, Value row, Value col);

/// cp.async bookkeeping: commit every copy issued since the last commit as
/// one group; wait until at most `pending` groups are in flight.
Value commitCopies(KernelBuilder &e);
void waitCopies(KernelBuilder &e, Value group, int64_t pending);

} // namespace mlir::tessel

#endif // TESSEL_LIB_GPU_TILECOPY_H
