//===- Reduce.cpp - shuffles, row reductions, online softmax --------------===//

#include "GPU/Reduce.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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

SoftmaxRow OnlineSoftmax::update(KernelBuilder &e, SoftmaxRow row, MutableArrayRef<Value> scores,
                                 Value &rescale) const {
  Value tileMax = e.f32(negInf());
  for (Value &s : scores) {
    s = e.fmul(s, e.f32(scaleLog2));
    tileMax = e.fmax(tileMax, s);
  }
  tileMax = warpReduce(e, tileMax, ReduceKind::Max, width);
  Value max = e.fmax(row.max, tileMax);
  // While every score is masked, subtract 0 instead of -inf: exp2(-inf - 0)
  // is 0 where exp2(-inf - -inf) would be NaN.
  Value empty = arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OEQ, max, e.f32(negInf()));
  Value base = e.pick(empty, e.f32(0), max);
  rescale = math::Exp2Op::create(e.b, e.loc, e.fsub(row.max, base));
  Value sum = e.fmul(row.sum, rescale);
  for (Value &s : scores) {
    s = math::Exp2Op::create(e.b, e.loc, e.fsub(s, base));
    sum = e.fadd(sum, s);
  }
  return {max, sum};
}

std::pair<Value, Value> OnlineSoftmax::finish(KernelBuilder &e, SoftmaxRow row) const {
  Value any = arith::CmpFOp::create(e.b, e.loc, arith::CmpFPredicate::OGT, row.sum, e.f32(0));
  Value inv = e.pick(any, arith::DivFOp::create(e.b, e.loc, e.f32(1), row.sum), e.f32(0));
  // LSE = ln(sum) + max * ln(2)  (max is in the log2 domain).
  Value lse = e.fadd(math::LogOp::create(e.b, e.loc, row.sum),
                     e.fmul(row.max, e.f32(float(M_LN2))));
  return {inv, e.pick(any, lse, e.f32(negInf()))};
}
