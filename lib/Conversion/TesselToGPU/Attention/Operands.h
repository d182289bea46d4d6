//===- Operands.h - attention operands as flat strided views ----*- C++ -*-===//
//
// What every flash-attention kernel does with its operands before the
// first tile: run-time sizes read outside the kernel, each [B, *, *, D]
// operand viewed as a flat 1-D memref with element strides (so bhsd and bshd
// differ only in their strides), and the range of key tiles a block of query
// rows visits (causal: bottom-right aligned).
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_ATTENTION_OPERANDS_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_ATTENTION_OPERANDS_H

#include "GPU/KernelBuilder.h"

namespace mlir::tessel::attention {

/// Elements of an operand's flat view.
constexpr int64_t kFlatBound = int64_t(1) << 40;

/// An operand [B, *, *, D] as a flat memref and its element strides.
/// Static strides stay static (constants inside the kernel); dynamic ones
/// are computed on the host and become kernel parameters.
struct Strided {
  Value flat;
  Size batch, head, seq; // strides; the head dimension's is 1
  Value at(KernelBuilder &e, Value b, Value h, Value s) const {
    return e.add(e.add(e.mul(b, e.size(batch)), e.mul(h, e.size(head))),
                 e.mul(s, e.size(seq)));
  }
};

/// The size of dimension `i` of `v`; a run-time one is read with memref.dim
/// (call outside the kernel).
Size dimOf(KernelBuilder &e, Value v, int64_t i);
/// x * y and x / y, folded when both are static.
Size mulSize(KernelBuilder &e, Size x, Size y);
Size divSize(KernelBuilder &e, Size x, Size y);
/// `v` as a 1-D memref of kFlatBound elements.
Value flatView(KernelBuilder &e, Value v);
/// Q, K, V or O: [B, H, S, D] (bhsd) or [B, S, H, D] (bshd, `seqMajor`).
Strided strided(KernelBuilder &e, Value v, bool seqMajor);
Value negInf(KernelBuilder &e);
/// `v` viewed as [B, S, H, D] whatever its layout (bhsd swaps S and H by
/// strides only): the tensor a 4-D tensor map of one head's rows, with boxes
/// [1, rows, 1, 64], is described on.
Value seqHeadView(KernelBuilder &e, Value v, bool seqMajor);

/// The key tiles of `blockN` keys that query rows [qBase, qBase + blockM)
/// visit: [0, all) — every tile up to the diagonal of the block's last row
/// when causal — of which the first `full` need no mask (inside Skv and,
/// causal, below the diagonal of the block's first row). Query i sees keys
/// j <= i + Skv - Sq.
struct KeyTiles {
  Value all, full;
};
KeyTiles keyTiles(KernelBuilder &e, Value qBase, int64_t blockM, int64_t blockN, Value sq,
                  Value skv, bool causal);

} // namespace mlir::tessel::attention

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_ATTENTION_OPERANDS_H
