//===- GemmSimt.cpp - naive and shared-memory GEMM kernels ----------------===//
//
// Rungs v0 (naive) and v1 (block tiling through shared memory) of the seed's
// GEMM ladder, written as the body of a gpu.launch: one thread per output
// element, thread (tx, ty) of block (bx, by, batch) owns D[batch, by*BM+ty,
// bx*BN+tx]. Every global access is masked, so any M, N, K work.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

/// Where a shared tile's element (r, c) comes from: global coordinates
/// (row(r, c), col(r, c)) checked against (rowLimit, colLimit), read by
/// `read(row, col)` as f32. `colsContiguous` says whether consecutive c are
/// consecutive in global memory, so that the linear thread index walks the
/// contiguous dimension fastest and warps issue coalesced loads.
struct TileSource {
  int64_t rows, cols;
  bool colsContiguous;
  function_ref<Value(Value, Value)> row, col;
  Value rowLimit, colLimit;
  function_ref<Value(Value, Value)> read;

  /// Tile coordinates of linear element i.
  std::pair<Value, Value> coords(Emitter &e, Value i) const {
    if (colsContiguous)
      return {e.div(i, e.idx(cols)), e.rem(i, e.idx(cols))};
    return {e.rem(i, e.idx(rows)), e.div(i, e.idx(rows))};
  }
  /// Masked global read of linear element i (zero outside the matrix).
  Value fetch(Emitter &e, Value i) const {
    auto [r, c] = coords(e, i);
    Value gr = row(r, c), gc = col(r, c);
    Value ok = e.land(e.lt(gr, rowLimit), e.lt(gc, colLimit));
    return e.select(ok, e.b.getF32Type(), [&] { return read(gr, gc); },
                    [&] { return e.f32(0); });
  }
  void put(Emitter &e, Value tile, ValueRange prefix, Value i, Value v) const {
    auto [r, c] = coords(e, i);
    SmallVector<Value> idx(prefix);
    idx.append({r, c});
    memref::StoreOp::create(e.b, e.loc, v, tile, idx);
  }
};

/// Cooperative copy of a whole tile by `threads` threads.
void stageTile(Emitter &e, const TileSource &src, Value tile, ValueRange prefix, Value tid,
               int64_t threads) {
  e.loop(tid, e.idx(src.rows * src.cols), e.idx(threads),
         [&](Value i) { src.put(e, tile, prefix, i, src.fetch(e, i)); });
}

} // namespace

