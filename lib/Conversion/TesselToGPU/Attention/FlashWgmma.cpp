//===- FlashWgmma.cpp - flash attention on Hopper warpgroup MMA -----------===//
//
// One thread block per (query tile of blockM rows, batch x query head), of
// blockM / 64 warpgroups: warpgroup w owns query rows 64 w .. 64 w + 63 of
// the tile. The block
//
//   copies its Q tile to shared memory once (cp.async, 128-byte swizzle),
//   where it stays: the tensor cores read it through a descriptor, so Q
//   costs no registers;
//   walks the key tiles (blockN keys) visible to its rows, K and V coming
//   through a `stages`-deep cp.async ring into swizzled tiles:
//     S = Q K^T                      wgmma m64n{blockN}k16, A = Q and B = K
//                                    both K-major from shared memory
//     mask S (edge / diagonal tiles only: a second loop)
//     m, l, P = online softmax(S)    the accumulator rows are mma.sync rows:
//                                    quad shuffles, exp2 domain
//     O = O * rescale + P V          P rounded in registers to mma.sync A
//                                    fragments, which is the register-A
//                                    layout of wgmma; V [key][d] is an
//                                    MN-major B (transposed descriptor)
//   writes O / l (and LSE = m ln 2 + ln l).
//
// Causal semantics, GQA, run-time sizes and the bhsd / bshd strides are
// those of the mma rung (FlashMma.cpp), from the same helpers.
//
// wgmma discipline: every group is waited for inside the loop body that
// issued it (ptxas serializes all of a kernel's wgmmas when a group can be
// in flight where control leaves a loop), and the barrier at the top of an
// iteration proves every warpgroup done with the stage refilled in it.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"
#include "Operands.h"

#include "GPU/Mbarrier.h"
#include "GPU/MmaSync.h"
#include "GPU/Tma.h"
#include "GPU/WarpRole.h"
#include "GPU/Reduce.h"
#include "GPU/TileCopy.h"
#include "GPU/TileScheduler.h"
#include "GPU/Wgmma.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::attention;

namespace {
constexpr int64_t kSwizzle = 128;
constexpr int64_t kAlign = 1024; // the swizzle pattern's period
constexpr double kLog2e = 1.4426950408889634;
constexpr float kLazyMax = 8; // log2 units the running max may lag

/// The accumulator with every register of row half `h` (see
/// wgmma::accumulatorRegister) multiplied by `s[h]`.
Value scaleAccumulatorRows(KernelBuilder &e, Value acc, int64_t n, Value s0, Value s1) {
  for (int64_t reg = 0; reg < n / 2; ++reg) {
    Value x = e.fmul(wgmma::element(e, acc, reg), (reg / 2) % 2 ? s1 : s0);
    acc = LLVM::InsertValueOp::create(e.b, e.loc, acc, x, ArrayRef<int64_t>{reg});
  }
  return acc;
}
} // namespace

