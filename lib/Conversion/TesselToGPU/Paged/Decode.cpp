//===- Decode.cpp - paged_attention: decode over a paged KV cache ---------===//
//
// vLLM's PagedAttention, written like FlashDecoding on mma.sync:
//
//   block ((sequence, kv head[, 32-head slice of its group]), partition):
//     Q tile  <- the group's query heads, rows past the group zero (M = 16,
//                or 32 as two row tiles over the same K/V tile: MQA)
//     for each key tile of the context (cp.async ring, rows gathered
//         through the block table by copyTile's srcIndex):
//       warp w, its 16 tokens [16s, 16s+16) and its row tile(s) of Q
//       (MQA: two warps share the slice, one row tile each):
//               S = Q K[16s .. 16s+16)^T          mma.sync, f32
//               mask tokens >= context length     -inf
//               online softmax per row            Reduce.h (quad lanes)
//               O_w = O_w * rescale + P V         P stays in registers
//     (each 16-token slice is a pipeline of its own: the warps that read it
//     copy it and meet at its barrier, never at a block barrier per tile)
//     combine the key slices' (max, sum, O_w) in shared memory
//     v1: O = sum / L  -> out       v2: (O unnormalized, max, L) -> workspace
//     v2, cluster of c partitions: (O, max, L) stay in each block's shared
//       memory; after barrier.cluster each block folds 1 / c of the rows
//       from all c blocks (mapa): the output when the context fits the
//       cluster, else the cluster's workspace entry
//   v2 reduction kernel, block (sequence, query head), thread = column d
//   (its grid empty when one cluster covers the longest context):
//     O = sum_p 2^(m_p - M) O_p / sum_p 2^(m_p - M) L_p
//
// Why mma.sync and not a SIMT dot product: decode is bandwidth-bound only as
// long as the math keeps up with 4.8 TB/s. With GQA 8 every K/V element
// feeds 8 heads x 2 FMAs; in f32 SIMT that is ~40 TFLOP/s of FMAs plus the
// f16 -> f32 conversions and the shared-memory reads behind them, close to
// the SIMT roof, whereas the tensor cores do it with room to spare (the
// padding of the group to 16 rows wastes tensor work, not bandwidth).
//
// The workspace of v2 is a memref.alloc in the host function, sized by an
// expression of the call's sizes; the Python runtime allocates it per call
// (compiler/cuda/artifact.py, runtime/kernel.py).
//
//===----------------------------------------------------------------------===//

#include "Paged.h"

#include "GPU/Cluster.h"
#include "GPU/Mbarrier.h"
#include "GPU/MmaSync.h"
#include "GPU/Reduce.h"
#include "GPU/TileCopy.h"
#include "GPU/TileScheduler.h"
#include "GPU/WarpRole.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::tessel;

namespace {
constexpr int64_t kPad = 8;             // elements of padding per shared row
constexpr float kLazyRescale = 8;       // log2 units the softmax max may lag
constexpr int64_t kWorkspaceBound = int64_t(1) << 40; // static bound of its view

float negInf() { return -std::numeric_limits<float>::infinity(); }

struct DecodeShape {
  FlatOperand q, kc, vc, bt, lens, out;
  Size seqs, maxBlocks;
  int64_t hq, hkv, d, bs, group, headBlocks; // headBlocks: blocks per kv head
  Value numParts; // v2: partitions of the longest context (host index)
  Value numSlots; // v2: workspace entries per head (clusters or partitions)
};

Value isNegInf(KernelBuilder &e, Value x) {
  return arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OEQ, x, e.f32(negInf()));
}
Value exp2(KernelBuilder &e, Value x) { return math::Exp2Op::create(e.b, e.loc, x); }
Value fdiv(KernelBuilder &e, Value x, Value y) { return arith::DivFOp::create(e.b, e.loc, x, y); }
Value fgt0(KernelBuilder &e, Value x) {
  return arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OGT, x, e.f32(0));
}

