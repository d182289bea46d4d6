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
// zeros on both operands).
//
// The epilogue goes through shared memory: once both consumers' wgmmas have
// retired, every stage is free (each TMA load was waited for), so each
// consumer parks its tile there. A 16-bit D with 16-byte rows is parked as
// D itself in swizzled 64-column blocks that one thread per consumer stores
// by TMA; otherwise the f32 sums are parked and the warpgroup writes them
// out row-contiguous, four columns per thread — in place of the wgmma
// fragment order, whose 2-byte stores use a quarter of every sector.
//
// Persistent (config `persistent`): a grid of at most that many blocks, each
// walking tiles blockIdx.x, + gridDim.x, ... in the order a one-tile grid
// would take them. The ring's iteration count runs on across tiles (tile j
// of a block starts at j * K tiles), so the producer fills the next tile's
// stages while the consumers are still writing the last one; the stages are
// then not free for the epilogue, which parks D itself (alpha, beta * C and
// the output type applied in registers) in a buffer of its own, guarded by
// each consumer's own named barrier; with the TMA store the warpgroup only
// waits for the last store to have read the buffer before it parks its
// next tile.
//
// Clusters (config `cluster` = c): the blocks of c consecutive tile rows
// multiply the same B tiles, so each loads 1 / c of every B tile and
// multicasts it to all c. A stage of a block is then written by every
// producer of the cluster, so its empty barrier counts releases from every
// consumer warpgroup of the cluster (one thread of each arrives on each
// block's barrier), and a producer's acquire waits for all of them; each
// block still arms its full barrier with the whole stage's bytes. The
// blocks meet once their barriers exist and again before they exit (the
// others may still release stages on their barriers).
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#include "GPU/Cluster.h"
#include "GPU/Mbarrier.h"
#include "GPU/TileScheduler.h"
#include "GPU/Tma.h"
#include "GPU/WarpRole.h"
#include "GPU/Wgmma.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
constexpr int64_t kSwizzle = 128, kBox = 64; // f16/bf16: one 128-byte row
constexpr int64_t kProducerRegisters = 40, kConsumerRegisters = 232;
// Padded parks add 8 elements to each row (32 bytes of f32, 16 of f16):
// the eight rows a quad column writes then start in different banks.
constexpr int64_t kEpiloguePad = 8, kEpilogueVector = 4;
constexpr int64_t kConsumerBarrier = 1; // + consumer index: one per warpgroup

/// A 16-bit D whose rows TMA can address (16-byte pitch), without a split:
/// the park is each consumer's rows as swizzled column blocks, and one
/// thread stores them by TMA (out-of-range rows and columns are clipped)
/// while the warpgroup goes on (to its next tile, or to exit once the store
/// has read the park).
bool storesByTma(GemmOp op, const GemmConfig &c) {
  auto d = cast<MemRefType>(op.getInit().getType());
  return c.splitK == 1 && c.blockN % kBox == 0 && d.getElementTypeBitWidth() == 16 &&
         d.getShape().back() % 8 == 0;
}

/// Whether the park holds D itself (alpha, beta * C and the output type
/// applied in registers) rather than the f32 sums.
bool parksD(GemmOp op, const GemmConfig &c) { return c.persistent || storesByTma(op, c); }

/// What the consumers park: f32 sums, or D's values.
Type parkType(GemmOp op, const GemmConfig &c) {
  Type out = cast<MemRefType>(op.getInit().getType()).getElementType();
  return parksD(op, c) ? out : Float32Type::get(op.getContext());
}

/// A consumer's park for the TMA store: its rows x blockN in 128-byte
/// swizzled column blocks, the boxes of D's tensor map.
SmemLayout storeLayout(const GemmConfig &c) {
  return SmemLayout::swizzled(c.blockM / c.warpgroups, c.blockN, 2, kSwizzle);
}

