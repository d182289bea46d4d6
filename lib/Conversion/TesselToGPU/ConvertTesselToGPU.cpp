//===- ConvertTesselToGPU.cpp - the convert-tessel-to-gpu pass ------------===//
//
// One pass, one lowering per op family: this file only checks what every
// lowering needs (memref form, which dimensions may be run-time sizes) and
// dispatches. The kernels live in Gemm/ (and, as they land, Attention/,
// Paged/, Cache/).
//
//===----------------------------------------------------------------------===//

#include "Attention/Attention.h"
#include "Gemm/Gemm.h"
#include "Paged/Paged.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "tessel/Passes.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_CONVERTTESSELTOGPU
#include "tessel/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

// sm_90's opt-in maximum of dynamic shared memory per block.
constexpr int64_t kMaxDynamicSharedBytes = 227 * 1024;

/// gemm: only leading dimensions may be run-time sizes: the kernels view
/// such an operand as a static shape over the same memory, which needs
/// static strides. The statically known rest must leave room for 2^31 rows.
LogicalResult checkLeadingRunTimeSizes(Operation *op) {
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    auto type = cast<MemRefType>(v.getType());
    for (int64_t d = 1; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        return op->emitOpError()
               << "operand " << i << " (" << type << ") has a run-time size in dimension " << d
               << "; convert-tessel-to-gpu takes run-time sizes only in the leading dimension";
    if (type.getRank() == 0 || !type.isDynamicDim(0))
      continue;
    int64_t inner = 1;
    bool overflow = false;
    for (int64_t d = 1; d < type.getRank(); ++d)
      overflow |= llvm::MulOverflow(inner, type.getDimSize(d), inner);
    if (overflow || inner > (int64_t(1) << 31))
      return op->emitOpError() << "operand " << i << " (" << type
                               << ") has more than 2^31 elements per leading index, the limit "
                                  "with a run-time leading size";
  }
  return success();
}

/// CUDA's grid limits: x < 2^31, y and z <= 65535. gemm's grid is
/// (N / block-n, M / block-m, batch); a static size beyond them is refused
/// here (a run-time one by the runtime, before launching).
LogicalResult checkGemmGrid(GemmOp op, const GemmConfig &cfg) {
  if (cfg.persistent) // at most `persistent` blocks along x
    return success();
  auto d = cast<MemRefType>(op.getInit().getType());
  int64_t r = d.getRank();
  auto blocks = [](int64_t size, int64_t tile) {
    return ShapedType::isDynamic(size) ? int64_t(0) : llvm::divideCeil(size, tile);
  };
  // Clusters round the tile rows up to whole clusters.
  int64_t gx = blocks(d.getDimSize(r - 1), cfg.blockN),
          gy = blocks(d.getDimSize(r - 2), cfg.blockM * cfg.cluster) * cfg.cluster;
  int64_t gz = (r == 3 ? blocks(d.getDimSize(0), 1) : 1) * cfg.splitK;
  if (gx > (int64_t(1) << 31) - 1 || gy > 65535 || gz > 65535)
    return op.emitOpError() << "needs a grid of " << gx << " x " << gy << " x " << gz
                            << " thread blocks (N / block-n, M / block-m, batch"
                            << (cfg.splitK > 1 ? " x split-k" : "")
                            << "); CUDA's limits are 2^31 - 1 x 65535 x 65535";
  return success();
}

struct ConvertTesselToGPU : tessel::impl::ConvertTesselToGPUBase<ConvertTesselToGPU> {
  using ConvertTesselToGPUBase::ConvertTesselToGPUBase;

  /// The pass options as a config attribute: the defaults of every op's own.
  FailureOr<GemmConfigAttr> defaults(Operation *anchor) {
    auto attr = GemmConfigAttr::getChecked(
        [&] { return anchor->emitError() << "convert-tessel-to-gpu: "; },
        &getContext(), StringRef(strategy), int64_t(blockM), int64_t(blockN), int64_t(blockK),
        int64_t(warpsM), int64_t(warpsN), int64_t(warpgroups), int64_t(stages), int64_t(groupM),
        int64_t(threadM), int64_t(threadN), int64_t(splitK), int64_t(persistent),
        int64_t(cluster));
    if (!attr)
      return failure();
    return attr;
  }

