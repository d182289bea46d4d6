//===- Common.cpp - what every GEMM rung shares ---------------------------===//

#include "Gemm.h"

#include "GPU/Cluster.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
// A run-time size is bounded by the kernels' view of it: the static shape a
// dynamic operand is reinterpreted as (the Python runtime refuses larger
// calls before launching).
constexpr int64_t kMaxDynamicSize = (int64_t(1) << 31) - 1;

/// `size` of dimension `i` of `v`, reading it at run time when dynamic.
Size sizeOf(OpBuilder &b, Location loc, Value v, int64_t i) {
  int64_t s = cast<MemRefType>(v.getType()).getDimSize(i);
  if (!ShapedType::isDynamic(s))
    return Size::of(s);
  return Size::of(memref::DimOp::create(b, loc, v, i).getResult());
}

/// A statically shaped view of an identity-layout memref whose run-time
/// sizes are replaced by their bound (only leading dimensions may be
/// dynamic, so the strides stay static).
Value staticView(OpBuilder &b, Location loc, Value v) {
  auto type = cast<MemRefType>(v.getType());
  if (type.hasStaticShape())
    return v;
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t &s : shape)
    if (ShapedType::isDynamic(s))
      s = kMaxDynamicSize;
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * type.getDimSize(i + 1);
  auto staticType = MemRefType::get(shape, type.getElementType());
  SmallVector<OpFoldResult> sizes, strideAttrs;
  for (auto [s, st] : llvm::zip(shape, strides)) {
    sizes.push_back(b.getIndexAttr(s));
    strideAttrs.push_back(b.getIndexAttr(st));
  }
  return memref::ReinterpretCastOp::create(b, loc, staticType, v, b.getIndexAttr(0), sizes,
                                           strideAttrs);
}
} // namespace

GemmShape mlir::tessel::prepareGemm(OpBuilder &b, GemmOp op, const GemmConfig &c) {
  Location loc = op.getLoc();
  Value d = op.getInit();
  int64_t r = cast<MemRefType>(d.getType()).getRank();
  GemmShape s;
  s.batched = r == 3;
  s.batches = s.batched ? sizeOf(b, loc, d, 0) : Size::of(1);
  s.M = sizeOf(b, loc, d, r - 2);
  s.N = cast<MemRefType>(d.getType()).getDimSize(r - 1);
  s.K = cast<MemRefType>(op.getA().getType()).getDimSize(op.getTransposeA() ? r - 2 : r - 1);
  std::tie(s.aRows, s.aCols) =
      op.getTransposeA() ? std::pair(c.blockK, c.blockM) : std::pair(c.blockM, c.blockK);
  std::tie(s.bRows, s.bCols) =
      op.getTransposeB() ? std::pair(c.blockN, c.blockK) : std::pair(c.blockK, c.blockN);
  for (OpOperand &operand : op->getOpOperands())
    operand.set(staticView(b, loc, operand.get()));
  return s;
}

