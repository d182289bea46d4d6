//===- GemmMma.cpp - tensor-core GEMM (rung t_v0..t_v4) -------------------===//
//
// One thread block computes a blockM x blockN tile of D with warpsM x warpsN
// warps; each warp owns a (blockM/warpsM) x (blockN/warpsN) tile made of
// m16n8 accumulators. K advances blockK at a time through a `stages`-deep
// ring of shared-memory tiles filled with cp.async (nvgpu.device_async_copy,
// zero-filling past the edges), read with nvgpu.ldmatrix and multiplied with
// mma.sync m16n8k16 in f32.
//
// Shared tiles keep the global layout of their operand (rows = the outer
// global dimension, columns = the contiguous one) plus 8 elements of padding
// per row: ldmatrix's eight 16-byte row reads then fall in distinct banks. The
// transposes are absorbed by ldmatrix's .trans variant.
//
// nvgpu.mma.sync has no bf16 form, so bf16 goes through nvvm.mma.sync with
// the fragments repacked as i32 registers.
//
//===----------------------------------------------------------------------===//

#include "GemmSimt.h"

#include "Common/Emitter.h"
#include "GemmTiles.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
constexpr int64_t kPad = 8;   // elements of padding per shared row

/// One operand's shared tile: rows x cols of the global layout.
struct Tile {
  int64_t rows, cols;
  int64_t elems() const { return rows * (cols + kPad); }
};

} // namespace

int64_t mlir::tessel::mmaSharedBytes(GemmOp op, const GemmConfig &c) {
  GemmShape s = gemmShape(op, c);
  return c.stages * (Tile{s.aRows, s.aCols}.elems() + Tile{s.bRows, s.bCols}.elems()) * 2;
}

