//===- Cache.cpp - paged_kv_write and copy_blocks: bandwidth kernels ------===//
//
// Both move whole cache rows (Hkv x D contiguous elements per token slot) in
// 16-byte vectors, one vector per thread:
//
//   paged_kv_write (vLLM reshape_and_cache_flash): thread i of the flat
//     (token, vector) space; slot = slot_mapping[token]; if slot >= 0:
//     cache[slot * Hkv * D + v * V ..] = key[token * Hkv * D + v * V ..]
//     (the same for values). Slot-major addressing is the NHD layout:
//     (block * block_size + offset) * Hkv * D.
//   copy_blocks: block (pair, vector group); src, dst = mapping[pair];
//     cache[dst * B + v * V ..] = cache[src * B + v * V ..], B = bs * Hkv * D.
//
// Requires 16-byte aligned base pointers (what the allocators return).
//
//===----------------------------------------------------------------------===//

#include "../Paged/Paged.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
constexpr int64_t kMaxGridY = 65535;

int64_t threadsOf(PagedConfigAttr attr) {
  return 32 * (attr && attr.getWarps() ? attr.getWarps() : 4);
}

/// Elements per 16-byte vector. The op's verifier guarantees f16, bf16 or
/// f32 and a head dimension that is a multiple of 8, so cache rows are whole
/// vectors; what is left to check is which sizes are run-time ones.
FailureOr<int64_t> vectorWidth(Operation *op, MemRefType cache) {
  for (int64_t d = 1; d < 4; ++d)
    if (cache.isDynamicDim(d))
      return op->emitOpError() << "cache " << cache << " has a run-time size in dimension " << d
                               << "; only num_blocks may be run-time";
  return 16 / (cache.getElementTypeBitWidth() / 8);
}

Value loadVector(KernelBuilder &e, VectorType type, Value mem, Value at) {
  return vector::LoadOp::create(e.b, e.loc, type, mem, ValueRange{at}, false,
                                llvm::MaybeAlign(16));
}
void storeVector(KernelBuilder &e, Value v, Value mem, Value at) {
  vector::StoreOp::create(e.b, e.loc, v, mem, ValueRange{at}, false, llvm::MaybeAlign(16));
}
} // namespace

LogicalResult mlir::tessel::lowerPagedKVWrite(PagedKVWriteOp op) {
  auto cacheType = cast<MemRefType>(op.getKeyCache().getType());
  FailureOr<int64_t> width = vectorWidth(op, cacheType);
  if (failed(width))
    return failure();
  for (Value v : {op.getKey(), op.getValue()})
    for (int64_t d = 1; d < 3; ++d)
      if (cast<MemRefType>(v.getType()).isDynamicDim(d))
        return op.emitOpError() << "keys/values " << v.getType()
                                << " have a run-time size in dimension " << d
                                << "; only the number of tokens may be run-time";
  OpBuilder b(op);
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  FlatOperand key = flatten(b, loc, op.getKey()), value = flatten(b, loc, op.getValue());
  FlatOperand slots = flatten(b, loc, op.getSlotMapping());
  FlatOperand kc = flatten(b, loc, op.getKeyCache()), vc = flatten(b, loc, op.getValueCache());
  int64_t rowElems = cacheType.getDimSize(2) * cacheType.getDimSize(3);
  int64_t perToken = rowElems / *width, threads = threadsOf(op.getConfigAttr());
  Value total = e.mul(e.size(key.sizes[0]), e.idx(perToken));
  auto launch = gpu::LaunchOp::create(b, loc, e.ceilDiv(Size::of(total), threads), e.idx(1),
                                      e.idx(1), e.idx(threads), e.idx(1), e.idx(1), Value());
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value i = e.add(e.mul(launch.getBlockIds().x, e.idx(threads)), launch.getThreadIds().x);
    e.when(e.lt(i, total), [&] {
      Value token = e.div(i, e.idx(perToken));
      Value offset = e.mul(e.rem(i, e.idx(perToken)), e.idx(*width));
      Value slot = e.toSignedIndex(e.load(slots.flat, {token}));
      // Negative slots (padding) are skipped.
      e.when(e.sle(e.idx(0), slot), [&] {
        auto type = VectorType::get({*width}, cacheType.getElementType());
        Value src = e.add(e.mul(token, e.idx(rowElems)), offset);
        Value dst = e.add(e.mul(slot, e.idx(rowElems)), offset);
        Value k = loadVector(e, type, key.flat, src), v = loadVector(e, type, value.flat, src);
        storeVector(e, k, kc.flat, dst);
        storeVector(e, v, vc.flat, dst);
      });
    });
    gpu::TerminatorOp::create(b, loc);
  }
  op.erase();
  return success();
}

LogicalResult mlir::tessel::lowerCopyBlocks(CopyBlocksOp op) {
  auto cacheType = cast<MemRefType>(op.getKeyCache().getType());
  FailureOr<int64_t> width = vectorWidth(op, cacheType);
  if (failed(width))
    return failure();
  int64_t blockElems = cacheType.getDimSize(1) * cacheType.getDimSize(2) *
                       cacheType.getDimSize(3);
  int64_t vectors = blockElems / *width, threads = threadsOf(op.getConfigAttr());
  int64_t groups = llvm::divideCeil(vectors, threads);
  if (groups > kMaxGridY)
    return op.emitOpError() << "a cache block of " << blockElems << " elements needs " << groups
                            << " thread blocks per pair; the limit is " << kMaxGridY;
  OpBuilder b(op);
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  FlatOperand mapping = flatten(b, loc, op.getBlockMapping());
  FlatOperand kc = flatten(b, loc, op.getKeyCache()), vc = flatten(b, loc, op.getValueCache());
  auto launch = gpu::LaunchOp::create(b, loc, e.size(mapping.sizes[0]), e.idx(groups), e.idx(1),
                                      e.idx(threads), e.idx(1), e.idx(1), Value());
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value pair = launch.getBlockIds().x;
    Value v = e.add(e.mul(launch.getBlockIds().y, e.idx(threads)), launch.getThreadIds().x);
    e.when(e.lt(v, e.idx(vectors)), [&] {
      Value src = e.toSignedIndex(e.load(mapping.flat, {e.mul(pair, e.idx(2))}));
      Value dst = e.toSignedIndex(e.load(mapping.flat, {e.add(e.mul(pair, e.idx(2)), e.idx(1))}));
      Value offset = e.mul(v, e.idx(*width));
      Value from = e.add(e.mul(src, e.idx(blockElems)), offset);
      Value to = e.add(e.mul(dst, e.idx(blockElems)), offset);
      auto type = VectorType::get({*width}, cacheType.getElementType());
      Value k = loadVector(e, type, kc.flat, from), val = loadVector(e, type, vc.flat, from);
      storeVector(e, k, kc.flat, to);
      storeVector(e, val, vc.flat, to);
    });
    gpu::TerminatorOp::create(b, loc);
  }
  op.erase();
  return success();
}