/// Elements first, first + stride, ... below `total` (at most `perThread`
/// of them), `batch` at a time: `load` for every element of a batch, then
/// `use` for each one below `total`. A loop issued one element's loads per
/// iteration, so the combine waited for a shared-memory (or, across a
/// cluster, a remote) round trip per element; a batch's loads are in flight
/// together. A thread with no element does nothing; its loads past `total`
/// read its own first element again (an element `use` may rewrite in place,
/// as only its own thread reads it).
void stridedBatches(KernelBuilder &e, Value first, Value total, int64_t stride,
                    int64_t perThread, int64_t batch,
                    function_ref<SmallVector<Value>(Value i)> load,
                    function_ref<void(Value i, ArrayRef<Value> loaded)> use) {
  e.when(e.lt(first, total), [&] {
    for (int64_t k0 = 0; k0 < perThread; k0 += batch) {
      SmallVector<Value> index;
      SmallVector<SmallVector<Value>> loaded;
      for (int64_t k = k0; k < std::min(k0 + batch, perThread); ++k) {
        index.push_back(e.add(first, e.idx(k * stride)));
        Value in = e.lt(index.back(), total);
        loaded.push_back(load(k ? e.pick(in, index.back(), first) : first));
      }
      for (auto [i, values] : llvm::zip(index, loaded))
        e.when(e.lt(i, total), [&] { use(i, values); });
    }
  });
}

