//===- GemmSimt.cpp - naive and shared-memory GEMM kernels ----------------===//
//
// Rungs v0 (naive) and v1 (block tiling through shared memory) of the seed's
// GEMM ladder, written as the body of a gpu.launch: one thread per output
// element, thread (tx, ty) of block (bx, by, batch) owns D[batch, by*BM+ty,
// bx*BN+tx]. Every global access is masked, so any M, N, K work.
//
//===----------------------------------------------------------------------===//

#include "GemmSimt.h"

#include "Common/Emitter.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// Reads of A, B, C as logical matrices, hiding transposes and the batch.
struct GemmOperands {
  mutable GemmOp op;
  Value batch;
  bool batched;

  SmallVector<Value> at(Value row, Value col) const {
    if (batched)
      return {batch, row, col};
    return {row, col};
  }
  Value a(Emitter &e, Value m, Value k) const {
    return e.loadF32(op.getA(), op.getTransposeA() ? at(k, m) : at(m, k));
  }
  Value b(Emitter &e, Value k, Value n) const {
    return e.loadF32(op.getB(), op.getTransposeB() ? at(n, k) : at(k, n));
  }
  /// D = alpha * acc + beta * C, rounded once.
  void store(Emitter &e, Value m, Value n, Value acc) const {
    float alpha = op.getAlpha().convertToFloat();
    Value r = acc;
    if (alpha != 1.0f)
      r = arith::MulFOp::create(e.b, e.loc, r, e.f32(alpha));
    if (op.getC()) {
      Value c = e.loadF32(op.getC(), at(m, n));
      c = arith::MulFOp::create(e.b, e.loc, c, e.f32(op.getBeta().convertToFloat()));
      r = arith::AddFOp::create(e.b, e.loc, r, c);
    }
    e.store(r, op.getInit(), at(m, n));
  }
};

Value fma(Emitter &e, Value acc, Value x, Value y) {
  return arith::AddFOp::create(e.b, e.loc, acc, arith::MulFOp::create(e.b, e.loc, x, y));
}

} // namespace

void mlir::tessel::emitSimtGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg) {
  Location loc = op.getLoc();
  Emitter e{b, loc};
  auto dType = cast<MemRefType>(op.getInit().getType());
  bool batched = dType.getRank() == 3;
  int64_t rank = dType.getRank();
  int64_t M = dType.getDimSize(rank - 2), N = dType.getDimSize(rank - 1);
  auto aType = cast<MemRefType>(op.getA().getType());
  int64_t K = aType.getDimSize(op.getTransposeA() ? rank - 2 : rank - 1);
  int64_t batches = batched ? dType.getDimSize(0) : 1;
  int64_t BM = cfg.blockM, BN = cfg.blockN, BK = cfg.blockK;

  SmallVector<Type> workgroup;
  Attribute shared = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  if (cfg.strategy == GemmStrategy::Smem) {
    // Tiles are kept in f32: converted once on the way in, not per FMA.
    workgroup.push_back(MemRefType::get({BM, BK}, b.getF32Type(), AffineMap(), shared));
    workgroup.push_back(MemRefType::get({BK, BN}, b.getF32Type(), AffineMap(), shared));
  }
  auto launch = gpu::LaunchOp::create(
      b, loc, e.idx(llvm::divideCeil(N, BN)), e.idx(llvm::divideCeil(M, BM)),
      e.idx(batches), e.idx(BN), e.idx(BM), e.idx(1), /*dynamicSharedMemorySize=*/nullptr,
      /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{}, workgroup);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds(), thread = launch.getThreadIds();
  GemmOperands ops{op, block.z, batched};
  Value row = e.add(e.mul(block.y, e.idx(BM)), thread.y);
  Value col = e.add(e.mul(block.x, e.idx(BN)), thread.x);
  Value inside = e.land(e.lt(row, e.idx(M)), e.lt(col, e.idx(N)));

  if (cfg.strategy == GemmStrategy::Naive) {
    e.when(inside, [&] {
      Value acc = e.reduce(e.idx(K), e.f32(0), [&](Value k, Value acc) {
        return fma(e, acc, ops.a(e, row, k), ops.b(e, k, col));
      });
      ops.store(e, row, col, acc);
    });
  } else {
    Value sa = launch.getWorkgroupAttributions()[0];
    Value sb = launch.getWorkgroupAttributions()[1];
    Value tid = e.add(e.mul(thread.y, e.idx(BN)), thread.x);
    Value threads = e.idx(BM * BN);
    // Cooperative masked copy of a rows x cols tile into shared memory. The
    // linear index walks the dimension that is contiguous in global memory
    // fastest, so consecutive threads touch consecutive addresses.
    auto stage = [&](Value tile, int64_t rows, int64_t cols, bool colsContiguous,
                     function_ref<Value(Value, Value)> globalRow,
                     function_ref<Value(Value, Value)> globalCol, int64_t rowLimit,
                     int64_t colLimit, function_ref<Value(Value, Value)> read) {
      e.loop(tid, e.idx(rows * cols), threads, [&](Value i) {
        Value r = colsContiguous ? e.div(i, e.idx(cols)) : e.rem(i, e.idx(rows));
        Value c = colsContiguous ? e.rem(i, e.idx(cols)) : e.div(i, e.idx(rows));
        Value gr = globalRow(r, c), gc = globalCol(r, c);
        Value ok = e.land(e.lt(gr, e.idx(rowLimit)), e.lt(gc, e.idx(colLimit)));
        Value v = e.select(ok, b.getF32Type(), [&] { return read(gr, gc); },
                           [&] { return e.f32(0); });
        memref::StoreOp::create(b, loc, v, tile, ValueRange{r, c});
      });
    };
    Value rowBase = e.mul(block.y, e.idx(BM)), colBase = e.mul(block.x, e.idx(BN));
    Value acc = e.reduce(e.idx(0), e.idx(K), e.idx(BK), e.f32(0), [&](Value k0, Value acc) {
      stage(sa, BM, BK, !op.getTransposeA(),
            [&](Value r, Value) { return e.add(rowBase, r); },
            [&](Value, Value c) { return e.add(k0, c); }, M, K,
            [&](Value m, Value k) { return ops.a(e, m, k); });
      stage(sb, BK, BN, !op.getTransposeB(),
            [&](Value r, Value) { return e.add(k0, r); },
            [&](Value, Value c) { return e.add(colBase, c); }, K, N,
            [&](Value k, Value n) { return ops.b(e, k, n); });
      gpu::BarrierOp::create(b, loc);
      Value next = e.reduce(e.idx(BK), acc, [&](Value kk, Value a) {
        return fma(e, a, e.load(sa, {thread.y, kk}), e.load(sb, {kk, thread.x}));
      });
      // The next iteration overwrites the tiles others may still be reading.
      gpu::BarrierOp::create(b, loc);
      return next;
    });
    e.when(inside, [&] { ops.store(e, row, col, acc); });
  }
  gpu::TerminatorOp::create(b, loc);
}
