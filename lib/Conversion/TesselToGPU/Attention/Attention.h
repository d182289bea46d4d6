//===- Attention.h - tessel.flash_attention(_varlen) on the GPU -*- C++ -*-===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_ATTENTION_ATTENTION_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_ATTENTION_ATTENTION_H

#include "GPU/KernelBuilder.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {

/// Tiles of one flash-attention kernel; validated before any IR is built.
struct AttentionConfig {
  int64_t blockM;  // query rows per thread block
  int64_t blockN;  // keys per inner-loop step
  int64_t warps;   // warps per block, splitting the query rows
  int64_t stages;  // depth of the K/V cp.async ring
};

/// Whether the op's config asks for the wgmma rung (strategy "wgmma"); every
/// other op takes the mma rung.
bool usesWgmma(FlashAttentionOp op);
/// Whether it asks for the wgmma rung fed by a TMA producer warpgroup
/// (strategy "wgmma_tma").
bool usesTmaProducer(FlashAttentionOp op);

/// The op's configuration: its `config` attribute over the defaults for its
/// head dimension, checked against the hardware (threads, registers, shared
/// memory) and the kernel's shape rules. Errors are emitted on the op and
/// name the field and the limit.
FailureOr<AttentionConfig> configureFlashAttention(FlashAttentionOp op);
FailureOr<AttentionConfig> configureFlashAttention(FlashAttentionVarlenOp op);

/// Dynamic shared memory of the mma kernel: the Q tile and `stages` K and V
/// tiles, rows padded by 8 elements.
int64_t flashMmaSharedBytes(const AttentionConfig &config, int64_t headDim);

/// Per-thread registers the mma kernel keeps live across its inner loop
/// (O accumulators, Q fragments if kept, S accumulators, P fragments), in
/// 32-bit registers: what the configuration check bounds.
int64_t flashMmaLiveRegisters(const AttentionConfig &config, int64_t headDim);

/// Whether the mma kernel keeps Q's fragments in registers across the key
/// loop (they fit the budget beside O, S and P) or re-reads them from the
/// shared Q tile at every k step.
bool flashMmaKeepsQInRegisters(const AttentionConfig &config, int64_t headDim);

/// Replaces `op` (memref form) by the FlashAttention-2 kernel on mma.sync.
LogicalResult lowerFlashAttention(FlashAttentionOp op);

/// The wgmma rung's configuration (FlashWgmma.cpp): `warps` is 4 x the
/// consumer warpgroups, each owning 64 query rows; same error conventions.
FailureOr<AttentionConfig> configureFlashWgmma(FlashAttentionOp op);

/// Dynamic shared memory of the wgmma kernel: the Q tile and `stages` K and
/// V tiles, 128-byte swizzled, plus the slack that aligns them to 1024 bytes.
int64_t flashWgmmaSharedBytes(const AttentionConfig &config, int64_t headDim, bool tma = false);

/// Per-thread 32-bit registers the wgmma kernel keeps live across its key
/// loop: O and S accumulators and two generations of P fragments (the P·V
/// of one tile still reads its P while the next tile's P is formed).
int64_t flashWgmmaLiveRegisters(const AttentionConfig &config, int64_t headDim);

/// The register budget of those live tiles for a block of `threads`.
int64_t flashWgmmaRegisterBudget(int64_t threads);

/// Replaces `op` (memref form) by the FlashAttention-3-style kernel on
/// wgmma.
LogicalResult lowerFlashAttentionWgmma(FlashAttentionOp op);

/// Replaces `op` (memref form) by the same kernel over a packed batch: one
/// block per (query tile, sequence x query head), each reading its
/// sequence's offsets from cu_seqlens.
LogicalResult lowerFlashAttentionVarlen(FlashAttentionVarlenOp op);

} // namespace mlir::tessel

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_ATTENTION_ATTENTION_H
