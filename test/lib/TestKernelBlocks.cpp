//===- TestKernelBlocks.cpp - one small kernel per lib/GPU block ----------===//
//
// tessel-test-kernel-blocks (see TestPasses.td): each function tagged with
// `tessel.test_block` becomes one gpu.launch running that building block on
// the function's arguments, so that lit can check the IR each block emits
// and pytest can run it on the GPU against a numpy model, independently of
// the GEMM lowering that composes them.
//
//===----------------------------------------------------------------------===//

#include "GPU/KernelBuilder.h"
#include "GPU/Mbarrier.h"
#include "GPU/MmaSync.h"
#include "GPU/Reduce.h"
#include "GPU/SmemLayout.h"
#include "GPU/TileCopy.h"
#include "GPU/TileScheduler.h"
#include "GPU/Tma.h"
#include "GPU/WarpRole.h"
#include "GPU/Wgmma.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

#include <cmath>

namespace mlir::tessel::test {
#define GEN_PASS_DECL
#define GEN_PASS_DEF_TESTKERNELBLOCKS
#define GEN_PASS_REGISTRATION
#include "TestPasses.h.inc"

/// Called from registerTesselPasses (lib/Pipelines/InitTessel.cpp).
void registerTestPasses() { registerTesselTestPasses(); }
} // namespace mlir::tessel::test

using namespace mlir;
using namespace mlir::tessel;

namespace {

constexpr StringLiteral kBlockAttr = "tessel.test_block";
constexpr StringLiteral kOptionsAttr = "tessel.test_options";

/// "(t0, t1, ...)" unquoted (diagnostics quote streamed types).
std::string typeList(TypeRange types) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "(";
  llvm::interleaveComma(types, os);
  os << ")";
  return text;
}

bool is(MemRefType t, ArrayRef<int64_t> shape, Type elt) {
  return t.getShape() == shape && t.getElementType() == elt;
}

/// One tagged function: its arguments, its options and its diagnostics.
/// Blocks check everything first, then call begin() and build.
class BlockTest {
public:
  BlockTest(func::FuncOp f, StringRef block, DictionaryAttr options)
      : f(f), block(block), options(options), b(f.getContext()), e(b, f.getLoc()) {}

  MLIRContext *ctx() { return f.getContext(); }

  InFlightDiagnostic error() {
    return f.emitError() << "@" << f.getSymName() << " (" << kBlockAttr << " = \"" << block
                         << "\"): ";
  }

  /// The argument types when every argument is a statically shaped,
  /// identity-layout memref in the default memory space and `ok` accepts
  /// them; otherwise an error saying `expected`.
  FailureOr<SmallVector<MemRefType>> args(StringRef expected,
                                          function_ref<bool(ArrayRef<MemRefType>)> ok) {
    SmallVector<MemRefType> types;
    bool plain = true;
    for (Type type : f.getArgumentTypes()) {
      auto m = dyn_cast<MemRefType>(type);
      plain &= m && m.hasStaticShape() && m.getLayout().isIdentity() && !m.getMemorySpace();
      types.push_back(m);
    }
    if (plain && ok(types))
      return types;
    return error() << "expected arguments " << expected << ", got "
                   << typeList(f.getArgumentTypes());
  }

  // Options from the `tessel.test_options` dictionary; a missing key takes
  // `dflt` (an error when there is none). Keys read are remembered for
  // noOtherOptions().
  FailureOr<int64_t> integer(StringRef key, std::optional<int64_t> dflt) {
    Attribute a = option(key);
    if (!a) {
      if (dflt)
        return *dflt;
      return error() << "option '" << key << "' is required";
    }
    auto i = dyn_cast<IntegerAttr>(a);
    if (!i || !isa<IntegerType>(i.getType()) || i.getType().isInteger(1))
      return error() << "option '" << key << "' must be an integer, got " << a;
    return i.getInt();
  }
  FailureOr<bool> flag(StringRef key, bool dflt) {
    Attribute a = option(key);
    if (!a)
      return dflt;
    if (auto v = dyn_cast<BoolAttr>(a))
      return v.getValue();
    if (isa<UnitAttr>(a))
      return true;
    return error() << "option '" << key << "' must be true or false, got " << a;
  }
  FailureOr<double> real(StringRef key, double dflt) {
    Attribute a = option(key);
    if (!a)
      return dflt;
    if (auto v = dyn_cast<FloatAttr>(a))
      return v.getValueAsDouble();
    if (auto v = dyn_cast<IntegerAttr>(a); v && !v.getType().isInteger(1))
      return double(v.getInt());
    return error() << "option '" << key << "' must be a number, got " << a;
  }
  FailureOr<StringRef> string(StringRef key, StringRef dflt) {
    Attribute a = option(key);
    if (!a)
      return dflt;
    if (auto v = dyn_cast<StringAttr>(a))
      return v.getValue();
    return error() << "option '" << key << "' must be a string, got " << a;
  }
  bool has(StringRef key) { return options && options.get(key); }
  LogicalResult noOtherOptions() {
    if (!options)
      return success();
    for (NamedAttribute a : options)
      if (!llvm::is_contained(known, a.getName().getValue())) {
        InFlightDiagnostic diag = error() << "unknown option '" << a.getName().getValue() << "'";
        if (known.empty())
          return diag << "; this block takes none";
        diag << "; expected ";
        llvm::interleaveComma(known, diag);
        return diag;
      }
    return success();
  }

  /// Clears the body; the builder is then at the end of the entry block.
  KernelBuilder &begin() {
    Region &body = f.getBody();
    if (body.empty()) {
      f.addEntryBlock();
    } else {
      for (Block &blk : body)
        for (Operation &op : llvm::make_early_inc_range(llvm::reverse(blk))) {
          op.dropAllUses();
          op.erase();
        }
      while (body.getBlocks().size() > 1)
        body.back().erase();
    }
    b.setInsertionPointToEnd(&body.front());
    return e;
  }
  Value arg(unsigned i) { return f.getArgument(i); }

