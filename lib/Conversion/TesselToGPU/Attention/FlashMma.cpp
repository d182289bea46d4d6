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
#include "GPU/TileScheduler.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::attention;

namespace {
constexpr int64_t kPad = 8;                         // elements of padding per shared row
constexpr double kLog2e = 1.4426950408889634;
constexpr float kLazyMax = 8; // log2 units the running max may lag

/// Where one block's (sequence, query head) pair lives, computed inside the
/// kernel: the element offset of position 0 of the sequence in Q, K, V and
/// O (for this query head and its kv head), the sequence's lengths, and the
/// LSE entry of its query 0 (LSE rows are contiguous in both ops' layouts).
struct Sequence {
  Value qOff, kOff, vOff, oOff;
  Value sq, skv;
  Value lseOff;
};

/// One FlashAttention-2 problem as the kernel body sees it. The regular op
/// is the case where every sequence has the same lengths and the offsets are
/// products of the batch index; the packed op reads them from cu_seqlens.
struct FlashProblem {
  Type elt, outElt;
  int64_t d;
  bool causal;
  float scale;
  Value q, k, v, o, lse;     // flat views; lse is null without LSE
  Size qSeq, kSeq, oSeq;     // element stride between positions (V's is K's)
  Size hq, group;            // query heads, query heads per kv head
  Value heads, tiles;        // sequences x query heads, query tiles: host values
  // Whether a block's query tile may start past its sequence's end (the tile
  // count is sized by the longest sequence): such blocks return at once.
  bool ragged;
  // Inside the kernel: block (bh, bi, h, hk) -> its sequence.
  std::function<Sequence(KernelBuilder &, Value bh, Value bi, Value h, Value hk)> locate;
};

/// The kernel: launch, then for the block's query tile the prologue, the
/// unmasked and masked key loops and the epilogue.
void emitFlashKernel(KernelBuilder &e, const AttentionConfig &cfg, const FlashProblem &p) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  bool causal = p.causal;
  Type elt = p.elt, outElt = p.outElt;
  int64_t d = p.d;
  int64_t threads = 32 * cfg.warps, rowsPerWarp = cfg.blockM / cfg.warps;
  int64_t mTiles = rowsPerWarp / 16, kSteps = d / 16, dTiles = d / 8;
  int64_t nTiles8 = cfg.blockN / 8, nSteps = cfg.blockN / 16;
  int64_t smemBytes = flashMmaSharedBytes(cfg, d);

  // One 1-D grid, query tiles varying fastest (tileMajor): the blocks in
  // flight share the K and V of a few heads in L2 instead of streaming a
  // different head each from DRAM.
  auto launch = gpu::LaunchOp::create(b, loc, e.mul(p.heads, p.tiles), e.idx(1), e.idx(1),
                                      e.idx(threads), e.idx(1), e.idx(1),
                                      arith::ConstantIntOp::create(b, loc, smemBytes, 32));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  // Inside the kernel: static sizes are constants, run-time ones parameters.
  Value hq = e.size(p.hq), group = e.size(p.group);
  Value tid = launch.getThreadIds().x;
  // Causal: the last query tiles see the most keys; start them first.
  auto [bh, tileM] = tileMajor(e, launch.getBlockIds().x, p.tiles, causal);
  Value bi = e.div(bh, hq), h = e.rem(bh, hq), hk = e.div(h, group);
  Sequence seq = p.locate(e, bh, bi, h, hk);
  Value sq = seq.sq, skv = seq.skv;
  Value qBase = e.mul(tileM, e.idx(cfg.blockM));
  if (p.ragged) {
    // The rest of the kernel runs only for tiles inside the sequence (a
    // block-uniform branch: its barriers are reached by all threads or none).
    auto inside = scf::IfOp::create(b, loc, e.lt(qBase, sq), /*withElseRegion=*/false);
    b.setInsertionPoint(inside.thenBlock()->getTerminator());
  }
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

