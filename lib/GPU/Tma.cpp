//===- Tma.cpp - tensor memory accelerator copies -------------------------===//

#include "GPU/Tma.h"

#include "GPU/Cluster.h"
#include "GPU/Mbarrier.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::tessel;

int64_t tma::boxBytes(ArrayRef<int64_t> box, int64_t elemBytes) {
  int64_t n = elemBytes;
  for (int64_t d : box)
    n *= d;
  return n;
}

std::string tma::boxError(ArrayRef<int64_t> box, int64_t elemBytes,
                          const TensorMapOptions &opts) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (box.empty() || box.size() > 5)
    os << "a tensor map box has 1 to 5 dimensions, got " << box.size();
  else if (llvm::any_of(box, [](int64_t d) { return d < 1 || d > 256; })) {
    os << "box extents must be in [1, 256], got [";
    llvm::interleaveComma(box, os);
    os << "]";
  }
  else if (!llvm::is_contained({0, 32, 64, 128}, opts.swizzleBytes))
    os << "swizzle " << opts.swizzleBytes << " must be 0, 32, 64 or 128 bytes";
  else if (!llvm::is_contained({0, 16, 32}, opts.interleaveBytes))
    os << "interleave " << opts.interleaveBytes << " must be 0, 16 or 32 bytes";
  else if (!llvm::is_contained({0, 64, 128, 256}, opts.l2PromotionBytes))
    os << "L2 promotion " << opts.l2PromotionBytes << " must be 0, 64, 128 or 256 bytes";
  else if (opts.interleaveBytes == 0 && (box.back() * elemBytes) % 16)
    os << "the box's inner extent (" << box.back() << " x " << elemBytes
       << " bytes) must be a multiple of 16 bytes";
  else if (opts.interleaveBytes == 0 && opts.swizzleBytes &&
           box.back() * elemBytes > opts.swizzleBytes)
    os << "the box's inner extent (" << box.back() << " x " << elemBytes
       << " bytes) must not exceed the " << opts.swizzleBytes << "-byte swizzle span";
  return text;
}

static nvgpu::TensorMapSwizzleKind swizzleKind(int64_t bytes) {
  switch (bytes) {
  case 32: return nvgpu::TensorMapSwizzleKind::SWIZZLE_32B;
  case 64: return nvgpu::TensorMapSwizzleKind::SWIZZLE_64B;
  case 128: return nvgpu::TensorMapSwizzleKind::SWIZZLE_128B;
  default: return nvgpu::TensorMapSwizzleKind::SWIZZLE_NONE;
  }
}

static nvgpu::TensorMapL2PromoKind l2Kind(int64_t bytes) {
  switch (bytes) {
  case 64: return nvgpu::TensorMapL2PromoKind::L2PROMO_64B;
  case 128: return nvgpu::TensorMapL2PromoKind::L2PROMO_128B;
  case 256: return nvgpu::TensorMapL2PromoKind::L2PROMO_256B;
  default: return nvgpu::TensorMapL2PromoKind::L2PROMO_NONE;
  }
}

static nvgpu::TensorMapInterleaveKind interleaveKind(int64_t bytes) {
  switch (bytes) {
  case 16: return nvgpu::TensorMapInterleaveKind::INTERLEAVE_16B;
  case 32: return nvgpu::TensorMapInterleaveKind::INTERLEAVE_32B;
  default: return nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE;
  }
}

Value tma::describe(OpBuilder &b, Location loc, Value global, ArrayRef<int64_t> box,
                    const TensorMapOptions &opts) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<MemRefType>(global.getType());
  Type elt = type.getElementType();
  assert(boxError(box, elt.getIntOrFloatBitWidth() / 8, opts).empty() &&
         "tma::describe: check the box with boxError first");
  auto boxType = MemRefType::get(box, elt, AffineMap(),
                                 gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  auto mapType = nvgpu::TensorMapDescriptorType::get(
      ctx, boxType, swizzleKind(opts.swizzleBytes), l2Kind(opts.l2PromotionBytes),
      opts.oobNaN ? nvgpu::TensorMapOOBKind::OOB_NAN : nvgpu::TensorMapOOBKind::OOB_ZERO,
      interleaveKind(opts.interleaveBytes));
  Value unranked = memref::CastOp::create(
      b, loc, UnrankedMemRefType::get(elt, type.getMemorySpace()), global);
  SmallVector<Value> extents;
  for (int64_t d : box)
    extents.push_back(arith::ConstantIndexOp::create(b, loc, d));
  Value map = nvgpu::TmaCreateDescriptorOp::create(b, loc, mapType, unranked, extents);
  // Kernels take the map as a plain pointer (its parameter's address); the
  // cast keeps the description on the host side for the artifact reader.
  return UnrealizedConversionCastOp::create(b, loc, LLVM::LLVMPointerType::get(ctx), map)
      .getResult(0);
}

