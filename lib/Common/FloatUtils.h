//===- FloatUtils.h - small helpers shared by tessel rewrites ---*- C++ -*-===//
#ifndef TESSEL_LIB_COMMON_FLOATUTILS_H
#define TESSEL_LIB_COMMON_FLOATUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace mlir::tessel {

/// Converts a scalar between f16, bf16 and f32. f16 <-> bf16 goes through f32
/// because neither holds the other's range and precision.
inline Value castFloat(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw == tw) {
    v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return arith::TruncFOp::create(b, loc, to, v);
  }
  if (fw < tw)
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}

inline Value f32Constant(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

} // namespace mlir::tessel

#endif // TESSEL_LIB_COMMON_FLOATUTILS_H
