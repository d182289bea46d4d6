//===- GemmWgmma.cpp - Hopper warpgroup tensor-core GEMM ------------------===//
//
// One thread block of `warpgroups` x 128 threads computes a blockM x blockN
// tile of D; warpgroup w owns rows [w * blockM / warpgroups, ...) and every
// column, as m64nNk16 `wgmma.mma_async` instructions whose operands are read
// by the tensor cores straight from shared memory through matrix
// descriptors, with the f32 accumulators in registers.
//
// Shared tiles use the 128-byte swizzle that wgmma understands: a tile with
// `rows` rows of its contiguous global dimension is stored as column blocks
// of 64 elements (128 bytes); inside a block, row r's 16-byte chunk c lands
// at chunk c ^ (r % 8). K-major operands (A, and B when transposed) and
// MN-major ones (B, and A when transposed) share this layout; the descriptor
// strides and wgmma's transpose bits tell them apart, so no operand is
// rearranged on the way in.
//
// The K loop is a `stages`-deep cp.async ring (zero-filled past the edges).
// Iteration kt waits for tile kt, issues its wgmmas asynchronously, refills
// the stage that tile kt - 2 used, and then waits until only this
// iteration's wgmma group is in flight: the barrier at the top of the next
// iteration therefore also proves that every warpgroup is done reading the
// stage refilled there.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#include "GPU/TileScheduler.h"
#include "GPU/Wgmma.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::tessel;

int64_t mlir::tessel::wgmmaSharedBytes(GemmOp op, const GemmConfig &c) {
  WgmmaTiles t = wgmmaTiles(op, c);
  return c.stages * (t.a.layout.bytes() + t.b.layout.bytes()) + t.a.layout.patternBytes();
}

