//===- KernelBuilder.h - ids, constants, integer helpers, shared memory ---===//
//
// The base of every kernel-layer block: an Emitter (loops, loads, stores,
// unsigned index arithmetic) plus what only device code needs — thread, warp
// and lane ids, signed integer helpers (causal offsets and split ranges go
// negative), fixed-width constants, and the dynamic shared-memory window
// carved into typed views.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_KERNELBUILDER_H
#define TESSEL_LIB_GPU_KERNELBUILDER_H

#include "Common/Emitter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

namespace mlir::tessel {

/// A size known when the kernel is built, or only when it runs (an index
/// Value, typically a kernel argument). Static sizes become constants where
/// they are used, so a kernel built with all sizes static is the same IR as
/// one written with constants.
struct Size {
  int64_t fixed = 0;
  Value dynamic;

  static Size of(int64_t v) { return {v, Value()}; }
  static Size of(Value v) { return {0, v}; }
  bool isStatic() const { return !dynamic; }
};

struct KernelBuilder : Emitter {
  KernelBuilder(OpBuilder &b, Location loc) : Emitter{b, loc} {}

  /// The size as an index value.
  Value size(const Size &s) { return s.dynamic ? s.dynamic : idx(s.fixed); }
  /// ceil(s / d) for d > 0, folded when s is static.
  Value ceilDiv(const Size &s, int64_t d) {
    if (s.isStatic())
      return idx(llvm::divideCeil(s.fixed, d));
    return arith::CeilDivUIOp::create(b, loc, s.dynamic, idx(d));
  }

  Value i32(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value i64(uint64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }
  /// index -> i64 (zero-extending: addresses and sizes).
  Value toI64(Value index) { return arith::IndexCastUIOp::create(b, loc, b.getI64Type(), index); }
  /// Any integer -> index, sign-extending (block-table entries, lengths).
  Value toSignedIndex(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }

  // Signed comparisons and arithmetic, for quantities that may go negative.
  Value slt(Value x, Value y) { return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y); }
  Value sle(Value x, Value y) { return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, x, y); }
  Value ule(Value x, Value y) { return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, x, y); }
  Value eq(Value x, Value y) { return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y); }
  Value sdiv(Value x, Value y) { return arith::FloorDivSIOp::create(b, loc, x, y); }
  Value smin(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value smax(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value umin(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value umax(Value x, Value y) { return arith::MaxUIOp::create(b, loc, x, y); }
  Value pick(Value cond, Value x, Value y) { return arith::SelectOp::create(b, loc, cond, x, y); }
  Value lor(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value xorI(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }

  // f32 arithmetic.
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fmax(Value x, Value y) { return arith::MaximumFOp::create(b, loc, x, y); }
};

/// Lane and warp of a thread, from its linear id in the block.
struct WarpIds {
  Value tid, lane, warp;
  static WarpIds of(KernelBuilder &e, Value tid) {
    return {tid, e.rem(tid, e.idx(32)), e.div(tid, e.idx(32))};
  }
};

/// The kernel's dynamic shared memory (gpu.dynamic_shared_memory), carved
/// into typed views. The window itself is only 16-byte aligned; `alignTo`
/// moves the arena's origin to a run-time boundary (what swizzled layouts
/// read by TMA or wgmma need) at the price of `align` bytes of slack.
class SmemArena {
public:
  explicit SmemArena(KernelBuilder &e);

  /// Moves the origin to the next `align`-byte boundary of the shared
  /// address space.
  void alignTo(int64_t align);
  /// The origin's shared-memory address (index), after `alignTo`.
  Value originAddress() { return e.add(address, origin); }
  /// A view of `shape` x `elt` starting `byteOffset` bytes past the origin.
  Value view(ArrayRef<int64_t> shape, Type elt, int64_t byteOffset);
  /// The shared-memory address (index) of the byte `byteOffset` past the
  /// origin (a pointer for ld/st.shared, mapa, mbarriers).
  Value addressOf(int64_t byteOffset);
  /// The raw i8 window.
  Value raw() const { return window; }

private:
  KernelBuilder &e;
  Value window;
  Value address; // the window's shared address, once aligned
  Value origin;  // byte offset of the origin inside the window; null: 0
};

} // namespace mlir::tessel

#endif // TESSEL_LIB_GPU_KERNELBUILDER_H