GemmLaunch mlir::tessel::launchGemm(KernelBuilder &e, const GemmShape &sh, const GemmConfig &cfg,
                                    int64_t threads, int64_t sharedBytes) {
  // With clusters the tile rows are counted in clusters of `cluster` rows
  // (the last one may run past M: its blocks load zeros and store nothing,
  // but still multicast their share of B to the others).
  int64_t c = cfg.cluster, rowsPerUnit = cfg.blockM * c;
  Size gridM = sh.M.isStatic() ? Size::of(llvm::divideCeil(sh.M.fixed, rowsPerUnit))
                               : Size::of(e.ceilDiv(sh.M, rowsPerUnit));
  int64_t gridN = llvm::divideCeil(sh.N, cfg.blockN);
  gpu::LaunchOp launch;
  Value sharedSize = arith::ConstantIntOp::create(e.b, e.loc, sharedBytes, 32);
  auto create = [&](Value x, Value y, Value z, int64_t cx, int64_t cy) {
    if (c > 1)
      return cluster::launch(e, x, y, z, threads, sharedSize, cx, cy, 1);
    Value one = e.idx(1);
    return gpu::LaunchOp::create(e.b, e.loc, x, y, z, e.idx(threads), one, one, sharedSize);
  };
  if (cfg.persistent) {
    // At most `persistent` blocks (one per SM) walk the tiles; the tile
    // count is passed to the kernel so its loop bound is that of the grid.
    // Clusters lie along x: whole clusters walk the clusters' tiles.
    Value tiles = e.mul(e.mul(e.size(sh.batches), e.size(gridM)), e.idx(gridN));
    Value grid = e.umin(tiles, e.idx(cfg.persistent / c));
    if (c > 1)
      grid = e.mul(grid, e.idx(c));
    launch = create(grid, e.idx(1), e.idx(1), c, 1);
    e.b.setInsertionPointToStart(&launch.getBody().front());
    Value x = launch.getBlockIds().x;
    GemmLaunch l{launch, gridM, gridN, launch.getThreadIds().x, Value(),
                 c > 1 ? e.div(x, e.idx(c)) : x, Value()};
    l.tiles = tiles;
    l.stride = c > 1 ? e.div(launch.getGridSize().x, e.idx(c)) : launch.getGridSize().x;
    if (c > 1)
      l.rank = e.rem(x, e.idx(c));
    return l;
  }
  if (cfg.splitK == 1) {
    // Clusters lie along y, the tile rows: whole clusters of them.
    Value y = c > 1 ? e.mul(e.size(gridM), e.idx(c)) : e.size(gridM);
    launch = create(e.idx(gridN), y, e.size(sh.batches), 1, c);
  } else {
    // split-K: the parts of a batch are consecutive along z.
    Value x = e.idx(gridN), y = e.size(gridM);
    Value z = e.mul(e.size(sh.batches), e.idx(cfg.splitK));
    launch = create(x, y, z, 1, 1);
  }
  e.b.setInsertionPointToStart(&launch.getBody().front());
  gpu::KernelDim3 block = launch.getBlockIds();
  Value tid = launch.getThreadIds().x;
  if (cfg.splitK == 1) {
    GemmLaunch l{launch, gridM, gridN, tid, sh.batched ? block.z : Value(), block.x,
                 c > 1 ? e.div(block.y, e.idx(c)) : block.y};
    if (c > 1)
      l.rank = e.rem(block.y, e.idx(c));
    return l;
  }
  Value splits = e.idx(cfg.splitK);
  return {launch,   gridM,   gridN, tid, sh.batched ? e.div(block.z, splits) : Value(),
          block.x,  block.y, e.rem(block.z, splits)};
}

GemmLaunch mlir::tessel::tileLaunch(KernelBuilder &e, const GemmShape &sh,
                                    const GemmLaunch &launch, Value tile) {
  GemmLaunch l = launch;
  Value perBatch = e.mul(e.size(launch.gridM), e.idx(launch.gridN));
  Value rest = tile;
  if (sh.batched) {
    l.batch = e.div(tile, perBatch);
    rest = e.rem(tile, perBatch);
  }
  l.blockX = e.rem(rest, e.idx(launch.gridN));
  l.blockY = e.div(rest, e.idx(launch.gridN));
  return l;
}

GemmKRange mlir::tessel::kRangeOf(KernelBuilder &e, const GemmShape &sh, const GemmConfig &cfg,
                                  const GemmLaunch &launch) {
  int64_t kTiles = llvm::divideCeil(sh.K, cfg.blockK);
  if (!launch.part)
    return {Value(), Size::of(kTiles)};
  // Part p owns tiles [p * T / S, (p + 1) * T / S): sizes differ by at most
  // one, and none is empty since the configuration has S <= T.
  Value t = e.idx(kTiles), splits = e.idx(cfg.splitK);
  Value first = e.div(e.mul(launch.part, t), splits);
  Value last = e.div(e.mul(e.add(launch.part, e.idx(1)), t), splits);
  return {e.mul(first, e.idx(cfg.blockK)), Size::of(e.sub(last, first))};
}

namespace {
// The static bound of the workspace's flat view (as for paged attention's).
constexpr int64_t kWorkspaceBound = int64_t(1) << 40;

/// Elements of one part's slice and of the whole workspace.
std::pair<Value, Value> workspaceElems(KernelBuilder &e, const GemmConfig &cfg,
                                       const GemmShape &sh) {
  Value slice = e.mul(e.size(sh.M), e.idx(sh.N));
  return {slice, e.mul(e.mul(e.size(sh.batches), e.idx(cfg.splitK)), slice)};
}
} // namespace

