//===- MmaSync.h - mma.sync m16n8k16 fragments ------------------*- C++ -*-===//
//
// Warp-level tensor-core blocks (sm_80+): operand fragments read from shared
// memory with ldmatrix (.trans when the tile's contiguous dimension is not
// the one the fragment wants), `mma.sync.m16n8k16` with f32 accumulators for
// f16 and bf16 (nvgpu has no bf16 form: nvvm with i32-packed registers), the
// accumulator's (row, col) map, and the accumulator -> A-operand conversion
// that keeps P of P·V in registers.
//
// Fragment types: A vector<4x2xT> (16x16), B vector<2x2xT> (16x8, k x n),
// accumulator vector<2x2xf32> (16x8).
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_MMASYNC_H
#define TESSEL_LIB_GPU_MMASYNC_H

#include "GPU/TileCopy.h"

namespace mlir::tessel::mma {

/// Per-lane ldmatrix.x4 addressing: lane l supplies the address of row l % 8
/// of 8x8 matrix l / 8. Computed once per kernel, outside the loops.
struct Lanes {
  Value lane, matrix, row, matrixLow, matrixHigh;
  static Lanes of(KernelBuilder &e, Value lane);
};

/// The A fragment of the 16x16 block at (m0, k0) of a shared tile: with
/// `kContiguous` the tile's columns run along K (index(m, k)), else along M
/// (index(k, m)).
Value loadA(KernelBuilder &e, const Lanes &l, Value smem, TileIndex index, Value m0, Value k0,
            bool kContiguous);
/// The two B fragments (columns n0..n0+7 and n0+8..n0+15) of the 16x16 block
/// at (k0, n0): with `kContiguous` index(n, k), else index(k, n).
std::pair<Value, Value> loadB(KernelBuilder &e, const Lanes &l, Value smem, TileIndex index,
                              Value n0, Value k0, bool kContiguous);

/// acc + a * b, m16n8k16, f32 accumulation; the input type is a's.
Value mma(KernelBuilder &e, Value a, Value b, Value acc);
/// A zero accumulator.
Value zeroAccumulator(KernelBuilder &e);

/// Position inside its m16n8 tile of accumulator element (half, k) of a
/// lane: row lane / 4 + 8 * half, column 2 * (lane % 4) + k.
struct AccumulatorLanes {
  Value group, col2; // lane / 4, 2 * (lane % 4)
  static AccumulatorLanes of(KernelBuilder &e, Value lane);
};
/// Element (half, k) of an accumulator: tile row group + 8 * half, column
/// col2 + k.
Value element(KernelBuilder &e, Value acc, int64_t half, int64_t k);
/// Calls fn(row, col, element) for the four elements this lane holds.
void forEachElement(KernelBuilder &e, const AccumulatorLanes &l, Value acc,
                    function_ref<void(Value row, Value col, Value element)> fn);

/// An accumulator from its four elements, in (half, k) order: (0, 0),
/// (0, 1), (1, 0), (1, 1).
Value accumulator(KernelBuilder &e, ArrayRef<Value> elems);
/// The accumulator with its row-half-0 elements (row lane / 4) scaled by
/// `s0` and its row-half-1 elements (row lane / 4 + 8) by `s1`: per-row
/// factors such as the online-softmax rescale or 1 / l of attention.
Value scaleRows(KernelBuilder &e, Value acc, Value s0, Value s1);

/// Row tiles of accumulators (`acc[t * perTile + j]`, tile t's row halves
/// scaled by `rescales[2t]` and `rescales[2t + 1]`), scaled only when the
/// warp-uniform `cond` holds (an scf.if; otherwise returned as they are):
/// the online softmax's rescale of O, skipped on tiles that moved no max.
SmallVector<Value> scaleRowsIf(KernelBuilder &e, Value cond, ArrayRef<Value> acc,
                               int64_t perTile, ArrayRef<Value> rescales);

/// Two adjacent m16n8 f32 accumulators (columns 0..7 and 8..15 of a 16x16
/// block) as the A fragment of the next mma, rounded to `elt`: the C layout
/// of m16n8 equals the A layout of m16n8k16 row for row.
Value accumulatorsToA(KernelBuilder &e, Value lo, Value hi, Type elt);

} // namespace mlir::tessel::mma

#endif // TESSEL_LIB_GPU_MMASYNC_H
