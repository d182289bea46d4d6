//===- TileCopy.cpp - global -> shared tile copies ------------------------===//

#include "GPU/TileCopy.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::tessel;

SmallVector<Value> mlir::tessel::withPrefix(ValueRange prefix, Value row, Value col) {
  SmallVector<Value> idx(prefix);
  idx.append({row, col});
  return idx;
}

void mlir::tessel::copyTile(KernelBuilder &e, const TileCopy &t, Value tid, int64_t threads,
                            Value r0, Value c0) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  MLIRContext *ctx = b.getContext();
  Type elt = cast<MemRefType>(t.src.getType()).getElementType();
  int64_t chunk = 16 / (elt.getIntOrFloatBitWidth() / 8);
  assert(t.cols % chunk == 0 && "copyTile: tile rows must be whole 16-byte chunks");
  int64_t chunksPerRow = t.cols / chunk, chunks = t.rows * chunksPerRow;
  auto copyChunk = [&](Value i) {
    Value r = e.div(i, e.idx(chunksPerRow));
    Value c = e.mul(e.rem(i, e.idx(chunksPerRow)), e.idx(chunk));
    Value gr = e.add(r0, r), gc = e.add(c0, c);
    Value rowOk = e.lt(gr, t.rowLimit);
    if (t.aligned) {
      // Elements left in this row, clamped to [0, chunk]; 0 past the last row.
      Value left = arith::SubIOp::create(b, loc, t.colLimit, gc);
      left = arith::MaxSIOp::create(b, loc, left, e.idx(0));
      left = arith::MinUIOp::create(b, loc, left, e.idx(chunk));
      Value n = arith::SelectOp::create(b, loc, rowOk, left, e.idx(0));
      Value any = e.lt(e.idx(0), n);
      // Nothing is read when n = 0, but keep the address inside the buffer.
      Value sr = arith::SelectOp::create(b, loc, any, gr, e.idx(0));
      Value scol = arith::SelectOp::create(b, loc, any, gc, e.idx(0));
      nvgpu::DeviceAsyncCopyOp::create(b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), t.dst,
                                       t.dstIndex(r, c), t.src, t.srcIndex(sr, scol),
                                       b.getIndexAttr(chunk), n, b.getUnitAttr());
      return;
    }
    for (int64_t j = 0; j < chunk; ++j) {
      Value col = e.add(gc, e.idx(j));
      Value ok = e.land(rowOk, e.lt(col, t.colLimit));
      Value v = e.select(ok, elt, [&] { return e.load(t.src, t.srcIndex(gr, col)); },
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

Value mlir::tessel::commitCopies(KernelBuilder &e) {
  return nvgpu::DeviceAsyncCreateGroupOp::create(
      e.b, e.loc, nvgpu::DeviceAsyncTokenType::get(e.b.getContext()), ValueRange{});
}

void mlir::tessel::waitCopies(KernelBuilder &e, Value group, int64_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(e.b, e.loc, group, e.b.getI32IntegerAttr(pending));
}
