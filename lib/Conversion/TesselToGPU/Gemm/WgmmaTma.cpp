//===- WgmmaTma.cpp - warp-specialized Hopper GEMM fed by TMA -------------===//
//
// The wgmma rung's math (m64nNk16 wgmma.mma_async from 128-byte-swizzled
// shared tiles through matrix descriptors, f32 accumulators in registers)
// with the operands brought by TMA instead of cp.async, and the block split
// into roles (FlashAttention-3 / CUTLASS "warp-specialized" style):
//
//   warpgroup 0, the producer (setmaxnreg dec): one elected lane walks the
//     K tiles, acquires a stage of the MbarrierRing, arms its full barrier
//     with the stage's bytes and issues the TMA boxes of A and B;
//   warpgroups 1..W, the consumers (setmaxnreg inc): each owns blockM / W
//     rows of the tile; per K tile it waits for the stage, issues its
//     wgmmas, and releases the stage once the next group is issued and this
//     one retired (one wgmma group in flight).
//
// TMA boxes are one swizzle row (64 elements) wide, so a tile of `rows`
// rows is cols / 64 boxes stacked as SmemLayout's column blocks. Elements
// past M, N or K are zero-filled by TMA (any K works: out-of-range K reads
// zeros on both operands); stores are guarded as in the other rungs.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#include "GPU/Mbarrier.h"
#include "GPU/TileScheduler.h"
#include "GPU/Tma.h"
#include "GPU/WarpRole.h"
#include "GPU/Wgmma.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
constexpr int64_t kSwizzle = 128, kBox = 64; // f16/bf16: one 128-byte row
constexpr int64_t kProducerRegisters = 40, kConsumerRegisters = 232;


/// The operand as the call passed it: prepareGemm views run-time sizes as
/// their static bound, but the tensor map must know the real extents.
Value original(Value v) {
  if (auto view = v.getDefiningOp<memref::ReinterpretCastOp>())
    return view.getSource();
  return v;
}
} // namespace

int64_t mlir::tessel::wgmmaTmaSharedBytes(GemmOp op, const GemmConfig &c) {
  WgmmaTiles t = wgmmaTiles(op, c);
  return c.stages * (t.a.layout.bytes() + t.b.layout.bytes()) + t.a.layout.patternBytes() +
         MbarrierRing::bytes(c.stages);
}

std::string mlir::tessel::wgmmaTmaOperandError(GemmOp op) {
  // TMA reads rows that start on 16-byte boundaries: 8 f16/bf16 elements.
  auto type = [](Value v) { return cast<MemRefType>(v.getType()); };
  for (auto [v, name] : {std::pair<Value, StringRef>{op.getA(), "a"}, {op.getB(), "b"}}) {
    int64_t inner = type(v).getShape().back();
    if (!ShapedType::isDynamic(inner) && inner % 8)
      return ("operand '" + name + "' has rows of " + Twine(inner) +
              " elements; TMA needs them to be a multiple of 8 (16 bytes)")
          .str();
  }
  return "";
}

