//===- Config.cpp - flash_attention's GPU configuration and limits --------===//
//
// The one place that knows the attention kernels' default tiles and what
// the hardware and the emitter can take. Every field is bounded by the
// attribute's verifier before any product of fields is formed.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
// sm_90's opt-in maximum of dynamic shared memory per block.
constexpr int64_t kMaxDynamicSharedBytes = 227 * 1024;
// Of the 255 registers a thread may hold, what the inner loop's live tiles
// may take with Q's fragments kept in registers; the rest goes to addresses,
// softmax state and the pipeline. Over it, Q is re-read from shared memory.
constexpr int64_t kLiveRegisterBudget = 160;
// With Q re-read from shared memory every k step, only O, S and P stay
// live, and a transient Q fragment per m tile: the bound of that layout.
// It admits FlashAttention-2's own 128 x 64 tile at D = 128 (224): ptxas
// fits it in 255 registers with 0 spills since P is rounded a register pair
// at a time and O's rescale sits in a branch of its own (it spilled
// 100-180 bytes before).
constexpr int64_t kReloadRegisterBudget = 224;
constexpr int64_t kPad = 8;

/// The defaults by head dimension. Up to D = 128, FlashAttention-2's own
/// tile: 128 x 64, 4 warps of 32 query rows, so every K/V fragment read from
/// shared memory feeds two m16 tiles (with 16 rows a warp, ldmatrix bandwidth
/// bound the kernel at 0.74-0.89x of FlashAttention-2 on the H200; this tile
/// reaches 1.00-1.07x at D = 128, 0.96-1.09x at D = 64), Q re-read from shared
/// memory to make room, and 2 stages so that two blocks share an SM. Larger
/// heads take 32-key steps of 16 rows a warp.
/// The packed (varlen) kernel keeps its sequence's loaded offsets in
/// registers as well: at D = 128 the 32-row layout spills there (8-20 bytes),
/// so it keeps 8 warps of 16 rows with Q in registers (0 spills).
AttentionConfig defaults(int64_t headDim, bool packed) {
  if (packed && headDim > 64 && headDim <= 128)
    return {128, 64, 8, 3};
  if (headDim <= 128)
    return {128, 64, 4, 2};
  return {128, 32, 8, 2};
}
} // namespace

int64_t mlir::tessel::flashMmaSharedBytes(const AttentionConfig &c, int64_t headDim) {
  return (c.blockM + 2 * c.stages * c.blockN) * (headDim + kPad) * 2;
}

/// Per m16 tile: O (headDim / 8 accumulators of 4 f32), S (blockN / 8
/// accumulators), P (blockN / 16 A fragments), and Q (headDim / 16 A
/// fragments of 4 registers) when kept.
static int64_t liveRegisters(const AttentionConfig &c, int64_t headDim, bool withQ) {
  int64_t mTiles = c.blockM / c.warps / 16;
  return mTiles * (headDim / 2 + (withQ ? headDim / 4 : 0) + c.blockN / 2 + c.blockN / 4);
}

bool mlir::tessel::flashMmaKeepsQInRegisters(const AttentionConfig &c, int64_t headDim) {
  return liveRegisters(c, headDim, /*withQ=*/true) <= kLiveRegisterBudget;
}

int64_t mlir::tessel::flashMmaLiveRegisters(const AttentionConfig &c, int64_t headDim) {
  return liveRegisters(c, headDim, flashMmaKeepsQInRegisters(c, headDim));
}

namespace {
/// The checks both rungs make of the operands: f16/bf16 in and out, equal
/// head dimensions (the last dimension of Q, V and O). `fail` prefixes the
/// rung.
LogicalResult checkOperands(Value qValue, Value vValue, Value outValue,
                            function_ref<InFlightDiagnostic()> fail) {
  auto qType = cast<MemRefType>(qValue.getType()), vType = cast<MemRefType>(vValue.getType());
  auto outType = cast<MemRefType>(outValue.getType());
  Type elt = qType.getElementType(), outElt = outType.getElementType();
  int64_t d = qType.getDimSize(qType.getRank() - 1), dv = vType.getDimSize(vType.getRank() - 1);
  if (!elt.isF16() && !elt.isBF16())
    return fail() << "needs f16 or bf16 inputs, got " << elt;
  if (!outElt.isF16() && !outElt.isBF16())
    return fail() << "writes O in f16 or bf16, got " << outElt;
  if (dv != d)
    return fail() << "needs the value head dimension (" << dv
                  << ") equal to the query/key head dimension (" << d << ")";
  return success();
}

/// The config attribute over `cfg`.
AttentionConfig withAttribute(AttentionConfigAttr attr, AttentionConfig cfg) {
  if (attr) {
    for (auto [value, given] : {std::pair<int64_t *, int64_t>{&cfg.blockM, attr.getBlockM()},
                                {&cfg.blockN, attr.getBlockN()},
                                {&cfg.warps, attr.getWarps()},
                                {&cfg.stages, attr.getStages()}})
      if (given)
        *value = given;
  }
  return cfg;
}
} // namespace

