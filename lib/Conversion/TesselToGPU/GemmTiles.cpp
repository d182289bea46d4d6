//===- GemmTiles.cpp - pieces shared by the tensor-core GEMM rungs --------===//

#include "GemmTiles.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::tessel;

std::pair<Value, Value> mlir::tessel::rasterize(Emitter &e, Value blockX, Value blockY,
                                                int64_t gridM, int64_t gridN, int64_t groupM) {
  if (groupM <= 1 || gridM <= 1)
    return {blockY, blockX};
  OpBuilder &b = e.b;
  Value pid = e.add(e.mul(blockY, e.idx(gridN)), blockX);
  Value perGroup = e.idx(groupM * gridN);
  Value firstM = e.mul(e.div(pid, perGroup), e.idx(groupM));
  Value groupSize = arith::MinUIOp::create(b, e.loc, e.sub(e.idx(gridM), firstM), e.idx(groupM));
  Value inGroup = e.rem(pid, perGroup);
  return {e.add(firstM, e.rem(inGroup, groupSize)), e.div(inGroup, groupSize)};
}

namespace {
/// Where one 2-byte-element operand tile comes from and goes to.
struct TileCopy {
  Value src;          // global memref (rank 2, or 3 with `batch`)
  Value batch;        // batch index, or null
  Value dst;          // shared memref
  int64_t rows, cols; // tile shape in the global layout (cols contiguous)
  int64_t rowLimit, colLimit;
  TileIndex dstIndex;
};

void copyTile(Emitter &e, const TileCopy &t, Value tid, int64_t threads, Value r0, Value c0) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  MLIRContext *ctx = b.getContext();
  Type elt = cast<MemRefType>(t.src.getType()).getElementType();
  auto global = [&](Value r, Value c) -> SmallVector<Value> {
    if (t.batch)
      return {t.batch, r, c};
    return {r, c};
  };
  int64_t chunksPerRow = t.cols / kChunk, chunks = t.rows * chunksPerRow;
  // cp.async moves 16 aligned bytes: rows must start on 16-byte boundaries.
  bool async = t.colLimit % kChunk == 0;
  auto copyChunk = [&](Value i) {
    Value r = e.div(i, e.idx(chunksPerRow));
    Value c = e.mul(e.rem(i, e.idx(chunksPerRow)), e.idx(kChunk));
    Value gr = e.add(r0, r), gc = e.add(c0, c);
    Value rowOk = e.lt(gr, e.idx(t.rowLimit));
    if (async) {
      // Elements left in this row, clamped to [0, 8]; 0 past the last row.
      Value left = arith::SubIOp::create(b, loc, e.idx(t.colLimit), gc);
      left = arith::MaxSIOp::create(b, loc, left, e.idx(0));
      left = arith::MinUIOp::create(b, loc, left, e.idx(kChunk));
      Value n = arith::SelectOp::create(b, loc, rowOk, left, e.idx(0));
      Value any = e.lt(e.idx(0), n);
      // Nothing is read when n = 0, but keep the address inside the buffer.
      Value sr = arith::SelectOp::create(b, loc, any, gr, e.idx(0));
      Value scol = arith::SelectOp::create(b, loc, any, gc, e.idx(0));
      nvgpu::DeviceAsyncCopyOp::create(b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), t.dst,
                                       t.dstIndex(r, c), t.src, global(sr, scol),
                                       b.getIndexAttr(kChunk), n, b.getUnitAttr());
      return;
    }
    for (int64_t j = 0; j < kChunk; ++j) {
      Value col = e.add(gc, e.idx(j));
      Value ok = e.land(rowOk, e.lt(col, e.idx(t.colLimit)));
      Value v = e.select(ok, elt, [&] { return e.load(t.src, global(gr, col)); },
                         [&] { return arith::ConstantOp::create(b, loc, b.getZeroAttr(elt)).getResult(); });
      memref::StoreOp::create(b, loc, v, t.dst, t.dstIndex(r, e.add(c, e.idx(j))));
    }
  };
  for (int64_t base = 0; base < chunks; base += threads) {
    Value i = e.add(tid, e.idx(base));
    // The last round may have more threads than chunks left.
    if (base + threads > chunks)
      e.when(e.lt(i, e.idx(chunks)), [&] { copyChunk(i); });
    else
      copyChunk(i);
  }
}
} // namespace

GemmShape mlir::tessel::gemmShape(GemmOp op, const GemmConfig &c) {
  auto d = cast<MemRefType>(op.getInit().getType());
  int64_t r = d.getRank();
  GemmShape s;
  s.batched = r == 3;
  s.batches = s.batched ? d.getDimSize(0) : 1;
  s.M = d.getDimSize(r - 2);
  s.N = d.getDimSize(r - 1);
  s.K = cast<MemRefType>(op.getA().getType()).getDimSize(op.getTransposeA() ? r - 2 : r - 1);
  std::tie(s.aRows, s.aCols) =
      op.getTransposeA() ? std::pair(c.blockK, c.blockM) : std::pair(c.blockM, c.blockK);
  std::tie(s.bRows, s.bCols) =
      op.getTransposeB() ? std::pair(c.blockN, c.blockK) : std::pair(c.blockK, c.blockN);
  return s;
}

void mlir::tessel::copyOperandTiles(Emitter &e, GemmOp op, const GemmShape &s, Value batch,
                                    Value tid, int64_t threads, Value k0, Value rowBase,
                                    Value colBase, Value dstA, TileIndex indexA, Value dstB,
                                    TileIndex indexB) {
  TileCopy a{op.getA(), batch, dstA, s.aRows, s.aCols, 0, 0, indexA};
  TileCopy b{op.getB(), batch, dstB, s.bRows, s.bCols, 0, 0, indexB};
  std::tie(a.rowLimit, a.colLimit) = op.getTransposeA() ? std::pair(s.K, s.M) : std::pair(s.M, s.K);
  std::tie(b.rowLimit, b.colLimit) = op.getTransposeB() ? std::pair(s.N, s.K) : std::pair(s.K, s.N);
  if (op.getTransposeA())
    copyTile(e, a, tid, threads, k0, rowBase);
  else
    copyTile(e, a, tid, threads, rowBase, k0);
  if (op.getTransposeB())
    copyTile(e, b, tid, threads, colBase, k0);
  else
    copyTile(e, b, tid, threads, k0, colBase);
}

void mlir::tessel::storeResult(Emitter &e, GemmOp op, Value batch, Value row, Value col,
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