  /// gpu.launch of gx x gy x 1 blocks of `threads` x 1 x 1 threads; the
  /// builder is then inside its body.
  gpu::LaunchOp launch(int64_t gx, int64_t gy, int64_t threads, int64_t sharedBytes) {
    Value shared;
    if (sharedBytes)
      shared = arith::ConstantIntOp::create(b, e.loc, sharedBytes, 32);
    auto op = gpu::LaunchOp::create(b, e.loc, e.idx(gx), e.idx(gy), e.idx(1), e.idx(threads),
                                    e.idx(1), e.idx(1), shared);
    b.setInsertionPointToStart(&op.getBody().front());
    return op;
  }
  /// Closes the launch's body and the function.
  void end(gpu::LaunchOp op) {
    gpu::TerminatorOp::create(b, e.loc);
    b.setInsertionPointAfter(op);
    func::ReturnOp::create(b, e.loc);
  }

private:
  Attribute option(StringRef key) {
    known.push_back(key);
    return options ? options.get(key) : Attribute();
  }

  func::FuncOp f;
  StringRef block;
  DictionaryAttr options;
  SmallVector<StringRef> known;
  OpBuilder b;
  KernelBuilder e;
};

Value toI32(KernelBuilder &e, Value index) {
  return arith::IndexCastOp::create(e.b, e.loc, e.b.getI32Type(), index);
}

//===----------------------------------------------------------------------===//
// warp_reduce: warpReduce (max and sum) over groups of `width` lanes.
//===----------------------------------------------------------------------===//

LogicalResult buildWarpReduce(BlockTest &t) {
  FailureOr<int64_t> width = t.integer("width", 32);
  if (failed(width) || failed(t.noOtherOptions()))
    return failure();
  if (*width < 1 || *width > 32 || !llvm::isPowerOf2_64(*width))
    return t.error() << "width " << *width << " must be a power of two in [1, 32]";
  Type f32 = Float32Type::get(t.ctx());
  bool perLane = false;
  if (failed(t.args("(memref<32xf32>, memref<2xf32>) (width 32 only) or (memref<32xf32>, "
                    "memref<2x32xf32>)",
                    [&](ArrayRef<MemRefType> ts) {
                      if (ts.size() != 2 || !is(ts[0], {32}, f32))
                        return false;
                      perLane = is(ts[1], {2, 32}, f32);
                      return perLane || (is(ts[1], {2}, f32) && *width == 32);
                    })))
    return failure();

  KernelBuilder &e = t.begin();
  Value in = t.arg(0), out = t.arg(1);
  gpu::LaunchOp launch = t.launch(1, 1, 32, 0);
  Value lane = launch.getThreadIds().x;
  Value v = e.load(in, lane);
  Value max = warpReduce(e, v, ReduceKind::Max, *width);
  Value sum = warpReduce(e, v, ReduceKind::Sum, *width);
  if (perLane) {
    e.store(max, out, ValueRange{e.idx(0), lane});
    e.store(sum, out, ValueRange{e.idx(1), lane});
  } else {
    // Two different lanes write: both ends of the butterfly got the result.
    e.when(e.eq(lane, e.idx(0)), [&] { e.store(max, out, e.idx(0)); });
    e.when(e.eq(lane, e.idx(31)), [&] { e.store(sum, out, e.idx(1)); });
  }
  t.end(launch);
  return success();
}

//===----------------------------------------------------------------------===//
// online_softmax: OnlineSoftmax::update over C / 32 tiles, then finish.
//===----------------------------------------------------------------------===//

LogicalResult buildOnlineSoftmax(BlockTest &t) {
  FailureOr<double> scale = t.real("scale", 1.0);
  if (failed(scale) || failed(t.noOtherOptions()))
    return failure();
  Type f32 = Float32Type::get(t.ctx());
  int64_t rows = 0, cols = 0;
  if (failed(t.args("(memref<RxCxf32>, memref<Cxf32>, memref<Rxf32>, memref<Rxf32>) with R a "
                    "multiple of 8 in [8, 256] and C a positive multiple of 32",
                    [&](ArrayRef<MemRefType> ts) {
                      if (ts.size() != 4 || ts[0].getRank() != 2)
                        return false;
                      rows = ts[0].getDimSize(0);
                      cols = ts[0].getDimSize(1);
                      return rows % 8 == 0 && rows >= 8 && rows <= 256 && cols % 32 == 0 &&
                             cols > 0 && is(ts[0], {rows, cols}, f32) &&
                             is(ts[1], {cols}, f32) && is(ts[2], {rows}, f32) &&
                             is(ts[3], {rows}, f32);
                    })))
    return failure();

  KernelBuilder &e = t.begin();
  OpBuilder &b = e.b;
  Value scores = t.arg(0), values = t.arg(1), out = t.arg(2), lseOut = t.arg(3);
  gpu::LaunchOp launch = t.launch(1, 1, 4 * rows, 0);
  Value tid = launch.getThreadIds().x;
  // Four consecutive lanes share a row, as the quads of an mma accumulator.
  Value row = e.div(tid, e.idx(4)), quad = e.rem(tid, e.idx(4));
  OnlineSoftmax softmax{float(*scale * M_LOG2E), 4};
  SoftmaxRow init = softmax.init(e);
  auto loop = scf::ForOp::create(b, e.loc, e.idx(0), e.idx(cols / 32), e.idx(1),
                                 ValueRange{init.max, init.sum, e.f32(0)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value base = e.add(e.mul(loop.getInductionVar(), e.idx(32)), e.mul(quad, e.idx(2)));
    SmallVector<Value> columns, p;
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t k = 0; k < 2; ++k) {
        columns.push_back(e.add(base, e.idx(8 * j + k)));
        p.push_back(e.load(scores, ValueRange{row, columns.back()}));
      }
    auto state = loop.getRegionIterArgs();
    Value rescale;
    SoftmaxRow next = softmax.update(e, {state[0], state[1]}, p, rescale);
    Value acc = e.fmul(state[2], rescale);
    for (auto [col, prob] : llvm::zip(columns, p))
      acc = e.fadd(acc, e.fmul(prob, e.load(values, col)));
    scf::YieldOp::create(b, e.loc, ValueRange{next.max, next.sum, acc});
  }
  Value sum = warpReduce(e, loop.getResult(1), ReduceKind::Sum, 4);
  Value acc = warpReduce(e, loop.getResult(2), ReduceKind::Sum, 4);
  std::pair<Value, Value> fin = softmax.finish(e, {loop.getResult(0), sum});
  e.when(e.eq(quad, e.idx(0)), [&] {
    e.store(e.fmul(acc, fin.first), out, row);
    e.store(fin.second, lseOut, row);
  });
  t.end(launch);
  return success();
}

//===----------------------------------------------------------------------===//
// tile_copy: copyTile into a padded or swizzled shared tile, copied out raw.
//===----------------------------------------------------------------------===//