void mlir::tessel::emitWgmmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg,
                                 const GemmShape &sh) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  WgmmaTiles operands = wgmmaTiles(op, cfg);
  const wgmma::Operand &opA = operands.a, &opB = operands.b;
  const SmemLayout &tileA = opA.layout, &tileB = opB.layout;
  Type elt = cast<MemRefType>(op.getA().getType()).getElementType();
  int64_t threads = 128 * cfg.warpgroups;
  int64_t wgTileM = cfg.blockM / cfg.warpgroups, tilesM = wgTileM / 64;
  int64_t stageElems = tileA.elems() + tileB.elems();
  OpBuilder::InsertionGuard guard(b);
  GemmLaunch launch = launchGemm(e, sh, cfg, threads, wgmmaSharedBytes(op, cfg));
  Size gridM = launch.gridM;
  int64_t gridN = launch.gridN;
  Value tid = launch.tid, batch = launch.batch;

  // The stages start on a 1024-byte boundary of the shared window: the
  // descriptors' swizzle is a function of the address bits.
  SmemArena arena(e);
  arena.alignTo(tileA.patternBytes());
  Value smem = arena.view({cfg.stages * stageElems}, elt, 0);
  Value smemAddr = arena.originAddress();

  auto [pidM, pidN] = rasterize(e, launch.blockX, launch.blockY, gridM, gridN, cfg.groupM);
  Value rowBase = e.mul(pidM, e.idx(cfg.blockM));
  Value colBase = e.mul(pidN, e.idx(cfg.blockN));
  GemmKRange kRange = kRangeOf(e, sh, cfg, launch);
  Size numK = kRange.tiles;

  auto copyStage = [&](Value kt, Value stage) {
    Value aOffset = e.mul(stage, e.idx(stageElems));
    Value bOffset = e.add(aOffset, e.idx(tileA.elems()));
    copyOperandTiles(
        e, op, sh, batch, tid, threads, kRange.offset(e, kt, cfg.blockK), rowBase, colBase, smem,
        [&](Value r, Value c) { return SmallVector<Value>{e.add(aOffset, tileA.offset(e, r, c))}; },
        smem,
        [&](Value r, Value c) { return SmallVector<Value>{e.add(bOffset, tileB.offset(e, r, c))}; });
  };

  // Prologue: tiles 0 .. stages - 3 in flight; the ring's other two stages
  // hold the tile being multiplied and the one the previous wgmma group may
  // still be reading.
  Value lastGroup;
  for (int64_t s = 0; s < cfg.stages - 2; ++s) {
    if (!numK.isStatic())
      e.when(e.lt(e.idx(s), e.size(numK)), [&] { copyStage(e.idx(s), e.idx(s)); });
    else if (s < numK.fixed)
      copyStage(e.idx(s), e.idx(s));
    lastGroup = commitCopies(e);
  }

  Value wgIndex = e.div(tid, e.idx(128));
  Value wgRow = e.mul(wgIndex, e.idx(wgTileM));
  Value descA0, descB0;
  std::tie(descA0, descB0) = wgmmaStageDescriptors(e, operands, smemAddr, wgRow);

  SmallVector<Value> inits(tilesM, wgmma::zeroAccumulator(e, cfg.blockN));

  // One K step on tile kt. The last step is peeled out of the loop and waits
  // for all its wgmmas in the same block: ptxas serializes every wgmma of
  // the kernel when a group can still be in flight where control leaves the
  // loop.
  auto step = [&](Value kt, SmallVector<Value> acc, bool last) {
    // Tile kt has landed once at most stages - 3 younger groups are pending;
    // the proxy fence makes this thread's copies visible to the tensor cores
    // and the barrier makes everyone's.
    waitCopies(e, lastGroup, last ? 0 : cfg.stages - 3);
    NVVM::FenceProxyOp::create(b, loc, NVVM::ProxyKind::async_shared,
                               NVVM::SharedSpaceAttr::get(b.getContext(),
                                                          NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);

    Value stage = e.rem(kt, e.idx(cfg.stages));
    Value stageShift = e.toI64(e.mul(stage, e.idx(stageElems * 2 / 16)));
    Value descA = wgmma::advance(e, descA0, stageShift);
    Value descB = wgmma::advance(e, descB0, stageShift);
    issueWgmmaStep(e, operands, cfg, elt, acc, descA, descB);
    if (last) {
      wgmma::waitGroups(e, 0);
      return acc;
    }
    // Refill the stage tile kt - 2 used: the barrier above came after every
    // warpgroup's wait for that group.
    Value next = e.add(kt, e.idx(cfg.stages - 2));
    e.when(e.lt(next, e.size(numK)), [&] { copyStage(next, e.rem(next, e.idx(cfg.stages))); });
    commitCopies(e);
    wgmma::waitGroups(e, 1);
    return acc;
  };

  // The last tile's index (every split-K part has at least one tile).
  Value lastTile;
  scf::ForOp loop;
  if (numK.isStatic()) {
    loop = scf::ForOp::create(b, loc, e.idx(0), e.idx(numK.fixed - 1), e.idx(1), inits);
  } else {
    lastTile = e.sub(numK.dynamic, e.idx(1));
    loop = scf::ForOp::create(b, loc, e.idx(0), lastTile, e.idx(1), inits);
  }
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
    scf::YieldOp::create(b, loc, step(loop.getInductionVar(), acc, /*last=*/false));
  }
  SmallVector<Value> result =
      step(numK.isStatic() ? e.idx(numK.fixed - 1) : lastTile,
           SmallVector<Value>(loop.getResults()), /*last=*/true);

  // Epilogue: warp w of the warpgroup holds rows 16 w.. of each 64-row tile.
  forEachWgmmaResult(e, result, e.rem(tid, e.idx(128)), rowBase, wgRow, colBase, sh, cfg,
                     [&](Value row, Value col, Value v, Value ok) {
                       storeAccumulator(e, op, cfg, sh, launch, row, col, v, ok);
                     });
  gpu::TerminatorOp::create(b, loc);
}