int64_t epilogueBytes(GemmOp op, const GemmConfig &c) {
  if (storesByTma(op, c))
    return c.warpgroups * storeLayout(c).bytes();
  return c.blockM * (c.blockN + kEpiloguePad) * parkType(op, c).getIntOrFloatBitWidth() / 8;
}

int64_t stagesBytes(GemmOp op, const GemmConfig &c) {
  WgmmaTiles t = wgmmaTiles(op, c);
  return c.stages * (t.a.layout.bytes() + t.b.layout.bytes());
}

/// The park: over the stages, or persistent right after them.
int64_t parkOffset(GemmOp op, const GemmConfig &c) {
  return c.persistent ? stagesBytes(op, c) : 0;
}

int64_t ringOffset(GemmOp op, const GemmConfig &c) {
  return std::max(stagesBytes(op, c), parkOffset(op, c) + epilogueBytes(op, c));
}


/// The operand as the call passed it: prepareGemm views run-time sizes as
/// their static bound, but the tensor map must know the real extents.
Value original(Value v) {
  if (auto view = v.getDefiningOp<memref::ReinterpretCastOp>())
    return view.getSource();
  return v;
}
/// Writes a consumer's parked rows, [r0, r0 + blockM / consumers) x
/// [c0, c0 + blockN) of D = alpha * acc + beta * C, or with split-K the raw
/// sums into the part's workspace slice, or persistent the parked D as it
/// is. Each thread takes four consecutive
/// columns per step, so a warp writes 128 contiguous elements of a row with
/// 8- or 16-byte stores; edge chunks (and rows whose length is not a
/// multiple of four) go element by element, guarded.
void writeParkedTile(KernelBuilder &e, GemmOp op, const GemmShape &sh, const GemmConfig &cfg,
                     const GemmLaunch &launch, Value park, Value consumer, Value thread,
                     Value r0, Value c0) {
  Value batch = launch.batch;
  OpBuilder &b = e.b;
  Location loc = e.loc;
  int64_t perRow = cfg.blockN / kEpilogueVector;
  int64_t steps = cfg.blockM / cfg.warpgroups * perRow / kWarpgroupThreads;
  Type f32 = b.getF32Type();
  Type outElt = cast<MemRefType>(op.getInit().getType()).getElementType();
  bool final = parksD(op, cfg);
  auto parkedx4 = VectorType::get({kEpilogueVector}, final ? outElt : f32);
  float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
  Value m = e.size(sh.M), n = e.idx(sh.N);
  e.loop(e.idx(steps), [&](Value it) {
    Value chunk = e.add(e.mul(it, e.idx(kWarpgroupThreads)), thread);
    Value r = e.div(chunk, e.idx(perRow));
    Value c = e.mul(e.rem(chunk, e.idx(perRow)), e.idx(kEpilogueVector));
    Value row = e.add(r0, r), col = e.add(c0, c);
    Value v = vector::LoadOp::create(b, loc, parkedx4, park, ValueRange{consumer, r, c});
    Value rowOk = e.lt(row, m);
    auto at = [&](Value cl) {
      return batch ? SmallVector<Value>{batch, row, cl} : SmallVector<Value>{row, cl};
    };
    auto elementwise = [&] {
      for (int64_t j = 0; j < kEpilogueVector; ++j) {
        Value cj = e.add(col, e.idx(j));
        Value x = vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{j});
        Value ok = e.land(rowOk, e.lt(cj, n));
        if (final)
          e.when(ok, [&] { memref::StoreOp::create(b, loc, x, op.getInit(), at(cj)); });
        else
          storeAccumulator(e, op, cfg, sh, launch, row, cj, x, ok);
      }
    };
    if (sh.N % kEpilogueVector) {
      elementwise();
      return;
    }
    Value whole = e.land(rowOk, e.lt(e.add(col, e.idx(kEpilogueVector - 1)), n));
    auto ifOp = scf::IfOp::create(b, loc, whole, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    if (sh.workspace) {
      // Slices are M x N with N % 4 == 0, so the vector is 16-byte aligned.
      vector::StoreOp::create(b, loc, v, sh.workspace,
                              ValueRange{workspaceIndex(e, cfg, sh, launch, row, col)}, false,
                              llvm::MaybeAlign(16));
      b.setInsertionPointToStart(ifOp.elseBlock());
      elementwise();
      return;
    }
    Value d = v;
    if (final) {
      int64_t bytes = kEpilogueVector * outElt.getIntOrFloatBitWidth() / 8;
      vector::StoreOp::create(b, loc, d, op.getInit(), at(col), false, llvm::MaybeAlign(bytes));
      b.setInsertionPointToStart(ifOp.elseBlock());
      elementwise();
      return;
    }
    if (alpha != 1.0f)
      d = arith::MulFOp::create(b, loc, d, vector::BroadcastOp::create(b, loc, parkedx4, e.f32(alpha)));
    if (op.getC()) {
      SmallVector<Value> cs;
      for (int64_t j = 0; j < kEpilogueVector; ++j)
        cs.push_back(e.loadF32(op.getC(), at(e.add(col, e.idx(j)))));
      Value cv = vector::FromElementsOp::create(b, loc, parkedx4, cs);
      cv = arith::MulFOp::create(b, loc, cv, vector::BroadcastOp::create(b, loc, parkedx4, e.f32(beta)));
      d = arith::AddFOp::create(b, loc, d, cv);
    }
    if (outElt != f32)
      d = arith::TruncFOp::create(b, loc, VectorType::get({kEpilogueVector}, outElt), d);
    int64_t bytes = kEpilogueVector * outElt.getIntOrFloatBitWidth() / 8;
    vector::StoreOp::create(b, loc, d, op.getInit(), at(col), false, llvm::MaybeAlign(bytes));
    b.setInsertionPointToStart(ifOp.elseBlock());
    elementwise();
  });
}