/// What both attention ops share: the element types, head dimensions (the
/// last dimension of Q, V and O) and the config attribute.
static FailureOr<AttentionConfig> configure(Operation *op, Value qValue, Value vValue,
                                            Value outValue, AttentionConfigAttr attr,
                                            bool packed) {
  auto fail = [&]() {
    return op->emitOpError() << "convert-tessel-to-gpu: strategy 'mma': ";
  };
  if (failed(checkOperands(qValue, vValue, outValue, fail)))
    return failure();
  auto qType = cast<MemRefType>(qValue.getType());
  int64_t d = qType.getDimSize(qType.getRank() - 1);
  if (d % 16)
    return fail() << "head dimension " << d
                  << " must be a multiple of 16 (the k of mma.sync m16n8k16)";

  AttentionConfig cfg = withAttribute(attr, defaults(d, packed));
  // The attribute bounds warps to 32: at most 1024 threads per block.
  if (cfg.blockM % (16 * cfg.warps))
    return fail() << "block_m (" << cfg.blockM << ") must be a multiple of 16 x warps ("
                  << 16 * cfg.warps << "): each warp owns whole m16 tiles of query rows";
  if (cfg.blockN % 16)
    return fail() << "block_n (" << cfg.blockN
                  << ") must be a multiple of 16 (P is the A operand of m16n8k16)";
  if (cfg.stages < 2)
    return fail() << "stages must be at least 2 (one K/V tile loading while one is read), got "
                  << cfg.stages;
  int64_t regs = flashMmaLiveRegisters(cfg, d);
  if (regs > kReloadRegisterBudget)
    return fail() << "head dimension " << d << " with " << cfg.blockM / cfg.warps
                  << " query rows per warp and block_n = " << cfg.blockN << " keeps " << regs
                  << " registers per thread live across the key loop (O, S and P, Q re-read "
                     "from shared memory); the limit is "
                  << kReloadRegisterBudget;
  int64_t bytes = flashMmaSharedBytes(cfg, d);
  if (bytes > kMaxDynamicSharedBytes)
    return fail() << "needs " << bytes << " bytes of shared memory (Q tile and " << cfg.stages
                  << " K and V tiles); the limit is " << kMaxDynamicSharedBytes;
  return cfg;
}

FailureOr<AttentionConfig> mlir::tessel::configureFlashAttention(FlashAttentionOp op) {
  return configure(op, op.getQ(), op.getV(), op.getOut(), op.getConfigAttr(), /*packed=*/false);
}

FailureOr<AttentionConfig> mlir::tessel::configureFlashAttention(FlashAttentionVarlenOp op) {
  if (AttentionConfigAttr attr = op.getConfigAttr();
      attr && attr.getStrategy().starts_with("wgmma"))
    return op.emitOpError() << "convert-tessel-to-gpu: strategy '" << attr.getStrategy()
                            << "' has no packed (varlen) form yet; use strategy 'mma'";
  return configure(op, op.getQ(), op.getV(), op.getOut(), op.getConfigAttr(), /*packed=*/true);
}

bool mlir::tessel::usesWgmma(FlashAttentionOp op) {
  AttentionConfigAttr attr = op.getConfigAttr();
  return attr && (attr.getStrategy() == "wgmma" || attr.getStrategy() == "wgmma_tma");
}

bool mlir::tessel::usesTmaProducer(FlashAttentionOp op) {
  AttentionConfigAttr attr = op.getConfigAttr();
  return attr && attr.getStrategy() == "wgmma_tma";
}