  Value qOff = seq.qOff, kOff = seq.kOff, vOff = seq.vOff, oOff = seq.oOff;
  Value dIdx = e.idx(d);
  // rows x d tile of operand `s` starting at sequence position r0, rows past
  // `limit` zero-filled; `dst` indexed by `dstIndex`.
  auto copyRows = [&](Value flat, const Size &rowStride, Value off, Value limit, int64_t rows,
                      Value r0, Value dst, TileIndex dstIndex) {
    auto src = [&](Value r, Value col) -> SmallVector<Value> {
      return {e.add(e.add(off, e.mul(r, e.size(rowStride))), col)};
    };
    // Every row starts on a 16-byte boundary: d and all strides are
    // multiples of 8 elements.
    TileCopy t{flat, rows, d, limit, dIdx, /*aligned=*/true, src, dst, dstIndex};
    copyTile(e, t, tid, threads, r0, e.idx(0));
  };
  auto copyKV = [&](Value tile, Value stage) {
    auto index = [&](Value r, Value col) -> SmallVector<Value> { return {stage, r, col}; };
    Value r0 = e.mul(tile, e.idx(cfg.blockN));
    copyRows(p.k, p.kSeq, kOff, skv, cfg.blockN, r0, smemK, index);
    copyRows(p.v, p.kSeq, vOff, skv, cfg.blockN, r0, smemV, index);
  };

  // Prologue: Q, then the first stages - 1 key tiles, one group each.
  {
    auto index = [&](Value r, Value col) -> SmallVector<Value> { return {r, col}; };
    copyRows(p.q, p.qSeq, qOff, sq, cfg.blockM, qBase, smemQ, index);
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

  // Q's A fragments: kept in registers for the whole key loop when they
  // fit beside O, S and P; otherwise (32 query rows per warp, FlashAttention-2's
  // own layout) re-read from the resident Q tile at every k step, which costs
  // ldmatrix traffic once per m tile but lets each K/V fragment feed two m
  // tiles -- the shared-memory reads that bound the 16-row layout.
  bool qInRegisters = flashMmaKeepsQInRegisters(cfg, d);
  auto qIndex = [&](Value r, Value col) -> SmallVector<Value> { return {r, col}; };
  auto loadQ = [&](int64_t i, int64_t ks) {
    return mma::loadA(e, lanes, smemQ, qIndex, e.add(warpRow, e.idx(i * 16)), e.idx(ks * 16),
                      /*kContiguous=*/true);
  };
  waitCopies(e, lastGroup, cfg.stages - 1);
  gpu::BarrierOp::create(b, loc);
  SmallVector<Value> qFrags; // [mTiles][kSteps]
  if (qInRegisters)
    for (int64_t i = 0; i < mTiles; ++i)
      for (int64_t ks = 0; ks < kSteps; ++ks)
        qFrags.push_back(loadQ(i, ks));

  // The max lags by up to 2^8 (FlashAttention-4): P stays below 256, far
  // inside f16 and bf16, and most tiles leave O alone.
  OnlineSoftmax softmax{float(double(p.scale) * kLog2e), /*width=*/4, kLazyMax};
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
    for (int64_t ks = 0; ks < kSteps; ++ks) {
      SmallVector<Value> qStep; // [mTiles], this k step's Q fragments
      for (int64_t i = 0; i < mTiles; ++i)
        qStep.push_back(qInRegisters ? qFrags[i * kSteps + ks] : loadQ(i, ks));
      for (int64_t np = 0; np < nSteps; ++np) {
        auto [lo, hi] = mma::loadB(e, lanes, smemK, index, e.idx(np * 16), e.idx(ks * 16),
                                   /*kContiguous=*/true);
        for (int64_t i = 0; i < mTiles; ++i) {
          Value a = qStep[i];
          s[i * nTiles8 + 2 * np] = mma::mma(e, a, lo, s[i * nTiles8 + 2 * np]);
          s[i * nTiles8 + 2 * np + 1] = mma::mma(e, a, hi, s[i * nTiles8 + 2 * np + 1]);
        }
      }
    }

    // Refill the stage tile j - 1 used, while the tensor cores work.
    Value next = e.add(j, e.idx(cfg.stages - 1));
    e.when(e.lt(next, numTiles), [&] { copyKV(next, e.rem(next, e.idx(cfg.stages))); });
    commitCopies(e);

    Value keyBase = e.mul(j, e.idx(cfg.blockN));
    SmallVector<Value> pFrags;   // [mTiles][nSteps]
    SmallVector<Value> rescales; // [mTiles][half]
    Value grew;                  // some row of this lane moved its max
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
      for (int64_t half = 0; half < 2; ++half) {
        int64_t r = i * 2 + half;
        Value rescale, moved;
        SoftmaxRow updated = softmax.update(e, {st[numO + r], st[numO + numRows + r]},
                                            scores[half], rescale, &moved);
        st[numO + r] = updated.max;
        st[numO + numRows + r] = updated.sum;
        rescales.push_back(rescale);
        grew = grew ? e.lor(grew, moved) : moved;
      }
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

    // O *= rescale, row by row -- only when some row of the warp moved its
    // max: with the lazy max that is a few tiles per row, not every tile, and
    // the rescale is mTiles * d / 2 multiplies a lane beside the tile's
    // mTiles * blockN / 4 exponentials.
    SmallVector<Value> accO =
        mma::scaleRowsIf(e, warpAny(e, grew), ArrayRef<Value>(st).take_front(numO), dTiles,
                         rescales);
    std::copy(accO.begin(), accO.end(), st.begin());

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
        Value base = e.add(oOff, e.mul(qi, e.size(p.oSeq)));
        for (int64_t dt = 0; dt < dTiles; ++dt) {
          Value accO = state[i * dTiles + dt];
          SmallVector<Value> pair;
          for (int64_t kk = 0; kk < 2; ++kk)
            pair.push_back(castFloat(b, loc, e.fmul(mma::element(e, accO, half, kk), inv), outElt));
          Value vec = vector::FromElementsOp::create(b, loc, VectorType::get({2}, outElt), pair);
          Value col = e.add(e.idx(dt * 8), acc.col2);
          // Even element offsets (d, the strides and col2 are even): one
          // 32-bit store per pair.
          vector::StoreOp::create(b, loc, vec, p.o, ValueRange{e.add(base, col)},
                                  /*nontemporal=*/false, llvm::MaybeAlign(4));
        }
        if (p.lse)
          e.when(firstLane, [&] {
            memref::StoreOp::create(b, loc, rowLse, p.lse, ValueRange{e.add(seq.lseOff, qi)});
          });
      });
    }
  b.setInsertionPointToEnd(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
}

} // namespace

