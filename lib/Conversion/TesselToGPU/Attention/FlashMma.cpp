//===- FlashMma.cpp - FlashAttention-2 on mma.sync ------------------------===//
//
// One thread block per (query tile of blockM rows, batch x query head);
// its warps split the tile's rows, 16 per m16 tile. The block
//
//   copies its Q tile to shared memory (cp.async) and keeps it in registers
//   as ldmatrix A fragments;
//   walks the key tiles (blockN keys) visible to its rows, K and V coming
//   through a `stages`-deep cp.async ring:
//     S = Q K^T                      mma.sync, K read with ldmatrix
//     mask S (edge / diagonal tiles only: a second loop)
//     m, l, P = online softmax(S)    exp2 domain, scale * log2(e) folded in
//     O = O * rescale + P V          P converted in registers to A fragments,
//                                    V read with ldmatrix.trans
//   writes O / l (and LSE = m ln 2 + ln l).
//
// Causal tiles wholly above the diagonal are never visited (the loop bound);
// in causal mode the heaviest query tiles are scheduled first.
//
// Sizes: B, H, S are run-time values (memref.dim outside the kernel) and
// every operand is viewed as a flat 1-D memref indexed with strides computed
// from them, so one kernel serves every length and both layouts: bhsd
// ([B, H, S, D]) and bshd ([B, S, H, D]) only differ in their strides.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"
#include "Operands.h"

#include "GPU/MmaSync.h"
#include "GPU/Reduce.h"
#include "GPU/TileCopy.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::attention;

namespace {
constexpr int64_t kPad = 8;                         // elements of padding per shared row
constexpr double kLog2e = 1.4426950408889634;
} // namespace