/// The attention kernel (v1 writes `out`; v2 writes its partition to `ws`).
void emitAttention(OpBuilder &b, PagedAttentionOp op, const DecodeConfig &c,
                   const DecodeShape &sh, Value ws) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  Type elt = cast<MemRefType>(op.getQ().getType()).getElementType();
  int64_t eltBytes = elt.getIntOrFloatBitWidth() / 8;
  int64_t threads = 32 * c.warps, tokens = c.tileTokens(), D = sh.d, row = D + kPad;
  int64_t rowsPerBlock = c.rows();
  int64_t qBytes = rowsPerBlock * row * eltBytes, ringBytes = c.stages * tokens * row * eltBytes;

  // A cluster's partitions are consecutive in z: the grid rounds the
  // partitions up to whole clusters.
  bool inCluster = c.cluster > 1;
  Value gridZ = !c.split ? e.idx(1)
                : inCluster ? e.mul(sh.numSlots, e.idx(c.cluster))
                            : sh.numParts;
  Value sharedBytes = arith::ConstantIntOp::create(b, loc, decodeSharedBytes(op, c), 32);
  Value gridX = e.mul(e.size(sh.seqs), e.idx(sh.hkv * sh.headBlocks)), one = e.idx(1);
  auto launch = inCluster ? cluster::launch(e, gridX, one, gridZ, threads, sharedBytes, 1, 1,
                                            c.cluster)
                          : gpu::LaunchOp::create(b, loc, gridX, one, gridZ, e.idx(threads), one,
                                                  one, sharedBytes);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds();
  Value tid = launch.getThreadIds().x;
  // x = (sequence, kv head, head slice), the slice fastest: the slices of
  // one kv head (groups above 32) run together and share K/V in L2. x
  // takes up to 2^31 - 1 blocks (y and z stop at 65535).
  Value seq = e.div(block.x, e.idx(sh.hkv * sh.headBlocks));
  Value inSeq = e.rem(block.x, e.idx(sh.hkv * sh.headBlocks));
  Value kvHead = e.div(inSeq, e.idx(sh.headBlocks));
  Value headSlice = e.rem(inSeq, e.idx(sh.headBlocks));
  // This block's query heads: h0 .. h0 + rows of kv head kvHead's group.
  Value firstInGroup = e.mul(headSlice, e.idx(rowsPerBlock));
  Value h0 = e.add(e.mul(kvHead, e.idx(sh.group)), firstInGroup);
  Value rows = e.umin(e.sub(e.idx(sh.group), firstInGroup), e.idx(rowsPerBlock));
  Value ctx = e.toSignedIndex(e.load(sh.lens.flat, {seq}));
  Value begin = e.idx(0), end = ctx;
  if (c.split) {
    begin = e.mul(block.z, e.idx(c.partitionSize));
    // A cluster's blocks past the context still meet at its barriers: they
    // run an empty key range.
    end = e.umax(e.umin(e.add(begin, e.idx(c.partitionSize)), ctx), begin);
  }
  // First element of (seq, h0, :) in q / out.
  Value qBase = e.mul(e.add(e.mul(seq, e.idx(sh.hq)), h0), e.idx(D));

  SmemArena arena(e);
  // Token t of the sequence: block_tables[seq, t / bs], offset t % bs.
  // v2 first copies its partition's entries into shared memory: read from
  // global memory, each lookup put an L2 round trip in front of the
  // cp.async it addresses (ncu, MQA 64 x 4096: the top stall). The copy
  // does not wait for the context length (its load runs beside them): in a
  // single wave of blocks nothing else hides that round trip.
  Value tableRow = e.mul(seq, e.size(sh.maxBlocks));
  int64_t entries = decodeTableEntries(op, c);
  Value sTable, firstBlock;
  if (entries) {
    Type i32 = b.getI32Type();
    sTable = arena.view({entries}, i32, decodeSharedBytes(op, c) - 4 * entries);
    firstBlock = e.div(begin, e.idx(sh.bs));
    e.loop(tid, e.idx(entries), e.idx(threads), [&](Value i) {
      Value blk = e.add(firstBlock, i);
      Value v = e.select(
          e.lt(blk, e.size(sh.maxBlocks)), i32,
          [&] { return e.load(sh.bt.flat, {e.add(tableRow, blk)}); },
          [&] { return arith::ConstantIntOp::create(b, loc, 0, 32).getResult(); });
      e.store(v, sTable, {i});
    });
    gpu::BarrierOp::create(b, loc);
  }

  auto body = [&] {
    Value sQ = arena.view({rowsPerBlock, row}, elt, 0);
    Value sK = arena.view({c.stages, tokens, row}, elt, qBytes);
    Value sV = arena.view({c.stages, tokens, row}, elt, qBytes + ringBytes);
    auto plain = [](Value r, Value col) -> SmallVector<Value> { return {r, col}; };

    // Q: rows past the group are zero-filled (their scores are 0, no NaN).
    auto qIndex = [&](Value r, Value col) -> SmallVector<Value> {
      return {e.add(qBase, e.add(e.mul(r, e.idx(D)), col))};
    };
    copyTile(e, TileCopy{sh.q.flat, rowsPerBlock, D, rows, e.idx(D), true, qIndex, sQ, plain},
             tid,
             threads, e.idx(0), e.idx(0));
    auto kvIndex = [&](Value t, Value col) -> SmallVector<Value> {
      Value blk;
      if (entries) {
        // Rows past the context read token 0 (copyTile's in-buffer address
        // for an empty copy): clamp to the partition's first entry.
        Value local = arith::MaxSIOp::create(b, loc, e.sub(e.div(t, e.idx(sh.bs)), firstBlock),
                                             e.idx(0));
        blk = e.toSignedIndex(e.load(sTable, {local}));
      } else {
        blk = e.toSignedIndex(e.load(sh.bt.flat, {e.add(tableRow, e.div(t, e.idx(sh.bs)))}));
      }
      Value slot = e.add(e.mul(blk, e.idx(sh.bs)), e.rem(t, e.idx(sh.bs)));
      return {e.add(e.mul(e.add(e.mul(slot, e.idx(sh.hkv)), kvHead), e.idx(D)), col)};
    };
    Value numTiles = e.ceilDiv(Size::of(e.sub(end, begin)), tokens);
    // Each key slice (16 tokens of every tile, read by the rowWarps warps
    // that share it and by no one else) is a pipeline of its own: its warps
    // copy its rows, wait for their own copies and meet at a barrier of
    // the slice (a warp: bar.warp.sync; two: a named barrier), never at a
    // block barrier. A slice that finishes its tile early goes on to the
    // next instead of waiting for the slowest warp of the block (ncu, MQA:
    // the block barrier behind the cp.async wait was the top stall).
    WarpIds ids = WarpIds::of(e, tid);
    int64_t sliceThreads = 32 * c.rowWarps();
    Value slice = e.div(ids.warp, e.idx(c.rowWarps()));
    Value sliceTid = e.rem(tid, e.idx(sliceThreads));
    Value warpTokens = e.mul(slice, e.idx(16));
    auto copyStage = [&](Value tile, Value stage) {
      Value t0 = e.add(e.add(begin, e.mul(tile, e.idx(tokens))), warpTokens);
      auto dst = [&](Value r, Value col) -> SmallVector<Value> {
        return {stage, e.add(warpTokens, r), col};
      };
      copyTile(e, TileCopy{sh.kc.flat, 16, D, end, e.idx(D), true, kvIndex, sK, dst}, sliceTid,
               sliceThreads, t0, e.idx(0));
      copyTile(e, TileCopy{sh.vc.flat, 16, D, end, e.idx(D), true, kvIndex, sV, dst}, sliceTid,
               sliceThreads, t0, e.idx(0));
    };
    auto sliceBarrier = [&] {
      if (c.rowWarps() == 1)
        NVVM::SyncWarpOp::create(b, loc, e.i32(-1));
      else
        namedBarrier(e, e.add(slice, e.idx(1)), sliceThreads);
    };
    // Prologue: Q and the first stages - 1 tiles in flight.
    Value lastGroup;
    for (int64_t s = 0; s < c.stages - 1; ++s) {
      e.when(e.lt(e.idx(s), numTiles), [&] { copyStage(e.idx(s), e.idx(s)); });
      lastGroup = commitCopies(e);
    }
    // Q (in the first group, copied by every thread) is read by all warps:
    // one block barrier once it and tile 0 have landed.
    waitCopies(e, lastGroup, c.stages - 2);
    gpu::BarrierOp::create(b, loc);

    mma::Lanes lanes = mma::Lanes::of(e, ids.lane);
    mma::AccumulatorLanes out = mma::AccumulatorLanes::of(e, ids.lane);
    // The max moves only when a tile raises it by more than 2^8: past the
    // first tiles of a context it rarely does, and the warp skips the
    // rescale of its D / 2 accumulators per lane (ncu, MQA 64 x 4096: a
    // fifth of all instructions were those FMULs).
    OnlineSoftmax softmax{float(op.getScaleValue() * M_LOG2E), 4, kLazyRescale};
    SoftmaxRow start = softmax.init(e);
    // Warp w: key slice w / rowWarps, row tiles from row firstRow on (the
    // rowWarps warps of a slice are adjacent, so they read its K/V rows of
    // shared memory close together in time).
    int64_t R = c.warpRowTiles;
    Value firstRow = e.mul(e.rem(ids.warp, e.idx(c.rowWarps())), e.idx(16 * R));
    // Loop state: row tile t's accumulators at t * numAcc + j, then the
    // softmax rows (max, sum) of (t, half) at numO + 2 * (2t + half).
    int64_t numAcc = D / 8, numO = R * numAcc;
    SmallVector<Value> inits(numO, mma::zeroAccumulator(e));
    for (int64_t i = 0; i < 2 * R; ++i)
      inits.append({start.max, start.sum});

    auto loop = scf::ForOp::create(b, loc, e.idx(0), numTiles, e.idx(1), inits);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(loop.getBody());
      Value tile = loop.getInductionVar();
      // Tile `tile` has landed once at most stages - 2 younger groups pend
      // (this thread's; the slice barrier makes them the slice's).
      waitCopies(e, lastGroup, c.stages - 2);
      sliceBarrier();
      // Refill the stage the slice's warps finished reading last iteration.
      Value next = e.add(tile, e.idx(c.stages - 1));
      e.when(e.lt(next, numTiles), [&] { copyStage(next, e.rem(next, e.idx(c.stages))); });
      commitCopies(e);

      Value stage = e.rem(tile, e.idx(c.stages));
      auto staged = [&](Value r, Value col) -> SmallVector<Value> { return {stage, r, col}; };
      auto args = loop.getRegionIterArgs();
      SmallVector<Value> acc(args.begin(), args.begin() + numO);
      SmallVector<SoftmaxRow> state;
      for (int64_t i = 0; i < 2 * R; ++i)
        state.push_back({args[numO + 2 * i], args[numO + 2 * i + 1]});

      // S = Q K^T for this warp's 16 tokens: columns 0..7 (lo), 8..15 (hi),
      // each K fragment feeding every row tile.
      SmallVector<Value> sLo(R, mma::zeroAccumulator(e)), sHi(R, mma::zeroAccumulator(e));
      for (int64_t ks = 0; ks < D; ks += 16) {
        auto [kLo, kHi] = mma::loadB(e, lanes, sK, staged, warpTokens, e.idx(ks),
                                     /*kContiguous=*/true);
        for (int64_t t = 0; t < R; ++t) {
          Value a = mma::loadA(e, lanes, sQ, plain, e.add(firstRow, e.idx(16 * t)), e.idx(ks),
                               /*kContiguous=*/true);
          sLo[t] = mma::mma(e, a, kLo, sLo[t]);
          sHi[t] = mma::mma(e, a, kHi, sHi[t]);
        }
      }

      // Mask tokens past the context, then the online softmax per row
      // (half 0: row lane / 4, half 1: row lane / 4 + 8 of the row tile).
      Value tokenBase = e.add(e.add(begin, e.mul(tile, e.idx(tokens))), warpTokens);
      SmallVector<Value> ps, rescales;
      Value grew;
      for (int64_t t = 0; t < R; ++t) {
        SmallVector<Value> probs[2];
        for (int64_t half = 0; half < 2; ++half) {
          for (auto [s, offset] : {std::pair<Value, int64_t>{sLo[t], 0}, {sHi[t], 8}})
            for (int64_t k = 0; k < 2; ++k) {
              Value token = e.add(tokenBase, e.add(out.col2, e.idx(offset + k)));
              probs[half].push_back(
                  e.pick(e.lt(token, end), mma::element(e, s, half, k), e.f32(negInf())));
            }
          Value rescale, moved;
          state[2 * t + half] =
              softmax.update(e, state[2 * t + half], probs[half], rescale, &moved);
          rescales.push_back(rescale);
          grew = grew ? e.lor(grew, moved) : moved;
        }
        // P (16 x 16 tokens) becomes the A operand of P V.
        Value pLo = mma::accumulator(e, {probs[0][0], probs[0][1], probs[1][0], probs[1][1]});
        Value pHi = mma::accumulator(e, {probs[0][2], probs[0][3], probs[1][2], probs[1][3]});
        ps.push_back(mma::accumulatorsToA(e, pLo, pHi, elt));
      }
      // Rescale the accumulators only when some row of the warp moved its max.
      acc = mma::scaleRowsIf(e, warpAny(e, grew), acc, numAcc, rescales);

      // O += P V, V rows are K; each V fragment feeds every row tile.
      for (int64_t nb = 0; nb < D / 16; ++nb) {
        auto [vLo, vHi] = mma::loadB(e, lanes, sV, staged, e.idx(nb * 16), warpTokens,
                                     /*kContiguous=*/false);
        for (int64_t t = 0; t < R; ++t) {
          Value &lo = acc[t * numAcc + 2 * nb], &hi = acc[t * numAcc + 2 * nb + 1];
          lo = mma::mma(e, ps[t], vLo, lo);
          hi = mma::mma(e, ps[t], vHi, hi);
        }
      }
      SmallVector<Value> yield(acc);
      for (SoftmaxRow &r : state)
        yield.append({r.max, r.sum});
      scf::YieldOp::create(b, loc, yield);
    }

    // Combine the key slices through shared memory (reusing the rings).
    waitCopies(e, lastGroup, 0);
    gpu::BarrierOp::create(b, loc);
    Type f32 = b.getF32Type();
    int64_t slices = c.tokenWarps(), oRow = D + kCombinePad;
    int64_t oBytes = slices * rowsPerBlock * oRow * 4;
    int64_t sumOffset = qBytes + oBytes + slices * rowsPerBlock * 4;
    Value sO = arena.view({slices, rowsPerBlock, oRow}, f32, qBytes);
    Value sMax = arena.view({slices, rowsPerBlock}, f32, qBytes + oBytes);
    Value sSum = arena.view({slices, rowsPerBlock}, f32, sumOffset);
    // Cluster: each row's (max, sum) over this block's slices.
    int64_t rowStatsOffset = sumOffset + slices * rowsPerBlock * 4;
    Value sRowStats = arena.view({rowsPerBlock, 2}, f32, rowStatsOffset);
    for (int64_t t = 0; t < R; ++t) {
      Value tileRow = e.add(firstRow, e.idx(16 * t));
      // A lane's two adjacent columns of a row in one 8-byte store.
      for (int64_t j = 0; j < numAcc; ++j)
        for (int64_t half = 0; half < 2; ++half) {
          Value pair = vector::ExtractOp::create(b, loc, loop.getResult(t * numAcc + j),
                                                 ArrayRef<int64_t>{half});
          Value r = e.add(e.add(out.group, e.idx(8 * half)), tileRow);
          vector::StoreOp::create(b, loc, pair, sO,
                                  ValueRange{slice, r, e.add(out.col2, e.idx(j * 8))},
                                  /*nontemporal=*/false, llvm::MaybeAlign(8));
        }
      Value sums[2] = {
          warpReduce(e, loop.getResult(numO + 2 * (2 * t) + 1), ReduceKind::Sum, 4),
          warpReduce(e, loop.getResult(numO + 2 * (2 * t + 1) + 1), ReduceKind::Sum, 4)};
      e.when(e.eq(e.rem(ids.lane, e.idx(4)), e.idx(0)), [&] {
        for (int64_t half = 0; half < 2; ++half) {
          Value r = e.add(out.group, e.add(tileRow, e.idx(8 * half)));
          e.store(loop.getResult(numO + 2 * (2 * t + half)), sMax, {slice, r});
          e.store(sums[half], sSum, {slice, r});
        }
      });
    }
    gpu::BarrierOp::create(b, loc);

    // v2: the workspace entry of this block's partition (cluster: of its
    // cluster) for row r.
    Value slot = inCluster ? e.div(block.z, e.idx(c.cluster)) : block.z;
    auto partOf = [&](Value r) {
      Value head = e.add(e.mul(seq, e.idx(sh.hq)), e.add(h0, r));
      return e.add(e.mul(head, sh.numSlots), slot);
    };
    Value mlBase = c.split ? e.mul(e.mul(e.mul(e.size(sh.seqs), e.idx(sh.hq)), sh.numSlots),
                                   e.idx(D))
                           : Value();
    // The folds work on quads, four adjacent columns of a row: a warp's
    // loads of one slice are then a row's contiguous floats, and each quad
    // derives its row's weights from the (max, sum) of every part itself,
    // instead of one thread per row writing them for the block to read
    // after another barrier (and each column loading them again).
    int64_t quads = D / 4;
    VectorType quad = VectorType::get({4}, f32);
    VectorType outQuad = VectorType::get({4}, elt);
    auto splat = [&](Value x) { return vector::BroadcastOp::create(b, loc, quad, x).getResult(); };
    auto loadQuad = [&](Value m, ValueRange at) {
      return vector::LoadOp::create(b, loc, quad, m, at, false, llvm::MaybeAlign(16)).getResult();
    };
    auto storeQuad = [&](Value v, Value m, ValueRange at, int64_t align) {
      vector::StoreOp::create(b, loc, v, m, at, false, llvm::MaybeAlign(align));
    };
    // The parts of a quad's row, loaded as (max, sum, O quad) triples,
    // folded: the weights are relative to the largest max (0 when all are
    // -inf: an empty row).
    struct Folded {
      Value o, max, sum;
    };
    auto fold = [&](ArrayRef<Value> parts) {
      Value max = e.f32(negInf());
      for (size_t j = 0; j < parts.size(); j += 3)
        max = e.fmax(max, parts[j]);
      Value base = e.pick(isNegInf(e, max), e.f32(0), max);
      Value sum = e.f32(0), acc = splat(e.f32(0));
      for (size_t j = 0; j < parts.size(); j += 3) {
        Value w = exp2(e, e.fsub(parts[j], base));
        sum = math::FmaOp::create(b, loc, w, parts[j + 1], sum);
        acc = math::FmaOp::create(b, loc, splat(w), parts[j + 2], acc);
      }
      return Folded{acc, max, sum};
    };
    // O / sum as the output's quad (a zero-length context has sum 0: O = 0).
    auto storeOutput = [&](Value r, Value q, const Folded &f) {
      Value inv = e.pick(fgt0(e, f.sum), fdiv(e, e.f32(1), f.sum), e.f32(0));
      Value v = arith::TruncFOp::create(b, loc, outQuad, e.fmul(f.o, splat(inv)));
      storeQuad(v, sh.out.flat, {e.add(qBase, e.add(e.mul(r, e.idx(D)), e.mul(q, e.idx(4))))},
                4 * elt.getIntOrFloatBitWidth() / 8);
    };
    // The cluster's (or the partition's) entry of the workspace.
    auto storeEntry = [&](Value r, Value q, const Folded &f) {
      storeQuad(f.o, ws, {e.add(e.mul(partOf(r), e.idx(D)), e.mul(q, e.idx(4)))}, 16);
      e.when(e.eq(q, e.idx(0)), [&] {
        Value ml = e.add(mlBase, e.mul(partOf(r), e.idx(2)));
        e.store(f.max, ws, {ml});
        e.store(f.sum, ws, {e.add(ml, e.idx(1))});
      });
    };

    // The key slices: 4 quads' loads in flight at a time.
    int64_t items = rowsPerBlock * quads;
    Value rowQuads = e.mul(rows, e.idx(quads));
    auto sliceLoads = [&](Value i) -> SmallVector<Value> {
      Value r = e.div(i, e.idx(quads)), d = e.mul(e.rem(i, e.idx(quads)), e.idx(4));
      SmallVector<Value> v;
      for (int64_t w = 0; w < slices; ++w)
        v.append({e.load(sMax, {e.idx(w), r}), e.load(sSum, {e.idx(w), r}),
                  loadQuad(sO, {e.idx(w), r, d})});
      return v;
    };
    stridedBatches(e, tid, rowQuads, threads, llvm::divideCeil(items, threads), 4, sliceLoads,
                   [&](Value i, ArrayRef<Value> v) {
      Value r = e.div(i, e.idx(quads)), q = e.rem(i, e.idx(quads));
      Folded f = fold(v);
      if (!c.split)
        return storeOutput(r, q, f);
      if (!inCluster)
        return storeEntry(r, q, f);
      // Over slice 0's O: this thread alone reads and writes this quad.
      storeQuad(f.o, sO, {e.idx(0), r, e.mul(q, e.idx(4))}, 16);
      e.when(e.eq(q, e.idx(0)), [&] {
        e.store(f.max, sRowStats, {r, e.idx(0)});
        e.store(f.sum, sRowStats, {r, e.idx(1)});
      });
    });
    if (!inCluster)
      return;

    // The cluster's partitions meet: block `rank` folds quads rank *
    // threads + tid, + threads * cluster, ... of the rows from every block's
    // shared memory (ld.shared::cluster through mapa). With at most
    // `cluster` partitions that is the output, else the cluster's entry of
    // the workspace for the reduction kernel.
    cluster::sync(e);
    Value rank = e.rem(block.z, e.idx(c.cluster));
    Value single = e.ule(sh.numParts, e.idx(c.cluster));
    Value localO = mbarrier::pointer(e, arena.addressOf(qBytes));
    Value localStats = mbarrier::pointer(e, arena.addressOf(rowStatsOffset));
    SmallVector<Value> remoteO, remoteStats;
    for (int64_t j = 0; j < c.cluster; ++j) {
      remoteO.push_back(cluster::mapShared(e, localO, e.idx(j)));
      remoteStats.push_back(cluster::mapShared(e, localStats, e.idx(j)));
    }
    auto loadAt = [&](Value base, Value index, Type type, int64_t align) {
      Value at = LLVM::GEPOp::create(b, loc, base.getType(), f32, base,
                                     ValueRange{e.toI64(index)});
      return LLVM::LoadOp::create(b, loc, type, at, align).getResult();
    };
    // (max, sum, O quad) of every block: 8 quads' remote loads in flight.
    auto loadRemote = [&](Value i) -> SmallVector<Value> {
      Value r = e.div(i, e.idx(quads)), d = e.mul(e.rem(i, e.idx(quads)), e.idx(4));
      SmallVector<Value> v;
      for (int64_t j = 0; j < c.cluster; ++j) {
        v.push_back(loadAt(remoteStats[j], e.mul(r, e.idx(2)), f32, 4));
        v.push_back(loadAt(remoteStats[j], e.add(e.mul(r, e.idx(2)), e.idx(1)), f32, 4));
        v.push_back(loadAt(remoteO[j], e.add(e.mul(r, e.idx(oRow)), d), quad, 16));
      }
      return v;
    };
    int64_t stride = threads * c.cluster;
    stridedBatches(e, e.add(tid, e.mul(rank, e.idx(threads))), rowQuads, stride,
                   llvm::divideCeil(items, stride), std::max<int64_t>(1, 8 / c.cluster),
                   loadRemote, [&](Value i, ArrayRef<Value> v) {
      Value r = e.div(i, e.idx(quads)), q = e.rem(i, e.idx(quads));
      Folded f = fold(v);
      auto branch = scf::IfOp::create(b, loc, TypeRange{}, single, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      storeOutput(r, q, f);
      b.setInsertionPointToStart(&branch.getElseRegion().front());
      storeEntry(r, q, f);
    });
    // No block may leave while another still reads its shared memory.
    cluster::sync(e);
  };
  if (c.split && !inCluster)
    e.when(e.lt(begin, ctx), body); // partitions past the context: nothing
  else
    body();
  gpu::TerminatorOp::create(b, loc);
}

