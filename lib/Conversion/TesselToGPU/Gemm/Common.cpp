//===- Common.cpp - what every GEMM rung shares ---------------------------===//

#include "Gemm.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
// A run-time size is bounded by the kernels' view of it: the static shape a
// dynamic operand is reinterpreted as (the Python runtime refuses larger
// calls before launching).
constexpr int64_t kMaxDynamicSize = (int64_t(1) << 31) - 1;

/// `size` of dimension `i` of `v`, reading it at run time when dynamic.
Size sizeOf(OpBuilder &b, Location loc, Value v, int64_t i) {
  int64_t s = cast<MemRefType>(v.getType()).getDimSize(i);
  if (!ShapedType::isDynamic(s))
    return Size::of(s);
  return Size::of(memref::DimOp::create(b, loc, v, i).getResult());
}

/// A statically shaped view of an identity-layout memref whose run-time
/// sizes are replaced by their bound (only leading dimensions may be
/// dynamic, so the strides stay static).
Value staticView(OpBuilder &b, Location loc, Value v) {
  auto type = cast<MemRefType>(v.getType());
  if (type.hasStaticShape())
    return v;
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t &s : shape)
    if (ShapedType::isDynamic(s))
      s = kMaxDynamicSize;
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * type.getDimSize(i + 1);
  auto staticType = MemRefType::get(shape, type.getElementType());
  SmallVector<OpFoldResult> sizes, strideAttrs;
  for (auto [s, st] : llvm::zip(shape, strides)) {
    sizes.push_back(b.getIndexAttr(s));
    strideAttrs.push_back(b.getIndexAttr(st));
  }
  return memref::ReinterpretCastOp::create(b, loc, staticType, v, b.getIndexAttr(0), sizes,
                                           strideAttrs);
}
} // namespace

GemmShape mlir::tessel::prepareGemm(OpBuilder &b, GemmOp op, const GemmConfig &c) {
  Location loc = op.getLoc();
  Value d = op.getInit();
  int64_t r = cast<MemRefType>(d.getType()).getRank();
  GemmShape s;
  s.batched = r == 3;
  s.batches = s.batched ? sizeOf(b, loc, d, 0) : Size::of(1);
  s.M = sizeOf(b, loc, d, r - 2);
  s.N = cast<MemRefType>(d.getType()).getDimSize(r - 1);
  s.K = cast<MemRefType>(op.getA().getType()).getDimSize(op.getTransposeA() ? r - 2 : r - 1);
  std::tie(s.aRows, s.aCols) =
      op.getTransposeA() ? std::pair(c.blockK, c.blockM) : std::pair(c.blockM, c.blockK);
  std::tie(s.bRows, s.bCols) =
      op.getTransposeB() ? std::pair(c.blockN, c.blockK) : std::pair(c.blockK, c.blockN);
  for (OpOperand &operand : op->getOpOperands())
    operand.set(staticView(b, loc, operand.get()));
  return s;
}

GemmLaunch mlir::tessel::launchGemm(KernelBuilder &e, const GemmShape &sh, const GemmConfig &cfg,
                                    int64_t threads, int64_t sharedBytes) {
  Size gridM = sh.M.isStatic() ? Size::of(llvm::divideCeil(sh.M.fixed, cfg.blockM))
                               : Size::of(e.ceilDiv(sh.M, cfg.blockM));
  int64_t gridN = llvm::divideCeil(sh.N, cfg.blockN);
  auto launch = gpu::LaunchOp::create(
      e.b, e.loc, e.idx(gridN), e.size(gridM), e.size(sh.batches), e.idx(threads), e.idx(1),
      e.idx(1), arith::ConstantIntOp::create(e.b, e.loc, sharedBytes, 32));
  e.b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds();
  Value tid = launch.getThreadIds().x;
  return {launch, gridM, gridN, tid, sh.batched ? block.z : Value(), block.x, block.y};
}

void mlir::tessel::copyOperandTiles(KernelBuilder &e, GemmOp op, const GemmShape &s, Value batch,
                                    Value tid, int64_t threads, Value k0, Value rowBase,
                                    Value colBase, Value dstA, TileIndex indexA, Value dstB,
                                    TileIndex indexB) {
  SmallVector<Value> prefix;
  if (batch)
    prefix.push_back(batch);
  auto global = [&](Value r, Value c) { return withPrefix(prefix, r, c); };
  Value m = e.size(s.M), n = e.idx(s.N), k = e.idx(s.K);
  // cp.async moves 16 aligned bytes: rows must start on 16-byte boundaries.
  auto aligned = [](int64_t cols) { return cols % 8 == 0; };
  TileCopy a{op.getA(), s.aRows, s.aCols, m, k, aligned(s.K), global, dstA, indexA};
  TileCopy b{op.getB(), s.bRows, s.bCols, k, n, aligned(s.N), global, dstB, indexB};
  if (op.getTransposeA())
    a = {op.getA(), s.aRows, s.aCols, k, m, false, global, dstA, indexA};
  if (op.getTransposeB())
    b = {op.getB(), s.bRows, s.bCols, n, k, aligned(s.K), global, dstB, indexB};
  if (op.getTransposeA()) {
    // Rows of length M: aligned when M is static and a multiple of 8.
    a.aligned = s.M.isStatic() && aligned(s.M.fixed);
    copyTile(e, a, tid, threads, k0, rowBase);
  } else {
    copyTile(e, a, tid, threads, rowBase, k0);
  }
  if (op.getTransposeB())
    copyTile(e, b, tid, threads, colBase, k0);
  else
    copyTile(e, b, tid, threads, k0, colBase);
}

void mlir::tessel::storeResult(KernelBuilder &e, GemmOp op, Value batch, Value row, Value col,
                               Value acc, Value inBounds) {
  OpBuilder &b = e.b;
  float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
  SmallVector<Value> at = batch ? SmallVector<Value>{batch, row, col} : SmallVector<Value>{row, col};
  e.when(inBounds, [&] {
    Value r = acc;
    if (alpha != 1.0f)
      r = arith::MulFOp::create(b, e.loc, r, e.f32(alpha));
    if (op.getC()) {
      Value c = arith::MulFOp::create(b, e.loc, e.loadF32(op.getC(), at), e.f32(beta));
      r = arith::AddFOp::create(b, e.loc, r, c);
    }
    e.store(r, op.getInit(), at);
  });
}