LogicalResult buildTileCopy(BlockTest &t) {
  FailureOr<StringRef> layoutName = t.string("layout", "padded");
  FailureOr<int64_t> rows = t.integer("rows", std::nullopt);
  FailureOr<int64_t> cols = t.integer("cols", std::nullopt);
  FailureOr<int64_t> pad = t.integer("pad", -1); // -1: 16 bytes
  FailureOr<int64_t> row0 = t.integer("row0", 0), col0 = t.integer("col0", 0);
  FailureOr<int64_t> rowLimit = t.integer("row_limit", -1);
  FailureOr<int64_t> colLimit = t.integer("col_limit", -1);
  FailureOr<bool> aligned = t.flag("aligned", true);
  FailureOr<int64_t> threads = t.integer("threads", 128);
  if (failed(layoutName) || failed(rows) || failed(cols) || failed(pad) || failed(row0) ||
      failed(col0) || failed(rowLimit) || failed(colLimit) || failed(aligned) ||
      failed(threads) || failed(t.noOtherOptions()))
    return failure();
  int64_t swizzle = llvm::StringSwitch<int64_t>(*layoutName)
                        .Case("padded", 0)
                        .Case("swizzle128", 128)
                        .Case("swizzle64", 64)
                        .Case("swizzle32", 32)
                        .Default(-1);
  if (swizzle < 0)
    return t.error() << "layout \"" << *layoutName
                     << "\" is not one of padded, swizzle128, swizzle64, swizzle32";

  FailureOr<SmallVector<MemRefType>> types = t.args(
      "(memref<RxCxT>, [memref<Lxi32>,] memref<NxT>) with T a 1-, 2- or 4-byte integer or "
      "float",
      [&](ArrayRef<MemRefType> ts) {
        if ((ts.size() != 2 && ts.size() != 3) || ts[0].getRank() != 2 ||
            ts.back().getRank() != 1 || ts.back().getElementType() != ts[0].getElementType())
          return false;
        if (ts.size() == 3 && !is(ts[1], {ts[1].getDimSize(0)}, IntegerType::get(t.ctx(), 32)))
          return false;
        Type elt = ts[0].getElementType();
        if (!isa<IntegerType, FloatType>(elt))
          return false;
        unsigned bits = elt.getIntOrFloatBitWidth();
        return bits == 8 || bits == 16 || bits == 32;
      });
  if (failed(types))
    return failure();
  MemRefType srcType = (*types)[0];
  Type elt = srcType.getElementType();
  int64_t elemBytes = elt.getIntOrFloatBitWidth() / 8, chunk = 16 / elemBytes;
  bool gather = types->size() == 3;
  int64_t globalRows = srcType.getDimSize(0), globalCols = srcType.getDimSize(1);
  int64_t rowSpace = gather ? (*types)[1].getDimSize(0) : globalRows;
  if (*rowLimit < 0)
    *rowLimit = rowSpace;
  if (*colLimit < 0)
    *colLimit = globalCols;
  if (*pad == -1 && !t.has("pad"))
    *pad = swizzle ? 0 : chunk;

  if (*rows < 1 || *cols < 1)
    return t.error() << "the tile (" << *rows << " x " << *cols << ") must not be empty";
  if (*cols % chunk)
    return t.error() << "cols (" << *cols << ") must be a multiple of " << chunk
                     << " elements (16 bytes)";
  if (swizzle && t.has("pad"))
    return t.error() << "option 'pad' applies to the padded layout only";
  if (!swizzle && (*pad < 0 || (*pad * elemBytes) % 16))
    return t.error() << "pad (" << *pad << ") must be a non-negative multiple of " << chunk
                     << " elements (16 bytes)";
  SmemLayout layout = swizzle ? SmemLayout::swizzled(*rows, *cols, elemBytes, swizzle)
                              : SmemLayout::padded(*rows, *cols, elemBytes, *pad);
  if (swizzle && *cols % layout.atom())
    return t.error() << "cols (" << *cols << ") must be a multiple of the " << swizzle
                     << "-byte swizzle row (" << layout.atom() << " elements)";
  if (*row0 < 0 || *col0 < 0)
    return t.error() << "the tile origin (" << *row0 << ", " << *col0 << ") must not be negative";
  if (*rowLimit > rowSpace || *colLimit > globalCols)
    return t.error() << "the limits (" << *rowLimit << ", " << *colLimit
                     << ") must not exceed the global extents (" << rowSpace << ", "
                     << globalCols << ")";
  if (*aligned && (globalCols % chunk || *col0 % chunk))
    return t.error() << "aligned (cp.async) copies need rows and the tile origin on 16-byte "
                        "boundaries: C ("
                     << globalCols << ") and col0 (" << *col0 << ") must be multiples of "
                     << chunk;
  if (*threads < 1 || *threads > 1024)
    return t.error() << "threads (" << *threads << ") must be in [1, 1024]";
  int64_t outElems = types->back().getDimSize(0);
  if (outElems != layout.elems())
    return t.error() << "the output has " << outElems << " elements; the " << *layoutName
                     << " tile has " << layout.elems();
  int64_t sharedBytes = layout.bytes() + (swizzle ? layout.patternBytes() : 0);
  if (sharedBytes > 227 * 1024)
    return t.error() << "the tile needs " << sharedBytes
                     << " bytes of shared memory; the limit is " << 227 * 1024;

  KernelBuilder &e = t.begin();
  OpBuilder &b = e.b;
  Value src = t.arg(0), index = gather ? t.arg(1) : Value(), out = t.arg(gather ? 2 : 1);
  gpu::LaunchOp launch = t.launch(1, 1, *threads, sharedBytes);
  Value tid = launch.getThreadIds().x;
  SmemArena arena(e);
  if (swizzle)
    arena.alignTo(layout.patternBytes());
  Value raw = arena.view({layout.elems()}, elt, 0);
  Value dst = swizzle ? raw : arena.view({*rows, *cols + *pad}, elt, 0);
  Value elems = e.idx(layout.elems()), step = e.idx(*threads);

  // -1 everywhere first: what the copy leaves alone (padding) stays -1, what
  // it zero-fills becomes 0.
  Attribute minusOne = isa<FloatType>(elt) ? Attribute(FloatAttr::get(elt, -1.0))
                                           : Attribute(IntegerAttr::get(elt, -1));
  Value sentinel = arith::ConstantOp::create(b, e.loc, cast<TypedAttr>(minusOne));
  e.loop(tid, elems, step, [&](Value i) { memref::StoreOp::create(b, e.loc, sentinel, raw, i); });
  gpu::BarrierOp::create(b, e.loc);

  auto srcIndex = [&](Value r, Value c) -> SmallVector<Value> {
    if (!index)
      return {r, c};
    return {e.toSignedIndex(e.load(index, r)), c};
  };
  auto dstIndex = [&](Value r, Value c) -> SmallVector<Value> {
    if (!swizzle)
      return {r, c};
    return {layout.offset(e, r, c)};
  };
  TileCopy copy{src, *rows, *cols, e.idx(*rowLimit), e.idx(*colLimit), *aligned,
                srcIndex, dst, dstIndex};
  copyTile(e, copy, tid, *threads, e.idx(*row0), e.idx(*col0));
  waitCopies(e, commitCopies(e), 0);
  gpu::BarrierOp::create(b, e.loc);
  e.loop(tid, elems, step,
         [&](Value i) { memref::StoreOp::create(b, e.loc, e.load(raw, i), out, i); });
  t.end(launch);
  return success();
}