/// v2's second kernel: one block per (sequence, query head), a thread per
/// column, folding the sequence's partitions.
void emitReduction(OpBuilder &b, PagedAttentionOp op, const DecodeConfig &c,
                   const DecodeShape &sh, Value ws) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  int64_t D = sh.d;
  // With clusters, one slot per head (at most `cluster` partitions) is the
  // output already: then the grid is empty and the launch skipped.
  Value seqs = e.size(sh.seqs);
  if (c.cluster > 1) {
    Value atMostTwo = e.umin(sh.numSlots, e.idx(2));
    Value atMostOne = e.umin(sh.numSlots, e.idx(1));
    seqs = e.mul(seqs, e.sub(atMostTwo, atMostOne)); // 1 iff slots >= 2
  }
  auto launch = gpu::LaunchOp::create(b, loc, seqs, e.idx(sh.hq), e.idx(1), e.idx(D),
                                      e.idx(1), e.idx(1), Value());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value seq = launch.getBlockIds().x, h = launch.getBlockIds().y, d = launch.getThreadIds().x;
  Value ctx = e.toSignedIndex(e.load(sh.lens.flat, {seq}));
  Value parts = e.ceilDiv(Size::of(ctx), c.partitionSize * c.cluster);
  Value head = e.add(e.mul(seq, e.idx(sh.hq)), h);
  Value first = e.mul(head, sh.numSlots);
  Value mlBase = e.mul(e.mul(e.mul(e.size(sh.seqs), e.idx(sh.hq)), sh.numSlots), e.idx(D));
  // One pass, rescaling as the running max grows: the three loads of a
  // part do not wait on the previous part's (three dependent passes over
  // the parts took 5.7 us for MQA 64 x 4096 on an H200, ncu).
  auto loop = scf::ForOp::create(b, loc, e.idx(0), parts, e.idx(1),
                                 ValueRange{e.f32(negInf()), e.f32(0), e.f32(0)});
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value p = loop.getInductionVar();
    Value m = loop.getRegionIterArg(0), l = loop.getRegionIterArg(1),
          acc = loop.getRegionIterArg(2);
    Value ml = e.add(mlBase, e.mul(e.add(first, p), e.idx(2)));
    Value mp = e.load(ws, {ml}), lp = e.load(ws, {e.add(ml, e.idx(1))});
    Value op = e.load(ws, {e.add(e.mul(e.add(first, p), e.idx(D)), d)});
    Value next = e.fmax(m, mp);
    Value base = e.pick(isNegInf(e, next), e.f32(0), next);
    Value keep = exp2(e, e.fsub(m, base)), take = exp2(e, e.fsub(mp, base));
    scf::YieldOp::create(b, loc,
                         ValueRange{next, e.fadd(e.fmul(l, keep), e.fmul(lp, take)),
                                    e.fadd(e.fmul(acc, keep), e.fmul(op, take))});
  }
  Value sum = loop.getResult(1), o = loop.getResult(2);
  e.store(e.pick(fgt0(e, sum), fdiv(e, o, sum), e.f32(0)), sh.out.flat,
          {e.add(e.mul(head, e.idx(D)), d)});
  gpu::TerminatorOp::create(b, loc);
}
} // namespace

