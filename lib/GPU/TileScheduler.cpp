//===- TileScheduler.cpp - which tile a thread block works on -------------===//

#include "GPU/TileScheduler.h"

using namespace mlir;
using namespace mlir::tessel;

std::pair<Value, Value> mlir::tessel::rasterize(KernelBuilder &e, Value blockX, Value blockY,
                                                Size gridM, int64_t gridN, int64_t groupM) {
  if (groupM <= 1 || (gridM.isStatic() && gridM.fixed <= 1))
    return {blockY, blockX};
  Value pid = e.add(e.mul(blockY, e.idx(gridN)), blockX);
  Value perGroup = e.idx(groupM * gridN);
  Value firstM = e.mul(e.div(pid, perGroup), e.idx(groupM));
  Value groupSize = e.umin(e.sub(e.size(gridM), firstM), e.idx(groupM));
  Value inGroup = e.rem(pid, perGroup);
  return {e.add(firstM, e.rem(inGroup, groupSize)), e.div(inGroup, groupSize)};
}

std::pair<Value, Value> mlir::tessel::tileMajor(KernelBuilder &e, Value block,
                                                Value tilesPerGroup, bool reverse) {
  Value tile = e.rem(block, tilesPerGroup);
  if (reverse)
    tile = e.sub(e.sub(tilesPerGroup, e.idx(1)), tile);
  return {e.div(block, tilesPerGroup), tile};
}

void mlir::tessel::forEachTile(KernelBuilder &e, Value first, Value numTiles, Value stride,
                               function_ref<void(Value, Value)> body) {
  // ceil((numTiles - first) / stride) tiles, none when first >= numTiles.
  Value count = arith::CeilDivUIOp::create(e.b, e.loc, e.sub(e.umax(numTiles, first), first),
                                           stride);
  e.loop(count, [&](Value j) { body(e.add(first, e.mul(j, stride)), j); });
}

std::pair<Value, Value> mlir::tessel::splitRange(KernelBuilder &e, Value n, Value s,
                                                 Value splits, int64_t align) {
  // Part size: ceil(ceil(n / align) / splits) * align.
  Value units = arith::CeilDivUIOp::create(e.b, e.loc, n, e.idx(align));
  Value per = e.mul(arith::CeilDivUIOp::create(e.b, e.loc, units, splits), e.idx(align));
  Value begin = e.umin(e.mul(s, per), n);
  Value end = e.umin(e.add(begin, per), n);
  return {begin, end};
}