  LogicalResult lowerGemm(GemmOp op, GemmConfigAttr defaults) {
    if (failed(checkLeadingRunTimeSizes(op)))
      return failure();
    FailureOr<GemmConfig> cfg = configureGemm(op, defaults);
    if (failed(cfg))
      return failure();
    if (cfg->strategy == GemmStrategy::Mma || cfg->strategy == GemmStrategy::Wgmma ||
        cfg->strategy == GemmStrategy::WgmmaTma) {
      StringRef name = cfg->strategy == GemmStrategy::Mma     ? "mma"
                       : cfg->strategy == GemmStrategy::Wgmma ? "wgmma"
                                                              : "wgmma_tma";
      Type elt = cast<MemRefType>(op.getA().getType()).getElementType();
      if (!elt.isF16() && !elt.isBF16())
        return op.emitOpError() << "strategy '" << name << "' needs f16 or bf16 inputs, got "
                                << elt;
      int64_t bytes = cfg->strategy == GemmStrategy::Mma     ? mmaSharedBytes(op, *cfg)
                      : cfg->strategy == GemmStrategy::Wgmma ? wgmmaSharedBytes(op, *cfg)
                                                             : wgmmaTmaSharedBytes(op, *cfg);
      if (bytes > kMaxDynamicSharedBytes)
        return op.emitOpError() << "strategy '" << name << "' needs " << bytes
                                << " bytes of shared memory; the limit is "
                                << kMaxDynamicSharedBytes;
      if (cfg->strategy == GemmStrategy::WgmmaTma)
        if (std::string why = wgmmaTmaOperandError(op); !why.empty())
          return op.emitOpError() << "strategy 'wgmma_tma': " << why;
    }
    if (failed(checkGemmGrid(op, *cfg)))
      return failure();
    OpBuilder b(op);
    GemmShape shape = prepareGemm(b, op, *cfg);
    if (cfg->splitK > 1)
      shape.workspace = allocWorkspace(b, op, *cfg, shape);
    switch (cfg->strategy) {
    case GemmStrategy::Mma:
      emitMmaGemm(b, op, *cfg, shape);
      break;
    case GemmStrategy::Wgmma:
      emitWgmmaGemm(b, op, *cfg, shape);
      break;
    case GemmStrategy::WgmmaTma:
      emitWgmmaTmaGemm(b, op, *cfg, shape);
      break;
    case GemmStrategy::RegTile:
    case GemmStrategy::Pipelined:
      emitRegTileGemm(b, op, *cfg, shape);
      break;
    default:
      emitSimtGemm(b, op, *cfg, shape);
    }
    if (shape.workspace) {
      emitSplitKReduction(b, op, *cfg, shape);
      freeWorkspace(b, op, shape);
    }
    op.erase();
    return success();
  }

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<TesselDialect>(op->getDialect()))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    // Option errors are reported on the first op they would apply to.
    FailureOr<GemmConfigAttr> gemmDefaults = defaults(ops.front());
    if (failed(gemmDefaults))
      return signalPassFailure();
    for (Operation *op : ops) {
      auto dps = cast<DestinationStyleOpInterface>(op);
      if (!dps.hasPureBufferSemantics()) {
        op->emitOpError() << "is in the tensor form; convert-tessel-to-gpu expects the "
                             "memref form (run one-shot-bufferize first)";
        return signalPassFailure();
      }
      // Scalar operands (flash_attention_varlen's length bounds) have no layout.
      if (llvm::any_of(op->getOperandTypes(), [](Type t) {
            auto m = dyn_cast<MemRefType>(t);
            return m && !m.getLayout().isIdentity();
          })) {
        op->emitOpError() << "convert-tessel-to-gpu needs identity-layout memrefs";
        return signalPassFailure();
      }
      LogicalResult lowered = failure();
      if (auto gemm = dyn_cast<GemmOp>(op))
        lowered = lowerGemm(gemm, *gemmDefaults);
      else if (auto paged = dyn_cast<PagedAttentionOp>(op))
        lowered = lowerPagedAttention(paged);
      else if (isa<PagedKVWriteOp, CopyBlocksOp>(op))
        lowered = isa<PagedKVWriteOp>(op) ? lowerPagedKVWrite(cast<PagedKVWriteOp>(op))
                                          : lowerCopyBlocks(cast<CopyBlocksOp>(op));
      else if (auto attention = dyn_cast<FlashAttentionOp>(op))
        lowered = usesWgmma(attention) ? lowerFlashAttentionWgmma(attention)
                                       : lowerFlashAttention(attention);
      else if (auto varlen = dyn_cast<FlashAttentionVarlenOp>(op))
        lowered = lowerFlashAttentionVarlen(varlen);
      else
        llvm_unreachable("every tessel op has a GPU lowering");
      if (failed(lowered))
        return signalPassFailure();
    }
  }
};

} // namespace