/// TMA coordinates: i32, innermost dimension first.
static SmallVector<Value> tmaCoordinates(KernelBuilder &e, ValueRange coords) {
  SmallVector<Value> out;
  for (Value c : llvm::reverse(coords))
    out.push_back(c.getType().isIndex()
                      ? arith::IndexCastOp::create(e.b, e.loc, e.b.getI32Type(), c).getResult()
                      : c);
  return out;
}

void tma::load(KernelBuilder &e, Value tensorMap, Value dstAddress, ValueRange coords, Value bar,
               Value multicastMask) {
  MLIRContext *ctx = e.b.getContext();
  // The PTX ISA 8.0 form writes shared::cluster addresses; the CTA's own
  // window is part of that space.
  Value dst = LLVM::AddrSpaceCastOp::create(
      e.b, e.loc,
      LLVM::LLVMPointerType::get(ctx, static_cast<unsigned>(NVVM::NVVMMemorySpace::SharedCluster)),
      mbarrier::pointer(e, dstAddress));
  NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
      e.b, e.loc, dst, tensorMap, tmaCoordinates(e, coords), bar, ValueRange{}, multicastMask,
      Value(), NVVM::TMALoadModeAttr::get(ctx, NVVM::TMALoadMode::TILE), e.b.getBoolAttr(false),
      NVVM::CTAGroupKindAttr(), Value());
}

void tma::loadSwizzledTile(KernelBuilder &e, Value tensorMap, const SmemLayout &layout,
                           Value dstAddress, ArrayRef<Value> coords, Value bar) {
  SmallVector<Value> at(coords.begin(), coords.end());
  Value c0 = coords.back();
  for (int64_t j = 0; j < layout.cols / layout.atom(); ++j) {
    at.back() = e.add(c0, e.idx(j * layout.atom()));
    load(e, tensorMap, e.add(dstAddress, e.idx(j * layout.rows * layout.swizzleBytes)), at, bar);
  }
}

void tma::multicastSwizzledTile(KernelBuilder &e, Value tensorMap, const SmemLayout &layout,
                                Value dstAddress, ArrayRef<Value> coords, Value bar, Value rank,
                                int64_t blocks) {
  assert(coords.size() >= 2 && layout.rows % (8 * blocks) == 0 &&
         "tma::multicastSwizzledTile: pieces of whole 8-row swizzle atoms");
  int64_t piece = layout.rows / blocks;
  Value mask = cluster::firstBlocksMask(e, blocks);
  // Rows of a column block are 128-byte swizzle rows: a piece of whole
  // 8-row atoms keeps the swizzle phase of its place in the tile.
  Value rowShift = e.mul(rank, e.idx(piece));
  Value pieceAddress = e.add(dstAddress, e.mul(rowShift, e.idx(layout.swizzleBytes)));
  SmallVector<Value> at(coords.begin(), coords.end());
  Value &row = at[at.size() - 2];
  row = e.add(row, rowShift);
  Value c0 = coords.back();
  for (int64_t j = 0; j < layout.cols / layout.atom(); ++j) {
    at.back() = e.add(c0, e.idx(j * layout.atom()));
    load(e, tensorMap, e.add(pieceAddress, e.idx(j * layout.rows * layout.swizzleBytes)), at,
         bar, mask);
  }
}

void tma::store(KernelBuilder &e, Value tensorMap, Value srcAddress, ValueRange coords) {
  NVVM::CpAsyncBulkTensorSharedCTAToGlobalOp::create(
      e.b, e.loc, tensorMap, mbarrier::pointer(e, srcAddress), tmaCoordinates(e, coords), Value(),
      NVVM::TMAStoreModeAttr::get(e.b.getContext(), NVVM::TMAStoreMode::TILE), Value());
}

void tma::storeSwizzledTile(KernelBuilder &e, Value tensorMap, const SmemLayout &layout,
                            Value srcAddress, ArrayRef<Value> coords) {
  SmallVector<Value> at(coords.begin(), coords.end());
  Value c0 = coords.back();
  for (int64_t j = 0; j < layout.cols / layout.atom(); ++j) {
    at.back() = e.add(c0, e.idx(j * layout.atom()));
    store(e, tensorMap, e.add(srcAddress, e.idx(j * layout.rows * layout.swizzleBytes)), at);
  }
}

void tma::commitStores(KernelBuilder &e) { NVVM::CpAsyncBulkCommitGroupOp::create(e.b, e.loc); }

void tma::waitStores(KernelBuilder &e, int64_t pending, bool readsOnly) {
  NVVM::CpAsyncBulkWaitGroupOp::create(e.b, e.loc, e.b.getI32IntegerAttr(pending),
                                       readsOnly ? e.b.getUnitAttr() : UnitAttr());
}

void tma::prefetch(KernelBuilder &e, Value tensorMap) {
  NVVM::PrefetchOp::create(e.b, e.loc, NVVM::PrefetchCacheLevelAttr(),
                           NVVM::CacheEvictionPriorityAttr(), tensorMap, Value(),
                           e.b.getUnitAttr());
}

void tma::fenceSharedToAsync(KernelBuilder &e) {
  MLIRContext *ctx = e.b.getContext();
  NVVM::FenceProxyOp::create(
      e.b, e.loc, NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
}
