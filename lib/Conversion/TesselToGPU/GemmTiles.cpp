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

void mlir::tessel::copyTile(Emitter &e, const TileCopy &t, Value tid, int64_t threads, Value r0,
                            Value c0) {
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
