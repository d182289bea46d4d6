//===- MmaSync.cpp - mma.sync m16n8k16 fragments --------------------------===//

#include "GPU/MmaSync.h"

#include "Common/FloatUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessel;

mma::Lanes mma::Lanes::of(KernelBuilder &e, Value lane) {
  Value j = e.div(lane, e.idx(8)), r = e.rem(lane, e.idx(8));
  return {lane, j, r, e.rem(j, e.idx(2)), e.div(j, e.idx(2))};
}

static VectorType fragmentType(Type elt) { return VectorType::get({4, 2}, elt); }

static Type elementOf(Value smem) { return cast<MemRefType>(smem.getType()).getElementType(); }

Value mma::loadA(KernelBuilder &e, const Lanes &l, Value smem, TileIndex index, Value m0,
                 Value k0, bool kContiguous) {
  // Row before column: the IR keeps a fixed order.
  Value r, c;
  if (kContiguous) {
    r = e.add(m0, e.rem(l.lane, e.idx(16)));
    c = e.add(k0, e.mul(e.div(l.lane, e.idx(16)), e.idx(8)));
  } else {
    r = e.add(k0, e.add(e.mul(l.matrixHigh, e.idx(8)), l.row));
    c = e.add(m0, e.mul(l.matrixLow, e.idx(8)));
  }
  SmallVector<Value> idx = index(r, c);
  return nvgpu::LdMatrixOp::create(e.b, e.loc, fragmentType(elementOf(smem)), smem, idx,
                                   /*transpose=*/!kContiguous, 4);
}

std::pair<Value, Value> mma::loadB(KernelBuilder &e, const Lanes &l, Value smem, TileIndex index,
                                   Value n0, Value k0, bool kContiguous) {
  Value r, c;
  if (kContiguous) {
    r = e.add(n0, e.add(e.mul(l.matrixHigh, e.idx(8)), l.row));
    c = e.add(k0, e.mul(l.matrixLow, e.idx(8)));
  } else {
    r = e.add(k0, e.add(e.mul(l.matrixLow, e.idx(8)), l.row));
    c = e.add(n0, e.mul(l.matrixHigh, e.idx(8)));
  }
  SmallVector<Value> idx = index(r, c);
  Value four = nvgpu::LdMatrixOp::create(e.b, e.loc, fragmentType(elementOf(smem)), smem, idx,
                                         /*transpose=*/!kContiguous, 4);
  auto half = [&](int64_t h) -> Value {
    return vector::ExtractStridedSliceOp::create(e.b, e.loc, four, ArrayRef<int64_t>{2 * h, 0},
                                                 ArrayRef<int64_t>{2, 2}, ArrayRef<int64_t>{1, 1});
  };
  Value lo = half(0);
  return {lo, half(1)};
}

Value mma::zeroAccumulator(KernelBuilder &e) {
  auto type = VectorType::get({2, 2}, e.b.getF32Type());
  return arith::ConstantOp::create(e.b, e.loc, DenseElementsAttr::get(type, 0.0f));
}

Value mma::mma(KernelBuilder &e, Value a, Value bf, Value c) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  if (!cast<VectorType>(a.getType()).getElementType().isBF16())
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
  auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      b, loc, structType, regs(a, 4), regs(bf, 2), cRegs, ArrayRef<int64_t>{16, 8, 16},
      std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  SmallVector<Value> elems;
  for (int64_t i = 0; i < 4; ++i)
    elems.push_back(LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{i}));
  return vector::FromElementsOp::create(b, loc, VectorType::get({2, 2}, f32), elems);
}

mma::AccumulatorLanes mma::AccumulatorLanes::of(KernelBuilder &e, Value lane) {
  Value g = e.div(lane, e.idx(4));
  Value col2 = e.mul(e.rem(lane, e.idx(4)), e.idx(2));
  return {g, col2};
}

Value mma::element(KernelBuilder &e, Value acc, int64_t half, int64_t k) {
  return vector::ExtractOp::create(e.b, e.loc, acc, ArrayRef<int64_t>{half, k});
}

void mma::forEachElement(KernelBuilder &e, const AccumulatorLanes &l, Value acc,
                         function_ref<void(Value, Value, Value)> fn) {
  for (int64_t half = 0; half < 2; ++half)
    for (int64_t k = 0; k < 2; ++k) {
      Value row = e.add(e.idx(half * 8), l.group);
      Value col = e.add(e.idx(k), l.col2);
      fn(row, col, element(e, acc, half, k));
    }
}

Value mma::accumulatorsToA(KernelBuilder &e, Value lo, Value hi, Type elt) {
  // Rounded a row pair at a time (vector<2xf32> -> vector<2xelt>): NVPTX
  // then emits one cvt.rn.{f16,bf16}x2 per register. Rounded element by
  // element, bf16 came out as two cvt.rn.bf16.f32 and a pack per register,
  // enough extra 16-bit live values to make the 64-key attention tile spill.
  auto pairType = VectorType::get({2}, elt);
  Value frag = arith::ConstantOp::create(
      e.b, e.loc, DenseElementsAttr::get(fragmentType(elt), e.b.getZeroAttr(elt)));
  int64_t row = 0;
  for (Value acc : {lo, hi})
    for (int64_t half = 0; half < 2; ++half, ++row) {
      Value pair = vector::ExtractOp::create(e.b, e.loc, acc, ArrayRef<int64_t>{half});
      Value rounded = arith::TruncFOp::create(e.b, e.loc, pairType, pair);
      frag = vector::InsertOp::create(e.b, e.loc, rounded, frag, ArrayRef<int64_t>{row});
    }
  return frag;
}

Value mma::accumulator(KernelBuilder &e, ArrayRef<Value> elems) {
  return vector::FromElementsOp::create(e.b, e.loc, VectorType::get({2, 2}, e.b.getF32Type()),
                                        elems);
}

Value mma::scaleRows(KernelBuilder &e, Value acc, Value s0, Value s1) {
  return e.fmul(acc, accumulator(e, {s0, s0, s1, s1}));
}

SmallVector<Value> mma::scaleRowsIf(KernelBuilder &e, Value cond, ArrayRef<Value> acc,
                                    int64_t perTile, ArrayRef<Value> rescales) {
  auto scaled = scf::IfOp::create(e.b, e.loc, TypeRange(ValueRange(acc)), cond,
                                  /*withElseRegion=*/true);
  OpBuilder::InsertionGuard g(e.b);
  e.b.setInsertionPointToStart(&scaled.getThenRegion().front());
  SmallVector<Value> out;
  for (auto [i, a] : llvm::enumerate(acc)) {
    int64_t t = int64_t(i) / perTile;
    out.push_back(scaleRows(e, a, rescales[2 * t], rescales[2 * t + 1]));
  }
  scf::YieldOp::create(e.b, e.loc, out);
  e.b.setInsertionPointToStart(&scaled.getElseRegion().front());
  scf::YieldOp::create(e.b, e.loc, acc);
  return SmallVector<Value>(scaled.getResults());
}
