//===- Paged.h - the paged KV-cache ops on the GPU --------------*- C++ -*-===//
//
// tessel.paged_attention (decode, Paged/Decode.cpp), tessel.paged_kv_write
// and tessel.copy_blocks (bandwidth kernels, Cache/Cache.cpp). The sizes that
// change from call to call (sequences, max_blocks, tokens, pairs, and
// num_blocks of the caches) may be run-time sizes: every operand is viewed as
// a flat 1-D memref of static bound and indexed with sizes read by memref.dim
// outside the kernel; all index arithmetic is 64-bit (index), so a cache may
// exceed 2^31 elements.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_PAGED_PAGED_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_PAGED_PAGED_H

#include "GPU/KernelBuilder.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {

/// A memref operand as a flat 1-D memref of static bound over the same
/// memory (a run-time leading size counts as 2^31 - 1) and its sizes, read
/// with memref.dim at the builder's point where they are run-time.
struct FlatOperand {
  Value flat;
  SmallVector<Size> sizes;
};
FlatOperand flatten(OpBuilder &b, Location loc, Value v);

/// paged_attention's kernel configuration: the op's #tessel.paged_config
/// over the defaults, checked against the hardware.
struct DecodeConfig {
  bool split;             // v2: split-K over partitions + a reduction kernel
  int64_t warps;          // each warp owns 16 tokens of a key tile
  int64_t stages;         // cp.async ring depth
  int64_t partitionSize;  // v2: tokens per partition
  int64_t rowTiles;       // 16-head row tiles of the group per block (MQA: 2)
  int64_t warpRowTiles;   // of those, each warp's (1: the warps split them)
  int64_t cluster;        // v2: partitions per thread-block cluster (1: none)
  /// Warps that share one 16-token key slice (one per row tile they split).
  int64_t rowWarps() const { return rowTiles / warpRowTiles; }
  int64_t tokenWarps() const { return warps / rowWarps(); }
  int64_t tileTokens() const { return 16 * tokenWarps(); }
  int64_t rows() const { return 16 * rowTiles; }
};

/// The config for `op`; errors are emitted on the op and name the limit.
FailureOr<DecodeConfig> configureDecode(PagedAttentionOp op);
/// Dynamic shared memory of the decode kernel.
int64_t decodeSharedBytes(PagedAttentionOp op, const DecodeConfig &config);
/// Padding (f32 elements) of the rows of the key slices' O in the combine:
/// with it the lanes' 8-byte stores of an accumulator row pair are
/// conflict-free (a row is 8 banks further than the one before).
constexpr int64_t kCombinePad = 8;
/// v2: block-table entries of one partition the kernel keeps in shared
/// memory (after everything else); 0 for v1.
int64_t decodeTableEntries(PagedAttentionOp op, const DecodeConfig &config);

/// Replace the ops by their kernels (checks first; errors on the op).
LogicalResult lowerPagedAttention(PagedAttentionOp op);
LogicalResult lowerPagedKVWrite(PagedKVWriteOp op);
LogicalResult lowerCopyBlocks(CopyBlocksOp op);

} // namespace mlir::tessel

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_PAGED_PAGED_H