//===----------------------------------------------------------------------===//
// mma: S = A·B with loadA/loadB + mma.sync, then O = accumulatorsToA(S)·C.
//===----------------------------------------------------------------------===//

LogicalResult buildMma(BlockTest &t) {
  FailureOr<bool> aK = t.flag("a_k_contiguous", true);
  FailureOr<bool> bK = t.flag("b_k_contiguous", false);
  if (failed(aK) || failed(bK) || failed(t.noOtherOptions()))
    return failure();
  Type f32 = Float32Type::get(t.ctx());
  Type elt;
  if (failed(t.args("(memref<16x16xT>, memref<16x16xT>, memref<16x8xT>, memref<16x16xf32>, "
                    "memref<16x8xf32>) with T f16 or bf16",
                    [&](ArrayRef<MemRefType> ts) {
                      if (ts.size() != 5)
                        return false;
                      elt = ts[0].getElementType();
                      return (elt.isF16() || elt.isBF16()) && is(ts[0], {16, 16}, elt) &&
                             is(ts[1], {16, 16}, elt) && is(ts[2], {16, 8}, elt) &&
                             is(ts[3], {16, 16}, f32) && is(ts[4], {16, 8}, f32);
                    })))
    return failure();

  KernelBuilder &e = t.begin();
  OpBuilder &b = e.b;
  Value a = t.arg(0), bg = t.arg(1), c = t.arg(2), sOut = t.arg(3), oOut = t.arg(4);
  // Padded shared tiles as in the mma GEMM: rows of 16 + 8 elements.
  constexpr int64_t kRow = 16 + 8, kTileBytes = 16 * kRow * 2;
  gpu::LaunchOp launch = t.launch(1, 1, 32, 3 * kTileBytes);
  Value lane = launch.getThreadIds().x;
  SmemArena arena(e);
  Value sa = arena.view({16, kRow}, elt, 0);
  Value sb = arena.view({16, kRow}, elt, kTileBytes);
  Value sc = arena.view({16, kRow}, elt, 2 * kTileBytes);
  e.loop(lane, e.idx(256), e.idx(32), [&](Value i) {
    Value r = e.div(i, e.idx(16)), col = e.rem(i, e.idx(16));
    e.store(e.load(a, ValueRange{r, col}), sa, ValueRange{r, col});
    e.store(e.load(bg, ValueRange{r, col}), sb, ValueRange{r, col});
  });
  // C is 16 x 8; ldmatrix.x4 reads 16 columns, the upper 8 are zeros.
  Value zero = arith::ConstantOp::create(b, e.loc, b.getZeroAttr(elt));
  e.loop(lane, e.idx(128), e.idx(32), [&](Value i) {
    Value r = e.div(i, e.idx(8)), col = e.rem(i, e.idx(8));
    e.store(e.load(c, ValueRange{r, col}), sc, ValueRange{r, col});
    e.store(zero, sc, ValueRange{r, e.add(col, e.idx(8))});
  });
  gpu::BarrierOp::create(b, e.loc);

  mma::Lanes lanes = mma::Lanes::of(e, lane);
  auto identity = [](Value r, Value col) -> SmallVector<Value> { return {r, col}; };
  Value origin = e.idx(0);
  Value fragA = mma::loadA(e, lanes, sa, identity, origin, origin, *aK);
  std::pair<Value, Value> fragB = mma::loadB(e, lanes, sb, identity, origin, origin, *bK);
  Value s0 = mma::mma(e, fragA, fragB.first, mma::zeroAccumulator(e));
  Value s1 = mma::mma(e, fragA, fragB.second, mma::zeroAccumulator(e));

  // S through AccumulatorLanes + element, O through forEachElement.
  mma::AccumulatorLanes acc = mma::AccumulatorLanes::of(e, lane);
  for (auto [j, s] : llvm::enumerate(std::array<Value, 2>{s0, s1}))
    for (int64_t half = 0; half < 2; ++half)
      for (int64_t k = 0; k < 2; ++k) {
        Value r = e.add(acc.group, e.idx(8 * half));
        Value col = e.add(acc.col2, e.idx(8 * int64_t(j) + k));
        e.store(mma::element(e, s, half, k), sOut, ValueRange{r, col});
      }
  Value p = mma::accumulatorsToA(e, s0, s1, elt);
  Value fragC = mma::loadB(e, lanes, sc, identity, origin, origin, /*kContiguous=*/false).first;
  Value o = mma::mma(e, p, fragC, mma::zeroAccumulator(e));
  mma::forEachElement(e, acc, o, [&](Value r, Value col, Value v) {
    e.store(v, oOut, ValueRange{r, col});
  });
  t.end(launch);
  return success();
}

//===----------------------------------------------------------------------===//
// wgmma_rs: one warpgroup, D (64 x N) = A (64 x 16, from registers: each
// warp's 16 rows as an mma.sync A fragment) x B (16 x N, N contiguous, in a
// 128-byte-swizzled shared tile read through a descriptor), by
// wgmma::mmaAsyncRegA; D written through the accumulator register map.
//===----------------------------------------------------------------------===//