LogicalResult mlir::tessel::lowerFlashAttention(FlashAttentionOp op) {
  FailureOr<AttentionConfig> c = configureFlashAttention(op);
  if (failed(c))
    return failure();
  OpBuilder b(op);
  KernelBuilder e(b, op.getLoc());
  bool seqMajor = op.isSeqMajor();
  Value q = op.getQ(), k = op.getK(), v = op.getV(), o = op.getOut(), lse = op.getLse();
  int64_t hDim = seqMajor ? 2 : 1, sDim = seqMajor ? 1 : 2;

  // Host side: sizes, strides, flat views, the grid.
  Size batchesS = dimOf(e, q, 0), hqS = dimOf(e, q, hDim), sqS = dimOf(e, q, sDim);
  Size hkvS = dimOf(e, k, hDim), skvS = dimOf(e, k, sDim);
  Strided sQ = strided(e, q, seqMajor), sK = strided(e, k, seqMajor),
          sV = strided(e, v, seqMajor), sO = strided(e, o, seqMajor);
  FlashProblem p;
  p.elt = cast<MemRefType>(q.getType()).getElementType();
  p.outElt = cast<MemRefType>(o.getType()).getElementType();
  p.d = cast<MemRefType>(q.getType()).getDimSize(3);
  p.causal = op.getCausal();
  p.scale = op.getScaleValue();
  p.q = sQ.flat, p.k = sK.flat, p.v = sV.flat, p.o = sO.flat;
  p.lse = lse ? flatView(e, lse) : Value();
  p.qSeq = sQ.seq, p.kSeq = sK.seq, p.oSeq = sO.seq;
  p.hq = hqS, p.group = divSize(e, hqS, hkvS);
  p.heads = e.size(mulSize(e, batchesS, hqS));
  p.tiles = e.ceilDiv(sqS, c->blockM);
  p.ragged = false;
  p.locate = [&](KernelBuilder &e, Value bh, Value bi, Value h, Value hk) {
    Sequence s;
    s.qOff = sQ.at(e, bi, h, e.idx(0)), s.kOff = sK.at(e, bi, hk, e.idx(0));
    s.vOff = sV.at(e, bi, hk, e.idx(0)), s.oOff = sO.at(e, bi, h, e.idx(0));
    s.sq = e.size(sqS), s.skv = e.size(skvS);
    // LSE [B, Hq, Sq], whatever the layout of Q and O.
    s.lseOff = e.mul(bh, s.sq);
    return s;
  };
  emitFlashKernel(e, *c, p);
  op.erase();
  return success();
}

