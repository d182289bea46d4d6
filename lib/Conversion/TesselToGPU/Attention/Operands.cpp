//===- Operands.cpp - attention operands as flat strided views ------------===//

#include "Operands.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>

using namespace mlir;
using namespace mlir::tessel;
using namespace mlir::tessel::attention;

Size attention::dimOf(KernelBuilder &e, Value v, int64_t i) {
  int64_t s = cast<MemRefType>(v.getType()).getDimSize(i);
  return ShapedType::isDynamic(s) ? Size::of(e.dim(v, i)) : Size::of(s);
}

Size attention::mulSize(KernelBuilder &e, Size x, Size y) {
  if (x.isStatic() && y.isStatic())
    return Size::of(x.fixed * y.fixed);
  return Size::of(e.mul(e.size(x), e.size(y)));
}

Size attention::divSize(KernelBuilder &e, Size x, Size y) {
  if (x.isStatic() && y.isStatic())
    return Size::of(y.fixed ? x.fixed / y.fixed : 0);
  return Size::of(e.div(e.size(x), e.size(y)));
}

Value attention::flatView(KernelBuilder &e, Value v) {
  auto type = cast<MemRefType>(v.getType());
  auto flat = MemRefType::get({kFlatBound}, type.getElementType());
  SmallVector<OpFoldResult> sizes{e.b.getIndexAttr(kFlatBound)}, strides{e.b.getIndexAttr(1)};
  return memref::ReinterpretCastOp::create(e.b, e.loc, flat, v, e.b.getIndexAttr(0), sizes,
                                           strides);
}

Strided attention::strided(KernelBuilder &e, Value v, bool seqMajor) {
  int64_t hDim = seqMajor ? 2 : 1, sDim = seqMajor ? 1 : 2;
  Size heads = dimOf(e, v, hDim), seq = dimOf(e, v, sDim), d = dimOf(e, v, 3);
  Strided s;
  s.flat = flatView(e, v);
  if (seqMajor) {
    s.head = d;
    s.seq = mulSize(e, heads, d);
    s.batch = mulSize(e, seq, s.seq);
  } else {
    s.seq = d;
    s.head = mulSize(e, seq, d);
    s.batch = mulSize(e, heads, s.head);
  }
  return s;
}

Value attention::seqHeadView(KernelBuilder &e, Value v, bool seqMajor) {
  int64_t hDim = seqMajor ? 2 : 1, sDim = seqMajor ? 1 : 2;
  Strided s = strided(e, v, seqMajor);
  Size sizes[4] = {dimOf(e, v, 0), dimOf(e, v, sDim), dimOf(e, v, hDim), dimOf(e, v, 3)};
  Size strides[4] = {s.batch, s.seq, s.head, Size::of(1)};
  SmallVector<int64_t> shape, strideVals;
  SmallVector<OpFoldResult> sizeOfr, strideOfr;
  for (int i = 0; i < 4; ++i) {
    shape.push_back(sizes[i].isStatic() ? sizes[i].fixed : ShapedType::kDynamic);
    strideVals.push_back(strides[i].isStatic() ? strides[i].fixed : ShapedType::kDynamic);
    sizeOfr.push_back(sizes[i].isStatic() ? OpFoldResult(e.b.getIndexAttr(sizes[i].fixed))
                                          : OpFoldResult(sizes[i].dynamic));
    strideOfr.push_back(strides[i].isStatic() ? OpFoldResult(e.b.getIndexAttr(strides[i].fixed))
                                              : OpFoldResult(strides[i].dynamic));
  }
  auto type = cast<MemRefType>(v.getType());
  auto viewType = MemRefType::get(shape, type.getElementType(),
                                  StridedLayoutAttr::get(e.b.getContext(), 0, strideVals));
  return memref::ReinterpretCastOp::create(e.b, e.loc, viewType, v, e.b.getIndexAttr(0), sizeOfr,
                                           strideOfr);
}

Value attention::negInf(KernelBuilder &e) {
  return e.f32(-std::numeric_limits<float>::infinity());
}

KeyTiles attention::keyTiles(KernelBuilder &e, Value qBase, int64_t blockM, int64_t blockN,
                             Value sq, Value skv, bool causal) {
  Value shift = e.sub(skv, sq);
  Value all = arith::CeilDivUIOp::create(e.b, e.loc, skv, e.idx(blockN));
  Value full = e.div(skv, e.idx(blockN));
  if (causal) {
    Value rowEnd = e.umin(e.add(qBase, e.idx(blockM)), sq);
    Value keyEnd = e.smax(e.add(rowEnd, shift), e.idx(0));
    all = e.umin(all, arith::CeilDivUIOp::create(e.b, e.loc, keyEnd, e.idx(blockN)));
    Value firstEnd = e.smax(e.add(e.add(qBase, shift), e.idx(1)), e.idx(0));
    full = e.umin(full, e.div(firstEnd, e.idx(blockN)));
  }
  return {all, e.umin(full, all)};
}