LogicalResult buildWgmmaRegA(BlockTest &t) {
  if (failed(t.noOtherOptions()))
    return failure();
  Type f32 = Float32Type::get(t.ctx());
  Type elt;
  int64_t n = 0;
  if (failed(t.args("(memref<64x16xT>, memref<16xNxT>, memref<64xNxf32>) with T f16 or bf16 "
                    "and N 64 or 128",
                    [&](ArrayRef<MemRefType> ts) {
                      if (ts.size() != 3 || ts[1].getRank() != 2)
                        return false;
                      elt = ts[0].getElementType();
                      n = ts[1].getDimSize(1);
                      return (elt.isF16() || elt.isBF16()) && (n == 64 || n == 128) &&
                             is(ts[0], {64, 16}, elt) && is(ts[1], {16, n}, elt) &&
                             is(ts[2], {64, n}, f32);
                    })))
    return failure();

  KernelBuilder &e = t.begin();
  OpBuilder &b = e.b;
  Value a = t.arg(0), bg = t.arg(1), dOut = t.arg(2);
  wgmma::Operand opB{SmemLayout::swizzled(16, n, 2, 128), /*kMajor=*/false};
  constexpr int64_t kARow = 16 + 8, kABytes = 64 * kARow * 2;
  int64_t bOffset = llvm::alignTo(kABytes, opB.layout.patternBytes());
  gpu::LaunchOp launch = t.launch(1, 1, 128, bOffset + opB.layout.bytes() +
                                                 opB.layout.patternBytes());
  Value tid = launch.getThreadIds().x;
  SmemArena arena(e);
  arena.alignTo(opB.layout.patternBytes());
  Value sa = arena.view({64, kARow}, elt, 0);
  Value sb = arena.view({opB.layout.elems()}, elt, bOffset);
  Value bAddr = e.add(arena.originAddress(), e.idx(bOffset));
  e.loop(tid, e.idx(64 * 16), e.idx(128), [&](Value i) {
    Value r = e.div(i, e.idx(16)), c = e.rem(i, e.idx(16));
    e.store(e.load(a, ValueRange{r, c}), sa, ValueRange{r, c});
  });
  e.loop(tid, e.idx(16 * n), e.idx(128), [&](Value i) {
    Value r = e.div(i, e.idx(n)), c = e.rem(i, e.idx(n));
    e.store(e.load(bg, ValueRange{r, c}), sb, ValueRange{opB.layout.offset(e, r, c)});
  });
  // The tensor cores read B through the async proxy.
  NVVM::FenceProxyOp::create(b, e.loc, NVVM::ProxyKind::async_shared,
                             NVVM::SharedSpaceAttr::get(t.ctx(), NVVM::SharedSpace::shared_cta));
  gpu::BarrierOp::create(b, e.loc);

  WarpIds ids = WarpIds::of(e, tid);
  mma::Lanes lanes = mma::Lanes::of(e, ids.lane);
  auto identity = [](Value r, Value c) -> SmallVector<Value> { return {r, c}; };
  Value fragA = mma::loadA(e, lanes, sa, identity, e.mul(ids.warp, e.idx(16)), e.idx(0),
                           /*kContiguous=*/true);
  Value descB = wgmma::descriptor(e, bAddr, opB);
  wgmma::fence(e);
  Value acc = wgmma::mmaAsyncRegA(e, wgmma::zeroAccumulator(e, n), fragA, descB, n, opB,
                                  /*scaleD=*/e.i32(0));
  wgmma::commitGroup(e);
  wgmma::waitGroups(e, 0);

  mma::AccumulatorLanes out = mma::AccumulatorLanes::of(e, ids.lane);
  Value warpRow = e.mul(ids.warp, e.idx(16));
  for (int64_t nb = 0; nb < n / 8; ++nb)
    for (int64_t half = 0; half < 2; ++half)
      for (int64_t k = 0; k < 2; ++k) {
        Value r = e.add(warpRow, e.add(out.group, e.idx(8 * half)));
        Value c = e.add(out.col2, e.idx(8 * nb + k));
        Value v = wgmma::element(e, acc, wgmma::accumulatorRegister(nb, half, k));
        e.store(v, dOut, ValueRange{r, c});
      }
  t.end(launch);
  return success();
}

//===----------------------------------------------------------------------===//
// tma_load, tma_store: one box per swizzle column block, by TMA through an
// mbarrier into a swizzled (or plain) shared tile; tma_load copies the raw
// tile out, tma_store writes it back with a TMA store.
//===----------------------------------------------------------------------===//

struct TmaTile {
  SmemLayout layout = SmemLayout::padded(0, 0, 0, 0);
  tma::TensorMapOptions options;
  SmallVector<int64_t> box; // one column block
  int64_t blocks = 1;       // column blocks (boxes) per tile
  int64_t row0 = 0, col0 = 0;
  int64_t threads = 128;
  bool swizzled() const { return options.swizzleBytes != 0; }
};

/// The options shared by tma_load and tma_store.
FailureOr<TmaTile> tmaTileOptions(BlockTest &t, Type elt) {
  FailureOr<StringRef> layoutName = t.string("layout", "swizzle128");
  FailureOr<int64_t> rows = t.integer("rows", std::nullopt);
  FailureOr<int64_t> cols = t.integer("cols", std::nullopt);
  FailureOr<int64_t> row0 = t.integer("row0", 0), col0 = t.integer("col0", 0);
  FailureOr<int64_t> threads = t.integer("threads", 128);
  if (failed(layoutName) || failed(rows) || failed(cols) || failed(row0) || failed(col0) ||
      failed(threads) || failed(t.noOtherOptions()))
    return failure();
  int64_t swizzle = llvm::StringSwitch<int64_t>(*layoutName)
                        .Case("plain", 0)
                        .Case("swizzle128", 128)
                        .Case("swizzle64", 64)
                        .Case("swizzle32", 32)
                        .Default(-1);
  if (swizzle < 0)
    return t.error() << "layout \"" << *layoutName
                     << "\" is not one of plain, swizzle128, swizzle64, swizzle32";
  int64_t elemBytes = elt.getIntOrFloatBitWidth() / 8;
  TmaTile tile;
  tile.options.swizzleBytes = swizzle;
  int64_t atom = swizzle ? swizzle / elemBytes : *cols;
  if (swizzle && (*cols < 1 || *cols % atom))
    return t.error() << "cols (" << *cols << ") must be a positive multiple of the " << swizzle
                     << "-byte swizzle row (" << atom << " elements)";
  tile.box = {*rows, atom};
  std::string why = tma::boxError(tile.box, elemBytes, tile.options);
  if (!why.empty())
    return t.error() << why;
  if (*threads < 32 || *threads > 1024 || *threads % 32)
    return t.error() << "threads (" << *threads << ") must be a multiple of 32 in [32, 1024]";
  tile.layout = swizzle ? SmemLayout::swizzled(*rows, *cols, elemBytes, swizzle)
                        : SmemLayout::padded(*rows, *cols, elemBytes, 0);
  tile.blocks = *cols / atom;
  tile.row0 = *row0;
  tile.col0 = *col0;
  tile.threads = *threads;
  return tile;
}

