//===- Wgmma.h - Hopper warpgroup MMA ---------------------------*- C++ -*-===//
//
// sm_90a warpgroup tensor-core blocks: 64-bit matrix descriptors for
// swizzled shared tiles, `wgmma.mma_async` m64nNk16 (f16/bf16 in, f32
// accumulators in a struct of N/2 registers per thread), the fence /
// commit / wait protocol, and the accumulator's (row, col) map.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_WGMMA_H
#define TESSEL_LIB_GPU_WGMMA_H

#include "GPU/SmemLayout.h"

namespace mlir::tessel::wgmma {

constexpr int64_t kK = 16; // K of one f16/bf16 wgmma

/// One operand: its shared tile and whether K runs along the tile's columns.
struct Operand {
  SmemLayout layout;
  bool kMajor;
};

/// The descriptor of the operand block at shared byte address `byteAddr`.
/// Only the start-address field (16-byte units, 14 bits) depends on the
/// address, and adding byte offsets to it never carries into the next field.
Value descriptor(KernelBuilder &e, Value byteAddr, const Operand &op);
/// `desc` moved by `bytes` (a multiple of 16).
Value advance(KernelBuilder &e, Value desc, int64_t bytes);
Value advance(KernelBuilder &e, Value desc, Value bytesOver16);

/// The accumulator struct type of an m64nN wgmma and its zero value.
Type accumulatorType(MLIRContext *ctx, int64_t n);
Value zeroAccumulator(KernelBuilder &e, int64_t n);

/// acc += A * B for one m64nNk16 step, operands from shared memory.
Value mmaAsync(KernelBuilder &e, Value acc, Value descA, Value descB, int64_t n, Type elt,
               const Operand &a, const Operand &b);

/// acc = A * B (+ acc when scaleD != 0, an i32) for one m64nNk16 step with
/// A in registers: each warp w of the warpgroup supplies rows 16w..16w+15 as
/// an mma.sync A fragment (vector<4x2xT>, see MmaSync.h; e.g. the P of P·V
/// from mma::accumulatorsToA), B from shared memory. The pinned NVVM op
/// takes A only as a descriptor, so this is inline PTX; call fence() first
/// when A's or acc's registers were just written.
Value mmaAsyncRegA(KernelBuilder &e, Value acc, Value aFragment, Value descB, int64_t n,
                   const Operand &b, Value scaleD);

void fence(KernelBuilder &e);            // before the first wgmma reading fresh registers
void commitGroup(KernelBuilder &e);      // closes the wgmmas issued so far as one group
void waitGroups(KernelBuilder &e, int64_t pending); // at most `pending` groups in flight

/// Accumulator register 4 * nb + 2 * half + k of a thread holds row
/// 16 * warp + 8 * half + lane / 4 and column 8 * nb + 2 * (lane % 4) + k of
/// the 64 x N tile (warp and lane inside the warpgroup).
int64_t accumulatorRegister(int64_t nb, int64_t half, int64_t k);
Value element(KernelBuilder &e, Value acc, int64_t reg);

} // namespace mlir::tessel::wgmma

#endif // TESSEL_LIB_GPU_WGMMA_H
