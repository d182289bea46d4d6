//===- SmemLayout.h - padded and swizzled shared-memory tiles ----*- C++ -*-===//
//
// A shared tile holds `rows` x `cols` elements of a global tile whose
// columns are contiguous. Two layouts:
// - padded: rows of cols + pad elements, so that the eight 16-byte row reads
//   of one ldmatrix land in distinct banks;
// - swizzled (128, 64 or 32 bytes): the tile is stored as column blocks one
//   swizzle row wide; inside a block, row r's 16-byte chunk c lands at chunk
//   c ^ phase(r). This is the layout TMA writes and wgmma reads through
//   matrix descriptors, which is why the descriptor bits live here too.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_SMEMLAYOUT_H
#define TESSEL_LIB_GPU_SMEMLAYOUT_H

#include "GPU/KernelBuilder.h"

namespace mlir::tessel {

struct SmemLayout {
  enum class Kind { Padded, Swizzled };
  Kind kind;
  int64_t rows, cols, elemBytes;
  int64_t pad = 0;          // padded: elements added to each row
  int64_t swizzleBytes = 0; // swizzled: 128, 64 or 32

  static SmemLayout padded(int64_t rows, int64_t cols, int64_t elemBytes, int64_t pad) {
    return {Kind::Padded, rows, cols, elemBytes, pad, 0};
  }
  static SmemLayout swizzled(int64_t rows, int64_t cols, int64_t elemBytes,
                             int64_t swizzleBytes) {
    return {Kind::Swizzled, rows, cols, elemBytes, 0, swizzleBytes};
  }

  /// Elements of one swizzle row (a column block's width).
  int64_t atom() const { return swizzleBytes / elemBytes; }
  /// Elements per 16-byte chunk.
  int64_t chunk() const { return 16 / elemBytes; }
  /// Elements the tile occupies, padding included.
  int64_t elems() const { return kind == Kind::Padded ? rows * (cols + pad) : rows * cols; }
  int64_t bytes() const { return elems() * elemBytes; }
  /// Bytes between repetitions of the swizzle pattern (8 swizzle rows): the
  /// alignment a swizzled tile needs.
  int64_t patternBytes() const { return 8 * swizzleBytes; }

  /// Element offset of (r, c) from the start of a swizzled tile (a padded
  /// tile is a [rows][cols + pad] view indexed directly).
  Value offset(KernelBuilder &e, Value r, Value c) const;

  /// wgmma matrix descriptors (sm_90). The constant fields for this tile as
  /// an operand whose K runs along the tile's columns (`kMajor`) or rows:
  /// leading byte offset (between column blocks along M/N; unused when
  /// K-major), stride byte offset (between 8-row groups), swizzle mode.
  uint64_t descriptorBits(bool kMajor) const;
  /// Byte offset inside the tile of the operand block at M/N index `mn`, K
  /// index `k`.
  int64_t operandOffset(bool kMajor, int64_t mn, int64_t k) const;
};

} // namespace mlir::tessel

#endif // TESSEL_LIB_GPU_SMEMLAYOUT_H