/// Thread 0 arms the barrier and issues one load per column block; every
/// thread waits. `tileAddress`: 1024-byte aligned.
void tmaLoadTile(KernelBuilder &e, const TmaTile &tile, Value map, Value tileAddress, Value bar,
                 Value tid) {
  e.when(e.eq(tid, e.idx(0)), [&] {
    tma::prefetch(e, map);
    int64_t bytes = tile.blocks * tma::boxBytes(tile.box, tile.layout.elemBytes);
    mbarrier::arriveExpectTx(e, bar, e.i32(bytes));
    int64_t blockBytes = tma::boxBytes(tile.box, tile.layout.elemBytes);
    for (int64_t j = 0; j < tile.blocks; ++j)
      tma::load(e, map, e.add(tileAddress, e.idx(j * blockBytes)),
                {e.idx(tile.row0), e.idx(tile.col0 + j * tile.box[1])}, bar);
  });
  mbarrier::waitParity(e, bar, e.i32(0));
}

/// `args` checks for (memref<RxCxT>, memref<...xT>) with T of 1, 2 or 4 bytes.
FailureOr<Type> tmaArgs(BlockTest &t, StringRef expected, bool sameShape) {
  Type elt;
  if (failed(t.args(expected, [&](ArrayRef<MemRefType> ts) {
        if (ts.size() != 2 || ts[0].getRank() != 2)
          return false;
        elt = ts[0].getElementType();
        if (!isa<IntegerType, FloatType>(elt) || ts[1].getElementType() != elt)
          return false;
        unsigned bits = elt.getIntOrFloatBitWidth();
        if (bits != 8 && bits != 16 && bits != 32)
          return false;
        return sameShape ? ts[1].getShape() == ts[0].getShape() : ts[1].getRank() == 1;
      })))
    return failure();
  return elt;
}

/// Shared bytes of the tile, the slack to align it and the barrier.
int64_t tmaSharedBytes(const TmaTile &tile) { return 1024 + tile.layout.bytes() + 16; }

LogicalResult buildTmaLoad(BlockTest &t) {
  FailureOr<Type> elt = tmaArgs(t, "(memref<RxCxT>, memref<NxT>) with T a 1-, 2- or 4-byte "
                                   "integer or float", /*sameShape=*/false);
  if (failed(elt))
    return failure();
  FailureOr<TmaTile> tile = tmaTileOptions(t, *elt);
  if (failed(tile))
    return failure();
  int64_t outElems = cast<MemRefType>(t.arg(1).getType()).getDimSize(0);
  if (outElems != tile->layout.elems())
    return t.error() << "the output has " << outElems << " elements; the tile has "
                     << tile->layout.elems();

  KernelBuilder &e = t.begin();
  Value src = t.arg(0), out = t.arg(1);
  Value map = tma::describe(e.b, e.loc, src, tile->box, tile->options);
  gpu::LaunchOp launch = t.launch(1, 1, tile->threads, tmaSharedBytes(*tile));
  Value tid = launch.getThreadIds().x;
  SmemArena arena(e);
  arena.alignTo(1024);
  Value raw = arena.view({tile->layout.elems()}, *elt, 0);
  Value bar = mbarrier::pointer(e, e.add(arena.originAddress(), e.idx(tile->layout.bytes())));
  Value elems = e.idx(tile->layout.elems()), step = e.idx(tile->threads);

  // -1 first, so that a box element TMA failed to write (or zero-fill)
  // shows; those writes must be ordered before the async proxy's.
  Attribute minusOne = isa<FloatType>(*elt) ? Attribute(FloatAttr::get(*elt, -1.0))
                                            : Attribute(IntegerAttr::get(*elt, -1));
  Value sentinel = arith::ConstantOp::create(e.b, e.loc, cast<TypedAttr>(minusOne));
  e.loop(tid, elems, step, [&](Value i) { e.store(sentinel, raw, i); });
  e.when(e.eq(tid, e.idx(0)), [&] {
    mbarrier::init(e, bar, 1);
    mbarrier::fenceInit(e);
  });
  tma::fenceSharedToAsync(e);
  gpu::BarrierOp::create(e.b, e.loc);
  tmaLoadTile(e, *tile, map, arena.originAddress(), bar, tid);
  e.loop(tid, elems, step, [&](Value i) { e.store(e.load(raw, i), out, i); });
  t.end(launch);
  return success();
}

LogicalResult buildTmaStore(BlockTest &t) {
  FailureOr<Type> elt = tmaArgs(t, "(memref<RxCxT>, memref<RxCxT>) with T a 1-, 2- or 4-byte "
                                   "integer or float", /*sameShape=*/true);
  if (failed(elt))
    return failure();
  FailureOr<TmaTile> tile = tmaTileOptions(t, *elt);
  if (failed(tile))
    return failure();

  KernelBuilder &e = t.begin();
  Value src = t.arg(0), dst = t.arg(1);
  Value loadMap = tma::describe(e.b, e.loc, src, tile->box, tile->options);
  Value storeMap = tma::describe(e.b, e.loc, dst, tile->box, tile->options);
  gpu::LaunchOp launch = t.launch(1, 1, tile->threads, tmaSharedBytes(*tile));
  Value tid = launch.getThreadIds().x;
  SmemArena arena(e);
  arena.alignTo(1024);
  Value bar = mbarrier::pointer(e, e.add(arena.originAddress(), e.idx(tile->layout.bytes())));
  e.when(e.eq(tid, e.idx(0)), [&] {
    mbarrier::init(e, bar, 1);
    mbarrier::fenceInit(e);
  });
  gpu::BarrierOp::create(e.b, e.loc);
  tmaLoadTile(e, *tile, loadMap, arena.originAddress(), bar, tid);
  // The loaded tile goes straight back out: async proxy to async proxy,
  // ordered by the barrier wait above.
  e.when(e.eq(tid, e.idx(0)), [&] {
    int64_t blockBytes = tma::boxBytes(tile->box, tile->layout.elemBytes);
    for (int64_t j = 0; j < tile->blocks; ++j)
      tma::store(e, storeMap, e.add(arena.originAddress(), e.idx(j * blockBytes)),
                 {e.idx(tile->row0), e.idx(tile->col0 + j * tile->box[1])});
    tma::commitStores(e);
    tma::waitStores(e, 0);
  });
  t.end(launch);
  return success();
}