LogicalResult mlir::tessel::lowerFlashAttention(FlashAttentionOp op) {
  FailureOr<AttentionConfig> c = configureFlashAttention(op);
  if (failed(c))
    return failure();
  const AttentionConfig cfg = *c;
  OpBuilder b(op);
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  bool seqMajor = op.isSeqMajor(), causal = op.getCausal();
  Value q = op.getQ(), k = op.getK(), v = op.getV(), o = op.getOut(), lse = op.getLse();
  Type elt = cast<MemRefType>(q.getType()).getElementType();
  Type outElt = cast<MemRefType>(o.getType()).getElementType();
  int64_t d = cast<MemRefType>(q.getType()).getDimSize(3);
  int64_t threads = 32 * cfg.warps, rowsPerWarp = cfg.blockM / cfg.warps;
  int64_t mTiles = rowsPerWarp / 16, kSteps = d / 16, dTiles = d / 8;
  int64_t nTiles8 = cfg.blockN / 8, nSteps = cfg.blockN / 16;
  int64_t hDim = seqMajor ? 2 : 1, sDim = seqMajor ? 1 : 2;

  // Host side: sizes, strides, flat views, the grid.
  Size batchesS = dimOf(e, q, 0), hqS = dimOf(e, q, hDim), sqS = dimOf(e, q, sDim);
  Size hkvS = dimOf(e, k, hDim), skvS = dimOf(e, k, sDim);
  Size groupS = divSize(e, hqS, hkvS);
  Strided sQ = strided(e, q, seqMajor), sK = strided(e, k, seqMajor),
          sV = strided(e, v, seqMajor), sO = strided(e, o, seqMajor);
  Value lseFlat = lse ? flatView(e, lse) : Value();
  Value gridX = e.size(mulSize(e, batchesS, hqS));
  Value gridY = e.ceilDiv(sqS, cfg.blockM);
  int64_t smemBytes = flashMmaSharedBytes(cfg, d);

  auto launch = gpu::LaunchOp::create(b, loc, gridX, gridY, e.idx(1), e.idx(threads), e.idx(1),
                                      e.idx(1), arith::ConstantIntOp::create(b, loc, smemBytes, 32));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  // Inside the kernel: static sizes are constants, run-time ones parameters.
  Value hq = e.size(hqS), sq = e.size(sqS), skv = e.size(skvS), group = e.size(groupS);
  Value tid = launch.getThreadIds().x;
  Value bh = launch.getBlockIds().x;
  Value bi = e.div(bh, hq), h = e.rem(bh, hq), hk = e.div(h, group);
  // Causal: the last query tiles see the most keys; start them first.
  Value tileM = launch.getBlockIds().y;
  if (causal)
    tileM = e.sub(e.sub(launch.getGridSize().y, e.idx(1)), tileM);
  Value qBase = e.mul(tileM, e.idx(cfg.blockM));
  // Query i sees keys j <= i + shift (signed).
  Value shift = e.sub(skv, sq);

  // Key tiles: all of them, or those up to the diagonal of the block's last
  // row; the first `numFull` need no mask (inside Skv and, when causal,
  // below the diagonal of the block's first row).
  Value numTiles = arith::CeilDivUIOp::create(b, loc, skv, e.idx(cfg.blockN));
  Value numFull = e.div(skv, e.idx(cfg.blockN));
  if (causal) {
    Value rowEnd = e.umin(e.add(qBase, e.idx(cfg.blockM)), sq);
    Value keyEnd = e.smax(e.add(rowEnd, shift), e.idx(0));
    numTiles = e.umin(numTiles, arith::CeilDivUIOp::create(b, loc, keyEnd, e.idx(cfg.blockN)));
    Value firstEnd = e.smax(e.add(e.add(qBase, shift), e.idx(1)), e.idx(0));
    numFull = e.umin(numFull, e.div(firstEnd, e.idx(cfg.blockN)));
  }
  numFull = e.umin(numFull, numTiles);

  // Shared memory: Q [blockM][d + pad], K and V [stages][blockN][d + pad].
  int64_t row = d + kPad;
  SmemArena arena(e);
  Value smemQ = arena.view({cfg.blockM, row}, elt, 0);
  int64_t qBytes = cfg.blockM * row * 2, kvBytes = cfg.stages * cfg.blockN * row * 2;
  Value smemK = arena.view({cfg.stages, cfg.blockN, row}, elt, qBytes);
  Value smemV = arena.view({cfg.stages, cfg.blockN, row}, elt, qBytes + kvBytes);

  Value qOff = sQ.at(e, bi, h, e.idx(0)), kOff = sK.at(e, bi, hk, e.idx(0));
  Value vOff = sV.at(e, bi, hk, e.idx(0)), oOff = sO.at(e, bi, h, e.idx(0));
  Value dIdx = e.idx(d);
  // rows x d tile of operand `s` starting at sequence position r0, rows past
  // `limit` zero-filled; `dst` indexed by `dstIndex`.
  auto copyRows = [&](const Strided &s, Value off, Value limit, int64_t rows, Value r0,
                      Value dst, TileIndex dstIndex) {
    auto src = [&](Value r, Value col) -> SmallVector<Value> {
      return {e.add(e.add(off, e.mul(r, e.size(s.seq))), col)};
    };
    // Every row starts on a 16-byte boundary: d and all strides are
    // multiples of 8 elements.
    TileCopy t{s.flat, rows, d, limit, dIdx, /*aligned=*/true, src, dst, dstIndex};
    copyTile(e, t, tid, threads, r0, e.idx(0));
  };
  auto copyKV = [&](Value tile, Value stage) {
    auto index = [&](Value r, Value col) -> SmallVector<Value> { return {stage, r, col}; };
    Value r0 = e.mul(tile, e.idx(cfg.blockN));
    copyRows(sK, kOff, skv, cfg.blockN, r0, smemK, index);
    copyRows(sV, vOff, skv, cfg.blockN, r0, smemV, index);
  };

  // Prologue: Q, then the first stages - 1 key tiles, one group each.
  {
    auto index = [&](Value r, Value col) -> SmallVector<Value> { return {r, col}; };
    copyRows(sQ, qOff, sq, cfg.blockM, qBase, smemQ, index);
  }
  Value lastGroup = commitCopies(e);
  for (int64_t s = 0; s < cfg.stages - 1; ++s) {
    e.when(e.lt(e.idx(s), numTiles), [&] { copyKV(e.idx(s), e.idx(s)); });
    lastGroup = commitCopies(e);
  }

  WarpIds ids = WarpIds::of(e, tid);
  mma::Lanes lanes = mma::Lanes::of(e, ids.lane);
  mma::AccumulatorLanes acc = mma::AccumulatorLanes::of(e, ids.lane);
  Value warpRow = e.mul(ids.warp, e.idx(rowsPerWarp));

  // Q fragments, kept in registers for the whole key loop.
  waitCopies(e, lastGroup, cfg.stages - 1);
  gpu::BarrierOp::create(b, loc);
  SmallVector<Value> qFrags; // [mTiles][kSteps]
  {
    auto index = [&](Value r, Value col) -> SmallVector<Value> { return {r, col}; };
    for (int64_t i = 0; i < mTiles; ++i)
      for (int64_t ks = 0; ks < kSteps; ++ks)
        qFrags.push_back(mma::loadA(e, lanes, smemQ, index, e.add(warpRow, e.idx(i * 16)),
                                    e.idx(ks * 16), /*kContiguous=*/true));
  }

  OnlineSoftmax softmax{float(double(op.getScaleValue()) * kLog2e), /*width=*/4};
  // The tile rows this lane's accumulator elements (half 0 / 1) belong to.
  auto rowOf = [&](int64_t i, int64_t half) {
    return e.add(e.add(qBase, warpRow), e.add(e.idx(i * 16 + half * 8), acc.group));
  };

  // Loop state: O accumulators [mTiles][dTiles], then max and sum per
  // (m tile, half).
  int64_t numO = mTiles * dTiles, numRows = mTiles * 2;
  SmallVector<Value> init(numO, mma::zeroAccumulator(e));
  SoftmaxRow start = softmax.init(e);
  for (int64_t r = 0; r < numRows; ++r)
    init.push_back(start.max);
  for (int64_t r = 0; r < numRows; ++r)
    init.push_back(start.sum);

  auto keyLoop = [&](Value lb, Value ub, ValueRange state, bool masked) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(b, loc, lb, ub, e.idx(1), state);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    SmallVector<Value> st(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());

    // Tile j has landed once at most stages - 2 younger groups are pending;
    // the barrier also ends every warp's reads of tile j - 1's stage.
    waitCopies(e, lastGroup, cfg.stages - 2);
    gpu::BarrierOp::create(b, loc);
    Value stage = e.rem(j, e.idx(cfg.stages));
    auto index = [&](Value r, Value col) -> SmallVector<Value> { return {stage, r, col}; };

    // S = Q K^T: [mTiles][nTiles8] m16n8 accumulators.
    SmallVector<Value> s(mTiles * nTiles8, mma::zeroAccumulator(e));
    for (int64_t ks = 0; ks < kSteps; ++ks)
      for (int64_t np = 0; np < nSteps; ++np) {
        auto [lo, hi] = mma::loadB(e, lanes, smemK, index, e.idx(np * 16), e.idx(ks * 16),
                                   /*kContiguous=*/true);
        for (int64_t i = 0; i < mTiles; ++i) {
          Value a = qFrags[i * kSteps + ks];
          s[i * nTiles8 + 2 * np] = mma::mma(e, a, lo, s[i * nTiles8 + 2 * np]);
          s[i * nTiles8 + 2 * np + 1] = mma::mma(e, a, hi, s[i * nTiles8 + 2 * np + 1]);
        }
      }

    // Refill the stage tile j - 1 used, while the tensor cores work.
    Value next = e.add(j, e.idx(cfg.stages - 1));
    e.when(e.lt(next, numTiles), [&] { copyKV(next, e.rem(next, e.idx(cfg.stages))); });
    commitCopies(e);

    Value keyBase = e.mul(j, e.idx(cfg.blockN));
    SmallVector<Value> pFrags; // [mTiles][nSteps]
    for (int64_t i = 0; i < mTiles; ++i) {
      // This lane's scores of rows (i, 0) and (i, 1): [half][nt][k].
      SmallVector<Value> scores[2];
      for (int64_t half = 0; half < 2; ++half) {
        Value limit = masked && causal ? e.add(rowOf(i, half), shift) : Value();
        for (int64_t nt = 0; nt < nTiles8; ++nt)
          for (int64_t kk = 0; kk < 2; ++kk) {
            Value x = mma::element(e, s[i * nTiles8 + nt], half, kk);
            if (masked) {
              Value col = e.add(keyBase, e.add(e.idx(nt * 8 + kk), acc.col2));
              Value hidden = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, col, skv);
              if (causal)
                hidden = e.lor(hidden, e.slt(limit, col));
              x = e.pick(hidden, negInf(e), x);
            }
            scores[half].push_back(x);
          }
      }
      Value rescale[2];
      for (int64_t half = 0; half < 2; ++half) {
        int64_t r = i * 2 + half;
        SoftmaxRow updated = softmax.update(e, {st[numO + r], st[numO + numRows + r]},
                                            scores[half], rescale[half]);
        st[numO + r] = updated.max;
        st[numO + numRows + r] = updated.sum;
      }
      // O *= rescale, row by row.
      for (int64_t dt = 0; dt < dTiles; ++dt)
        st[i * dTiles + dt] = mma::scaleRows(e, st[i * dTiles + dt], rescale[0], rescale[1]);
      // P, in registers, as the A operand of P V: keys 16 at a time.
      for (int64_t np = 0; np < nSteps; ++np) {
        Value p[2];
        for (int64_t t = 0; t < 2; ++t) {
          int64_t nt = 2 * np + t;
          p[t] = mma::accumulator(e, {scores[0][2 * nt], scores[0][2 * nt + 1],
                                      scores[1][2 * nt], scores[1][2 * nt + 1]});
        }
        pFrags.push_back(mma::accumulatorsToA(e, p[0], p[1], elt));
      }
    }

    // O += P V: V [key][d] is the K-major-rows B operand: ldmatrix.trans.
    for (int64_t np = 0; np < nSteps; ++np)
      for (int64_t dp = 0; dp < dTiles / 2; ++dp) {
        auto [lo, hi] = mma::loadB(e, lanes, smemV, index, e.idx(dp * 16), e.idx(np * 16),
                                   /*kContiguous=*/false);
        for (int64_t i = 0; i < mTiles; ++i) {
          Value a = pFrags[i * nSteps + np];
          st[i * dTiles + 2 * dp] = mma::mma(e, a, lo, st[i * dTiles + 2 * dp]);
          st[i * dTiles + 2 * dp + 1] = mma::mma(e, a, hi, st[i * dTiles + 2 * dp + 1]);
        }
      }
    scf::YieldOp::create(b, loc, st);
    return SmallVector<Value>(loop.getResults().begin(), loop.getResults().end());
  };

  SmallVector<Value> state = keyLoop(e.idx(0), numFull, init, /*masked=*/false);
  state = keyLoop(numFull, numTiles, state, /*masked=*/true);

  // Epilogue: O / l and LSE, rows inside Sq only.
  Value firstLane = e.eq(acc.col2, e.idx(0));
  for (int64_t i = 0; i < mTiles; ++i)
    for (int64_t half = 0; half < 2; ++half) {
      int64_t r = i * 2 + half;
      Value sum = warpReduce(e, state[numO + numRows + r], ReduceKind::Sum, 4);
      auto [inv, rowLse] = softmax.finish(e, {state[numO + r], sum});
      Value qi = rowOf(i, half);
      e.when(e.lt(qi, sq), [&] {
        Value base = e.add(oOff, e.mul(qi, e.size(sO.seq)));
        for (int64_t dt = 0; dt < dTiles; ++dt) {
          Value accO = state[i * dTiles + dt];
          SmallVector<Value> pair;
          for (int64_t kk = 0; kk < 2; ++kk)
            pair.push_back(castFloat(b, loc, e.fmul(mma::element(e, accO, half, kk), inv), outElt));
          Value vec = vector::FromElementsOp::create(b, loc, VectorType::get({2}, outElt), pair);
          Value col = e.add(e.idx(dt * 8), acc.col2);
          // Even element offsets (d, the strides and col2 are even): one
          // 32-bit store per pair.
          vector::StoreOp::create(b, loc, vec, sO.flat, ValueRange{e.add(base, col)},
                                  /*nontemporal=*/false, llvm::MaybeAlign(4));
        }
        if (lse)
          e.when(firstLane, [&] {
            // LSE [B, Hq, Sq], whatever the layout of Q and O.
            Value at = e.add(e.mul(bh, sq), qi);
            memref::StoreOp::create(b, loc, rowLse, lseFlat, ValueRange{at});
          });
      });
    }
  gpu::TerminatorOp::create(b, loc);
  op.erase();
  return success();
}