Value mlir::tessel::allocWorkspace(OpBuilder &b, GemmOp op, const GemmConfig &cfg,
                                   const GemmShape &sh) {
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  Value alloc = memref::AllocOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
      ValueRange{workspaceElems(e, cfg, sh).second});
  return memref::ReinterpretCastOp::create(
      b, loc, MemRefType::get({kWorkspaceBound}, b.getF32Type()), alloc, b.getIndexAttr(0),
      ArrayRef<OpFoldResult>{b.getIndexAttr(kWorkspaceBound)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

void mlir::tessel::freeWorkspace(OpBuilder &b, GemmOp op, const GemmShape &sh) {
  Value alloc = sh.workspace.getDefiningOp<memref::ReinterpretCastOp>().getSource();
  memref::DeallocOp::create(b, op.getLoc(), alloc);
}

void mlir::tessel::storeAccumulator(KernelBuilder &e, GemmOp op, const GemmConfig &cfg,
                                    const GemmShape &sh, const GemmLaunch &launch, Value row,
                                    Value col, Value acc, Value inBounds) {
  if (!sh.workspace)
    return storeResult(e, op, launch.batch, row, col, acc, inBounds);
  e.when(inBounds,
         [&] { e.store(acc, sh.workspace, {workspaceIndex(e, cfg, sh, launch, row, col)}); });
}

Value mlir::tessel::workspaceIndex(KernelBuilder &e, const GemmConfig &cfg, const GemmShape &sh,
                                   const GemmLaunch &launch, Value row, Value col) {
  Value slice = workspaceElems(e, cfg, sh).first;
  Value part = launch.batch ? e.add(e.mul(launch.batch, e.idx(cfg.splitK)), launch.part)
                            : launch.part;
  return e.add(e.mul(part, slice), e.add(e.mul(row, e.idx(sh.N)), col));
}

void mlir::tessel::emitSplitKReduction(OpBuilder &b, GemmOp op, const GemmConfig &cfg,
                                       const GemmShape &sh) {
  constexpr int64_t kThreads = 256;
  Location loc = op.getLoc();
  KernelBuilder e(b, loc);
  OpBuilder::InsertionGuard guard(b);
  auto [slice, total] = workspaceElems(e, cfg, sh);
  Value total1 = e.div(total, e.idx(cfg.splitK)); // elements of D
  Value grid = arith::CeilDivUIOp::create(b, loc, total1, e.idx(kThreads));
  auto launch = gpu::LaunchOp::create(b, loc, grid, e.idx(1), e.idx(1), e.idx(kThreads),
                                      e.idx(1), e.idx(1));
  b.setInsertionPointToStart(&launch.getBody().front());
  Value i = e.add(e.mul(launch.getBlockIds().x, e.idx(kThreads)), launch.getThreadIds().x);
  // Consecutive threads take consecutive columns: every part's slice is
  // read coalesced, and so are C and D.
  Value m = e.size(sh.M), n = e.idx(sh.N);
  Value sliceIn = e.mul(m, n);
  Value batch = sh.batched ? e.div(i, sliceIn) : Value();
  Value inBatch = sh.batched ? e.rem(i, sliceIn) : i;
  Value row = e.div(inBatch, n), col = e.rem(inBatch, n);
  e.when(e.lt(i, total1), [&] {
    Value first = batch ? e.add(e.mul(e.mul(batch, e.idx(cfg.splitK)), sliceIn), inBatch)
                        : inBatch;
    Value sum = e.reduce(e.idx(1), e.idx(cfg.splitK), e.idx(1),
                         e.loadF32(sh.workspace, {first}), [&](Value p, Value acc) {
                           Value at = e.add(first, e.mul(p, sliceIn));
                           return e.fadd(acc, e.loadF32(sh.workspace, {at}));
                         });
    // Already guarded: the constant condition folds away.
    storeResult(e, op, batch, row, col, sum, arith::ConstantIntOp::create(b, loc, 1, 1));
  });
  gpu::TerminatorOp::create(b, loc);
}

void mlir::tessel::copyOperandTiles(KernelBuilder &e, GemmOp op, const GemmShape &s, Value batch,
                                    Value tid, int64_t threads, Value k0, Value rowBase,
                                    Value colBase, Value dstA, TileIndex indexA, Value dstB,
                                    TileIndex indexB) {
  SmallVector<Value> prefix;
  if (batch)
    prefix.push_back(batch);
  auto global = [&](Value r, Value c) { return withPrefix(prefix, r, c); };
  Value m = e.size(s.M), n = e.idx(s.N), k = e.idx(s.K);
  // cp.async moves 16 aligned bytes: rows must start on 16-byte boundaries.
  auto aligned = [](int64_t cols) { return cols % 8 == 0; };
  TileCopy a{op.getA(), s.aRows, s.aCols, m, k, aligned(s.K), global, dstA, indexA};
  TileCopy b{op.getB(), s.bRows, s.bCols, k, n, aligned(s.N), global, dstB, indexB};
  if (op.getTransposeA())
    a = {op.getA(), s.aRows, s.aCols, k, m, false, global, dstA, indexA};
  if (op.getTransposeB())
    b = {op.getB(), s.bRows, s.bCols, n, k, aligned(s.K), global, dstB, indexB};
  if (op.getTransposeA()) {
    // Rows of length M: aligned when M is static and a multiple of 8.
    a.aligned = s.M.isStatic() && aligned(s.M.fixed);
    copyTile(e, a, tid, threads, k0, rowBase);
  } else {
    copyTile(e, a, tid, threads, rowBase, k0);
  }
  if (op.getTransposeB())
    copyTile(e, b, tid, threads, colBase, k0);
  else
    copyTile(e, b, tid, threads, k0, colBase);
}

void mlir::tessel::storeResult(KernelBuilder &e, GemmOp op, Value batch, Value row, Value col,
                               Value acc, Value inBounds) {
  OpBuilder &b = e.b;
  float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
  SmallVector<Value> at = batch ? SmallVector<Value>{batch, row, col} : SmallVector<Value>{row, col};
  e.when(inBounds, [&] {
    Value r = acc;
    if (alpha != 1.0f)
      r = arith::MulFOp::create(b, e.loc, r, e.f32(alpha));
    if (op.getC()) {
      Value c = arith::MulFOp::create(b, e.loc, e.loadF32(op.getC(), at), e.f32(beta));
      r = arith::AddFOp::create(b, e.loc, r, c);
    }
    e.store(r, op.getInit(), at);
  });
}

namespace {
constexpr int64_t kWgmmaSwizzle = 128; // bytes: one row of 64 f16/bf16
} // namespace

WgmmaTiles mlir::tessel::wgmmaTiles(GemmOp op, const GemmConfig &c) {
  bool ta = op.getTransposeA(), tb = op.getTransposeB();
  auto a = ta ? std::pair(c.blockK, c.blockM) : std::pair(c.blockM, c.blockK);
  auto b = tb ? std::pair(c.blockN, c.blockK) : std::pair(c.blockK, c.blockN);
  return {{SmemLayout::swizzled(a.first, a.second, 2, kWgmmaSwizzle), !ta},
          {SmemLayout::swizzled(b.first, b.second, 2, kWgmmaSwizzle), tb}};
}

std::pair<Value, Value> mlir::tessel::wgmmaStageDescriptors(KernelBuilder &e,
                                                            const WgmmaTiles &t,
                                                            Value smemAddr, Value wgRow) {
  const SmemLayout &tileA = t.a.layout;
  // A's block for this warpgroup: rows wgRow.. (K-major) or columns (MN-major).
  Value aWgOffset = t.a.kMajor ? e.mul(wgRow, e.idx(kWgmmaSwizzle))
                               : e.mul(e.div(wgRow, e.idx(tileA.atom())),
                                       e.idx(tileA.rows * kWgmmaSwizzle));
  Value descA = wgmma::descriptor(e, e.add(smemAddr, aWgOffset), t.a);
  Value descB = wgmma::descriptor(e, e.add(smemAddr, e.idx(tileA.bytes())), t.b);
  return {descA, descB};
}

void mlir::tessel::issueWgmmaStep(KernelBuilder &e, const WgmmaTiles &t, const GemmConfig &cfg,
                                  Type elt, MutableArrayRef<Value> acc, Value descA,
                                  Value descB) {
  wgmma::fence(e);
  for (int64_t j = 0; j < cfg.blockK / wgmma::kK; ++j)
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = wgmma::mmaAsync(
          e, acc[i],
          wgmma::advance(e, descA, t.a.layout.operandOffset(t.a.kMajor, 64 * i, j * wgmma::kK)),
          wgmma::advance(e, descB, t.b.layout.operandOffset(t.b.kMajor, 0, j * wgmma::kK)),
          cfg.blockN, elt, t.a, t.b);
  wgmma::commitGroup(e);
}

void mlir::tessel::forEachWgmmaResult(KernelBuilder &e, ArrayRef<Value> acc, Value inWg,
                                      Value rowBase, Value wgRow, Value colBase,
                                      const GemmShape &sh, const GemmConfig &cfg,
                                      function_ref<void(Value, Value, Value, Value)> store) {
  Value lane = e.rem(inWg, e.idx(32));
  Value warpRow = e.add(e.add(rowBase, wgRow), e.mul(e.div(inWg, e.idx(32)), e.idx(16)));
  Value g = e.div(lane, e.idx(4)), t2 = e.mul(e.rem(lane, e.idx(4)), e.idx(2));
  Value m = e.size(sh.M), n = e.idx(sh.N);
  for (size_t i = 0; i < acc.size(); ++i)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = e.add(warpRow, e.add(e.idx(64 * int64_t(i) + 8 * half), g));
      Value rowOk = e.lt(row, m);
      for (int64_t nb = 0; nb < cfg.blockN / 8; ++nb)
        for (int64_t k = 0; k < 2; ++k) {
          Value col = e.add(colBase, e.add(e.idx(8 * nb + k), t2));
          Value v = wgmma::element(e, acc[i], wgmma::accumulatorRegister(nb, half, k));
          store(row, col, v, e.land(rowOk, e.lt(col, n)));
        }
    }
}
