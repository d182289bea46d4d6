//===- Config.cpp - a gemm's GPU configuration, defaults and limits -------===//
//
// The one place that knows each rung's default tiles and what the hardware
// and the emitters can take. Every value is bounded before any product of
// values is formed, so no check can overflow.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {

constexpr int64_t kMaxThreadsPerBlock = 1024;
constexpr int64_t kRegistersPerBlock = 64 * 1024;
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;

/// What was asked for: the op's attribute over the pass options (0 / "":
/// not given).
struct Requested {
  StringRef strategy;
  int64_t blockM, blockN, blockK, warpsM, warpsN, warpgroups, stages, groupM, threadM, threadN,
      splitK, persistent, cluster;
};

Requested merge(GemmConfigAttr op, GemmConfigAttr defaults) {
  auto pick = [](int64_t given, int64_t fallback) { return given ? given : fallback; };
  Requested r;
  r.strategy = !op || op.getStrategy().empty() ? defaults.getStrategy() : op.getStrategy();
  if (!op)
    op = defaults;
  r.blockM = pick(op.getBlockM(), defaults.getBlockM());
  r.blockN = pick(op.getBlockN(), defaults.getBlockN());
  r.blockK = pick(op.getBlockK(), defaults.getBlockK());
  r.warpsM = pick(op.getWarpsM(), defaults.getWarpsM());
  r.warpsN = pick(op.getWarpsN(), defaults.getWarpsN());
  r.warpgroups = pick(op.getWarpgroups(), defaults.getWarpgroups());
  r.stages = pick(op.getStages(), defaults.getStages());
  r.groupM = pick(op.getGroupM(), defaults.getGroupM());
  r.threadM = pick(op.getThreadM(), defaults.getThreadM());
  r.threadN = pick(op.getThreadN(), defaults.getThreadN());
  r.splitK = pick(op.getSplitK(), defaults.getSplitK());
  r.persistent = pick(op.getPersistent(), defaults.getPersistent());
  r.cluster = pick(op.getCluster(), defaults.getCluster());
  return r;
}