//===----------------------------------------------------------------------===//
// pipeline: warpgroup 0 (setmaxnreg dec) streams the K tiles of `src`
// through an N-stage MbarrierRing by TMA, one elected lane issuing; the
// consumer warpgroup (setmaxnreg inc) sums them, releasing each stage.
//===----------------------------------------------------------------------===//

LogicalResult buildPipeline(BlockTest &t) {
  FailureOr<int64_t> stages = t.integer("stages", 2);
  FailureOr<int64_t> producerRegs = t.integer("producer_registers", 40);
  FailureOr<int64_t> consumerRegs = t.integer("consumer_registers", 232);
  if (failed(stages) || failed(producerRegs) || failed(consumerRegs) ||
      failed(t.noOtherOptions()))
    return failure();
  if (*stages < 1 || *stages > 8)
    return t.error() << "stages (" << *stages << ") must be in [1, 8]";
  for (int64_t regs : {*producerRegs, *consumerRegs})
    if (std::string why = maxRegistersError(regs); !why.empty())
      return t.error() << why;
  if (*producerRegs > *consumerRegs)
    return t.error() << "producer_registers (" << *producerRegs
                     << ") must not exceed consumer_registers (" << *consumerRegs << ")";
  Type f32 = Float32Type::get(t.ctx());
  int64_t rows = 0, cols = 0, total = 0;
  if (failed(t.args("(memref<TxCxf32>, memref<RxCxf32>) with R in [1, 256] dividing T, C a "
                    "multiple of 4 in [4, 256] and R x C a multiple of 128",
                    [&](ArrayRef<MemRefType> ts) {
                      if (ts.size() != 2 || ts[0].getRank() != 2 || ts[1].getRank() != 2)
                        return false;
                      total = ts[0].getDimSize(0);
                      rows = ts[1].getDimSize(0);
                      cols = ts[1].getDimSize(1);
                      return rows >= 1 && rows <= 256 && total % rows == 0 && cols % 4 == 0 &&
                             cols >= 4 && cols <= 256 && (rows * cols) % 128 == 0 &&
                             is(ts[0], {total, cols}, f32) && is(ts[1], {rows, cols}, f32);
                    })))
    return failure();
  int64_t tiles = total / rows, tileBytes = rows * cols * 4;
  int64_t perThread = rows * cols / kWarpgroupThreads;
  int64_t ringBytes = llvm::alignTo(*stages * tileBytes, 8);
  int64_t sharedBytes = 128 + ringBytes + MbarrierRing::bytes(*stages);
  if (sharedBytes > 227 * 1024)
    return t.error() << "the ring needs " << sharedBytes
                     << " bytes of shared memory; the limit is " << 227 * 1024;

  KernelBuilder &e = t.begin();
  OpBuilder &b = e.b;
  Value src = t.arg(0), out = t.arg(1);
  Value map = tma::describe(b, e.loc, src, {rows, cols}, {});
  gpu::LaunchOp launch = t.launch(1, 1, 2 * kWarpgroupThreads, sharedBytes);
  Value tid = launch.getThreadIds().x;
  SmemArena arena(e);
  arena.alignTo(128);
  Value ringData = arena.view({*stages * rows * cols}, f32, 0);
  MbarrierRing ring(e, e.add(arena.originAddress(), e.idx(ringBytes)), *stages,
                    /*consumerArrivals=*/kWarpgroupThreads);
  ring.init(e.eq(tid, e.idx(0)));
  WarpgroupIds ids = WarpgroupIds::of(e, tid);
  splitRoles(
      e, ids.warpgroup,
      [&] {
        setMaxRegisters(e, *producerRegs, /*increase=*/false);
        // One warp produces; its elected lane issues everything.
        e.when(e.eq(e.div(ids.thread, e.idx(32)), e.idx(0)), [&] {
          e.when(electOneLane(e), [&] {
            tma::prefetch(e, map);
            e.loop(e.idx(tiles), [&](Value k) {
              RingSlot slot = ring.slot(k);
              ring.producerAcquire(slot);
              ring.producerExpect(slot, e.i32(tileBytes));
              Value dst = e.add(arena.originAddress(), e.mul(slot.stage, e.idx(tileBytes)));
              tma::load(e, map, dst, {e.mul(k, e.idx(rows)), e.idx(0)}, ring.full(slot));
            });
          });
        });
      },
      [&](Value) {
        setMaxRegisters(e, *consumerRegs, /*increase=*/true);
        SmallVector<Value> init(perThread, e.f32(0));
        auto loop = scf::ForOp::create(b, e.loc, e.idx(0), e.idx(tiles), e.idx(1), init);
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(loop.getBody());
          RingSlot slot = ring.slot(loop.getInductionVar());
          ring.consumerWait(slot);
          Value base = e.mul(slot.stage, e.idx(rows * cols));
          SmallVector<Value> next;
          for (int64_t j = 0; j < perThread; ++j) {
            Value i = e.add(ids.thread, e.idx(j * kWarpgroupThreads));
            next.push_back(
                e.fadd(loop.getRegionIterArgs()[j], e.load(ringData, e.add(base, i))));
          }
          ring.consumerRelease(slot);
          scf::YieldOp::create(b, e.loc, next);
        }
        for (int64_t j = 0; j < perThread; ++j) {
          Value i = e.add(ids.thread, e.idx(j * kWarpgroupThreads));
          e.store(loop.getResult(j), out,
                  ValueRange{e.div(i, e.idx(cols)), e.rem(i, e.idx(cols))});
        }
      });
  t.end(launch);
  return success();
}

//===----------------------------------------------------------------------===//
// split_range, rasterize, for_each_tile: the tile scheduler, one thread per
// block.
//===----------------------------------------------------------------------===//