LogicalResult mlir::tessel::lowerFlashAttentionWgmma(FlashAttentionOp op) {
  FailureOr<AttentionConfig> c = configureFlashWgmma(op);
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
  int64_t threads = 32 * cfg.warps, n = cfg.blockN;
  // wgmma_tma: warpgroup 0 produces (TMA), the others are the consumers
  // below, their thread ids shifted down by one warpgroup.
  bool tma = usesTmaProducer(op);
  int64_t consumerThreads = threads;
  if (tma)
    threads += kWarpgroupThreads;
  int64_t hDim = seqMajor ? 2 : 1, sDim = seqMajor ? 1 : 2;

  // Q [blockM][d] and K, V [blockN][d], each as column blocks of 64
  // elements; Q and K are K-major operands (d along the columns), V is the
  // MN-major B of P V (its columns are the n = d dimension).
  SmemLayout qTile = SmemLayout::swizzled(cfg.blockM, d, 2, kSwizzle);
  SmemLayout kvTile = SmemLayout::swizzled(n, d, 2, kSwizzle);
  wgmma::Operand opQ{qTile, true}, opK{kvTile, true}, opV{kvTile, false};
  int64_t kBytes = qTile.bytes(), vBytes = kBytes + cfg.stages * kvTile.bytes();

  // Host side: sizes, strides, flat views, the grid.
  Size batchesS = dimOf(e, q, 0), hqS = dimOf(e, q, hDim), sqS = dimOf(e, q, sDim);
  Size hkvS = dimOf(e, k, hDim), skvS = dimOf(e, k, sDim);
  Size groupS = divSize(e, hqS, hkvS);
  Strided sQ = strided(e, q, seqMajor), sK = strided(e, k, seqMajor),
          sV = strided(e, v, seqMajor), sO = strided(e, o, seqMajor);
  Value lseFlat = lse ? flatView(e, lse) : Value();
  Value gridX = e.size(mulSize(e, batchesS, hqS));
  Value gridY = e.ceilDiv(sqS, cfg.blockM);
  int64_t smemBytes = flashWgmmaSharedBytes(cfg, d, tma);
  // One tensor map per operand over its [B, S, H, D] view; a box is one
  // head's rows x one 128-byte swizzle row, rows past S zero-filled.
  Value mapQ, mapK, mapV;
  if (tma) {
    tma::TensorMapOptions swizzled;
    swizzled.swizzleBytes = kSwizzle;
    swizzled.l2PromotionBytes = 256;
    mapQ = tma::describe(b, loc, seqHeadView(e, q, seqMajor), {1, cfg.blockM, 1, 64}, swizzled);
    mapK = tma::describe(b, loc, seqHeadView(e, k, seqMajor), {1, n, 1, 64}, swizzled);
    mapV = tma::describe(b, loc, seqHeadView(e, v, seqMajor), {1, n, 1, 64}, swizzled);
  }

  // One 1-D grid, query tiles varying fastest (tileMajor): the blocks in
  // flight share the K and V of a few heads in L2.
  auto launch = gpu::LaunchOp::create(b, loc, e.mul(gridX, gridY), e.idx(1), e.idx(1),
                                      e.idx(threads), e.idx(1), e.idx(1),
                                      arith::ConstantIntOp::create(b, loc, smemBytes, 32));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value hq = e.size(hqS), sq = e.size(sqS), skv = e.size(skvS), group = e.size(groupS);
  Value blockTid = launch.getThreadIds().x;
  Value tid = tma ? e.sub(blockTid, e.idx(kWarpgroupThreads)) : blockTid;
  // Causal: the last query tiles see the most keys; start them first.
  auto [bh, tileM] = tileMajor(e, launch.getBlockIds().x, gridY, causal);
  Value bi = e.div(bh, hq), h = e.rem(bh, hq), hk = e.div(h, group);
  Value qBase = e.mul(tileM, e.idx(cfg.blockM));
  Value shift = e.sub(skv, sq);
  KeyTiles range = keyTiles(e, qBase, cfg.blockM, n, sq, skv, causal);

  // The tiles start on a 1024-byte boundary: the descriptors' swizzle is a
  // function of the address bits.
  SmemArena arena(e);
  arena.alignTo(kAlign);
  Value smem = arena.view({(cfg.blockM + 2 * cfg.stages * n) * d}, elt, 0);
  Value smemAddr = arena.originAddress();

  Value qOff = sQ.at(e, bi, h, e.idx(0)), kOff = sK.at(e, bi, hk, e.idx(0));
  Value vOff = sV.at(e, bi, hk, e.idx(0)), oOff = sO.at(e, bi, h, e.idx(0));
  Value dIdx = e.idx(d);
  // rows x d of operand `s` from sequence position r0 (rows past `limit`
  // zero-filled) into the swizzled tile `layout` at element `base`.
  auto copyRows = [&](const Strided &s, Value off, Value limit, const SmemLayout &layout,
                      Value r0, Value base) {
    auto src = [&](Value r, Value col) -> SmallVector<Value> {
      return {e.add(e.add(off, e.mul(r, e.size(s.seq))), col)};
    };
    auto dst = [&](Value r, Value col) -> SmallVector<Value> {
      return {e.add(base, layout.offset(e, r, col))};
    };
    // Every row starts on a 16-byte boundary: d and all strides are
    // multiples of 64 elements.
    TileCopy t{s.flat, layout.rows, d, limit, dIdx, /*aligned=*/true, src, smem, dst};
    copyTile(e, t, tid, threads, r0, e.idx(0));
  };
  auto copyKV = [&](Value tile, Value stage) {
    Value r0 = e.mul(tile, e.idx(n));
    Value stageElems = e.mul(stage, e.idx(kvTile.elems()));
    copyRows(sK, kOff, skv, kvTile, r0, e.add(e.idx(kBytes / 2), stageElems));
    copyRows(sV, vOff, skv, kvTile, r0, e.add(e.idx(vBytes / 2), stageElems));
  };

  // With 3 or more stages the key loop overlaps one tile's softmax with
  // the tensor cores (see `overlappedLoop`); it then reads two stages at a
  // time, so a refilled tile is needed stages - 2 iterations later (else
  // stages - 1).
  bool overlap = !tma && cfg.stages >= 3;

  // wgmma_tma: the K/V ring and Q's barrier after the tiles; every consumer
  // thread releases each stage it read.
  std::optional<MbarrierRing> ring, qRing;
  if (tma) {
    Value bars = e.add(smemAddr, e.idx(vBytes + cfg.stages * kvTile.bytes()));
    ring.emplace(e, bars, cfg.stages, consumerThreads);
    qRing.emplace(e, e.add(bars, e.idx(MbarrierRing::bytes(cfg.stages))), 1, consumerThreads);
    ring->init(e.eq(blockTid, e.idx(0)));
    qRing->init(e.eq(blockTid, e.idx(0)));
  }

  // Prologue: Q, then the first stages - 1 key tiles, one group each. The
  // overlapped loop always computes tile 0 (zero-filled past Skv and fully
  // masked when the block sees no key), so that tile is always copied.
  Value lastGroup;
  for (int64_t s = 0; !tma && s < cfg.stages - 1; ++s) {
    if (s == 0) {
      copyRows(sQ, qOff, sq, qTile, qBase, e.idx(0));
      lastGroup = commitCopies(e);
    }
    if (overlap && s == 0)
      copyKV(e.idx(0), e.idx(0));
    else
      e.when(e.lt(e.idx(s), range.all), [&] { copyKV(e.idx(s), e.idx(s)); });
    lastGroup = commitCopies(e);
  }

  Value wg = e.div(tid, e.idx(128));
  Value warp = e.div(e.rem(tid, e.idx(128)), e.idx(32));
  mma::AccumulatorLanes acc = mma::AccumulatorLanes::of(e, e.rem(tid, e.idx(32)));
  Value wgRow = e.mul(wg, e.idx(64));
  // The query row of this lane's accumulator row half `half`.
  Value rows[2];
  for (int64_t half = 0; half < 2; ++half)
    rows[half] = e.add(e.add(qBase, wgRow),
                       e.add(e.mul(warp, e.idx(16)), e.add(acc.group, e.idx(8 * half))));

  // This warpgroup's 64 rows of Q: K-major rows are 128 bytes apart.
  Value descQ = wgmma::descriptor(e, e.add(smemAddr, e.mul(wgRow, e.idx(kSwizzle))), opQ);
  Value descK0 = wgmma::descriptor(e, e.add(smemAddr, e.idx(kBytes)), opK);
  Value descV0 = wgmma::descriptor(e, e.add(smemAddr, e.idx(vBytes)), opV);
  auto stageShift = [&](Value stage) {
    return e.toI64(e.mul(stage, e.idx(kvTile.bytes() / 16)));
  };

  // S = Q K_stage^T, issued as one group.
  auto issueScores = [&](Value stage) {
    Value descK = wgmma::advance(e, descK0, stageShift(stage));
    Value s = wgmma::zeroAccumulator(e, n);
    wgmma::fence(e);
    for (int64_t ks = 0; ks < d / wgmma::kK; ++ks)
      s = wgmma::mmaAsync(e, s, wgmma::advance(e, descQ, qTile.operandOffset(true, 0, ks * 16)),
                          wgmma::advance(e, descK, kvTile.operandOffset(true, 0, ks * 16)), n,
                          elt, opQ, opK);
    wgmma::commitGroup(e);
    return s;
  };
  // O += P V_stage, issued as one group; P is 16 keys per fragment.
  auto issueValues = [&](Value accO, ArrayRef<Value> p, Value stage) {
    Value descV = wgmma::advance(e, descV0, stageShift(stage));
    wgmma::fence(e);
    for (int64_t np = 0; np < n / 16; ++np)
      accO = wgmma::mmaAsyncRegA(e, accO, p[np],
                                 wgmma::advance(e, descV, kvTile.operandOffset(false, 0, np * 16)),
                                 d, opV, e.i32(1));
    wgmma::commitGroup(e);
    return accO;
  };

  // wgmma_tma: the max lags by up to 2^8 (FlashAttention-4's conditional
  // rescaling): P stays below 256 and most tiles leave O alone. Measured on
  // the H200 (docs/benchmarks.md, 2026-12-03): causal 1.26-1.44x -> 1.50-1.66x
  // SDPA-flash at D = 128. The plain rung keeps the exact max: there the
  // branch over its accumulator lost 3-12%.
  OnlineSoftmax softmax{float(double(op.getScaleValue()) * kLog2e), /*width=*/4,
                        tma ? kLazyMax : 0.0f};
  // Folds the scores S of the key tile at keyBase into the two row states;
  // returns P as A fragments, the rows' rescale factors and whether some
  // row of this lane moved its max.
  auto softmaxTile = [&](Value s, Value keyBase, bool masked, SoftmaxRow state[2],
                         Value rescale[2], Value &grew) {
    SmallVector<Value> scores[2]; // [half][nb][k]
    for (int64_t half = 0; half < 2; ++half) {
      // Column c of the tile is hidden when c >= the row's first hidden
      // key (Skv, or its diagonal + 1 when causal) - keyBase - col2: one
      // signed compare with a constant per score.
      Value visible;
      if (masked) {
        Value end = causal ? e.smin(skv, e.add(e.add(rows[half], shift), e.idx(1))) : skv;
        visible = e.sub(e.sub(end, keyBase), acc.col2);
      }
      for (int64_t nb = 0; nb < n / 8; ++nb)
        for (int64_t kk = 0; kk < 2; ++kk) {
          Value x = wgmma::element(e, s, wgmma::accumulatorRegister(nb, half, kk));
          if (masked)
            x = e.pick(e.sle(visible, e.idx(nb * 8 + kk)), negInf(e), x);
          scores[half].push_back(x);
        }
      Value moved;
      state[half] = softmax.update(e, state[half], scores[half], rescale[half], &moved);
      grew = half ? e.lor(grew, moved) : moved;
    }
    SmallVector<Value> p;
    for (int64_t np = 0; np < n / 16; ++np) {
      Value pair[2];
      for (int64_t t = 0; t < 2; ++t) {
        int64_t nb = 2 * np + t;
        pair[t] = mma::accumulator(e, {scores[0][2 * nb], scores[0][2 * nb + 1],
                                       scores[1][2 * nb], scores[1][2 * nb + 1]});
      }
      p.push_back(mma::accumulatorsToA(e, pair[0], pair[1], elt));
    }
    return p;
  };

  // O *= rescale only when some row of the warp moved its max (a
  // warp-uniform branch; the accumulator is this thread's registers).
  auto rescaleIfMoved = [&](Value accO, Value rescale[2], Value grew) -> Value {
    if (!tma)
      return scaleAccumulatorRows(e, accO, d, rescale[0], rescale[1]);
    auto scaled = scf::IfOp::create(b, loc, TypeRange{accO.getType()}, warpAny(e, grew),
                                    /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&scaled.getThenRegion().front());
    scf::YieldOp::create(b, loc, scaleAccumulatorRows(e, accO, d, rescale[0], rescale[1]));
    b.setInsertionPointToStart(&scaled.getElseRegion().front());
    scf::YieldOp::create(b, loc, accO);
    return scaled.getResult(0);
  };

  // Loop state: O, then (max, sum) of row halves 0 and 1.
  SoftmaxRow start = softmax.init(e);
  SmallVector<Value> init{wgmma::zeroAccumulator(e, d), start.max, start.max, start.sum,
                          start.sum};

  // wgmma_tma with several consumer warpgroups: FA3's ping-pong. The
  // warpgroups take turns to issue S = Q K^T (named barrier 1 + w waits for
  // warpgroup w's turn, which the previous warpgroup's arrival grants), so
  // one's softmax runs while the next one's scores are on the tensor cores
  // instead of all softmaxes at once (they drifted into lockstep on causal
  // tiles, where the per-tile work differs).
  int64_t consumers = consumerThreads / kWarpgroupThreads;
  bool pingPong = tma && consumers > 1;
  Value myTurn, nextTurn;
  if (pingPong) {
    myTurn = e.add(wg, e.idx(1));
    nextTurn = e.add(e.rem(e.add(wg, e.idx(1)), e.idx(consumers)), e.idx(1));
  }
  int64_t turnThreads = 2 * kWarpgroupThreads; // the waiting and the arriving warpgroup

  auto keyLoop = [&](Value lb, Value ub, ValueRange initState, bool masked) {
    auto loop = scf::ForOp::create(b, loc, lb, ub, e.idx(1), initState);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    ValueRange st = loop.getRegionIterArgs();

    // wgmma_tma: the producer fills the ring; wait for tile j's stage and
    // release it once both of its GEMMs have retired.
    std::optional<RingSlot> slot;
    Value stage;
    if (tma) {
      slot = ring->slot(j);
      ring->consumerWait(*slot);
      stage = slot->stage;
    } else {
      // Tile j has landed once at most stages - 2 younger groups are
      // pending; the proxy fence hands this thread's copies to the tensor
      // cores, the barrier everyone's, and proves every warpgroup's wgmmas
      // on tile j - 1 complete.
      waitCopies(e, lastGroup, cfg.stages - 2);
      NVVM::FenceProxyOp::create(b, loc, NVVM::ProxyKind::async_shared,
                                 NVVM::SharedSpaceAttr::get(b.getContext(),
                                                            NVVM::SharedSpace::shared_cta));
      gpu::BarrierOp::create(b, loc);
      stage = e.rem(j, e.idx(cfg.stages));
    }
    if (pingPong)
      namedBarrier(e, myTurn, turnThreads);
    Value s = issueScores(stage);
    if (pingPong)
      namedBarrierArrive(e, nextTurn, turnThreads);
    if (!tma) {
      // Refill the stage tile j - 1 used while the tensor cores work.
      Value next = e.add(j, e.idx(cfg.stages - 1));
      e.when(e.lt(next, range.all), [&] { copyKV(next, e.rem(next, e.idx(cfg.stages))); });
      commitCopies(e);
    }
    wgmma::waitGroups(e, 0);

    SoftmaxRow state[2] = {{st[1], st[3]}, {st[2], st[4]}};
    Value rescale[2], grew;
    SmallVector<Value> p = softmaxTile(s, e.mul(j, e.idx(n)), masked, state, rescale, grew);
    Value accO = rescaleIfMoved(st[0], rescale, grew);
    accO = issueValues(accO, p, stage);
    wgmma::waitGroups(e, 0);
    if (slot)
      ring->consumerRelease(*slot);
    scf::YieldOp::create(b, loc,
                         ValueRange{accO, state[0].max, state[1].max, state[0].sum, state[1].sum});
    return SmallVector<Value>(loop.getResults());
  };

  // The FA3 intra-warpgroup pipeline: iteration j issues S_j = Q K_j^T
  // and O += P_{j-1} V_{j-1} as two groups, waits for the first, computes
  // the softmax of S_j while the second runs, then waits for it and
  // rescales O. Tile 0's softmax comes before the loop, the last P V after.
  // Iteration j reads stages j and j - 1; the barrier at its top proves
  // stage j - 2 free (every warpgroup waited for P_{j-2} V_{j-2}), which it
  // refills with tile j + stages - 2.
  auto waitTile = [&](int64_t pending) {
    waitCopies(e, lastGroup, pending);
    NVVM::FenceProxyOp::create(b, loc, NVVM::ProxyKind::async_shared,
                               NVVM::SharedSpaceAttr::get(b.getContext(),
                                                          NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);
  };
  // Loop state: O, P (n / 16 fragments), (max, sum) of row halves 0, 1.
  int64_t numP = n / 16;
  auto overlappedLoop = [&](Value lb, Value ub, ValueRange initState, bool masked) {
    auto loop = scf::ForOp::create(b, loc, lb, ub, e.idx(1), initState);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    ValueRange st = loop.getRegionIterArgs();
    // Tile j has landed once at most stages - 3 younger groups are pending
    // (one fewer than the plain loop: this iteration's refill comes later).
    waitTile(cfg.stages - 3);
    Value stage = e.rem(j, e.idx(cfg.stages));
    Value prevStage = e.rem(e.add(j, e.idx(cfg.stages - 1)), e.idx(cfg.stages));
    Value s = issueScores(stage);
    SmallVector<Value> prevP(st.begin() + 1, st.begin() + 1 + numP);
    Value accO = issueValues(st[0], prevP, prevStage);
    Value next = e.add(j, e.idx(cfg.stages - 2));
    e.when(e.lt(next, range.all), [&] { copyKV(next, e.rem(next, e.idx(cfg.stages))); });
    commitCopies(e);
    wgmma::waitGroups(e, 1);
    SoftmaxRow state[2] = {{st[1 + numP], st[3 + numP]}, {st[2 + numP], st[4 + numP]}};
    Value rescale[2], grew;
    SmallVector<Value> p = softmaxTile(s, e.mul(j, e.idx(n)), masked, state, rescale, grew);
    wgmma::waitGroups(e, 0);
    // Unconditionally: with O, P and S live at once a branch over O made
    // ptxas spill (48 bytes at 64 x 128, causal).
    SmallVector<Value> yield{scaleAccumulatorRows(e, accO, d, rescale[0], rescale[1])};
    yield.append(p);
    yield.append({state[0].max, state[1].max, state[0].sum, state[1].sum});
    scf::YieldOp::create(b, loc, yield);
    return SmallVector<Value>(loop.getResults());
  };

  // Epilogue: O / l and LSE, rows inside Sq only.
  auto finish = [&](ArrayRef<Value> state) {
    Value firstLane = e.eq(acc.col2, e.idx(0));
    for (int64_t half = 0; half < 2; ++half) {
      Value sum = warpReduce(e, state[3 + half], ReduceKind::Sum, 4);
      auto [inv, rowLse] = softmax.finish(e, {state[1 + half], sum});
      Value qi = rows[half];
      e.when(e.lt(qi, sq), [&] {
        Value base = e.add(oOff, e.mul(qi, e.size(sO.seq)));
        for (int64_t nb = 0; nb < d / 8; ++nb) {
          SmallVector<Value> pair;
          for (int64_t kk = 0; kk < 2; ++kk) {
            Value x = wgmma::element(e, state[0], wgmma::accumulatorRegister(nb, half, kk));
            pair.push_back(castFloat(b, loc, e.fmul(x, inv), outElt));
          }
          Value vec = vector::FromElementsOp::create(b, loc, VectorType::get({2}, outElt), pair);
          Value col = e.add(e.idx(nb * 8), acc.col2);
          // Even element offsets: one 32-bit store per pair.
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
  };

  // wgmma_tma (FlashAttention-3's producer/consumer split): one elected
  // lane of the producer loads Q, then walks the key tiles, acquiring a
  // stage, arming it with K's and V's bytes and issuing their boxes; each
  // consumer warpgroup waits for a stage, runs S = Q K^T, the softmax and
  // O += P V, and releases it. No block-wide barrier in the loop: the
  // warpgroups drift apart, so one's softmax overlaps the other's wgmmas.

  // One head's rows from sequence position s0, all of its columns.
  auto loadRows = [&](Value map, const SmemLayout &layout, Value dst, Value s0, Value head,
                      Value bar) {
    tma::loadSwizzledTile(e, map, layout, dst, {bi, s0, head, e.idx(0)}, bar);
  };
  auto produce = [&] {
    setMaxRegisters(e, 40, /*increase=*/false);
    WarpgroupIds ids = WarpgroupIds::of(e, blockTid);
    e.when(e.eq(e.div(ids.thread, e.idx(32)), e.idx(0)), [&] {
      e.when(electOneLane(e), [&] {
        for (Value map : {mapQ, mapK, mapV})
          tma::prefetch(e, map);
        RingSlot q0 = qRing->slot(e.idx(0));
        qRing->producerExpect(q0, e.i32(qTile.bytes()));
        loadRows(mapQ, qTile, smemAddr, qBase, h, qRing->full(q0));
        e.loop(range.all, [&](Value t) {
          RingSlot slot = ring->slot(t);
          ring->producerAcquire(slot);
          ring->producerExpect(slot, e.i32(2 * kvTile.bytes()));
          Value stageOff = e.mul(slot.stage, e.idx(kvTile.bytes()));
          Value s0 = e.mul(t, e.idx(n));
          loadRows(mapK, kvTile, e.add(smemAddr, e.add(e.idx(kBytes), stageOff)), s0, hk,
                   ring->full(slot));
          loadRows(mapV, kvTile, e.add(smemAddr, e.add(e.idx(vBytes), stageOff)), s0, hk,
                   ring->full(slot));
        });
      });
    });
  };
  if (tma) {
    splitRoles(e, e.div(blockTid, e.idx(kWarpgroupThreads)), produce, [&](Value) {
      setMaxRegisters(e, 232, /*increase=*/true);
      // Q lands once; wait for it even when no key tile is visible, so no
      // copy is in flight when the block exits.
      qRing->consumerWait(qRing->slot(e.idx(0)));
      // The last warpgroup's arrival "before tile 0" lets warpgroup 0 go
      // first; after the loops warpgroup 0 takes the last arrival (every
      // warpgroup runs the same tiles), so no barrier is left half-arrived.
      if (pingPong)
        e.when(e.eq(wg, e.idx(consumers - 1)),
               [&] { namedBarrierArrive(e, e.idx(1), turnThreads); });
      SmallVector<Value> state = keyLoop(e.idx(0), range.full, init, /*masked=*/false);
      state = keyLoop(range.full, range.all, state, /*masked=*/true);
      if (pingPong)
        e.when(e.eq(wg, e.idx(0)), [&] { namedBarrier(e, e.idx(1), turnThreads); });
      finish(state);
    });
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    return success();
  }

  SmallVector<Value> state;
  if (overlap) {
    // Tile 0 (and Q): stages - 2 younger groups.
    waitTile(cfg.stages - 2);
    Value s = issueScores(e.idx(0));
    wgmma::waitGroups(e, 0);
    SoftmaxRow rows0[2] = {start, start};
    Value unused[2], unusedGrew;
    SmallVector<Value> p = softmaxTile(s, e.idx(0), /*masked=*/true, rows0, unused, unusedGrew);
    SmallVector<Value> st{init[0]};
    st.append(p);
    st.append({rows0[0].max, rows0[1].max, rows0[0].sum, rows0[1].sum});
    st = overlappedLoop(e.idx(1), range.full, st, /*masked=*/false);
    st = overlappedLoop(e.umax(range.full, e.idx(1)), range.all, st, /*masked=*/true);
    Value last = e.sub(e.umax(range.all, e.idx(1)), e.idx(1));
    Value accO = issueValues(st[0], ArrayRef<Value>(st).slice(1, numP),
                             e.rem(last, e.idx(cfg.stages)));
    wgmma::waitGroups(e, 0);
    state = {accO};
    state.append(st.begin() + 1 + numP, st.end());
  } else {
    state = keyLoop(e.idx(0), range.full, init, /*masked=*/false);
    state = keyLoop(range.full, range.all, state, /*masked=*/true);
  }

  finish(state);
  gpu::TerminatorOp::create(b, loc);
  op.erase();
  return success();
}