LogicalResult mlir::tessel::lowerFlashAttentionVarlen(FlashAttentionVarlenOp op) {
  FailureOr<AttentionConfig> c = configureFlashAttention(op);
  if (failed(c))
    return failure();
  Value q = op.getQ(), k = op.getK(), o = op.getOut(), lse = op.getLse();
  auto qType = cast<MemRefType>(q.getType()), kType = cast<MemRefType>(k.getType());
  // With static heads (and head dimension) every stride is a constant; only
  // the packed lengths, the batch and the longest query sequence are
  // run-time sizes.
  int64_t hq = qType.getDimSize(1), hkv = kType.getDimSize(1), d = qType.getDimSize(2);
  if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv))
    return op.emitOpError() << "convert-tessel-to-gpu: strategy 'mma': the head counts of 'q' "
                               "and 'k' must be static";
  OpBuilder b(op);
  KernelBuilder e(b, op.getLoc());
  Size totalQ = dimOf(e, q, 0);
  Size offsets = dimOf(e, op.getCuSeqlensQ(), 0);
  Size batch = offsets.isStatic() ? Size::of(offsets.fixed - 1)
                                  : Size::of(e.sub(offsets.dynamic, e.idx(1)));
  FlashProblem p;
  p.elt = qType.getElementType();
  p.outElt = cast<MemRefType>(o.getType()).getElementType();
  p.d = d;
  p.causal = op.getCausal();
  p.scale = op.getScaleValue();
  p.q = flatView(e, q), p.k = flatView(e, k), p.v = flatView(e, op.getV()), p.o = flatView(e, o);
  p.lse = lse ? flatView(e, lse) : Value();
  Value cuQ = flatView(e, op.getCuSeqlensQ()), cuK = flatView(e, op.getCuSeqlensK());
  p.qSeq = Size::of(hq * d), p.kSeq = Size::of(hkv * d), p.oSeq = Size::of(hq * d);
  p.hq = Size::of(hq), p.group = Size::of(hq / hkv);
  p.heads = e.size(mulSize(e, batch, Size::of(hq)));
  p.tiles = e.ceilDiv(Size::of(op.getMaxSeqlenQ()), c->blockM);
  p.ragged = true;
  p.locate = [&](KernelBuilder &e, Value bh, Value bi, Value h, Value hk) {
    Value next = e.add(bi, e.idx(1));
    Value q0 = e.toSignedIndex(e.load(cuQ, {bi})), q1 = e.toSignedIndex(e.load(cuQ, {next}));
    Value k0 = e.toSignedIndex(e.load(cuK, {bi})), k1 = e.toSignedIndex(e.load(cuK, {next}));
    Sequence s;
    s.qOff = e.add(e.mul(q0, e.idx(hq * d)), e.mul(h, e.idx(d)));
    s.oOff = s.qOff;
    s.kOff = e.add(e.mul(k0, e.idx(hkv * d)), e.mul(hk, e.idx(d)));
    s.vOff = s.kOff;
    s.sq = e.sub(q1, q0), s.skv = e.sub(k1, k0);
    // LSE [Hq, total_q] (flash-attn's varlen layout).
    s.lseOff = e.add(e.mul(h, e.size(totalQ)), q0);
    return s;
  };
  emitFlashKernel(e, *c, p);
  op.erase();
  return success();
}
