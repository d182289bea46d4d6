//===- Gemm.h - tessel.gemm on the GPU: configuration and rungs -*- C++ -*-===//
#ifndef TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMM_GEMM_H
#define TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMM_GEMM_H

#include "GPU/KernelBuilder.h"
#include "GPU/TileCopy.h"
#include "GPU/Wgmma.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {

enum class GemmStrategy { Naive, Smem, RegTile, Pipelined, Mma, Wgmma, WgmmaTma };

/// Tile sizes of one GEMM kernel; validated before any IR is built.
struct GemmConfig {
  GemmStrategy strategy;
  int64_t blockM, blockN, blockK;
  // mma: warps along M and N; mma and wgmma: software-pipeline stages and
  // block rows swept together.
  int64_t warpsM = 0, warpsN = 0, stages = 0, groupM = 0;
  // regtile/pipelined only: outputs per thread along M and N.
  int64_t threadM = 0, threadN = 0;
  // wgmma, wgmma_tma: 128-thread (consumer) warpgroups stacked along M.
  int64_t warpgroups = 0;
  // mma and wgmma: K parts, each a grid slice writing f32 partial sums to a
  // workspace that a second kernel reduces; 1: no split, D written directly.
  int64_t splitK = 1;
  // wgmma_tma: at most this many blocks, each walking output tiles (0: one
  // block per tile).
  int64_t persistent = 0;
  // wgmma_tma: blocks of this many consecutive tile rows form a cluster
  // sharing their B tiles by TMA multicast (1: no cluster).
  int64_t cluster = 1;
};

/// The op's configuration: its `config` attribute over `defaults` (the pass
/// options, same fields; strategy "" and 0 mean unset) over the strategy's
/// built-in defaults, checked against the hardware and the emitters' limits.
/// Errors are emitted on the op and name the field and the limit.
FailureOr<GemmConfig> configureGemm(GemmOp op, GemmConfigAttr defaults);

/// Sizes of a memref-form gemm and the extents, in their global layouts
/// (rows x cols, cols contiguous), of one block's A and B tiles. M and the
/// batch may be run-time sizes; N and K are static.
struct GemmShape {
  bool batched;
  Size batches, M;
  int64_t N, K;
  int64_t aRows, aCols, bRows, bCols;
  // split-K: the f32 workspace [batch][part][M][N] (a flat view of static
  // bound); null without a split.
  Value workspace;
};

/// Reads the shape (emitting memref.dim for run-time sizes at `b`'s
/// insertion point, outside the kernel) and rewrites operands with run-time
/// sizes into statically shaped views of the same memory, so the kernel
/// takes bare pointers plus the sizes as scalars.
GemmShape prepareGemm(OpBuilder &b, GemmOp op, const GemmConfig &config);

/// The rungs: each replaces `op` by a gpu.launch.
void emitSimtGemm(OpBuilder &b, GemmOp op, const GemmConfig &config, const GemmShape &shape);
void emitRegTileGemm(OpBuilder &b, GemmOp op, const GemmConfig &config, const GemmShape &shape);
void emitMmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &config, const GemmShape &shape);
void emitWgmmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &config, const GemmShape &shape);
void emitWgmmaTmaGemm(OpBuilder &b, GemmOp op, const GemmConfig &config,
                      const GemmShape &shape);

/// Dynamic shared memory of the tensor-core rungs, alignment slack included.
int64_t mmaSharedBytes(GemmOp op, const GemmConfig &config);
int64_t wgmmaSharedBytes(GemmOp op, const GemmConfig &config);
int64_t wgmmaTmaSharedBytes(GemmOp op, const GemmConfig &config);
/// Why wgmma_tma cannot read the operands (TMA's 16-byte row pitch); empty
/// when it can. Run-time row lengths are checked by the runtime.
std::string wgmmaTmaOperandError(GemmOp op);

/// The launch of a tiled gemm kernel: a grid of (N / block-n, M / block-m,
/// batch) blocks (persistent: min(tiles, persistent) blocks along x) of `threads` threads with `sharedBytes` of dynamic shared
/// memory; the builder is left inside its body (the caller's insertion
/// guard restores it).
struct GemmLaunch {
  gpu::LaunchOp op;
  Size gridM; // tile rows (run-time when M is)
  int64_t gridN;
  Value tid, batch; // batch: null for unbatched gemms
  Value blockX, blockY;
  Value part; // split-K: this block's K part; null without a split
  // persistent: the number of tiles (batch x tile rows x tile columns) and
  // the grid size, the stride of a block's walk from tile blockX; the
  // launch's batch and blockY are then null (see tileLaunch).
  Value tiles, stride;
  // cluster > 1: this block's rank in its cluster; gridM, blockY (and
  // persistent tiles, blockX, stride) then count clusters' tile rows, so
  // the block's tile row is blockY' * cluster + rank once rasterized.
  Value rank;
};
GemmLaunch launchGemm(KernelBuilder &e, const GemmShape &shape, const GemmConfig &config,
                      int64_t threads, int64_t sharedBytes);