/// Stores a consumer's accumulators (fragment order: warp w holds rows
/// 16 w.. of each 64-row slice, a quad's lanes two columns each) into its
/// park rows: the f32 sums, or D = alpha * acc + beta * C in the output
/// type (persistent, or stored by TMA) (C read at the same places; rows and columns past M and N
/// read its last row or column and are never written out), padded or, for
/// the TMA store, swizzled. (r0, c0): the global position of the consumer's
/// first row and column.
void parkAccumulators(KernelBuilder &e, GemmOp op, const GemmConfig &cfg, const GemmShape &sh,
                      const GemmLaunch &launch, Value park, Value consumer, Value thread,
                      ArrayRef<Value> acc, Value r0, Value c0) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
  Type f32 = b.getF32Type(), parked = parkType(op, cfg);
  Value lane = e.rem(thread, e.idx(32));
  Value quadRow = e.add(e.mul(e.div(thread, e.idx(32)), e.idx(16)), e.div(lane, e.idx(4)));
  Value quadCol = e.mul(e.rem(lane, e.idx(4)), e.idx(2));
  Value lastRow = e.sub(e.size(sh.M), e.idx(1)), lastCol = e.idx(sh.N - 1);
  bool swizzled = storesByTma(op, cfg), final = parksD(op, cfg);
  for (int64_t i = 0; i < int64_t(acc.size()); ++i)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = e.add(quadRow, e.idx(64 * i + 8 * half));
      Value cRow = e.umin(e.add(r0, row), lastRow);
      for (int64_t nb = 0; nb < cfg.blockN / 8; ++nb) {
        Value col = e.add(quadCol, e.idx(8 * nb));
        SmallVector<Value> pair;
        for (int64_t j = 0; j < 2; ++j) {
          Value x = wgmma::element(e, acc[i], wgmma::accumulatorRegister(nb, half, j));
          if (final) {
            if (alpha != 1.0f)
              x = e.fmul(x, e.f32(alpha));
            if (op.getC()) {
              Value cCol = e.umin(e.add(c0, e.add(col, e.idx(j))), lastCol);
              SmallVector<Value> at{cRow, cCol};
              if (launch.batch)
                at.insert(at.begin(), launch.batch);
              x = e.fadd(x, e.fmul(e.loadF32(op.getC(), at), e.f32(beta)));
            }
          }
          pair.push_back(x);
        }
        Value v = vector::FromElementsOp::create(b, loc, VectorType::get({2}, f32), pair);
        if (parked != f32)
          v = arith::TruncFOp::create(b, loc, VectorType::get({2}, parked), v);
        // The pair stays inside one 16-byte chunk of the swizzled layout.
        if (swizzled)
          vector::StoreOp::create(b, loc, v, park,
                                  ValueRange{consumer, storeLayout(cfg).offset(e, row, col)});
        else
          vector::StoreOp::create(b, loc, v, park, ValueRange{consumer, row, col});
      }
    }
}
} // namespace