void mlir::tessel::emitWgmmaTmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg,
                                    const GemmShape &sh) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  WgmmaTiles operands = wgmmaTiles(op, cfg);
  const wgmma::Operand &opA = operands.a, &opB = operands.b;
  const SmemLayout &tileA = opA.layout, &tileB = opB.layout;
  Type elt = cast<MemRefType>(op.getA().getType()).getElementType();
  int64_t consumers = cfg.warpgroups;
  int64_t threads = kWarpgroupThreads * (consumers + 1);
  int64_t wgTileM = cfg.blockM / consumers, tilesM = wgTileM / 64;
  int64_t numK = llvm::divideCeil(sh.K, cfg.blockK);
  int64_t stageBytes = tileA.bytes() + tileB.bytes();

  // Host side: one tensor map per operand, boxes of one swizzle row.
  auto box = [&](const SmemLayout &l) {
    SmallVector<int64_t> extents;
    if (sh.batched)
      extents.push_back(1);
    extents.append({l.rows, kBox});
    return extents;
  };
  tma::TensorMapOptions swizzled;
  swizzled.swizzleBytes = kSwizzle;
  swizzled.l2PromotionBytes = 256;
  Value mapA = tma::describe(b, loc, original(op.getA()), box(tileA), swizzled);
  Value mapB = tma::describe(b, loc, original(op.getB()), box(tileB), swizzled);

  OpBuilder::InsertionGuard guard(b);
  GemmLaunch launch = launchGemm(e, sh, cfg, threads, wgmmaTmaSharedBytes(op, cfg));
  Value tid = launch.tid, batch = launch.batch;

  SmemArena arena(e);
  arena.alignTo(tileA.patternBytes());
  Value smemAddr = arena.originAddress();
  // Every consumer thread releases each stage it read.
  MbarrierRing ring(e, e.add(smemAddr, e.idx(cfg.stages * stageBytes)), cfg.stages,
                    consumers * kWarpgroupThreads);
  ring.init(e.eq(tid, e.idx(0)));

  auto [pidM, pidN] = rasterize(e, launch.blockX, launch.blockY, launch.gridM, launch.gridN,
                                cfg.groupM);
  Value rowBase = e.mul(pidM, e.idx(cfg.blockM));
  Value colBase = e.mul(pidN, e.idx(cfg.blockN));

  // The boxes of one operand tile whose first element is global (r0, c0).
  auto loadTile = [&](Value map, const SmemLayout &l, Value dst, Value r0, Value c0, Value bar) {
    for (int64_t j = 0; j < l.cols / kBox; ++j) {
      SmallVector<Value> coords;
      if (batch)
        coords.push_back(batch);
      coords.append({r0, e.add(c0, e.idx(j * kBox))});
      tma::load(e, map, e.add(dst, e.idx(j * l.rows * kSwizzle)), coords, bar);
    }
  };

  WarpgroupIds ids = WarpgroupIds::of(e, tid);
  splitRoles(
      e, ids.warpgroup,
      [&] {
        setMaxRegisters(e, kProducerRegisters, /*increase=*/false);
        e.when(e.eq(e.div(ids.thread, e.idx(32)), e.idx(0)), [&] {
          e.when(electOneLane(e), [&] {
            tma::prefetch(e, mapA);
            tma::prefetch(e, mapB);
            e.loop(e.idx(numK), [&](Value kt) {
              RingSlot slot = ring.slot(kt);
              ring.producerAcquire(slot);
              ring.producerExpect(slot, e.i32(stageBytes));
              Value k0 = e.mul(kt, e.idx(cfg.blockK));
              Value dstA = e.add(smemAddr, e.mul(slot.stage, e.idx(stageBytes)));
              Value dstB = e.add(dstA, e.idx(tileA.bytes()));
              Value bar = ring.full(slot);
              if (op.getTransposeA())
                loadTile(mapA, tileA, dstA, k0, rowBase, bar);
              else
                loadTile(mapA, tileA, dstA, rowBase, k0, bar);
              if (op.getTransposeB())
                loadTile(mapB, tileB, dstB, colBase, k0, bar);
              else
                loadTile(mapB, tileB, dstB, k0, colBase, bar);
            });
          });
        });
      },
      [&](Value consumer) {
        setMaxRegisters(e, kConsumerRegisters, /*increase=*/true);
        Value wgRow = e.mul(consumer, e.idx(wgTileM));
        Value descA0, descB0;
        std::tie(descA0, descB0) = wgmmaStageDescriptors(e, operands, smemAddr, wgRow);
        SmallVector<Value> inits(tilesM, wgmma::zeroAccumulator(e, cfg.blockN));

        // One K step: wait for tile kt, issue its wgmmas as one group, then
        // retire the previous group and release its stage. The last step
        // is peeled and retires everything in its own block (see Wgmma.cpp:
        // ptxas serializes all wgmmas when a group may be in flight where
        // the loop exits).
        auto step = [&](Value kt, SmallVector<Value> acc, bool last) {
          RingSlot slot = ring.slot(kt);
          ring.consumerWait(slot);
          Value stageShift = e.toI64(e.mul(slot.stage, e.idx(stageBytes / 16)));
          Value descA = wgmma::advance(e, descA0, stageShift);
          Value descB = wgmma::advance(e, descB0, stageShift);
          issueWgmmaStep(e, operands, cfg, elt, acc, descA, descB);
          wgmma::waitGroups(e, last ? 0 : 1);
          e.when(e.lt(e.idx(0), kt), [&] { ring.consumerRelease(ring.slot(e.sub(kt, e.idx(1)))); });
          if (last)
            ring.consumerRelease(slot);
          return acc;
        };
        auto loop = scf::ForOp::create(b, loc, e.idx(0), e.idx(numK - 1), e.idx(1), inits);
        {
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(loop.getBody());
          SmallVector<Value> acc(loop.getRegionIterArgs().begin(),
                                 loop.getRegionIterArgs().end());
          scf::YieldOp::create(b, loc, step(loop.getInductionVar(), acc, /*last=*/false));
        }
        SmallVector<Value> result =
            step(e.idx(numK - 1), SmallVector<Value>(loop.getResults()), /*last=*/true);

        // Epilogue through registers, as the wgmma rung.
        forEachWgmmaResult(e, result, ids.thread, rowBase, wgRow, colBase, sh, cfg,
                           [&](Value row, Value col, Value v, Value ok) {
                             storeResult(e, op, batch, row, col, v, ok);
                           });
      });
  gpu::TerminatorOp::create(b, loc);
}
