//===- TesselGemmToGPU.cpp - the tessel-gemm-to-gpu pass ------------------===//

#include "GemmSimt.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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
constexpr int64_t kRegistersPerBlock = 64 * 1024;
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;
// sm_90's opt-in maximum of dynamic shared memory per block.
constexpr int64_t kMaxDynamicSharedBytes = 227 * 1024;

struct TesselGemmToGPU : tessel::impl::TesselGemmToGPUBase<TesselGemmToGPU> {
  using TesselGemmToGPUBase::TesselGemmToGPUBase;

  /// The configuration, or an error naming the option and the limit.
  FailureOr<GemmConfig> configure(Operation *anchor) {
    GemmConfig cfg;
    if (strategy == "naive") {
      cfg = {GemmStrategy::Naive, 16, 16, 1};
    } else if (strategy == "smem") {
      cfg = {GemmStrategy::Smem, 32, 32, 32};
    } else if (strategy == "mma") {
      cfg = {GemmStrategy::Mma, 128, 128, 32, 2, 2, 3, 8};
    } else if (strategy == "wgmma") {
      cfg = {GemmStrategy::Wgmma, 128, 256, 64, 0, 0, 4, 8};
      cfg.warpgroups = 2;
    } else if (strategy == "regtile" || strategy == "pipelined") {
      cfg = {strategy == "regtile" ? GemmStrategy::RegTile : GemmStrategy::Pipelined,
             128, 128, 8};
      cfg.threadM = cfg.threadN = 8;
    } else {
      return anchor->emitError() << "tessel-gemm-to-gpu: unknown strategy '" << strategy
                                 << "'; expected naive, smem, regtile, pipelined, mma or wgmma";
    }
    for (auto [value, given, name] :
         {std::tuple<int64_t *, int64_t, StringRef>{&cfg.blockM, blockM, "block-m"},
          {&cfg.blockN, blockN, "block-n"}, {&cfg.blockK, blockK, "block-k"},
          {&cfg.warpsM, warpsM, "warps-m"}, {&cfg.warpsN, warpsN, "warps-n"},
          {&cfg.stages, stages, "stages"}, {&cfg.groupM, groupM, "group-m"},
          {&cfg.threadM, threadM, "thread-m"},
          {&cfg.threadN, threadN, "thread-n"}, {&cfg.warpgroups, warpgroups, "warpgroups"}}) {
      if (given < 0)
        return anchor->emitError() << "tessel-gemm-to-gpu: " << name
                                   << " must be positive, got " << given;
      if (given)
        *value = given;
    }
    if (cfg.strategy == GemmStrategy::Wgmma)
      return checkWgmma(anchor, cfg);
    if (warpgroups)
      return anchor->emitError() << "tessel-gemm-to-gpu: warpgroups applies to strategy "
                                    "'wgmma' only, not '"
                                 << strategy << "'";
    if (cfg.strategy == GemmStrategy::Mma)
      return checkMma(anchor, cfg);
    if (cfg.strategy == GemmStrategy::RegTile || cfg.strategy == GemmStrategy::Pipelined)
      return checkRegTile(anchor, cfg);
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

  FailureOr<GemmConfig> checkRegTile(Operation *anchor, GemmConfig cfg) {
    auto fail = [&]() {
      return anchor->emitError() << "tessel-gemm-to-gpu: strategy '" << strategy << "': ";
    };
    if (cfg.threadM % 4 || cfg.threadN % 4 || cfg.blockM % cfg.threadM || cfg.blockN % cfg.threadN)
      return fail() << "thread-m (" << cfg.threadM << ") and thread-n (" << cfg.threadN
                    << ") must be multiples of 4 (128-bit shared loads) dividing block-m ("
                    << cfg.blockM << ") and block-n (" << cfg.blockN << ")";
    int64_t threads = (cfg.blockM / cfg.threadM) * (cfg.blockN / cfg.threadN);
    if (threads > kMaxThreadsPerBlock || threads % 32)
      return fail() << "(block-m / thread-m) x (block-n / thread-n) = " << threads
                    << " threads per block; it must be a multiple of 32 up to "
                    << kMaxThreadsPerBlock;
    if (cfg.threadM * cfg.threadN > 128)
      return fail() << "a " << cfg.threadM << " x " << cfg.threadN << " thread tile needs "
                    << cfg.threadM * cfg.threadN
                    << " accumulator registers per thread; the limit is 128";
    for (int64_t elems : {cfg.blockM * cfg.blockK, cfg.blockK * cfg.blockN})
      if (elems % threads)
        return fail() << "a tile of " << elems << " elements does not divide among "
                      << threads << " threads";
    int64_t buffers = cfg.strategy == GemmStrategy::Pipelined ? 2 : 1;
    int64_t bytes = 4 * buffers * cfg.blockK * (cfg.blockM + cfg.blockN);
    if (bytes > kMaxStaticSharedBytes)
      return fail() << "shared-memory tiles need " << bytes
                    << " bytes; the static shared-memory limit is " << kMaxStaticSharedBytes;
    return cfg;
  }

  FailureOr<GemmConfig> checkMma(Operation *anchor, GemmConfig cfg) {
    auto fail = [&]() { return anchor->emitError() << "tessel-gemm-to-gpu: strategy 'mma': "; };
    int64_t threads = 32 * cfg.warpsM * cfg.warpsN;
    if (threads > kMaxThreadsPerBlock)
      return fail() << "warps-m x warps-n = " << cfg.warpsM * cfg.warpsN << " warps is "
                    << threads << " threads per block; the limit is " << kMaxThreadsPerBlock;
    if (cfg.blockM % (16 * cfg.warpsM) || cfg.blockN % (16 * cfg.warpsN) || cfg.blockK % 16)
      return fail() << "block-m (" << cfg.blockM << ") must be a multiple of 16 x warps-m ("
                    << 16 * cfg.warpsM << "), block-n (" << cfg.blockN
                    << ") of 16 x warps-n (" << 16 * cfg.warpsN << ") and block-k ("
                    << cfg.blockK << ") of 16";
    int64_t accumulators = (cfg.blockM / cfg.warpsM / 16) * (cfg.blockN / cfg.warpsN / 8) * 4;
    if (accumulators > 128)
      return fail() << "a " << cfg.blockM / cfg.warpsM << " x " << cfg.blockN / cfg.warpsN
                    << " warp tile needs " << accumulators
                    << " f32 accumulator registers per thread; the limit is 128";
    if (cfg.stages < 2)
      return fail() << "stages must be at least 2, got " << cfg.stages;
    return cfg;
  }

  FailureOr<GemmConfig> checkWgmma(Operation *anchor, GemmConfig cfg) {
    auto fail = [&]() { return anchor->emitError() << "tessel-gemm-to-gpu: strategy 'wgmma': "; };
    for (auto [given, name] : {std::pair<int64_t, StringRef>{warpsM, "warps-m"},
                               {warpsN, "warps-n"}, {threadM, "thread-m"},
                               {threadN, "thread-n"}})
      if (given)
        return fail() << name << " does not apply; the block is split into warpgroups along M";
    int64_t threads = 128 * cfg.warpgroups;
    if (threads > kMaxThreadsPerBlock)
      return fail() << cfg.warpgroups << " warpgroups is " << threads
                    << " threads per block; the limit is " << kMaxThreadsPerBlock;
    if (cfg.blockM % (64 * cfg.warpgroups))
      return fail() << "block-m (" << cfg.blockM << ") must be a multiple of 64 x warpgroups ("
                    << 64 * cfg.warpgroups << "): each warpgroup multiplies whole 64-row tiles";
    if (cfg.blockN % 64 || cfg.blockN > 256)
      return fail() << "block-n (" << cfg.blockN
                    << ") must be a multiple of 64 up to 256 (one wgmma spans the block's "
                       "columns in 128-byte swizzle atoms)";
    if (cfg.blockK % 64)
      return fail() << "block-k (" << cfg.blockK
                    << ") must be a multiple of 64 (one 128-byte swizzle row)";
    int64_t accumulators = cfg.blockM / cfg.warpgroups / 64 * cfg.blockN / 2;
    if (accumulators > 128)
      return fail() << "a " << cfg.blockM / cfg.warpgroups << " x " << cfg.blockN
                    << " warpgroup tile needs " << accumulators
                    << " f32 accumulator registers per thread; the limit is 128";
    // wgmma accumulators cannot spill: with the 64K-register file shared by
    // the block's threads, keep 32 registers per thread for everything else.
    int64_t budget = kRegistersPerBlock / threads - 32;
    if (accumulators > budget)
      return fail() << "a " << cfg.blockM / cfg.warpgroups << " x " << cfg.blockN
                    << " warpgroup tile needs " << accumulators
                    << " f32 accumulator registers per thread; with " << threads
                    << " threads per block the limit is " << budget;
    if (cfg.stages < 3)
      return fail() << "stages must be at least 3 (one stage loading, one multiplied, one "
                       "still read by the previous wgmma group), got "
                    << cfg.stages;
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
      if (cfg->strategy == GemmStrategy::Mma || cfg->strategy == GemmStrategy::Wgmma) {
        bool wgmma = cfg->strategy == GemmStrategy::Wgmma;
        Type elt = cast<MemRefType>(op.getA().getType()).getElementType();
        if (!elt.isF16() && !elt.isBF16()) {
          op.emitOpError() << "strategy '" << strategy << "' needs f16 or bf16 inputs, got "
                           << elt;
          return signalPassFailure();
        }
        int64_t bytes = wgmma ? wgmmaSharedBytes(op, *cfg) : mmaSharedBytes(op, *cfg);
        if (bytes > kMaxDynamicSharedBytes) {
          op.emitOpError() << "strategy '" << strategy << "' needs " << bytes
                           << " bytes of shared memory; the limit is " << kMaxDynamicSharedBytes;
          return signalPassFailure();
        }
        if (wgmma)
          emitWgmmaGemm(b, op, *cfg);
        else
          emitMmaGemm(b, op, *cfg);
      } else if (cfg->strategy == GemmStrategy::RegTile ||
                 cfg->strategy == GemmStrategy::Pipelined) {
        emitRegTileGemm(b, op, *cfg);
      } else {
        emitSimtGemm(b, op, *cfg);
      }
      op.erase();
    }
  }
};

} // namespace