FailureOr<GemmConfig> checkRegTile(Operation *anchor, const Requested &r, GemmConfig cfg) {
  auto fail = [&]() {
    return anchor->emitError() << "convert-tessel-to-gpu: strategy '" << r.strategy << "': ";
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

FailureOr<GemmConfig> checkMma(Operation *anchor, const Requested &r, GemmConfig cfg) {
  auto fail = [&]() { return anchor->emitError() << "convert-tessel-to-gpu: strategy 'mma': "; };
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

FailureOr<GemmConfig> checkWgmma(Operation *anchor, const Requested &r, GemmConfig cfg) {
  bool tma = cfg.strategy == GemmStrategy::WgmmaTma;
  StringRef name = tma ? "wgmma_tma" : "wgmma";
  auto fail = [&]() {
    return anchor->emitError() << "convert-tessel-to-gpu: strategy '" << name << "': ";
  };
  for (auto [given, name] : {std::pair<int64_t, StringRef>{r.warpsM, "warps-m"},
                             {r.warpsN, "warps-n"}, {r.threadM, "thread-m"},
                             {r.threadN, "thread-n"}})
    if (given)
      return fail() << name << " does not apply; the block is split into warpgroups along M";
  // wgmma_tma adds the producer warpgroup.
  int64_t threads = 128 * (cfg.warpgroups + (tma ? 1 : 0));
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
  // wgmma_tma's consumers get their registers from the producer
  // (setmaxnreg), up to 232 each.
  int64_t budget = tma ? 232 - 32 : kRegistersPerBlock / threads - 32;
  if (accumulators > budget)
    return fail() << "a " << cfg.blockM / cfg.warpgroups << " x " << cfg.blockN
                  << " warpgroup tile needs " << accumulators
                  << " f32 accumulator registers per thread; with " << threads
                  << " threads per block the limit is " << budget;
  if (tma && cfg.warpgroups > 2)
    return fail() << cfg.warpgroups << " consumer warpgroups need " << 232 * 128 * cfg.warpgroups
                  << " registers at 232 each; the register file holds " << kRegistersPerBlock
                  << " (at most 2 consumers)";
  if (tma && cfg.stages < 2)
    return fail() << "stages must be at least 2 (one stage loading while one is multiplied), "
                     "got "
                  << cfg.stages;
  if (!tma && cfg.stages < 3)
    return fail() << "stages must be at least 3 (one stage loading, one multiplied, one "
                     "still read by the previous wgmma group), got "
                  << cfg.stages;
  return cfg;
}

/// Each of the split_k parts must own at least one K tile: a part with none
/// would only add a workspace slice of zeros to the reduction.
LogicalResult checkSplitK(GemmOp op, const GemmConfig &cfg) {
  auto d = cast<MemRefType>(op.getInit().getType());
  int64_t r = d.getRank();
  int64_t k = cast<MemRefType>(op.getA().getType()).getDimSize(op.getTransposeA() ? r - 2 : r - 1);
  int64_t kTiles = llvm::divideCeil(k, cfg.blockK);
  if (cfg.splitK > kTiles)
    return op.emitError() << "convert-tessel-to-gpu: split-k (" << cfg.splitK
                          << ") exceeds the K tiles: K = " << k << " in tiles of block-k = "
                          << cfg.blockK << " is " << kTiles << " tile" << (kTiles == 1 ? "" : "s");
  return success();
}

} // namespace

FailureOr<GemmConfig> mlir::tessel::configureGemm(GemmOp op, GemmConfigAttr defaults) {
  Operation *anchor = op;
  Requested r = merge(op.getConfigAttr(), defaults);
  // The attribute's verifier bounds every field; pass options are checked
  // against the same bounds here.
  if (failed(GemmConfigAttr::verify(
          [&] { return anchor->emitError() << "convert-tessel-to-gpu: "; }, r.strategy, r.blockM,
          r.blockN, r.blockK, r.warpsM, r.warpsN, r.warpgroups, r.stages, r.groupM, r.threadM,
          r.threadN, r.splitK, r.persistent, r.cluster)))
    return failure();
  GemmConfig cfg;
  StringRef strategy = r.strategy.empty() ? "smem" : r.strategy;
  r.strategy = strategy;
  if (strategy == "naive") {
    cfg = {GemmStrategy::Naive, 16, 16, 1};
  } else if (strategy == "smem") {
    cfg = {GemmStrategy::Smem, 32, 32, 32};
  } else if (strategy == "mma") {
    cfg = {GemmStrategy::Mma, 128, 128, 32, 2, 2, 3, 8};
  } else if (strategy == "wgmma" || strategy == "wgmma_tma") {
    cfg = {strategy == "wgmma" ? GemmStrategy::Wgmma : GemmStrategy::WgmmaTma, 128, 256, 64,
           0, 0, 4, 8};
    cfg.warpgroups = 2;
  } else {
    cfg = {strategy == "regtile" ? GemmStrategy::RegTile : GemmStrategy::Pipelined, 128, 128, 8};
    cfg.threadM = cfg.threadN = 8;
  }
  for (auto [value, given] :
       {std::pair<int64_t *, int64_t>{&cfg.blockM, r.blockM}, {&cfg.blockN, r.blockN},
        {&cfg.blockK, r.blockK}, {&cfg.warpsM, r.warpsM}, {&cfg.warpsN, r.warpsN},
        {&cfg.stages, r.stages}, {&cfg.groupM, r.groupM}, {&cfg.threadM, r.threadM},
        {&cfg.threadN, r.threadN}, {&cfg.warpgroups, r.warpgroups}})
    if (given)
      *value = given;
  // split_k = 1 is the unsplit kernel on every rung.
  if (r.splitK > 1) {
    if (cfg.strategy != GemmStrategy::Mma && cfg.strategy != GemmStrategy::Wgmma &&
        cfg.strategy != GemmStrategy::WgmmaTma)
      return anchor->emitError() << "convert-tessel-to-gpu: split-k applies to strategies "
                                    "'mma', 'wgmma' and 'wgmma_tma' only, not '"
                                 << strategy << "'";
    cfg.splitK = r.splitK;
    if (failed(checkSplitK(op, cfg)))
      return failure();
  }
  if (r.persistent) {
    if (cfg.strategy != GemmStrategy::WgmmaTma)
      return anchor->emitError() << "convert-tessel-to-gpu: persistent applies to strategy "
                                    "'wgmma_tma' only, not '"
                                 << strategy << "'";
    // A persistent block's tiles share one ring count: a K part per block
    // would need the reduction inside the tile loop.
    if (cfg.splitK > 1)
      return anchor->emitError() << "convert-tessel-to-gpu: persistent (" << r.persistent
                                 << ") and split-k (" << cfg.splitK
                                 << ") do not combine; use one of them";
    cfg.persistent = r.persistent;
  }
  // cluster = 1 is the kernel without a cluster.
  if (r.cluster > 1) {
    if (cfg.strategy != GemmStrategy::WgmmaTma)
      return anchor->emitError() << "convert-tessel-to-gpu: cluster applies to strategy "
                                    "'wgmma_tma' only, not '"
                                 << strategy << "'";
    // The blocks of a cluster walk the same K tiles in step; K parts would
    // give them different ones.
    if (cfg.splitK > 1)
      return anchor->emitError() << "convert-tessel-to-gpu: cluster (" << r.cluster
                                 << ") and split-k (" << cfg.splitK
                                 << ") do not combine; use one of them";
    if (cfg.persistent && cfg.persistent < r.cluster)
      return anchor->emitError() << "convert-tessel-to-gpu: persistent (" << cfg.persistent
                                 << ") must be at least cluster (" << r.cluster
                                 << "): the walk is over whole clusters";
    // Each block multicasts rows [rank, rank + 1) * rows / cluster of every
    // B tile: whole 8-row swizzle atoms, so the pieces tile the block's
    // layout.
    int64_t rowsB = op.getTransposeB() ? cfg.blockN : cfg.blockK;
    if (rowsB % (8 * r.cluster))
      return anchor->emitError() << "convert-tessel-to-gpu: cluster (" << r.cluster
                                 << ") must split B's tile rows (" << rowsB << ", block-"
                                 << (op.getTransposeB() ? "n" : "k")
                                 << ") into pieces of a multiple of 8 rows";
    cfg.cluster = r.cluster;
  }
  if (cfg.strategy == GemmStrategy::Wgmma || cfg.strategy == GemmStrategy::WgmmaTma)
    return checkWgmma(anchor, r, cfg);
  if (r.warpgroups)
    return anchor->emitError() << "convert-tessel-to-gpu: warpgroups applies to strategies "
                                  "'wgmma' and 'wgmma_tma' only, not '"
                               << strategy << "'";
  if (cfg.strategy == GemmStrategy::Mma)
    return checkMma(anchor, r, cfg);
  if (cfg.strategy == GemmStrategy::RegTile || cfg.strategy == GemmStrategy::Pipelined)
    return checkRegTile(anchor, r, cfg);
  int64_t threads = cfg.blockM * cfg.blockN;
  if (threads > kMaxThreadsPerBlock)
    return anchor->emitError()
           << "convert-tessel-to-gpu: block-m x block-n = " << cfg.blockM << " x " << cfg.blockN
           << " = " << threads << " threads per block exceeds the limit of "
           << kMaxThreadsPerBlock;
  if (threads % 32)
    return anchor->emitError() << "convert-tessel-to-gpu: block-m x block-n = " << threads
                               << " threads is not a whole number of 32-thread warps";
  if (cfg.strategy == GemmStrategy::Smem) {
    int64_t bytes = 4 * (cfg.blockM * cfg.blockK + cfg.blockK * cfg.blockN);
    if (bytes > kMaxStaticSharedBytes)
      return anchor->emitError() << "convert-tessel-to-gpu: shared-memory tiles need " << bytes
                                 << " bytes; the static shared-memory limit is "
                                 << kMaxStaticSharedBytes;
  }
  return cfg;
}