void mlir::tessel::emitMmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &cfg) {
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Emitter e{b, loc};
  GemmShape sh = gemmShape(op, cfg);
  Tile tileA{sh.aRows, sh.aCols}, tileB{sh.bRows, sh.bCols};
  Type elt = cast<MemRefType>(op.getA().getType()).getElementType();
  bool bf16 = elt.isBF16();
  int64_t threads = 32 * cfg.warpsM * cfg.warpsN;
  int64_t warpTileM = cfg.blockM / cfg.warpsM, warpTileN = cfg.blockN / cfg.warpsN;
  int64_t tilesM = warpTileM / 16, tilesN = warpTileN / 8;
  int64_t numK = llvm::divideCeil(sh.K, cfg.blockK);
  int64_t sharedBytes = mmaSharedBytes(op, cfg);

  auto launch = gpu::LaunchOp::create(
      b, loc, e.idx(llvm::divideCeil(sh.N, cfg.blockN)), e.idx(llvm::divideCeil(sh.M, cfg.blockM)),
      e.idx(sh.batches), e.idx(threads), e.idx(1), e.idx(1),
      arith::ConstantIntOp::create(b, loc, sharedBytes, 32));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds();
  Value tid = launch.getThreadIds().x;
  Value batch = sh.batched ? block.z : Value();

  // Typed views of the dynamic shared memory: [stages][rows][cols + pad].
  Attribute wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value raw = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(), wg));
  auto view = [&](Tile t, int64_t byteOffset) {
    auto type = MemRefType::get({cfg.stages, t.rows, t.cols + kPad}, elt, AffineMap(), wg);
    return memref::ViewOp::create(b, loc, type, raw, e.idx(byteOffset), ValueRange{}).getResult();
  };
  Value sa = view(tileA, 0);
  Value sb = view(tileB, cfg.stages * tileA.elems() * 2);

  auto [pidM, pidN] = rasterize(e, block.x, block.y, llvm::divideCeil(sh.M, cfg.blockM),
                                llvm::divideCeil(sh.N, cfg.blockN), cfg.groupM);
  Value rowBase = e.mul(pidM, e.idx(cfg.blockM));
  Value colBase = e.mul(pidN, e.idx(cfg.blockN));

  auto copyStage = [&](Value kt, Value stage) {
    auto index = [&](Value r, Value c) -> SmallVector<Value> { return {stage, r, c}; };
    copyOperandTiles(e, op, sh, batch, tid, threads, e.mul(kt, e.idx(cfg.blockK)), rowBase,
                     colBase, sa, index, sb, index);
  };
  auto commit = [&] {
    // commit_group covers every copy this thread issued since the last one.
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), ValueRange{});
  };

  // Prologue: the first stages - 1 k-tiles in flight.
  Value lastGroup;
  for (int64_t s = 0; s < cfg.stages - 1; ++s) {
    if (s < numK)
      copyStage(e.idx(s), e.idx(s));
    lastGroup = commit();
  }

  Value lane = e.rem(tid, e.idx(32)), warp = e.div(tid, e.idx(32));
  Value warpRow = e.mul(e.rem(warp, e.idx(cfg.warpsM)), e.idx(warpTileM));
  Value warpCol = e.mul(e.div(warp, e.idx(cfg.warpsM)), e.idx(warpTileN));
  // ldmatrix x4: lane l addresses row l % 8 of 8x8 matrix j = l / 8.
  Value lj = e.div(lane, e.idx(8)), lr = e.rem(lane, e.idx(8));
  Value jLow = e.rem(lj, e.idx(2)), jHigh = e.div(lj, e.idx(2));

  auto accType = VectorType::get({2, 2}, b.getF32Type());
  Value zeroAcc = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(accType, 0.0f));
  SmallVector<Value> inits(tilesM * tilesN, zeroAcc);
  auto fragA = VectorType::get({4, 2}, elt);

  auto mma = [&](Value a, Value bf, Value c) -> Value {
    if (!bf16)
      return nvgpu::MmaSyncOp::create(b, loc, a, bf, c, ArrayRef<int64_t>{16, 8, 16});
    auto regs = [&](Value v, int64_t n) {
      SmallVector<Value> out;
      for (int64_t r = 0; r < n; ++r) {
        Value pair = vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{r});
        Value asInt = vector::BitCastOp::create(b, loc, VectorType::get({1}, b.getI32Type()), pair);
        out.push_back(vector::ExtractOp::create(b, loc, asInt, ArrayRef<int64_t>{0}));
      }
      return out;
    };
    SmallVector<Value> cRegs;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t k = 0; k < 2; ++k)
        cRegs.push_back(vector::ExtractOp::create(b, loc, c, ArrayRef<int64_t>{r, k}));
    Type f32 = b.getF32Type();
    auto structType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
    Value d = NVVM::MmaOp::create(
        b, loc, structType, regs(a, 4), regs(bf, 2), cRegs, ArrayRef<int64_t>{16, 8, 16},
        std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
    SmallVector<Value> elems;
    for (int64_t i = 0; i < 4; ++i)
      elems.push_back(LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{i}));
    return vector::FromElementsOp::create(b, loc, accType, elems);
  };

  auto loop = scf::ForOp::create(b, loc, e.idx(0), e.idx(numK), e.idx(1), inits);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    // Tile kt has landed once at most stages - 2 younger groups are pending.
    nvgpu::DeviceAsyncWaitOp::create(b, loc, lastGroup, b.getI32IntegerAttr(cfg.stages - 2));
    gpu::BarrierOp::create(b, loc);
    Value stage = e.rem(kt, e.idx(cfg.stages));
    SmallVector<Value> acc(loop.getRegionIterArgs().begin(), loop.getRegionIterArgs().end());
    for (int64_t ks = 0; ks < cfg.blockK; ks += 16) {
      SmallVector<Value> as, bs;
      for (int64_t i = 0; i < tilesM; ++i) {
        Value m0 = e.add(warpRow, e.idx(i * 16));
        SmallVector<Value> idx;
        if (!op.getTransposeA())
          idx = {stage, e.add(m0, e.rem(lane, e.idx(16))),
                 e.add(e.idx(ks), e.mul(e.div(lane, e.idx(16)), e.idx(8)))};
        else
          idx = {stage, e.add(e.idx(ks), e.add(e.mul(jHigh, e.idx(8)), lr)),
                 e.add(m0, e.mul(jLow, e.idx(8)))};
        as.push_back(nvgpu::LdMatrixOp::create(b, loc, fragA, sa, idx, op.getTransposeA(), 4));
      }
      for (int64_t p = 0; p < tilesN / 2; ++p) {
        Value n0 = e.add(warpCol, e.idx(p * 16));
        SmallVector<Value> idx;
        if (op.getTransposeB())
          idx = {stage, e.add(n0, e.add(e.mul(jHigh, e.idx(8)), lr)),
                 e.add(e.idx(ks), e.mul(jLow, e.idx(8)))};
        else
          idx = {stage, e.add(e.idx(ks), e.add(e.mul(jLow, e.idx(8)), lr)),
                 e.add(n0, e.mul(jHigh, e.idx(8)))};
        Value four = nvgpu::LdMatrixOp::create(b, loc, fragA, sb, idx, !op.getTransposeB(), 4);
        for (int64_t h = 0; h < 2; ++h)
          bs.push_back(vector::ExtractStridedSliceOp::create(
              b, loc, four, ArrayRef<int64_t>{2 * h, 0}, ArrayRef<int64_t>{2, 2},
              ArrayRef<int64_t>{1, 1}));
      }
      for (int64_t i = 0; i < tilesM; ++i)
        for (int64_t j = 0; j < tilesN; ++j)
          acc[i * tilesN + j] = mma(as[i], bs[j], acc[i * tilesN + j]);
      if (ks == 0) {
        // Refill the stage every warp finished reading in the previous
        // iteration, once the first mma.syncs are queued: the tensor cores
        // then start right after the barrier.
        Value next = e.add(kt, e.idx(cfg.stages - 1));
        e.when(e.lt(next, e.idx(numK)),
               [&] { copyStage(next, e.rem(next, e.idx(cfg.stages))); });
        commit();
      }
    }
    scf::YieldOp::create(b, loc, acc);
  }

  // Epilogue: lane (g = lane / 4, t = lane % 4) holds rows g and g + 8,
  // columns 2t and 2t + 1 of each m16n8 accumulator.
  Value g = e.div(lane, e.idx(4)), t2 = e.mul(e.rem(lane, e.idx(4)), e.idx(2));
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t j = 0; j < tilesN; ++j)
      for (int64_t half = 0; half < 2; ++half)
        for (int64_t k = 0; k < 2; ++k) {
          Value row = e.add(e.add(rowBase, warpRow), e.add(e.idx(i * 16 + half * 8), g));
          Value col = e.add(e.add(colBase, warpCol), e.add(e.idx(j * 8 + k), t2));
          Value v = vector::ExtractOp::create(b, loc, loop.getResult(i * tilesN + j),
                                              ArrayRef<int64_t>{half, k});
          storeResult(e, op, batch, row, col, v,
                      e.land(e.lt(row, e.idx(sh.M)), e.lt(col, e.idx(sh.N))));
        }
  gpu::TerminatorOp::create(b, loc);
}
