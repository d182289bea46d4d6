//===- Config.cpp - paged_attention's configuration; flat operand views ---===//

#include "Paged.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {
// sm_90's opt-in maximum of dynamic shared memory per block.
constexpr int64_t kMaxDynamicSharedBytes = 227 * 1024;
// A run-time size counts as this in a flat view's static bound (the Python
// runtime refuses larger calls).
constexpr int64_t kMaxDynamicSize = (int64_t(1) << 31) - 1;
// H100/H200 SMs: the default v1/v2 choice wants about two blocks per SM.
constexpr int64_t kSMs = 132;
constexpr int64_t kPad = 8; // elements of padding per shared row (ldmatrix banks)
} // namespace

FlatOperand mlir::tessel::flatten(OpBuilder &b, Location loc, Value v) {
  auto type = cast<MemRefType>(v.getType());
  FlatOperand f;
  int64_t bound = 1;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (type.isDynamicDim(d)) {
      f.sizes.push_back(Size::of(memref::DimOp::create(b, loc, v, d).getResult()));
      bound *= kMaxDynamicSize;
    } else {
      f.sizes.push_back(Size::of(type.getDimSize(d)));
      bound *= std::max<int64_t>(type.getDimSize(d), 1);
    }
  }
  auto flatType = MemRefType::get({bound}, type.getElementType());
  f.flat = memref::ReinterpretCastOp::create(b, loc, flatType, v, b.getIndexAttr(0),
                                             ArrayRef<OpFoldResult>{b.getIndexAttr(bound)},
                                             ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  return f;
}

namespace {
/// Shared memory of the cross-slice (and cluster) combine, which reuses the
/// K/V rings after the key loop.
int64_t decodeCombineBytes(PagedAttentionOp op, const DecodeConfig &c) {
  int64_t d = cast<MemRefType>(op.getQ().getType()).getDimSize(2);
  // Per key slice: O (rows padded by kCombinePad floats), max and sum; a
  // cluster adds each row's block max and sum.
  return c.tokenWarps() * c.rows() * (d + kCombinePad + 2) * 4 +
         (c.cluster > 1 ? 2 * c.rows() * 4 : 0);
}
} // namespace

int64_t mlir::tessel::decodeSharedBytes(PagedAttentionOp op, const DecodeConfig &c) {
  auto q = cast<MemRefType>(op.getQ().getType());
  int64_t d = q.getDimSize(2), bytes = q.getElementTypeBitWidth() / 8;
  int64_t row = (d + kPad) * bytes;
  // Q tile, then the K and V rings; the cross-warp combine reuses the rings
  // (O, max and sum in f32 per warp and row) and may need more than they hold.
  int64_t rings = c.stages * 2 * c.tileTokens() * row;
  int64_t combine = decodeCombineBytes(op, c);
  return c.rows() * row + std::max(rings, combine) + 4 * decodeTableEntries(op, c);
}

int64_t mlir::tessel::decodeTableEntries(PagedAttentionOp op, const DecodeConfig &c) {
  if (!c.split)
    return 0;
  // A partition that starts inside a block touches one more block at each end.
  int64_t bs = cast<MemRefType>(op.getKeyCache().getType()).getDimSize(1);
  return llvm::divideCeil(c.partitionSize, bs) + 2;
}

