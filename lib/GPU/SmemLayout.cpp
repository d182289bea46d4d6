//===- SmemLayout.cpp - padded and swizzled shared-memory tiles -----------===//

#include "GPU/SmemLayout.h"

using namespace mlir;
using namespace mlir::tessel;

Value SmemLayout::offset(KernelBuilder &e, Value r, Value c) const {
  assert(kind == Kind::Swizzled && "SmemLayout::offset: padded tiles are indexed [row][col]");
  // The XOR phase of row r: its 16-byte chunk index inside a 128-byte line,
  // i.e. address bits [7, 7 + log2(swizzleBytes / 16)) of r * swizzleBytes.
  int64_t rowsPerLine = 128 / swizzleBytes, phases = swizzleBytes / 16;
  Value line = rowsPerLine == 1 ? r : e.div(r, e.idx(rowsPerLine));
  Value chunkIdx = e.div(e.rem(c, e.idx(atom())), e.idx(chunk()));
  Value phys = arith::XOrIOp::create(e.b, e.loc, chunkIdx, e.rem(line, e.idx(phases)));
  Value off = e.mul(e.div(c, e.idx(atom())), e.idx(rows * atom()));
  off = e.add(off, e.mul(r, e.idx(atom())));
  off = e.add(off, e.mul(phys, e.idx(chunk())));
  return e.add(off, e.rem(c, e.idx(chunk())));
}

uint64_t SmemLayout::descriptorBits(bool kMajor) const {
  uint64_t lbo = kMajor ? 1 : (rows * swizzleBytes) >> 4;
  uint64_t sbo = patternBytes() >> 4;
  uint64_t mode = swizzleBytes == 128 ? 1 : swizzleBytes == 64 ? 2 : 3;
  return (lbo << 16) | (sbo << 32) | (mode << 62);
}

int64_t SmemLayout::operandOffset(bool kMajor, int64_t mn, int64_t k) const {
  if (kMajor)
    return (k / atom()) * rows * swizzleBytes + mn * swizzleBytes + (k % atom()) * elemBytes;
  return (mn / atom()) * rows * swizzleBytes + k * swizzleBytes;
}
