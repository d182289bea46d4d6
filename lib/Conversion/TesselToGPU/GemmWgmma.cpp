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

#include "GemmSimt.h"
#include "GemmTiles.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
constexpr int64_t kAtom = 64;     // elements of one 128-byte swizzled row
constexpr int64_t kAlign = 1024;  // the swizzle pattern repeats every 8 x 128 bytes
constexpr int64_t kWgmmaK = 16;   // K of one f16/bf16 wgmma

/// One operand's shared tile, `rows` x `cols` in the global layout.
struct SwizzledTile {
  int64_t rows, cols;
  bool kMajor; // cols run along K
  int64_t elems() const { return rows * cols; }
};

struct Tiles {
  SwizzledTile a, b;
};

Tiles tiles(GemmOp op, const GemmShape &s) {
  return {{s.aRows, s.aCols, !op.getTransposeA()}, {s.bRows, s.bCols, op.getTransposeB()}};
}

/// Byte offset, inside a tile, of the wgmma operand block starting at
/// M/N index `mn` and K step `j`.
int64_t operandOffset(const SwizzledTile &t, int64_t mn, int64_t j) {
  int64_t k = j * kWgmmaK;
  if (t.kMajor)
    return (k / kAtom) * t.rows * 128 + mn * 128 + (k % kAtom) * 2;
  return (mn / kAtom) * t.rows * 128 + k * 128;
}

/// The constant fields of a 128-byte-swizzle matrix descriptor: the leading
/// byte offset (between 64-element column blocks along M/N; unused for
/// K-major operands), the stride byte offset (between 8-row groups) and the
/// swizzle mode.
uint64_t descriptorBits(const SwizzledTile &t) {
  uint64_t lbo = t.kMajor ? 1 : (t.rows * 128) >> 4;
  uint64_t sbo = kAlign >> 4;
  return (lbo << 16) | (sbo << 32) | (uint64_t(1) << 62);
}
} // namespace

int64_t mlir::tessel::wgmmaSharedBytes(GemmOp op, const GemmConfig &c) {
  Tiles t = tiles(op, gemmShape(op, c));
  return c.stages * (t.a.elems() + t.b.elems()) * 2 + kAlign;
}