FailureOr<DecodeConfig> mlir::tessel::configureDecode(PagedAttentionOp op) {
  auto q = cast<MemRefType>(op.getQ().getType());
  auto kc = cast<MemRefType>(op.getKeyCache().getType());
  auto bt = cast<MemRefType>(op.getBlockTables().getType());
  Type elt = q.getElementType();
  if (!elt.isF16() && !elt.isBF16())
    return op.emitOpError() << "on the GPU needs f16 or bf16 operands (mma.sync), got " << elt;
  for (auto [name, type, from] : {std::tuple<StringRef, MemRefType, int64_t>{"q", q, 1},
                                  {"key_cache", kc, 1},
                                  {"value_cache", cast<MemRefType>(op.getValueCache().getType()), 1},
                                  {"out", cast<MemRefType>(op.getOut().getType()), 1}})
    for (int64_t d = from; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        return op.emitOpError() << "'" << name << "' has a run-time size in dimension " << d
                                << "; only sequences, max_blocks and num_blocks may be run-time";
  int64_t d = q.getDimSize(2);
  if (d % 16 != 0)
    return op.emitOpError() << "head dimension " << d
                            << " is not a multiple of 16, which the GPU kernel (mma.sync "
                               "m16n8k16) needs";
  int64_t hq = q.getDimSize(1), hkv = kc.getDimSize(2), bs = kc.getDimSize(1);
  int64_t headTiles = hkv ? llvm::divideCeil(hq / hkv, 16) : 1;

  PagedConfigAttr attr = op.getConfigAttr();
  DecodeConfig c;
  c.stages = attr && attr.getStages() ? attr.getStages() : (d <= 64 ? 4 : d <= 128 ? 3 : 2);
  c.partitionSize = attr && attr.getPartitionSize() ? attr.getPartitionSize() : 512;
  // Groups above 16 heads (MQA) take two row tiles per block, so the block
  // reads each K/V tile from L2 once for 32 heads: the split into one block
  // per 16 heads doubled the L2-to-SM traffic and capped MQA at a third of
  // the copy rate. D = 256 keeps one: its accumulators would not fit twice.
  c.rowTiles = std::min<int64_t>(headTiles, d <= 128 ? 2 : 1);
  int64_t rowsPerWarp = attr ? attr.getRowsPerWarp() : 0;
  if (rowsPerWarp > c.rows())
    return op.emitOpError() << "config rows_per_warp = " << rowsPerWarp << " exceeds the "
                            << c.rows() << " query-head rows of a block (group of "
                            << (hkv ? hq / hkv : 0) << " heads, head dimension " << d << ")";
  // By default the warps split the two row tiles: each then runs half the
  // softmax and mma chain per key tile, with half the registers, so twice
  // the warps fit (MQA was latency-bound at 2 warps per scheduler, ncu).
  c.warpRowTiles = rowsPerWarp ? rowsPerWarp / 16 : 1;
  int64_t defaultWarps = 4 * c.rowWarps();
  c.warps = attr && attr.getWarps() ? attr.getWarps() : defaultWarps;
  if (c.warps % c.rowWarps() != 0)
    return op.emitOpError() << "config warps = " << c.warps << " does not split into the "
                            << c.rowWarps() << " row tiles of a block (rows_per_warp = 16); "
                            << "use an even number of warps or rows_per_warp = 32";
  int64_t groups = llvm::divideCeil(headTiles, c.rowTiles);
  StringRef strategy = attr ? attr.getStrategy() : "";
  if (strategy.empty()) {
    // Split only when the static sizes say v1 would leave SMs idle on a long
    // context (the Python recipe decides with the call's sizes instead).
    bool known = !q.isDynamicDim(0) && !bt.isDynamicDim(1);
    c.split = known && bt.getDimSize(1) * bs > c.partitionSize &&
              q.getDimSize(0) * hkv * groups < 2 * kSMs;
  } else {
    c.split = strategy == "v2";
  }
  if (c.warps > 16)
    return op.emitOpError() << "config warps = " << c.warps << " exceeds 16, the limit of "
                            << "the decode kernel";
  if (c.stages < 2)
    return op.emitOpError() << "config stages = " << c.stages
                            << " is below 2, the decode kernel's minimum";
  c.cluster = attr && attr.getCluster() ? attr.getCluster() : 1;
  if (c.cluster > 1 && !c.split)
    return op.emitOpError() << "config cluster = " << c.cluster
                            << " needs the split-K kernel (strategy v2)";
  if (c.split && c.partitionSize % c.tileTokens() != 0)
    return op.emitOpError() << "config partition_size = " << c.partitionSize
                            << " is not a multiple of the key tile (" << c.tileTokens()
                            << " tokens)";
  int64_t bytes = decodeSharedBytes(op, c);
  if (bytes > kMaxDynamicSharedBytes)
    return op.emitOpError() << "decode kernel needs " << bytes
                            << " bytes of shared memory; the limit is " << kMaxDynamicSharedBytes
                            << " (lower stages or warps)";
  return c;
}