int64_t mlir::tessel::wgmmaTmaSharedBytes(GemmOp op, const GemmConfig &c) {
  WgmmaTiles t = wgmmaTiles(op, c);
  return ringOffset(op, c) + t.a.layout.patternBytes() + MbarrierRing::bytes(c.stages);
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
  Type outElt = cast<MemRefType>(op.getInit().getType()).getElementType();
  int64_t consumers = cfg.warpgroups;
  int64_t threads = kWarpgroupThreads * (consumers + 1);
  int64_t wgTileM = cfg.blockM / consumers, tilesM = wgTileM / 64;
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
  // With a cluster each block loads a piece of B's rows.
  int64_t blocks = cfg.cluster;
  SmallVector<int64_t> boxB = box(tileB);
  boxB[boxB.size() - 2] /= blocks;
  Value mapB = tma::describe(b, loc, original(op.getB()), boxB, swizzled);
  bool tmaStore = storesByTma(op, cfg);
  SmemLayout parkLayout = storeLayout(cfg);
  Value mapD;
  if (tmaStore) {
    tma::TensorMapOptions plain;
    plain.swizzleBytes = kSwizzle;
    mapD = tma::describe(b, loc, original(op.getInit()), box(parkLayout), plain);
  }

  OpBuilder::InsertionGuard guard(b);
  GemmLaunch launch = launchGemm(e, sh, cfg, threads, wgmmaTmaSharedBytes(op, cfg));
  Value tid = launch.tid;

  SmemArena arena(e);
  arena.alignTo(tileA.patternBytes());
  Value smemAddr = arena.originAddress();
  // Every consumer thread releases each stage it read; with a cluster one
  // thread of each consumer warpgroup of the cluster does.
  MbarrierRing ring(e, e.add(smemAddr, e.idx(ringOffset(op, cfg))), cfg.stages,
                    blocks > 1 ? blocks * consumers : consumers * kWarpgroupThreads);
  ring.init(e.eq(tid, e.idx(0)), /*clusterWide=*/blocks > 1);

  // Where one tile of the block's walk lies, and the ring iterations before
  // it (its K tiles are iterations ringBase + kt).
  struct Tile {
    GemmLaunch launch;
    Value rowBase, colBase, ringBase;
    GemmKRange k;
  };
  auto tileAt = [&](const GemmLaunch &l, Value ringBase) {
    auto [pidM, pidN] = rasterize(e, l.blockX, l.blockY, l.gridM, l.gridN,
                                  std::max<int64_t>(cfg.groupM / blocks, 1));
    if (l.rank) // the rasterized row is the cluster's
      pidM = e.add(e.mul(pidM, e.idx(blocks)), l.rank);
    // With split-K this block's part of the K tiles (run-time, at least one).
    return Tile{l, e.mul(pidM, e.idx(cfg.blockM)), e.mul(pidN, e.idx(cfg.blockN)), ringBase,
                kRangeOf(e, sh, cfg, l)};
  };
  // body(tile) for each tile of this block: the one of a one-tile launch, or
  // persistent every stride-th from blockIdx.x (K tiles are static then: no
  // split).
  auto forEachBlockTile = [&](function_ref<void(const Tile &)> body) {
    if (!cfg.persistent)
      return body(tileAt(launch, e.idx(0)));
    int64_t kTiles = llvm::divideCeil(sh.K, cfg.blockK);
    forEachTile(e, launch.blockX, launch.tiles, launch.stride, [&](Value tile, Value done) {
      body(tileAt(tileLaunch(e, sh, launch, tile), e.mul(done, e.idx(kTiles))));
    });
  };

  // One operand tile whose first element is global (r0, c0).
  auto loadTile = [&](const Tile &t, Value map, const SmemLayout &l, Value dst, Value r0,
                      Value c0, Value bar) {
    SmallVector<Value> coords;
    if (t.launch.batch)
      coords.push_back(t.launch.batch);
    coords.append({r0, c0});
    tma::loadSwizzledTile(e, map, l, dst, coords, bar);
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
            forEachBlockTile([&](const Tile &t) {
              e.loop(e.size(t.k.tiles), [&](Value kt) {
                RingSlot slot = ring.slot(e.add(t.ringBase, kt));
                ring.producerAcquire(slot);
                ring.producerExpect(slot, e.i32(stageBytes));
                Value k0 = t.k.offset(e, kt, cfg.blockK);
                Value dstA = e.add(smemAddr, e.mul(slot.stage, e.idx(stageBytes)));
                Value dstB = e.add(dstA, e.idx(tileA.bytes()));
                Value bar = ring.full(slot);
                if (op.getTransposeA())
                  loadTile(t, mapA, tileA, dstA, k0, t.rowBase, bar);
                else
                  loadTile(t, mapA, tileA, dstA, t.rowBase, k0, bar);
                Value rB = op.getTransposeB() ? t.colBase : k0;
                Value cB = op.getTransposeB() ? k0 : t.colBase;
                if (blocks > 1) {
                  SmallVector<Value> coords;
                  if (t.launch.batch)
                    coords.push_back(t.launch.batch);
                  coords.append({rB, cB});
                  tma::multicastSwizzledTile(e, mapB, tileB, dstB, coords, bar,
                                             t.launch.rank, blocks);
                } else {
                  loadTile(t, mapB, tileB, dstB, rB, cB, bar);
                }
              });
            });
          });
        });
      },
      [&](Value consumer) {
        setMaxRegisters(e, kConsumerRegisters, /*increase=*/true);
        Value wgRow = e.mul(consumer, e.idx(wgTileM));
        Value descA0, descB0;
        std::tie(descA0, descB0) = wgmmaStageDescriptors(e, operands, smemAddr, wgRow);
        Value ownBarrier = e.add(consumer, e.idx(kConsumerBarrier + 1));
        // With a cluster, lane 0 of warp r of the warpgroup (warp r mod 4
        // and lane r / 4 from the fifth block on) releases the stage in block
        // r once the warpgroup's wgmmas reading it have retired: the remote
        // arrivals leave from different warps.
        Value warp = e.div(ids.thread, e.idx(32)), lane = e.rem(ids.thread, e.idx(32));
        Value target = e.add(warp, e.mul(lane, e.idx(4)));
        auto release = [&](const RingSlot &s) {
          if (blocks == 1)
            return ring.consumerRelease(s);
          e.when(e.lt(target, e.idx(blocks)), [&] { ring.consumerRelease(s, target); });
        };
        Value park =
            tmaStore ? arena.view({consumers, parkLayout.elems()}, outElt, parkOffset(op, cfg))
                     : arena.view({consumers, wgTileM, cfg.blockN + kEpiloguePad},
                                  parkType(op, cfg), parkOffset(op, cfg));
        // The TMA store's one thread per consumer, and its rows' address.
        Value storer = e.eq(ids.thread, e.idx(0));
        Value parkAddr = e.add(smemAddr, e.add(e.idx(parkOffset(op, cfg)),
                                               e.mul(consumer, e.idx(parkLayout.bytes()))));
        forEachBlockTile([&](const Tile &t) {
          SmallVector<Value> inits(tilesM, wgmma::zeroAccumulator(e, cfg.blockN));
          // One K step: wait for tile kt, issue its wgmmas as one group, then
          // retire the previous group and release its stage. The last step
          // is peeled and retires everything in its own block (see
          // Wgmma.cpp: ptxas serializes all wgmmas when a group may be in
          // flight where the loop exits).
          auto step = [&](Value kt, SmallVector<Value> acc, bool last) {
            RingSlot slot = ring.slot(e.add(t.ringBase, kt));
            ring.consumerWait(slot);
            Value stageShift = e.toI64(e.mul(slot.stage, e.idx(stageBytes / 16)));
            Value descA = wgmma::advance(e, descA0, stageShift);
            Value descB = wgmma::advance(e, descB0, stageShift);
            issueWgmmaStep(e, operands, cfg, elt, acc, descA, descB);
            wgmma::waitGroups(e, last ? 0 : 1);
            e.when(e.lt(e.idx(0), kt), [&] {
              release(ring.slot(e.sub(e.add(t.ringBase, kt), e.idx(1))));
            });
            if (last)
              release(slot);
            return acc;
          };
          Value lastTile = e.sub(e.size(t.k.tiles), e.idx(1));
          auto loop = scf::ForOp::create(b, loc, e.idx(0), lastTile, e.idx(1), inits);
          {
            OpBuilder::InsertionGuard inner(b);
            b.setInsertionPointToStart(loop.getBody());
            SmallVector<Value> acc(loop.getRegionIterArgs().begin(),
                                   loop.getRegionIterArgs().end());
            scf::YieldOp::create(b, loc, step(loop.getInductionVar(), acc, /*last=*/false));
          }
          SmallVector<Value> result =
              step(lastTile, SmallVector<Value>(loop.getResults()), /*last=*/true);

          if (tmaStore && cfg.persistent) // the last tile's store has read the park
            e.when(storer, [&] { tma::waitStores(e, 0, /*readsOnly=*/true); });
          if (cfg.persistent) // this consumer has written out its last tile
            namedBarrier(e, ownBarrier, kWarpgroupThreads);
          else // the other consumer may still be multiplying from the stages
            namedBarrier(e, kConsumerBarrier, consumers * kWarpgroupThreads);
          Value r0 = e.add(t.rowBase, wgRow);
          parkAccumulators(e, op, cfg, sh, t.launch, park, consumer, ids.thread, result, r0,
                           t.colBase);
          if (tmaStore)
            tma::fenceSharedToAsync(e);
          // Each consumer reads back only its own rows.
          namedBarrier(e, ownBarrier, kWarpgroupThreads);
          if (!tmaStore)
            return writeParkedTile(e, op, sh, cfg, t.launch, park, consumer, ids.thread, r0,
                                   t.colBase);
          e.when(storer, [&] {
            SmallVector<Value> coords;
            if (t.launch.batch)
              coords.push_back(t.launch.batch);
            coords.append({r0, t.colBase});
            tma::storeSwizzledTile(e, mapD, parkLayout, parkAddr, coords);
            tma::commitStores(e);
          });
        });
        // Shared memory must outlive the last store's reads.
        if (tmaStore)
          e.when(storer, [&] { tma::waitStores(e, 0, /*readsOnly=*/true); });
      });
  if (blocks > 1) // the others may still release stages on this block's barriers
    cluster::sync(e);
  gpu::TerminatorOp::create(b, loc);
}