void mlir::tessel::emitSimtGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg,
                                const GemmShape &sh) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  bool batched = sh.batched;
  int64_t N = sh.N, K = sh.K;
  int64_t BM = cfg.blockM, BN = cfg.blockN, BK = cfg.blockK;

  SmallVector<Type> workgroup;
  Attribute shared = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  if (cfg.strategy == GemmStrategy::Smem) {
    // Tiles are kept in f32: converted once on the way in, not per FMA.
    workgroup.push_back(MemRefType::get({BM, BK}, b.getF32Type(), AffineMap(), shared));
    workgroup.push_back(MemRefType::get({BK, BN}, b.getF32Type(), AffineMap(), shared));
  }
  auto launch = gpu::LaunchOp::create(
      b, loc, e.idx(llvm::divideCeil(N, BN)), e.ceilDiv(sh.M, BM),
      e.size(sh.batches), e.idx(BN), e.idx(BM), e.idx(1), /*dynamicSharedMemorySize=*/nullptr,
      /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{}, workgroup);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds(), thread = launch.getThreadIds();
  GemmOperands ops{op, block.z, batched};
  Value row = e.add(e.mul(block.y, e.idx(BM)), thread.y);
  Value col = e.add(e.mul(block.x, e.idx(BN)), thread.x);
  Value M = e.size(sh.M);
  Value inside = e.land(e.lt(row, M), e.lt(col, e.idx(N)));

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
    Value rowBase = e.mul(block.y, e.idx(BM)), colBase = e.mul(block.x, e.idx(BN));
    Value acc = e.reduce(e.idx(0), e.idx(K), e.idx(BK), e.f32(0), [&](Value k0, Value acc) {
      auto aRow = [&](Value r, Value) { return e.add(rowBase, r); };
      auto aCol = [&](Value, Value c) { return e.add(k0, c); };
      auto aRead = [&](Value m, Value k) { return ops.a(e, m, k); };
      stageTile(e, TileSource{BM, BK, !op.getTransposeA(), aRow, aCol, M, e.idx(K), aRead}, sa, {},
                tid, BM * BN);
      auto bRow = [&](Value r, Value) { return e.add(k0, r); };
      auto bCol = [&](Value, Value c) { return e.add(colBase, c); };
      auto bRead = [&](Value k, Value n) { return ops.b(e, k, n); };
      stageTile(e, TileSource{BK, BN, !op.getTransposeB(), bRow, bCol, e.idx(K), e.idx(N), bRead}, sb, {},
                tid, BM * BN);
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

//===----------------------------------------------------------------------===//
// regtile (v5) and pipelined (v6/v7)
//===----------------------------------------------------------------------===//

void mlir::tessel::emitRegTileGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg,
                                   const GemmShape &sh) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  bool batched = sh.batched;
  int64_t N = sh.N, K = sh.K;
  int64_t BM = cfg.blockM, BN = cfg.blockN, BK = cfg.blockK, TM = cfg.threadM, TN = cfg.threadN;
  int64_t threadsN = BN / TN, threads = (BM / TM) * threadsN;
  bool pipelined = cfg.strategy == GemmStrategy::Pipelined;
  int64_t buffers = pipelined ? 2 : 1;
  int64_t numK = llvm::divideCeil(K, BK);

  // A is kept k-major ([k][m]) so that a thread's TM rows of one k are
  // contiguous: 128-bit shared loads for both operands.
  Attribute shared = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Type f32 = b.getF32Type();
  SmallVector<Type> workgroup{
      MemRefType::get({buffers, BK, BM}, f32, AffineMap(), shared),
      MemRefType::get({buffers, BK, BN}, f32, AffineMap(), shared)};
  auto launch = gpu::LaunchOp::create(
      b, loc, e.idx(llvm::divideCeil(N, BN)), e.ceilDiv(sh.M, BM), e.size(sh.batches),
      e.idx(threads), e.idx(1), e.idx(1), nullptr, nullptr, {}, workgroup);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds();
  Value tid = launch.getThreadIds().x;
  GemmOperands ops{op, block.z, batched};
  Value sa = launch.getWorkgroupAttributions()[0], sb = launch.getWorkgroupAttributions()[1];
  Value rowBase = e.mul(block.y, e.idx(BM)), colBase = e.mul(block.x, e.idx(BN));
  Value ty = e.div(tid, e.idx(threadsN)), tx = e.rem(tid, e.idx(threadsN));
  Value myRow = e.mul(ty, e.idx(TM)), myCol = e.mul(tx, e.idx(TN));

  auto sources = [&](Value k0, auto &&use) {
    auto aRow = [&](Value r, Value) { return e.add(k0, r); };
    auto aCol = [&](Value, Value c) { return e.add(rowBase, c); };
    auto aRead = [&](Value k, Value m) { return ops.a(e, m, k); };
    auto bRow = [&](Value r, Value) { return e.add(k0, r); };
    auto bCol = [&](Value, Value c) { return e.add(colBase, c); };
    auto bRead = [&](Value k, Value n) { return ops.b(e, k, n); };
    use(TileSource{BK, BM, op.getTransposeA(), aRow, aCol, e.idx(K), e.size(sh.M), aRead},
        TileSource{BK, BN, !op.getTransposeB(), bRow, bCol, e.idx(K), e.idx(N), bRead});
  };
  // Each thread owns elements tid, tid + threads, ... of a tile: fetched into
  // registers first (overlapping the compute when pipelined), then stored.
  auto fetchAll = [&](const TileSource &src) {
    SmallVector<Value> vals;
    for (int64_t base = 0; base < src.rows * src.cols; base += threads)
      vals.push_back(src.fetch(e, e.add(tid, e.idx(base))));
    return vals;
  };
  auto putAll = [&](const TileSource &src, Value tile, Value buf, ArrayRef<Value> vals) {
    for (auto [n, v] : llvm::enumerate(vals))
      src.put(e, tile, buf, e.add(tid, e.idx(n * threads)), v);
  };
  auto loadStore = [&](Value k0, Value buf) {
    sources(k0, [&](const TileSource &a, const TileSource &bsrc) {
      SmallVector<Value> av = fetchAll(a), bv = fetchAll(bsrc);
      putAll(a, sa, buf, av);
      putAll(bsrc, sb, buf, bv);
    });
  };

  auto rowType = VectorType::get({TN}, f32);
  Value zeroRow = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(rowType, 0.0f));
  SmallVector<Value> inits(TM, zeroRow);
  if (pipelined) {
    loadStore(e.idx(0), e.idx(0));
    gpu::BarrierOp::create(b, loc);
  }
  auto loop = scf::ForOp::create(b, loc, e.idx(0), e.idx(numK), e.idx(1), inits);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value buf = e.idx(0);
    SmallVector<Value> nextA, nextB;
    scf::IfOp prefetch;
    if (pipelined) {
      buf = e.rem(kt, e.idx(2));
      // Global loads of the next tile are issued before the FMAs of this one.
      Value next = e.add(kt, e.idx(1));
      Value k0 = e.mul(next, e.idx(BK));
      sources(k0, [&](const TileSource &a, const TileSource &bsrc) {
        int64_t na = (BK * BM) / threads, nb = (BK * BN) / threads;
        SmallVector<Type> types(na + nb, f32);
        prefetch = scf::IfOp::create(b, loc, types, e.lt(next, e.idx(numK)), true);
        {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPointToStart(prefetch.thenBlock());
          SmallVector<Value> vals = fetchAll(a);
          vals.append(fetchAll(bsrc));
          scf::YieldOp::create(b, loc, vals);
          b.setInsertionPointToStart(prefetch.elseBlock());
          scf::YieldOp::create(b, loc, SmallVector<Value>(na + nb, e.f32(0)));
        }
        nextA.assign(prefetch.getResults().begin(), prefetch.getResults().begin() + na);
        nextB.assign(prefetch.getResults().begin() + na, prefetch.getResults().end());
      });
    } else {
      loadStore(e.mul(kt, e.idx(BK)), buf);
      gpu::BarrierOp::create(b, loc);
    }

    SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
    auto frag = [&](Value tile, Value kk, Value base, int64_t n) {
      SmallVector<Value> parts;
      for (int64_t v = 0; v < n; v += 4)
        parts.push_back(vector::LoadOp::create(b, loc, VectorType::get({4}, f32), tile,
                                               ValueRange{buf, kk, e.add(base, e.idx(v))},
                                               false, llvm::MaybeAlign(16)));
      return parts;
    };
    auto kFor = scf::ForOp::create(b, loc, e.idx(0), e.idx(BK), e.idx(1), acc,
        [&](OpBuilder &, Location, Value kk, ValueRange cur) {
          SmallVector<Value> a = frag(sa, kk, myRow, TM), bv = frag(sb, kk, myCol, TN);
          // b row as one vector<TN>, a scalars broadcast: one FMA row per i.
          Value bRow = zeroRow;
          for (int64_t v = 0; v < TN / 4; ++v)
            bRow = vector::InsertStridedSliceOp::create(b, loc, bv[v], bRow,
                                                        ArrayRef<int64_t>{v * 4}, ArrayRef<int64_t>{1});
          SmallVector<Value> next;
          for (int64_t i = 0; i < TM; ++i) {
            Value ai = vector::ExtractOp::create(b, loc, a[i / 4], ArrayRef<int64_t>{i % 4});
            Value splat = vector::BroadcastOp::create(b, loc, rowType, ai);
            next.push_back(vector::FMAOp::create(b, loc, splat, bRow, cur[i]));
          }
          scf::YieldOp::create(b, loc, next);
        });
    SmallVector<Value> out(kFor.getResults().begin(), kFor.getResults().end());
    if (pipelined) {
      sources(e.idx(0), [&](const TileSource &a, const TileSource &bsrc) {
        Value other = e.sub(e.idx(1), buf);
        e.when(e.lt(e.add(kt, e.idx(1)), e.idx(numK)), [&] {
          putAll(a, sa, other, nextA);
          putAll(bsrc, sb, other, nextB);
        });
      });
      gpu::BarrierOp::create(b, loc);
    } else {
      // The next iteration overwrites the tiles others may still be reading.
      gpu::BarrierOp::create(b, loc);
    }
    scf::YieldOp::create(b, loc, out);
  }

  for (int64_t i = 0; i < TM; ++i)
    for (int64_t j = 0; j < TN; ++j) {
      Value row = e.add(rowBase, e.add(myRow, e.idx(i)));
      Value col = e.add(colBase, e.add(myCol, e.idx(j)));
      Value v = vector::ExtractOp::create(b, loc, loop.getResult(i), ArrayRef<int64_t>{j});
      e.when(e.land(e.lt(row, e.size(sh.M)), e.lt(col, e.idx(N))), [&] { ops.store(e, row, col, v); });
    }
  gpu::TerminatorOp::create(b, loc);
}
