//===- Reduce.h - shuffles, row reductions, online softmax ------*- C++ -*-===//
//
// Reductions across the lanes of a warp (butterfly XOR shuffles over the
// low `width` lanes: width 4 reduces the quad that shares an mma row) and
// the online softmax of FlashAttention: a running max and denominator per
// row, updated one tile of scores at a time, in the exp2 domain with
// log2(e) folded into the score scale.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_REDUCE_H
#define TESSEL_LIB_GPU_REDUCE_H

#include "GPU/KernelBuilder.h"

namespace mlir::tessel {

enum class ReduceKind { Sum, Max };

/// f32 reduction of `v` over groups of `width` consecutive lanes (a power of
/// two up to 32); every lane of a group gets the result.
Value warpReduce(KernelBuilder &e, Value v, ReduceKind kind, int64_t width = 32);

/// Whether `pred` holds on any lane of the warp (vote.sync.any, all lanes
/// taking part): a warp-uniform i1 to branch on.
Value warpAny(KernelBuilder &e, Value pred);

/// A row's running softmax state. `max` is in the scaled log2 domain
/// (score * scale * log2(e)); -inf while every score seen was masked.
struct SoftmaxRow {
  Value max, sum;
};

struct OnlineSoftmax {
  float scaleLog2; // scale * log2(e)
  int64_t width;   // lanes sharing a row (4 for mma accumulators)
  /// How far (log2 units) the state's max may lag the row's true max; 0:
  /// exact. With a threshold the max moves only when a tile raises it by
  /// more (FlashAttention-4's conditional rescaling): probabilities stay
  /// below 2^threshold, the output and sum are still relative to the same
  /// max, and most tiles need no rescale of the output accumulator at all.
  float lazyThreshold = 0;

  /// The state before any tile.
  SoftmaxRow init(KernelBuilder &e) const;

  /// Folds one tile of a row's scores (this lane's share, raw scores; masked
  /// ones -inf) into the state. Returns the new state, the factor by which
  /// the row's output accumulator must be rescaled, and replaces `scores`
  /// by the probabilities exp2(s * scaleLog2 - max) (0 for masked scores).
  /// With `grew`, it receives whether the max moved (an i1; rescale is 1
  /// where it did not), which callers vote on to skip the rescale.
  SoftmaxRow update(KernelBuilder &e, SoftmaxRow row, MutableArrayRef<Value> scores,
                    Value &rescale, Value *grew = nullptr) const;

  /// 1 / sum (0 for a row that saw no key) and the row's natural-log LSE
  /// (-inf for such a row). `sum` must already be reduced across the lanes.
  std::pair<Value, Value> finish(KernelBuilder &e, SoftmaxRow row) const;
};

} // namespace mlir::tessel

#endif // TESSEL_LIB_GPU_REDUCE_H