LogicalResult buildSplitRange(BlockTest &t) {
  FailureOr<int64_t> align = t.integer("align", 1);
  if (failed(align) || failed(t.noOtherOptions()))
    return failure();
  if (*align < 1)
    return t.error() << "align (" << *align << ") must be positive";
  Type i32 = IntegerType::get(t.ctx(), 32);
  int64_t ns = 0, splits = 0;
  if (failed(t.args("(memref<Kxi32>, memref<KxSx2xi32>) with K <= 65535",
                    [&](ArrayRef<MemRefType> ts) {
                      if (ts.size() != 2 || ts[0].getRank() != 1 || ts[1].getRank() != 3)
                        return false;
                      ns = ts[0].getDimSize(0);
                      splits = ts[1].getDimSize(1);
                      return ns >= 1 && ns <= 65535 && splits >= 1 && is(ts[0], {ns}, i32) &&
                             is(ts[1], {ns, splits, 2}, i32);
                    })))
    return failure();

  KernelBuilder &e = t.begin();
  Value nIn = t.arg(0), out = t.arg(1);
  gpu::LaunchOp launch = t.launch(splits, ns, 1, 0);
  gpu::KernelDim3 block = launch.getBlockIds();
  Value n = e.toSignedIndex(e.load(nIn, block.y));
  // The number of parts is the run-time grid size.
  std::pair<Value, Value> range =
      splitRange(e, n, block.x, launch.getGridSize().x, *align);
  e.store(toI32(e, range.first), out, ValueRange{block.y, block.x, e.idx(0)});
  e.store(toI32(e, range.second), out, ValueRange{block.y, block.x, e.idx(1)});
  t.end(launch);
  return success();
}

LogicalResult buildRasterize(BlockTest &t) {
  FailureOr<int64_t> groupM = t.integer("group_m", 8);
  FailureOr<bool> dynamic = t.flag("dynamic", false);
  if (failed(groupM) || failed(dynamic) || failed(t.noOtherOptions()))
    return failure();
  if (*groupM < 1)
    return t.error() << "group_m (" << *groupM << ") must be positive";
  Type i32 = IntegerType::get(t.ctx(), 32);
  int64_t gridM = 0, gridN = 0;
  if (failed(t.args("(memref<MxNx2xi32>) with M <= 65535", [&](ArrayRef<MemRefType> ts) {
        if (ts.size() != 1 || ts[0].getRank() != 3)
          return false;
        gridM = ts[0].getDimSize(0);
        gridN = ts[0].getDimSize(1);
        return gridM >= 1 && gridM <= 65535 && gridN >= 1 && is(ts[0], {gridM, gridN, 2}, i32);
      })))
    return failure();

  KernelBuilder &e = t.begin();
  Value out = t.arg(0);
  gpu::LaunchOp launch = t.launch(gridN, gridM, 1, 0);
  gpu::KernelDim3 block = launch.getBlockIds();
  Size m = *dynamic ? Size::of(launch.getGridSize().y) : Size::of(gridM);
  std::pair<Value, Value> tile = rasterize(e, block.x, block.y, m, gridN, *groupM);
  e.store(toI32(e, tile.first), out, ValueRange{block.y, block.x, e.idx(0)});
  e.store(toI32(e, tile.second), out, ValueRange{block.y, block.x, e.idx(1)});
  t.end(launch);
  return success();
}

LogicalResult buildForEachTile(BlockTest &t) {
  FailureOr<int64_t> blocks = t.integer("blocks", 4);
  if (failed(blocks) || failed(t.noOtherOptions()))
    return failure();
  if (*blocks < 1 || *blocks > 65535)
    return t.error() << "blocks (" << *blocks << ") must be in [1, 65535]";
  Type i32 = IntegerType::get(t.ctx(), 32);
  int64_t tiles = 0;
  if (failed(t.args("(memref<Nxi32>)", [&](ArrayRef<MemRefType> ts) {
        if (ts.size() != 1 || ts[0].getRank() != 1)
          return false;
        tiles = ts[0].getDimSize(0);
        return is(ts[0], {tiles}, i32);
      })))
    return failure();

  KernelBuilder &e = t.begin();
  Value out = t.arg(0);
  gpu::LaunchOp launch = t.launch(*blocks, 1, 1, 0);
  Value first = launch.getBlockIds().x;
  forEachTile(e, first, e.idx(tiles), launch.getGridSize().x,
              [&](Value tile, Value j) {
                e.store(toI32(e, e.add(e.mul(first, e.idx(100)), j)), out, tile);
              });
  t.end(launch);
  return success();
}

struct Block {
  StringLiteral name;
  LogicalResult (*build)(BlockTest &);
};
constexpr Block kBlocks[] = {
    {"warp_reduce", buildWarpReduce},     {"online_softmax", buildOnlineSoftmax},
    {"tile_copy", buildTileCopy},         {"mma", buildMma},
    {"wgmma_rs", buildWgmmaRegA},
    {"split_range", buildSplitRange},     {"rasterize", buildRasterize},
    {"for_each_tile", buildForEachTile},
    {"tma_load", buildTmaLoad},           {"tma_store", buildTmaStore},
    {"pipeline", buildPipeline},
};

struct TestKernelBlocks
    : tessel::test::impl::TestKernelBlocksBase<TestKernelBlocks> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> funcs;
    getOperation().walk([&](func::FuncOp f) {
      if (f->hasAttr(kBlockAttr))
        funcs.push_back(f);
    });
    bool ok = true;
    for (func::FuncOp f : funcs)
      ok &= succeeded(build(f));
    if (!ok)
      signalPassFailure();
  }

  LogicalResult build(func::FuncOp f) {
    auto name = dyn_cast<StringAttr>(f->getAttr(kBlockAttr));
    if (!name)
      return f.emitError() << "@" << f.getSymName() << ": " << kBlockAttr
                           << " must be a string naming a block, got " << f->getAttr(kBlockAttr);
    Attribute options = f->getAttr(kOptionsAttr);
    if (options && !isa<DictionaryAttr>(options))
      return f.emitError() << "@" << f.getSymName() << ": " << kOptionsAttr
                           << " must be a dictionary, got " << options;
    BlockTest t(f, name.getValue(), dyn_cast_or_null<DictionaryAttr>(options));
    if (f.getNumResults())
      return t.error() << "the function must return nothing, got results "
                       << typeList(f.getResultTypes());
    for (const Block &blk : kBlocks)
      if (blk.name == name.getValue())
        return blk.build(t);
    InFlightDiagnostic diag = t.error() << "unknown block; expected one of ";
    llvm::interleaveComma(kBlocks, diag, [&](const Block &blk) { diag << blk.name; });
    return diag;
  }
};

} // namespace
