//===- Tma.h - tensor memory accelerator copies -----------------*- C++ -*-===//
//
// TMA moves whole boxes of a tensor between global and shared memory
// asynchronously, described by a 128-byte CUtensorMap that the host encodes
// (runtime/tensormap.py) and passes by value as a kernel parameter (a
// `.param .align 64 .b8 [128]`, see tessel-tensormap-params).
//
// Host side, `describe` records what the runtime needs to encode the map:
// an nvgpu.tma.create.descriptor of the global memref (a function argument,
// or a memref.reinterpret_cast of one giving other dims and strides) whose
// type carries the box, element type, swizzle, interleave, L2 promotion and
// out-of-bounds fill; cast to !llvm.ptr, the value a gpu.launch captures.
// The compiler's artifact reader turns it into a "tensormap" parameter.
//
// Device side the map is that !llvm.ptr (a grid-constant parameter's
// address): loads complete on an mbarrier (tx bytes = the box's bytes,
// out-of-bounds elements included: TMA fills them), stores are bulk groups.
// Coordinates are element indices in memref order (outermost first) and
// may be negative or past the end: TMA clips and zero-fills.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_TMA_H
#define TESSEL_LIB_GPU_TMA_H

#include "GPU/KernelBuilder.h"
#include "GPU/SmemLayout.h"

namespace mlir::tessel::tma {

struct TensorMapOptions {
  int64_t swizzleBytes = 0;     // 0 (none), 32, 64 or 128
  int64_t interleaveBytes = 0;  // 0 (none), 16 or 32
  int64_t l2PromotionBytes = 0; // 0 (none), 64, 128 or 256
  bool oobNaN = false;          // out-of-bounds elements read as NaN, not 0
};

/// Why a box cannot be loaded with these options (rank 1..5, box extents in
/// [1, 256], inner extent a multiple of 16 bytes and, when swizzled, at most
/// the swizzle span, options among the listed values); empty when it can.
std::string boxError(ArrayRef<int64_t> box, int64_t elemBytes, const TensorMapOptions &opts);

/// Host code: the tensor map of `global` (a ranked memref in the host
/// function) for boxes of extents `box` (memref order), as the !llvm.ptr a
/// gpu.launch passes to its kernel. The box must pass boxError.
Value describe(OpBuilder &b, Location loc, Value global, ArrayRef<int64_t> box,
               const TensorMapOptions &opts);

/// Bytes one box moves.
int64_t boxBytes(ArrayRef<int64_t> box, int64_t elemBytes);

/// Loads the box at `coords` (index, memref order) into shared memory at
/// `dstAddress` (index; 128-byte aligned, 1024 for the 128-byte swizzle),
/// completing as transactions on the mbarrier `bar` (!llvm.ptr<3>), which
/// the caller arms with the box's bytes. `multicastMask` (i16, optional)
/// writes the box to every CTA of the cluster whose bit is set.
void load(KernelBuilder &e, Value tensorMap, Value dstAddress, ValueRange coords, Value bar,
          Value multicastMask = Value());

/// Loads a swizzled tile (SmemLayout::swizzled) whose first element is
/// global `coords` (memref order; the innermost coordinate is the tile's
/// first column): one box of rows x one swizzle row per column block, each
/// landing at its block, all completing on `bar`. The map's box must be
/// that column block.
void loadSwizzledTile(KernelBuilder &e, Value tensorMap, const SmemLayout &layout,
                      Value dstAddress, ArrayRef<Value> coords, Value bar);

/// Block `rank` (an index) of a cluster of `blocks` blocks that all load
/// the same swizzled tile: it loads rows [rank, rank + 1) * rows / blocks
/// of every column block and multicasts them to blocks [0, blocks), where
/// each lands at its place in the tile and completes on the barrier at
/// `bar`'s offset. The map's box must be that piece (rows / blocks x one
/// swizzle row); every block arms its barrier with the whole tile's bytes.
void multicastSwizzledTile(KernelBuilder &e, Value tensorMap, const SmemLayout &layout,
                           Value dstAddress, ArrayRef<Value> coords, Value bar, Value rank,
                           int64_t blocks);

/// Stores the box at shared `srcAddress` to `coords`; what falls outside the
/// tensor is not written. Shared-memory writes by threads must be made
/// visible first (fenceSharedToAsync and a barrier). Stores are bulk
/// asynchronous: commitStores groups them, waitStores waits.
void store(KernelBuilder &e, Value tensorMap, Value srcAddress, ValueRange coords);
/// The store twin of loadSwizzledTile: one box per column block of the
/// swizzled tile at `srcAddress` to global `coords` (its first element).
void storeSwizzledTile(KernelBuilder &e, Value tensorMap, const SmemLayout &layout,
                       Value srcAddress, ArrayRef<Value> coords);
void commitStores(KernelBuilder &e);
/// Waits until at most `pending` store groups are in flight; `readsOnly`:
/// until they have only finished reading shared memory (it may be reused).
void waitStores(KernelBuilder &e, int64_t pending, bool readsOnly = false);

/// Brings the descriptor into the cache ahead of the first copy.
void prefetch(KernelBuilder &e, Value tensorMap);

/// Orders this thread's generic-proxy shared-memory writes before later
/// async-proxy (TMA, wgmma) accesses.
void fenceSharedToAsync(KernelBuilder &e);

} // namespace mlir::tessel::tma

#endif // TESSEL_LIB_GPU_TMA_H