void mlir::tessel::emitWgmmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg) {
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Emitter e{b, loc};
  GemmShape sh = gemmShape(op, cfg);
  auto [tileA, tileB] = tiles(op, sh);
  Type elt = cast<MemRefType>(op.getA().getType()).getElementType();
  int64_t threads = 128 * cfg.warpgroups;
  int64_t wgTileM = cfg.blockM / cfg.warpgroups, tilesM = wgTileM / 64;
  int64_t numK = llvm::divideCeil(sh.K, cfg.blockK);
  int64_t stageElems = tileA.elems() + tileB.elems();
  int64_t gridM = llvm::divideCeil(sh.M, cfg.blockM), gridN = llvm::divideCeil(sh.N, cfg.blockN);

  auto launch = gpu::LaunchOp::create(
      b, loc, e.idx(gridN), e.idx(gridM), e.idx(sh.batches), e.idx(threads), e.idx(1), e.idx(1),
      arith::ConstantIntOp::create(b, loc, wgmmaSharedBytes(op, cfg), 32));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds();
  Value tid = launch.getThreadIds().x;
  Value batch = sh.batched ? block.z : Value();

  // The stages start on a 1024-byte boundary of the shared window: the
  // descriptors' swizzle is a function of the address bits.
  Attribute wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value raw = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(), wg));
  Value rawAddr = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, raw);
  Value pad = e.rem(e.sub(e.idx(kAlign), e.rem(rawAddr, e.idx(kAlign))), e.idx(kAlign));
  Value smem = memref::ViewOp::create(
      b, loc, MemRefType::get({cfg.stages * stageElems}, elt, AffineMap(), wg), raw, pad,
      ValueRange{});
  Value smemAddr = e.add(rawAddr, pad);

  auto [pidM, pidN] = rasterize(e, block.x, block.y, gridM, gridN, cfg.groupM);
  Value rowBase = e.mul(pidM, e.idx(cfg.blockM));
  Value colBase = e.mul(pidN, e.idx(cfg.blockN));

  // Element (r, c) of a tile whose first element is at `tileOffset`.
  auto swizzled = [&](const SwizzledTile &t, Value tileOffset, Value r, Value c) {
    Value chunk = e.div(e.rem(c, e.idx(kAtom)), e.idx(kChunk));
    Value phys = arith::XOrIOp::create(b, loc, chunk, e.rem(r, e.idx(8)));
    Value off = e.mul(e.div(c, e.idx(kAtom)), e.idx(t.rows * kAtom));
    off = e.add(off, e.mul(r, e.idx(kAtom)));
    off = e.add(off, e.mul(phys, e.idx(kChunk)));
    off = e.add(off, e.rem(c, e.idx(kChunk)));
    return SmallVector<Value>{e.add(tileOffset, off)};
  };
  auto copyStage = [&](Value kt, Value stage) {
    Value aOffset = e.mul(stage, e.idx(stageElems));
    Value bOffset = e.add(aOffset, e.idx(tileA.elems()));
    copyOperandTiles(
        e, op, sh, batch, tid, threads, e.mul(kt, e.idx(cfg.blockK)), rowBase, colBase, smem,
        [&](Value r, Value c) { return swizzled(tileA, aOffset, r, c); }, smem,
        [&](Value r, Value c) { return swizzled(tileB, bOffset, r, c); });
  };
  auto commit = [&] {
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), ValueRange{});
  };

  // Prologue: tiles 0 .. stages - 3 in flight; the ring's other two stages
  // hold the tile being multiplied and the one the previous wgmma group may
  // still be reading.
  Value lastGroup;
  for (int64_t s = 0; s < cfg.stages - 2; ++s) {
    if (s < numK)
      copyStage(e.idx(s), e.idx(s));
    lastGroup = commit();
  }

  // Descriptors of stage 0: the start address (16-byte units, 14 bits) is
  // the only field that moves, and it never carries into the next field.
  Type i64 = b.getI64Type();
  auto i64c = [&](uint64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64).getResult(); };
  auto toI64 = [&](Value index) { return arith::IndexCastUIOp::create(b, loc, i64, index); };
  auto descriptor = [&](Value byteAddr, const SwizzledTile &t) {
    Value field = arith::ShRUIOp::create(b, loc, toI64(byteAddr), i64c(4));
    field = arith::AndIOp::create(b, loc, field, i64c(0x3FFF));
    return arith::OrIOp::create(b, loc, field, i64c(descriptorBits(t))).getResult();
  };
  Value wgIndex = e.div(tid, e.idx(128));
  Value wgRow = e.mul(wgIndex, e.idx(wgTileM));
  // A's block for this warpgroup: rows wgRow.. (K-major) or columns (MN-major).
  Value aWgOffset = tileA.kMajor ? e.mul(wgRow, e.idx(128))
                                : e.mul(e.div(wgRow, e.idx(kAtom)), e.idx(tileA.rows * 128));
  Value descA0 = descriptor(e.add(smemAddr, aWgOffset), tileA);
  Value descB0 = descriptor(e.add(smemAddr, e.idx(tileA.elems() * 2)), tileB);

  Type f32 = b.getF32Type();
  int64_t accRegs = cfg.blockN / 2;
  auto accType = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(accRegs, f32));
  Value zero = LLVM::ZeroOp::create(b, loc, accType);
  SmallVector<Value> inits(tilesM, zero);
  NVVM::WGMMATypes wtype = elt.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  auto shape = NVVM::MMAShapeAttr::get(ctx, 64, cfg.blockN, kWgmmaK);
  // wgmma's transpose bits: A "row" and B "col" are K-major.
  NVVM::MMALayout layoutA = tileA.kMajor ? NVVM::MMALayout::row : NVVM::MMALayout::col;
  NVVM::MMALayout layoutB = tileB.kMajor ? NVVM::MMALayout::col : NVVM::MMALayout::row;

  // One K step on tile kt. The last step is peeled out of the loop and waits
  // for all its wgmmas in the same block: ptxas serializes every wgmma of
  // the kernel when a group can still be in flight where control leaves the
  // loop.
  auto step = [&](Value kt, SmallVector<Value> acc, bool last) {
    // Tile kt has landed once at most stages - 3 younger groups are pending;
    // the proxy fence makes this thread's copies visible to the tensor cores
    // and the barrier makes everyone's.
    nvgpu::DeviceAsyncWaitOp::create(b, loc, lastGroup,
                                     b.getI32IntegerAttr(last ? 0 : cfg.stages - 3));
    NVVM::FenceProxyOp::create(b, loc, NVVM::ProxyKind::async_shared,
                               NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);

    Value stage = e.rem(kt, e.idx(cfg.stages));
    Value stageShift = toI64(e.mul(stage, e.idx(stageElems * 2 / 16)));
    Value descA = arith::AddIOp::create(b, loc, descA0, stageShift);
    Value descB = arith::AddIOp::create(b, loc, descB0, stageShift);
    auto shifted = [&](Value desc, int64_t bytes) -> Value {
      if (bytes == 0)
        return desc;
      return arith::AddIOp::create(b, loc, desc, i64c(bytes >> 4));
    };
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    for (int64_t j = 0; j < cfg.blockK / kWgmmaK; ++j)
      for (int64_t i = 0; i < tilesM; ++i)
        acc[i] = NVVM::WgmmaMmaAsyncOp::create(
            b, loc, accType, acc[i], shifted(descA, operandOffset(tileA, 64 * i, j)),
            shifted(descB, operandOffset(tileB, 0, j)), shape, wtype, wtype,
            NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
            NVVM::WGMMAScaleIn::one, layoutA, layoutB, /*satfinite=*/nullptr);
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    if (last) {
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
      return acc;
    }
    // Refill the stage tile kt - 2 used: the barrier above came after every
    // warpgroup's wait for that group.
    Value next = e.add(kt, e.idx(cfg.stages - 2));
    e.when(e.lt(next, e.idx(numK)), [&] { copyStage(next, e.rem(next, e.idx(cfg.stages))); });
    commit();
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 1);
    return acc;
  };

  auto loop = scf::ForOp::create(b, loc, e.idx(0), e.idx(numK - 1), e.idx(1), inits);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
    scf::YieldOp::create(b, loc, step(loop.getInductionVar(), acc, /*last=*/false));
  }
  SmallVector<Value> result =
      step(e.idx(numK - 1), SmallVector<Value>(loop.getResults()), /*last=*/true);

  // Epilogue: in each warp's 16 rows, lane (g = lane / 4, t = lane % 4) holds
  // rows g and g + 8, columns 2t and 2t + 1 of every n8 block; register
  // 4 * block + 2 * half + k.
  Value inWg = e.rem(tid, e.idx(128));
  Value lane = e.rem(inWg, e.idx(32));
  Value warpRow = e.add(e.add(rowBase, wgRow), e.mul(e.div(inWg, e.idx(32)), e.idx(16)));
  Value g = e.div(lane, e.idx(4)), t2 = e.mul(e.rem(lane, e.idx(4)), e.idx(2));
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = e.add(warpRow, e.add(e.idx(64 * i + 8 * half), g));
      Value rowOk = e.lt(row, e.idx(sh.M));
      for (int64_t nb = 0; nb < cfg.blockN / 8; ++nb)
        for (int64_t k = 0; k < 2; ++k) {
          Value col = e.add(colBase, e.add(e.idx(8 * nb + k), t2));
          Value v = LLVM::ExtractValueOp::create(b, loc, result[i],
                                                 ArrayRef<int64_t>{4 * nb + 2 * half + k});
          storeResult(e, op, batch, row, col, v, e.land(rowOk, e.lt(col, e.idx(sh.N))));
        }
    }
  gpu::TerminatorOp::create(b, loc);
}
