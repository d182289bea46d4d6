//===- Mma.cpp - tensor-core GEMM on mma.sync (rung t_v0..t_v4) -----------===//
//
// One thread block computes a blockM x blockN tile of D with warpsM x warpsN
// warps; each warp owns a (blockM/warpsM) x (blockN/warpsN) tile made of
// m16n8 accumulators. K advances blockK at a time through a `stages`-deep
// ring of shared-memory tiles filled with cp.async (zero-filling past the
// edges), read with ldmatrix and multiplied with mma.sync m16n8k16 in f32.
//
// Shared tiles keep the global layout of their operand (rows = the outer
// global dimension, columns = the contiguous one) plus 8 elements of padding
// per row: ldmatrix's eight 16-byte row reads then fall in distinct banks. The
// transposes are absorbed by ldmatrix's .trans variant.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#include "GPU/MmaSync.h"
#include "GPU/SmemLayout.h"
#include "GPU/TileScheduler.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
constexpr int64_t kPad = 8; // elements of padding per shared row

struct Tiles {
  SmemLayout a, b;
};

Tiles tiles(GemmOp op, const GemmConfig &c) {
  bool ta = op.getTransposeA(), tb = op.getTransposeB();
  auto a = ta ? std::pair(c.blockK, c.blockM) : std::pair(c.blockM, c.blockK);
  auto b = tb ? std::pair(c.blockN, c.blockK) : std::pair(c.blockK, c.blockN);
  return {SmemLayout::padded(a.first, a.second, 2, kPad),
          SmemLayout::padded(b.first, b.second, 2, kPad)};
}
} // namespace

int64_t mlir::tessel::mmaSharedBytes(GemmOp op, const GemmConfig &c) {
  Tiles t = tiles(op, c);
  return c.stages * (t.a.bytes() + t.b.bytes());
}

void mlir::tessel::emitMmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg,
                               const GemmShape &sh) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  auto [tileA, tileB] = tiles(op, cfg);
  Type elt = cast<MemRefType>(op.getA().getType()).getElementType();
  int64_t threads = 32 * cfg.warpsM * cfg.warpsN;
  int64_t warpTileM = cfg.blockM / cfg.warpsM, warpTileN = cfg.blockN / cfg.warpsN;
  int64_t tilesM = warpTileM / 16, tilesN = warpTileN / 8;
  OpBuilder::InsertionGuard guard(b);
  GemmLaunch launch = launchGemm(e, sh, cfg, threads, mmaSharedBytes(op, cfg));
  Size gridM = launch.gridM;
  int64_t gridN = launch.gridN;
  Value tid = launch.tid, batch = launch.batch;

  // Typed views of the dynamic shared memory: [stages][rows][cols + pad].
  SmemArena arena(e);
  Value sa = arena.view({cfg.stages, tileA.rows, tileA.cols + kPad}, elt, 0);
  Value sb = arena.view({cfg.stages, tileB.rows, tileB.cols + kPad}, elt,
                        cfg.stages * tileA.bytes());

  auto [pidM, pidN] = rasterize(e, launch.blockX, launch.blockY, gridM, gridN, cfg.groupM);
  Value rowBase = e.mul(pidM, e.idx(cfg.blockM));
  Value colBase = e.mul(pidN, e.idx(cfg.blockN));
  GemmKRange kRange = kRangeOf(e, sh, cfg, launch);
  Size numK = kRange.tiles;

  auto copyStage = [&](Value kt, Value stage) {
    auto index = [&](Value r, Value c) -> SmallVector<Value> { return {stage, r, c}; };
    copyOperandTiles(e, op, sh, batch, tid, threads, kRange.offset(e, kt, cfg.blockK), rowBase,
                     colBase, sa, index, sb, index);
  };

  // Prologue: the first stages - 1 k-tiles in flight.
  Value lastGroup;
  for (int64_t s = 0; s < cfg.stages - 1; ++s) {
    if (!numK.isStatic())
      e.when(e.lt(e.idx(s), e.size(numK)), [&] { copyStage(e.idx(s), e.idx(s)); });
    else if (s < numK.fixed)
      copyStage(e.idx(s), e.idx(s));
    lastGroup = commitCopies(e);
  }

  WarpIds ids = WarpIds::of(e, tid);
  Value warpRow = e.mul(e.rem(ids.warp, e.idx(cfg.warpsM)), e.idx(warpTileM));
  Value warpCol = e.mul(e.div(ids.warp, e.idx(cfg.warpsM)), e.idx(warpTileN));
  mma::Lanes lanes = mma::Lanes::of(e, ids.lane);

  SmallVector<Value> inits(tilesM * tilesN, mma::zeroAccumulator(e));

  auto loop = scf::ForOp::create(b, loc, e.idx(0), e.size(numK), e.idx(1), inits);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    // Tile kt has landed once at most stages - 2 younger groups are pending.
    waitCopies(e, lastGroup, cfg.stages - 2);
    gpu::BarrierOp::create(b, loc);
    Value stage = e.rem(kt, e.idx(cfg.stages));
    auto index = [&](Value r, Value c) -> SmallVector<Value> { return {stage, r, c}; };
    SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
    for (int64_t ks = 0; ks < cfg.blockK; ks += 16) {
      SmallVector<Value> as, bs;
      for (int64_t i = 0; i < tilesM; ++i)
        as.push_back(mma::loadA(e, lanes, sa, index, e.add(warpRow, e.idx(i * 16)), e.idx(ks),
                                !op.getTransposeA()));
      for (int64_t p = 0; p < tilesN / 2; ++p) {
        auto [lo, hi] = mma::loadB(e, lanes, sb, index, e.add(warpCol, e.idx(p * 16)),
                                   e.idx(ks), op.getTransposeB());
        bs.append({lo, hi});
      }
      for (int64_t i = 0; i < tilesM; ++i)
        for (int64_t j = 0; j < tilesN; ++j)
          acc[i * tilesN + j] = mma::mma(e, as[i], bs[j], acc[i * tilesN + j]);
      if (ks == 0) {
        // Refill the stage every warp finished reading in the previous
        // iteration, once the first mma.syncs are queued: the tensor cores
        // then start right after the barrier.
        Value next = e.add(kt, e.idx(cfg.stages - 1));
        e.when(e.lt(next, e.size(numK)),
               [&] { copyStage(next, e.rem(next, e.idx(cfg.stages))); });
        commitCopies(e);
      }
    }
    scf::YieldOp::create(b, loc, acc);
  }

  mma::AccumulatorLanes out = mma::AccumulatorLanes::of(e, ids.lane);
  Value m = e.size(sh.M), n = e.idx(sh.N);
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t j = 0; j < tilesN; ++j)
      for (int64_t half = 0; half < 2; ++half)
        for (int64_t k = 0; k < 2; ++k) {
          Value row = e.add(e.add(rowBase, warpRow), e.add(e.idx(i * 16 + half * 8), out.group));
          Value col = e.add(e.add(colBase, warpCol), e.add(e.idx(j * 8 + k), out.col2));
          Value v = mma::element(e, loop.getResult(i * tilesN + j), half, k);
          storeAccumulator(e, op, cfg, sh, launch, row, col, v,
                           e.land(e.lt(row, m), e.lt(col, n)));
        }
  gpu::TerminatorOp::create(b, loc);
}
