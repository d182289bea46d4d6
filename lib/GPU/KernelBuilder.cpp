//===- KernelBuilder.cpp - shared-memory arena ----------------------------===//

#include "GPU/KernelBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::tessel;

static Attribute workgroupSpace(MLIRContext *ctx) {
  return gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
}

SmemArena::SmemArena(KernelBuilder &e) : e(e) {
  window = gpu::DynamicSharedMemoryOp::create(
      e.b, e.loc,
      MemRefType::get({ShapedType::kDynamic}, e.b.getI8Type(), AffineMap(),
                      workgroupSpace(e.b.getContext())));
}

void SmemArena::alignTo(int64_t align) {
  address = memref::ExtractAlignedPointerAsIndexOp::create(e.b, e.loc, window);
  origin = e.rem(e.sub(e.idx(align), e.rem(address, e.idx(align))), e.idx(align));
}

Value SmemArena::view(ArrayRef<int64_t> shape, Type elt, int64_t byteOffset) {
  auto type = MemRefType::get(shape, elt, AffineMap(), workgroupSpace(e.b.getContext()));
  Value offset = origin ? (byteOffset ? e.add(origin, e.idx(byteOffset)) : origin)
                        : e.idx(byteOffset);
  return memref::ViewOp::create(e.b, e.loc, type, window, offset, ValueRange{});
}

Value SmemArena::addressOf(int64_t byteOffset) {
  Value base = address ? address
                       : memref::ExtractAlignedPointerAsIndexOp::create(e.b, e.loc, window)
                             .getResult();
  if (origin)
    base = e.add(base, origin);
  return byteOffset ? e.add(base, e.idx(byteOffset)) : base;
}