/// A persistent launch as the one-tile launch of tile `tile` (batch
/// slowest, then the grouped order of the blocks of a non-persistent grid).
GemmLaunch tileLaunch(KernelBuilder &e, const GemmShape &shape, const GemmLaunch &launch,
                      Value tile);

/// The K tiles a block multiplies: all ceil(K / block-k) of them from 0
/// without a split (static), else those of its part (run-time, at least
/// one: a part past K's end loads one tile of zeros rather than none).
struct GemmKRange {
  Value begin; // first K index; null: 0
  Size tiles;
  /// The K index of local tile `kt`.
  Value offset(KernelBuilder &e, Value kt, int64_t blockK) const {
    Value k = e.mul(kt, e.idx(blockK));
    return begin ? e.add(begin, k) : k;
  }
};
GemmKRange kRangeOf(KernelBuilder &e, const GemmShape &shape, const GemmConfig &config,
                    const GemmLaunch &launch);

/// Allocates the split-K workspace on the host (before the launches) and
/// returns it; `freeWorkspace` releases it after them.
Value allocWorkspace(OpBuilder &b, GemmOp op, const GemmConfig &config, const GemmShape &shape);
void freeWorkspace(OpBuilder &b, GemmOp op, const GemmShape &shape);

/// The reduction kernel of split-K: D = alpha * (sum of the parts) (+ beta
/// * C), one thread per element of D.
void emitSplitKReduction(OpBuilder &b, GemmOp op, const GemmConfig &config,
                         const GemmShape &shape);

/// split-K: the flat workspace index of (row, col) in the block's part.
Value workspaceIndex(KernelBuilder &e, const GemmConfig &config, const GemmShape &shape,
                     const GemmLaunch &launch, Value row, Value col);
/// A tensor-core rung's accumulator element (row, col) of the block:
/// storeResult without a split, the raw partial sum into the workspace
/// slice of the block's part with one.
void storeAccumulator(KernelBuilder &e, GemmOp op, const GemmConfig &config,
                      const GemmShape &shape, const GemmLaunch &launch, Value row, Value col,
                      Value acc, Value inBounds);

/// Issues the cp.async copies of one block's A and B tiles at K offset `k0`
/// (see copyTile). `batch` is null for unbatched gemms.
void copyOperandTiles(KernelBuilder &e, GemmOp op, const GemmShape &shape, Value batch,
                      Value tid, int64_t threads, Value k0, Value rowBase, Value colBase,
                      Value dstA, TileIndex indexA, Value dstB, TileIndex indexB);

/// D[row, col] = alpha * acc (+ beta * C[row, col]) when `inBounds`.
void storeResult(KernelBuilder &e, GemmOp op, Value batch, Value row, Value col, Value acc,
                 Value inBounds);

/// The wgmma rungs' shared operand tiles: A and B of one block in 128-byte
/// swizzled layouts, K-major unless transposed; and the pieces both rungs
/// issue the same way on them.
struct WgmmaTiles {
  wgmma::Operand a, b;
};
WgmmaTiles wgmmaTiles(GemmOp op, const GemmConfig &config);
/// The descriptors of warpgroup rows `wgRow`.. of A and of B in the stage at
/// shared byte address `smemAddr` (B follows A).
std::pair<Value, Value> wgmmaStageDescriptors(KernelBuilder &e, const WgmmaTiles &t,
                                              Value smemAddr, Value wgRow);
/// The epilogue's walk over a warpgroup's accumulators: `store(row, col,
/// value, inBounds)` for every element, where `inWg` is the thread's index in
/// its warpgroup and warp w of it holds rows 16 w.. of each 64-row slice
/// starting at rowBase + wgRow.
void forEachWgmmaResult(KernelBuilder &e, ArrayRef<Value> acc, Value inWg, Value rowBase,
                        Value wgRow, Value colBase, const GemmShape &shape,
                        const GemmConfig &config,
                        function_ref<void(Value, Value, Value, Value)> store);
/// One block-k step: `acc[i]` (64-row slices of the warpgroup's tile) +=
/// A * B from the stage's descriptors, issued after a fence as one group.
void issueWgmmaStep(KernelBuilder &e, const WgmmaTiles &t, const GemmConfig &config,
                    Type elt, MutableArrayRef<Value> acc, Value descA, Value descB);

} // namespace mlir::tessel

#endif // TESSEL_LIB_CONVERSION_TESSELTOGPU_GEMM_GEMM_H
