//===- Emitter.h - loop-nest builder shared by tessel lowerings -*- C++ -*-===//
#ifndef TESSEL_LIB_COMMON_EMITTER_H
#define TESSEL_LIB_COMMON_EMITTER_H

#include "Common/FloatUtils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

namespace mlir::tessel {

/// Small builder for loop nests over memrefs. All arithmetic on scores and
/// accumulators is f32.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(float v) { return f32Constant(b, loc, v); }
  Value dim(Value m, int64_t i) { return memref::DimOp::create(b, loc, m, i); }
  Value load(Value m, ValueRange ivs) { return memref::LoadOp::create(b, loc, m, ivs); }
  Value loadF32(Value m, ValueRange ivs) {
    return castFloat(b, loc, load(m, ivs), b.getF32Type());
  }
  void store(Value v, Value m, ValueRange ivs) {
    Type elt = cast<MemRefType>(m.getType()).getElementType();
    if (isa<FloatType>(elt))
      v = castFloat(b, loc, v, elt);
    memref::StoreOp::create(b, loc, v, m, ivs);
  }
  Value toIndex(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }

  /// for iv in [lb, ub) step `step`: body(iv)
  void loop(Value lb, Value ub, Value step, function_ref<void(Value)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, step);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }
  /// for iv in [lb, ub): body(iv)
  void loop(Value lb, Value ub, function_ref<void(Value)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }
  void loop(Value ub, function_ref<void(Value)> body) { loop(idx(0), ub, body); }

  /// acc = init; for iv in [0, ub): acc = body(iv, acc); return acc
  Value reduce(Value ub, Value init, function_ref<Value(Value, Value)> body) {
    return reduce(idx(0), ub, idx(1), init, body);
  }
  Value reduce(Value lb, Value ub, Value step, Value init,
               function_ref<Value(Value, Value)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, step, ValueRange{init});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forOp.getBody());
      Value next = body(forOp.getInductionVar(), forOp.getRegionIterArg(0));
      scf::YieldOp::create(b, loc, next);
    }
    return forOp.getResult(0);
  }

  /// sum over d < n of x(d) * y(d), in f32.
  Value dot(Value n, function_ref<Value(Value)> x, function_ref<Value(Value)> y) {
    return reduce(n, f32(0), [&](Value d, Value acc) {
      Value p = arith::MulFOp::create(b, loc, x(d), y(d));
      return arith::AddFOp::create(b, loc, acc, p).getResult();
    });
  }

  /// cond ? thenFn() : elseFn(), evaluating only the taken side.
  Value select(Value cond, Type type, function_ref<Value()> thenFn,
               function_ref<Value()> elseFn) {
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, cond, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, thenFn());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, elseFn());
    return ifOp.getResult(0);
  }
  /// if (cond) body()
  void when(Value cond, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value land(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }

  Value alloc(Type elt, ArrayRef<Value> sizes) {
    SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
    return memref::AllocOp::create(b, loc, MemRefType::get(shape, elt), sizes);
  }

  /// One softmax row over `n` keys. `score(j)` gives the scaled score of key
  /// j, `value(j, d)` its value in column d; `write(d, o)` receives each
  /// output column and the result is the row's log-sum-exp. `scratch` holds
  /// at least n f32. A row with n = 0 writes zeros and returns -inf.
  Value softmaxRow(Value n, Value dv, Value scratch, function_ref<Value(Value)> score,
                   function_ref<Value(Value, Value)> value,
                   function_ref<void(Value, Value)> write) {
    float negInf = -std::numeric_limits<float>::infinity();
    Value rowMax = reduce(n, f32(negInf), [&](Value j, Value m) {
      Value s = score(j);
      store(s, scratch, j);
      return arith::MaximumFOp::create(b, loc, m, s).getResult();
    });
    Value denom = reduce(n, f32(0), [&](Value j, Value l) {
      Value s = arith::SubFOp::create(b, loc, load(scratch, j), rowMax);
      Value p = math::ExpOp::create(b, loc, s);
      store(p, scratch, j);
      return arith::AddFOp::create(b, loc, l, p).getResult();
    });
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, n, idx(0));
    Value inv = arith::SelectOp::create(
        b, loc, any, arith::DivFOp::create(b, loc, f32(1), denom), f32(0));
    loop(dv, [&](Value d) {
      Value acc = reduce(n, f32(0), [&](Value j, Value a) {
        Value pv = arith::MulFOp::create(b, loc, load(scratch, j), value(j, d));
        return arith::AddFOp::create(b, loc, a, pv).getResult();
      });
      write(d, arith::MulFOp::create(b, loc, acc, inv));
    });
    Value lse = arith::AddFOp::create(b, loc, rowMax, math::LogOp::create(b, loc, denom));
    return arith::SelectOp::create(b, loc, any, lse, f32(negInf));
  }
};

} // namespace mlir::tessel

#endif // TESSEL_LIB_COMMON_EMITTER_H