LogicalResult mlir::tessel::lowerPagedAttention(PagedAttentionOp op) {
  FailureOr<DecodeConfig> cfg = configureDecode(op);
  if (failed(cfg))
    return failure();
  OpBuilder b(op);
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  DecodeShape sh;
  sh.q = flatten(b, loc, op.getQ());
  sh.kc = flatten(b, loc, op.getKeyCache());
  sh.vc = flatten(b, loc, op.getValueCache());
  sh.bt = flatten(b, loc, op.getBlockTables());
  sh.lens = flatten(b, loc, op.getContextLens());
  sh.out = flatten(b, loc, op.getOut());
  sh.seqs = sh.q.sizes[0];
  sh.maxBlocks = sh.bt.sizes[1];
  sh.hq = sh.q.sizes[1].fixed;
  sh.d = sh.q.sizes[2].fixed;
  sh.bs = sh.kc.sizes[1].fixed;
  sh.hkv = sh.kc.sizes[2].fixed;
  sh.group = sh.hq / sh.hkv;
  sh.headBlocks = llvm::divideCeil(sh.group, cfg->rows());
  if (!cfg->split) {
    emitAttention(b, op, *cfg, sh, Value());
    op.erase();
    return success();
  }
  // Partitions of the longest context the block table can describe.
  sh.numParts =
      sh.maxBlocks.isStatic()
          ? e.idx(llvm::divideCeil(sh.maxBlocks.fixed * sh.bs, cfg->partitionSize))
          : e.ceilDiv(Size::of(e.mul(e.size(sh.maxBlocks), e.idx(sh.bs))), cfg->partitionSize);
  sh.numSlots = cfg->cluster > 1 ? e.ceilDiv(Size::of(sh.numParts), cfg->cluster) : sh.numParts;
  // S x Hq x slots x (D + 2) f32.
  Value elems = e.mul(e.mul(e.mul(e.size(sh.seqs), e.idx(sh.hq)), sh.numSlots),
                      e.idx(sh.d + 2));
  Value alloc = memref::AllocOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()), ValueRange{elems});
  Value ws = memref::ReinterpretCastOp::create(
      b, loc, MemRefType::get({kWorkspaceBound}, b.getF32Type()), alloc, b.getIndexAttr(0),
      ArrayRef<OpFoldResult>{b.getIndexAttr(kWorkspaceBound)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  emitAttention(b, op, *cfg, sh, ws);
  emitReduction(b, op, *cfg, sh, ws);
  memref::DeallocOp::create(b, loc, alloc);
  op.erase();
  return success();
}
