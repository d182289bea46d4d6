//===- Reduce.cpp - shuffles, row reductions, online softmax --------------===//

#include "GPU/Reduce.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::tessel;

Value mlir::tessel::warpReduce(KernelBuilder &e, Value v, ReduceKind kind, int64_t width) {
  for (int64_t offset = width / 2; offset >= 1; offset /= 2) {
    Value other = gpu::ShuffleOp::create(e.b, e.loc, v, e.i32(offset), e.i32(32),
                                         gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    v = kind == ReduceKind::Sum ? e.fadd(v, other) : e.fmax(v, other);
  }
  return v;
}

static float negInf() { return -std::numeric_limits<float>::infinity(); }

SoftmaxRow OnlineSoftmax::init(KernelBuilder &e) const { return {e.f32(negInf()), e.f32(0)}; }

/// A pairwise tree over `values`: log2(n) dependent steps instead of n, so
/// the reductions of a 128-wide score tile do not serialize the warp.
static Value treeReduce(KernelBuilder &e, SmallVector<Value> values, ReduceKind kind) {
  while (values.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < values.size(); i += 2)
      next.push_back(kind == ReduceKind::Sum ? e.fadd(values[i], values[i + 1])
                                             : e.fmax(values[i], values[i + 1]));
    if (values.size() % 2)
      next.push_back(values.back());
    values = std::move(next);
  }
  return values.front();
}

Value mlir::tessel::warpAny(KernelBuilder &e, Value pred) {
  return NVVM::VoteSyncOp::create(e.b, e.loc, e.b.getI1Type(), e.i32(-1), pred,
                                  NVVM::VoteSyncKind::any);
}

SoftmaxRow OnlineSoftmax::update(KernelBuilder &e, SoftmaxRow row, MutableArrayRef<Value> scores,
                                 Value &rescale, Value *grew) const {
  // The op verifier keeps the scale positive, so the max of the raw scores
  // scales to the max of the scaled ones (rounding is monotone) and each
  // probability is one fma + exp2: exp2(s * scaleLog2 - max).
  Value tileMax = treeReduce(e, SmallVector<Value>(scores.begin(), scores.end()),
                             ReduceKind::Max);
  Value scale = e.f32(scaleLog2);
  tileMax = e.fmul(warpReduce(e, tileMax, ReduceKind::Max, width), scale);
  Value max = e.fmax(row.max, tileMax);
  if (lazyThreshold > 0) {
    // -inf + threshold stays -inf: the first unmasked tile always moves it.
    Value moves = arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OGT, tileMax,
                                        e.fadd(row.max, e.f32(lazyThreshold)));
    max = e.pick(moves, max, row.max);
    if (grew)
      *grew = moves;
  } else if (grew) {
    *grew = arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OGT, max, row.max);
  }
  // While every score is masked, subtract 0 instead of -inf: exp2(-inf - 0)
  // is 0 where exp2(-inf - -inf) would be NaN.
  Value empty = arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OEQ, max, e.f32(negInf()));
  Value base = e.pick(empty, e.f32(0), max);
  rescale = math::Exp2Op::create(e.b, e.loc, e.fsub(row.max, base));
  Value negBase = arith::NegFOp::create(e.b, e.loc, base);
  for (Value &s : scores)
    s = math::Exp2Op::create(e.b, e.loc,
                             math::FmaOp::create(e.b, e.loc, s, scale, negBase));
  Value tileSum = treeReduce(e, SmallVector<Value>(scores.begin(), scores.end()), ReduceKind::Sum);
  return {max, e.fadd(e.fmul(row.sum, rescale), tileSum)};
}

std::pair<Value, Value> OnlineSoftmax::finish(KernelBuilder &e, SoftmaxRow row) const {
  Value any = arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OGT, row.sum, e.f32(0));
  Value inv = e.pick(any, arith::DivFOp::create(e.b, e.loc, e.f32(1), row.sum), e.f32(0));
  // LSE = ln(sum) + max * ln(2)  (max is in the log2 domain).
  Value lse = e.fadd(math::LogOp::create(e.b, e.loc, row.sum),
                     e.fmul(row.max, e.f32(float(M_LN2))));
  return {inv, e.pick(any, lse, e.f32(negInf()))};
}
