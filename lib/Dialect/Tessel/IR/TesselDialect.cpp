//===- TesselDialect.cpp - tessel dialect ---------------------------------===//

#include "tessel/TesselDialect.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "tessel/TesselOps.h"

using namespace mlir;
using namespace mlir::tessel;

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include "tessel/TesselDialect.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "tessel/TesselAttrs.cpp.inc"

void TesselDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "tessel/TesselOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "tessel/TesselAttrs.cpp.inc"
      >();
  // The models live in BufferizableOpInterfaceImpl.cpp and are attached by
  // registerTesselDialects; promising them makes a registry that forgot them
  // fail loudly instead of leaving the ops silently unbufferized.
  declarePromisedInterfaces<bufferization::BufferizableOpInterface, GemmOp,
                            FlashAttentionOp, FlashAttentionVarlenOp, PagedAttentionOp,
                            PagedKVWriteOp, CopyBlocksOp>();
}

// Hard bounds, far above anything the hardware takes, so that no size the
// lowering computes from them (products of a few of them) can overflow.
static constexpr int64_t kMaxTile = 1 << 14, kMaxWarps = 32, kMaxStages = 32,
                         kMaxGroup = 1 << 16, kMaxSplitK = 1 << 10,
                         kMaxPersistent = 1 << 16, kMaxCluster = 8;

LogicalResult GemmConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     StringRef strategy, int64_t blockM, int64_t blockN,
                                     int64_t blockK, int64_t warpsM, int64_t warpsN,
                                     int64_t warpgroups, int64_t stages, int64_t groupM,
                                     int64_t threadM, int64_t threadN, int64_t splitK,
                                     int64_t persistent, int64_t cluster) {
  static constexpr StringRef kStrategies[] = {"", "naive", "smem", "regtile",
                                             "pipelined", "mma", "wgmma", "wgmma_tma"};
  if (!llvm::is_contained(kStrategies, strategy))
    return emitError() << "unknown strategy '" << strategy
                       << "'; expected naive, smem, regtile, pipelined, mma, wgmma or wgmma_tma";
  for (auto [value, name, limit] :
       {std::tuple<int64_t, StringRef, int64_t>{blockM, "block_m", kMaxTile},
        {blockN, "block_n", kMaxTile}, {blockK, "block_k", kMaxTile},
        {warpsM, "warps_m", kMaxWarps}, {warpsN, "warps_n", kMaxWarps},
        {warpgroups, "warpgroups", kMaxWarps / 4}, {stages, "stages", kMaxStages},
        {groupM, "group_m", kMaxGroup}, {threadM, "thread_m", kMaxTile},
        {threadN, "thread_n", kMaxTile}, {splitK, "split_k", kMaxSplitK},
        {persistent, "persistent", kMaxPersistent}, {cluster, "cluster", kMaxCluster}})
    if (value < 0 || value > limit)
      return emitError() << name << " = " << value
                         << " is outside [0, " << limit << "] (0: the default)";
  return success();
}

// Hard bounds of #tessel.paged_config; the lowering checks what fits the
// hardware (threads, shared memory) and names that limit.
static constexpr int64_t kMaxPagedWarps = 32, kMaxPagedStages = 8,
                         kMaxPartition = 1 << 16,
                         kMaxPagedCluster = 8; // the portable cluster size

LogicalResult PagedConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                      StringRef strategy, int64_t warps, int64_t stages,
                                      int64_t partitionSize, int64_t rowsPerWarp,
                                      int64_t cluster) {
  if (!llvm::is_contained({StringRef(""), StringRef("v1"), StringRef("v2")}, strategy))
    return emitError() << "unknown strategy '" << strategy << "'; expected v1 or v2";
  if (rowsPerWarp != 0 && rowsPerWarp != 16 && rowsPerWarp != 32)
    return emitError() << "rows_per_warp = " << rowsPerWarp
                       << " is not 16 or 32 (0: the default)";
  for (auto [value, name, limit] :
       {std::tuple<int64_t, StringRef, int64_t>{warps, "warps", kMaxPagedWarps},
        {stages, "stages", kMaxPagedStages},
        {partitionSize, "partition_size", kMaxPartition},
        {cluster, "cluster", kMaxPagedCluster}})
    if (value < 0 || value > limit)
      return emitError() << name << " = " << value << " is outside [0, " << limit
                         << "] (0: the default)";
  return success();
}

LogicalResult AttentionConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                          StringRef strategy, int64_t blockM, int64_t blockN,
                                          int64_t warps, int64_t stages) {
  if (strategy != "" && strategy != "mma" && strategy != "wgmma" && strategy != "wgmma_tma")
    return emitError() << "unknown attention strategy '" << strategy
                       << "'; expected mma, wgmma or wgmma_tma";
  for (auto [value, name, limit] :
       {std::tuple<int64_t, StringRef, int64_t>{blockM, "block_m", kMaxTile},
        {blockN, "block_n", kMaxTile}, {warps, "warps", kMaxWarps},
        {stages, "stages", kMaxStages}})
    if (value < 0 || value > limit)
      return emitError() << name << " = " << value
                         << " is outside [0, " << limit << "] (0: the default)";
  return success();
}