namespace {
/// wgmma defaults by head dimension: two warpgroups of 64 query rows; 128
/// keys per step up to D = 128, 64 beyond (O then takes D / 2 registers a
/// thread); 2 stages, the plain schedule: on the H200 it beat the
/// overlapped one (3 stages) by 10-35% at D = 64 and 128.
AttentionConfig wgmmaDefaults(int64_t headDim) {
  return {128, headDim <= 128 ? 128 : 64, 8, 2};
}
// 1024-byte alignment of the swizzled tiles inside the dynamic window.
constexpr int64_t kSwizzleAlign = 1024;
// Registers a thread keeps besides the live tiles: addresses, descriptors,
// softmax state, loop bounds (ptxas: 0 spills for every default).
constexpr int64_t kWgmmaOverheadRegisters = 40;
} // namespace

int64_t mlir::tessel::flashWgmmaSharedBytes(const AttentionConfig &c, int64_t headDim,
                                            bool tma) {
  // wgmma_tma: the K/V ring's full and empty barriers and Q's full one.
  int64_t barriers = tma ? (2 * c.stages + 2) * 8 : 0;
  return (c.blockM + 2 * c.stages * c.blockN) * headDim * 2 + kSwizzleAlign + barriers;
}

int64_t mlir::tessel::flashWgmmaLiveRegisters(const AttentionConfig &c, int64_t headDim) {
  // O: headDim / 2 f32, S: blockN / 2 f32, P: blockN / 4 packed pairs, twice.
  return headDim / 2 + c.blockN / 2 + 2 * (c.blockN / 4);
}

int64_t mlir::tessel::flashWgmmaRegisterBudget(int64_t threads) {
  return std::min<int64_t>(255, 65536 / threads) - kWgmmaOverheadRegisters;
}

FailureOr<AttentionConfig> mlir::tessel::configureFlashWgmma(FlashAttentionOp op) {
  bool tma = usesTmaProducer(op);
  auto fail = [&]() {
    return op.emitOpError() << "convert-tessel-to-gpu: strategy '" << (tma ? "wgmma_tma" : "wgmma")
                            << "': ";
  };
  if (failed(checkOperands(op.getQ(), op.getV(), op.getOut(), fail)))
    return failure();
  int64_t d = cast<MemRefType>(op.getQ().getType()).getDimSize(3);
  // The op bounds head dimensions to 256.
  if (d % 64)
    return fail() << "head dimension " << d
                  << " must be 64, 128, 192 or 256 (whole 128-byte swizzle rows, and the n of "
                     "the P V wgmma at most 256)";
  AttentionConfig cfg = withAttribute(op.getConfigAttr(), wgmmaDefaults(d));
  if (cfg.warps % 4 || cfg.warps > 16)
    return fail() << "warps (" << cfg.warps
                  << ") must be 4, 8, 12 or 16: whole warpgroups, at most 4";
  // wgmma_tma: a producer warpgroup besides, and the consumers' registers
  // come from setmaxnreg (232 each, the producer keeps 40).
  if (tma && cfg.warps > 8)
    return fail() << "warps (" << cfg.warps
                  << ") must be 4 or 8: with the producer warpgroup, more consumers than two "
                     "cannot hold 232 registers each";
  if (cfg.blockM != 16 * cfg.warps)
    return fail() << "block_m (" << cfg.blockM << ") must be 16 x warps (" << 16 * cfg.warps
                  << "): each warpgroup owns 64 query rows";
  if (cfg.blockN % 16 || cfg.blockN > 256)
    return fail() << "block_n (" << cfg.blockN
                  << ") must be a multiple of 16 up to 256 (the n of the S wgmma; P is read "
                     "16 keys at a time)";
  if (cfg.stages < 2)
    return fail() << "stages must be at least 2 (one K/V tile loading while one is read), got "
                  << cfg.stages;
  int64_t threads = 32 * cfg.warps + (tma ? 128 : 0);
  int64_t regs = flashWgmmaLiveRegisters(cfg, d);
  int64_t budget = tma ? 232 - kWgmmaOverheadRegisters : flashWgmmaRegisterBudget(threads);
  if (regs > budget)
    return fail() << "head dimension " << d << " with block_n = " << cfg.blockN << " keeps "
                  << regs << " registers per thread live across the key loop (O, S and two "
                  << "P generations); the limit for " << threads << " threads is " << budget;
  int64_t bytes = flashWgmmaSharedBytes(cfg, d, tma);
  if (bytes > kMaxDynamicSharedBytes)
    return fail() << "needs " << bytes << " bytes of shared memory (Q tile and " << cfg.stages
                  << " K and V tiles); the limit is " << kMaxDynamicSharedBytes;
  return cfg;
}
