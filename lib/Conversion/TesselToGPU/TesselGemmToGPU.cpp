//===- TesselGemmToGPU.cpp - the tessel-gemm-to-gpu pass ------------------===//

#include "GemmSimt.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "tessel/Passes.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELGEMMTOGPU
#include "tessel/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

constexpr int64_t kMaxThreadsPerBlock = 1024;
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;

struct TesselGemmToGPU : tessel::impl::TesselGemmToGPUBase<TesselGemmToGPU> {
  using TesselGemmToGPUBase::TesselGemmToGPUBase;

  /// The configuration, or an error naming the option and the limit.
  FailureOr<GemmConfig> configure(Operation *anchor) {
    GemmConfig cfg;
    if (strategy == "naive") {
      cfg = {GemmStrategy::Naive, 16, 16, 1};
    } else if (strategy == "smem") {
      cfg = {GemmStrategy::Smem, 32, 32, 32};
    } else if (strategy == "regtile" || strategy == "pipelined" || strategy == "mma") {
      return anchor->emitError() << "tessel-gemm-to-gpu: strategy '" << strategy
                                 << "' is not implemented yet; use naive or smem";
    } else {
      return anchor->emitError() << "tessel-gemm-to-gpu: unknown strategy '" << strategy
                                 << "'; expected naive, smem, regtile, pipelined or mma";
    }
    for (auto [value, given, name] :
         {std::tuple<int64_t *, int64_t, StringRef>{&cfg.blockM, blockM, "block-m"},
          {&cfg.blockN, blockN, "block-n"}, {&cfg.blockK, blockK, "block-k"}}) {
      if (given < 0)
        return anchor->emitError() << "tessel-gemm-to-gpu: " << name
                                   << " must be positive, got " << given;
      if (given)
        *value = given;
    }
    int64_t threads = cfg.blockM * cfg.blockN;
    if (threads > kMaxThreadsPerBlock)
      return anchor->emitError()
             << "tessel-gemm-to-gpu: block-m x block-n = " << cfg.blockM << " x "
             << cfg.blockN << " = " << threads << " threads per block exceeds the limit of "
             << kMaxThreadsPerBlock;
    if (threads % 32)
      return anchor->emitError()
             << "tessel-gemm-to-gpu: block-m x block-n = " << threads
             << " threads is not a whole number of 32-thread warps";
    if (cfg.strategy == GemmStrategy::Smem) {
      int64_t bytes = 4 * (cfg.blockM * cfg.blockK + cfg.blockK * cfg.blockN);
      if (bytes > kMaxStaticSharedBytes)
        return anchor->emitError()
               << "tessel-gemm-to-gpu: shared-memory tiles need " << bytes
               << " bytes; the static shared-memory limit is " << kMaxStaticSharedBytes;
    }
    return cfg;
  }

  void runOnOperation() override {
    SmallVector<GemmOp> gemms;
    getOperation()->walk([&](GemmOp op) { gemms.push_back(op); });
    if (gemms.empty())
      return;
    FailureOr<GemmConfig> cfg = configure(gemms.front());
    if (failed(cfg))
      return signalPassFailure();
    for (GemmOp op : gemms) {
      if (!op.hasPureBufferSemantics()) {
        op.emitOpError() << "is in the tensor form; tessel-gemm-to-gpu expects the "
                            "memref form (run one-shot-bufferize first)";
        return signalPassFailure();
      }
      for (Value v : op->getOperands())
        if (!cast<MemRefType>(v.getType()).hasStaticShape()) {
          op.emitOpError() << "tessel-gemm-to-gpu needs static shapes, got " << v.getType();
          return signalPassFailure();
        }
      OpBuilder b(op);
      emitSimtGemm(b, op, *cfg);
      op.erase();
    }
  }
};

} // namespace
