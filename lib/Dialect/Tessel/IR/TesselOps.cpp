//===- TesselOps.cpp - tessel op verifiers and interfaces -----------------===//

#include "tessel/TesselOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::tessel;

std::optional<int64_t> mlir::tessel::staticSizeProduct(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (ShapedType::isDynamic(s) || s <= 0)
      continue;
    if (llvm::MulOverflow(n, s, n))
      return std::nullopt;
  }
  return n;
}

bool mlir::tessel::isStridedOrOversized(MemRefType type) {
  return !staticSizeProduct(type.getShape()) || type.isStrided();
}

std::optional<std::string> mlir::tessel::sizeOverflowReason(ShapedType type) {
  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  if (!type.hasRank())
    return std::nullopt;
  std::optional<int64_t> n = staticSizeProduct(type.getShape());
  if (!n)
    return "the product of its non-zero static dimensions exceeds the int64 limit " +
           std::to_string(max);
  Type e = type.getElementType();
  if (!e.isIntOrIndexOrFloat())
    return std::nullopt;
  int64_t bytes = 0, eltBytes = e.isIndex() ? 8 : (e.getIntOrFloatBitWidth() + 7) / 8;
  if (llvm::MulOverflow(*n, eltBytes, bytes))
    return std::to_string(*n) + " elements of " + std::to_string(eltBytes) +
           " bytes exceed the int64 limit of " + std::to_string(max) + " bytes";
  return std::nullopt;
}

#define GET_OP_CLASSES
#include "tessel/TesselOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Verification helpers. Every message names the operand(s) and the sizes, so
// that a user reading it knows which argument to fix.
//===----------------------------------------------------------------------===//

namespace {
/// Block sizes the paged kernels are written for.
constexpr int64_t kBlockSizes[] = {8, 16, 32};
constexpr int64_t kMaxHeadDim = 256;

struct Checker {
  Operation *op;

  ShapedType type(Value v) { return cast<ShapedType>(v.getType()); }

  /// The element count and the byte size of each operand fit int64 (the
  /// host path's index type; the byte size is what allocation and address
  /// arithmetic compute). Checked first: `isStrided()`, `getNumElements()`
  /// and the layout utilities assert on sizes that overflow, and every later
  /// check or pass may call them. Null values (absent optional operands) are
  /// skipped.
  LogicalResult sizes(std::initializer_list<std::pair<StringRef, Value>> operands) {
    for (auto [name, v] : operands)
      if (v)
        if (std::optional<std::string> why = sizeOverflowReason(type(v)))
          return op->emitOpError() << "operand '" << name << "' of type " << v.getType()
                                   << " is too large: " << *why;
    return success();
  }

  LogicalResult rank(StringRef name, Value v, ArrayRef<int64_t> ranks) {
    int64_t r = type(v).getRank();
    if (llvm::is_contained(ranks, r))
      return success();
    auto diag = op->emitOpError() << "operand '" << name << "' must have rank ";
    llvm::interleave(ranks, diag, " or ");
    return diag << ", got rank " << r << " (" << v.getType() << ")";
  }

  LogicalResult floatElement(StringRef name, Value v) {
    Type e = type(v).getElementType();
    if (e.isF16() || e.isBF16() || e.isF32())
      return success();
    return op->emitOpError() << "operand '" << name
                             << "' must have element type f16, bf16 or f32, got "
                             << e;
  }

  LogicalResult element(StringRef name, Value v, Type expected) {
    Type e = type(v).getElementType();
    if (e == expected)
      return success();
    return op->emitOpError() << "operand '" << name << "' must have element type "
                             << expected << ", got " << e;
  }

  LogicalResult sameElement(StringRef name, Value v, StringRef refName, Value ref) {
    Type e = type(v).getElementType(), r = type(ref).getElementType();
    if (e == r)
      return success();
    return op->emitOpError() << "operand '" << name << "' has element type " << e
                             << " but '" << refName << "' has " << r
                             << "; they must match";
  }

  /// `what` of `lhs` (dimension li) must equal that of `rhs` (dimension ri).
  LogicalResult dim(StringRef what, StringRef lhs, Value l, int64_t li,
                    StringRef rhs, Value r, int64_t ri) {
    int64_t a = type(l).getDimSize(li), b = type(r).getDimSize(ri);
    if (ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b)
      return success();
    return op->emitOpError() << what << " mismatch: '" << lhs << "' has " << a
                             << " (dimension " << li << ") but '" << rhs
                             << "' has " << b << " (dimension " << ri << ")";
  }

  LogicalResult headDim(StringRef name, Value v, int64_t i) {
    int64_t d = type(v).getDimSize(i);
    if (ShapedType::isDynamic(d))
      return op->emitOpError() << "head dimension of '" << name
                               << "' (dimension " << i << ") must be static";
    if (d <= 0 || d % 8 != 0 || d > kMaxHeadDim)
      return op->emitOpError() << "head dimension of '" << name << "' is " << d
                               << "; supported head dimensions are multiples of 8 up to "
                               << kMaxHeadDim;
    return success();
  }

  LogicalResult blockSize(StringRef name, Value v) {
    int64_t bs = type(v).getDimSize(1);
    if (llvm::is_contained(kBlockSizes, bs))
      return success();
    auto diag = op->emitOpError() << "block size of '" << name << "' (dimension 1) is ";
    if (ShapedType::isDynamic(bs))
      diag << "dynamic";
    else
      diag << bs;
    return diag << "; it must be static and one of 8, 16, 32";
  }

  LogicalResult heads(StringRef qName, Value q, int64_t qi, StringRef kvName,
                      Value kv, int64_t kvi) {
    int64_t hq = type(q).getDimSize(qi), hkv = type(kv).getDimSize(kvi);
    if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv))
      return success();
    if (hkv > 0 && hq % hkv == 0)
      return success();
    return op->emitOpError() << "query heads of '" << qName << "' (" << hq
                             << ") must be a multiple of the key/value heads of '"
                             << kvName << "' (" << hkv << ")";
  }

  /// All shaped operands are tensors, or all are memrefs.
  LogicalResult oneForm() {
    bool anyTensor = false, anyMemref = false;
    for (Value v : op->getOperands()) {
      anyTensor |= isa<RankedTensorType>(v.getType());
      anyMemref |= isa<MemRefType>(v.getType());
    }
    if (anyTensor && anyMemref)
      return op->emitOpError()
             << "mixes tensor and memref operands; use all tensors (tensor form) "
                "or all memrefs (memref form)";
    return success();
  }

  LogicalResult scale(std::optional<APFloat> s) {
    if (!s)
      return success();
    float v = s->convertToFloat();
    if (std::isfinite(v) && v > 0)
      return success();
    return op->emitOpError() << "scale must be finite and positive, got " << v;
  }
};

/// Memory effects of a destination-style op in the memref form: inputs are
/// read, inits are written (and read when `initsRead`). The tensor form has
/// none, so that unused tensor-form ops fold away.
void dpsEffects(Operation *op, bool initsRead,
                SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                    &effects) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    bool init = dps.isDpsInit(&operand);
    if (!init || initsRead)
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
    if (init)
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

float defaultScale(std::optional<APFloat> scale, Value withHeadDim, int64_t i) {
  if (scale)
    return scale->convertToFloat();
  int64_t d = cast<ShapedType>(withHeadDim.getType()).getDimSize(i);
  return 1.0f / std::sqrt(static_cast<float>(d));
}
} // namespace

//===----------------------------------------------------------------------===//
// GemmOp
//===----------------------------------------------------------------------===//

LogicalResult GemmOp::verify() {
  Checker c{*this};
  Value a = getA(), b = getB(), init = getInit();
  if (failed(c.sizes({{"a", a}, {"b", b}, {"c", getC()}, {"init", init}})) ||
      failed(c.oneForm()) || failed(c.rank("a", a, {2, 3})))
    return failure();
  int64_t r = c.type(a).getRank();
  if (failed(c.rank("b", b, {r})) || failed(c.rank("init", init, {r})) ||
      (getC() && failed(c.rank("c", getC(), {r}))))
    return failure();
  if (failed(c.floatElement("a", a)) || failed(c.sameElement("b", b, "a", a)) ||
      failed(c.floatElement("init", init)) ||
      (getC() && failed(c.floatElement("c", getC()))))
    return failure();

  // op(A) is [M, K] and op(B) is [K, N] in the last two dimensions.
  int64_t aM = getTransposeA() ? r - 1 : r - 2, aK = getTransposeA() ? r - 2 : r - 1;
  int64_t bK = getTransposeB() ? r - 1 : r - 2, bN = getTransposeB() ? r - 2 : r - 1;
  if (failed(c.dim("contraction dimension K", "a", a, aK, "b", b, bK)) ||
      failed(c.dim("row dimension M", "init", init, r - 2, "a", a, aM)) ||
      failed(c.dim("column dimension N", "init", init, r - 1, "b", b, bN)))
    return failure();
  if (getC() && (failed(c.dim("row dimension M", "c", getC(), r - 2, "init", init, r - 2)) ||
                 failed(c.dim("column dimension N", "c", getC(), r - 1, "init", init, r - 1))))
    return failure();
  if (r == 3) {
    if (failed(c.dim("batch dimension", "b", b, 0, "a", a, 0)) ||
        failed(c.dim("batch dimension", "init", init, 0, "a", a, 0)) ||
        (getC() && failed(c.dim("batch dimension", "c", getC(), 0, "a", a, 0))))
      return failure();
  }
  for (float v : {getAlpha().convertToFloat(), getBeta().convertToFloat()})
    if (!std::isfinite(v))
      return emitOpError() << "alpha and beta must be finite, got alpha = "
                           << getAlpha().convertToFloat()
                           << ", beta = " << getBeta().convertToFloat();
  return success();
}

void GemmOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  // D is overwritten, never read: beta * C comes from the separate C operand.
  dpsEffects(*this, /*initsRead=*/false, effects);
}

//===----------------------------------------------------------------------===//
// FlashAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult FlashAttentionOp::verify() {
  Checker c{*this};
  if (getLayout() && *getLayout() != "bhsd" && *getLayout() != "bshd")
    return emitOpError() << "layout must be \"bhsd\" ([batch, heads, seq, head_dim]) or "
                            "\"bshd\" ([batch, seq, heads, head_dim]), got \""
                         << *getLayout() << "\"";
  Value q = getQ(), k = getK(), v = getV(), o = getOut(), lse = getLse();
  if (failed(c.sizes({{"q", q}, {"k", k}, {"v", v}, {"out", o}, {"lse", lse}})) ||
      failed(c.oneForm()) || failed(c.rank("q", q, {4})) || failed(c.rank("k", k, {4})) ||
      failed(c.rank("v", v, {4})) || failed(c.rank("out", o, {4})) ||
      (lse && failed(c.rank("lse", lse, {3}))))
    return failure();
  if (failed(c.floatElement("q", q)) || failed(c.sameElement("k", k, "q", q)) ||
      failed(c.sameElement("v", v, "q", q)) || failed(c.floatElement("out", o)) ||
      (lse && failed(c.element("lse", lse, Float32Type::get(getContext())))))
    return failure();
  int64_t h = headsDim(), s = seqDim();
  if (failed(c.dim("batch size", "k", k, 0, "q", q, 0)) ||
      failed(c.dim("batch size", "v", v, 0, "q", q, 0)) ||
      failed(c.dim("batch size", "out", o, 0, "q", q, 0)) ||
      failed(c.dim("key/value heads", "v", v, h, "k", k, h)) ||
      failed(c.heads("q", q, h, "k", k, h)) ||
      failed(c.dim("query heads", "out", o, h, "q", q, h)) ||
      failed(c.dim("key length", "v", v, s, "k", k, s)) ||
      failed(c.dim("query length", "out", o, s, "q", q, s)) ||
      failed(c.headDim("q", q, 3)) ||
      failed(c.dim("head dimension", "k", k, 3, "q", q, 3)) ||
      failed(c.headDim("v", v, 3)) ||
      failed(c.dim("value head dimension", "out", o, 3, "v", v, 3)))
    return failure();
  if (lse && (failed(c.dim("batch size", "lse", lse, 0, "q", q, 0)) ||
              failed(c.dim("query heads", "lse", lse, 1, "q", q, h)) ||
              failed(c.dim("query length", "lse", lse, 2, "q", q, s))))
    return failure();
  return c.scale(getScale());
}

float FlashAttentionOp::getScaleValue() { return defaultScale(getScale(), getQ(), 3); }

void FlashAttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  dpsEffects(*this, /*initsRead=*/false, effects);
}

//===----------------------------------------------------------------------===//
// FlashAttentionVarlenOp
//===----------------------------------------------------------------------===//

LogicalResult FlashAttentionVarlenOp::verify() {
  Checker c{*this};
  Value q = getQ(), k = getK(), v = getV(), cuQ = getCuSeqlensQ(), cuK = getCuSeqlensK(),
        o = getOut(), lse = getLse();
  IntegerType i32 = IntegerType::get(getContext(), 32);
  if (failed(c.sizes({{"q", q}, {"k", k}, {"v", v}, {"cu_seqlens_q", cuQ},
                      {"cu_seqlens_k", cuK}, {"out", o}, {"lse", lse}})) ||
      failed(c.oneForm()) || failed(c.rank("q", q, {3})) || failed(c.rank("k", k, {3})) ||
      failed(c.rank("v", v, {3})) || failed(c.rank("cu_seqlens_q", cuQ, {1})) ||
      failed(c.rank("cu_seqlens_k", cuK, {1})) || failed(c.rank("out", o, {3})) ||
      (lse && failed(c.rank("lse", lse, {2}))))
    return failure();
  if (failed(c.floatElement("q", q)) || failed(c.sameElement("k", k, "q", q)) ||
      failed(c.sameElement("v", v, "q", q)) || failed(c.floatElement("out", o)) ||
      failed(c.element("cu_seqlens_q", cuQ, i32)) ||
      failed(c.element("cu_seqlens_k", cuK, i32)) ||
      (lse && failed(c.element("lse", lse, Float32Type::get(getContext())))))
    return failure();
  // B + 1 offsets each; B = 0 (a single offset) is a valid empty batch for
  // the run-time checks, but a static length below 2 is a malformed call.
  for (auto [name, cu] : {std::pair<StringRef, Value>{"cu_seqlens_q", cuQ}, {"cu_seqlens_k", cuK}}) {
    int64_t n = c.type(cu).getDimSize(0);
    if (!ShapedType::isDynamic(n) && n < 2)
      return emitOpError() << "operand '" << name << "' holds " << n
                           << " offsets; it needs batch + 1 >= 2 (cu[0] = 0, then the "
                              "end of each sequence)";
  }
  if (failed(c.dim("number of offsets (batch + 1)", "cu_seqlens_k", cuK, 0, "cu_seqlens_q",
                   cuQ, 0)) ||
      failed(c.dim("packed key length", "v", v, 0, "k", k, 0)) ||
      failed(c.dim("key/value heads", "v", v, 1, "k", k, 1)) ||
      failed(c.heads("q", q, 1, "k", k, 1)) ||
      failed(c.dim("packed query length", "out", o, 0, "q", q, 0)) ||
      failed(c.dim("query heads", "out", o, 1, "q", q, 1)) || failed(c.headDim("q", q, 2)) ||
      failed(c.dim("head dimension", "k", k, 2, "q", q, 2)) || failed(c.headDim("v", v, 2)) ||
      failed(c.dim("value head dimension", "out", o, 2, "v", v, 2)))
    return failure();
  // LSE is [Hq, total_q] (flash-attn's varlen layout).
  if (lse && (failed(c.dim("query heads", "lse", lse, 0, "q", q, 1)) ||
              failed(c.dim("packed query length", "lse", lse, 1, "q", q, 0))))
    return failure();
  for (auto [name, bound] : {std::pair<StringRef, Value>{"max_seqlen_q", getMaxSeqlenQ()},
                             {"max_seqlen_k", getMaxSeqlenK()}}) {
    APInt value;
    if (matchPattern(bound, m_ConstantInt(&value)) && value.isNegative())
      return emitOpError() << "operand '" << name << "' is " << value.getSExtValue()
                           << "; a length bound must be >= 0";
  }
  return c.scale(getScale());
}

float FlashAttentionVarlenOp::getScaleValue() { return defaultScale(getScale(), getQ(), 2); }

void FlashAttentionVarlenOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  dpsEffects(*this, /*initsRead=*/false, effects);
}

//===----------------------------------------------------------------------===//
// PagedAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult PagedAttentionOp::verify() {
  Checker c{*this};
  Value q = getQ(), kc = getKeyCache(), vc = getValueCache(), bt = getBlockTables(),
        lens = getContextLens(), o = getOut();
  IntegerType i32 = IntegerType::get(getContext(), 32);
  if (failed(c.sizes({{"q", q}, {"key_cache", kc}, {"value_cache", vc},
                      {"block_tables", bt}, {"context_lens", lens}, {"out", o}})) ||
      failed(c.oneForm()) || failed(c.rank("q", q, {3})) ||
      failed(c.rank("key_cache", kc, {4})) || failed(c.rank("value_cache", vc, {4})) ||
      failed(c.rank("block_tables", bt, {2})) ||
      failed(c.rank("context_lens", lens, {1})) || failed(c.rank("out", o, {3})))
    return failure();
  if (failed(c.floatElement("q", q)) ||
      failed(c.sameElement("key_cache", kc, "q", q)) ||
      failed(c.sameElement("value_cache", vc, "q", q)) ||
      failed(c.floatElement("out", o)) || failed(c.element("block_tables", bt, i32)) ||
      failed(c.element("context_lens", lens, i32)))
    return failure();
  for (int64_t i = 0; i < 4; ++i)
    if (failed(c.dim("cache shape", "value_cache", vc, i, "key_cache", kc, i)))
      return failure();
  if (failed(c.blockSize("key_cache", kc)) || failed(c.headDim("q", q, 2)) ||
      failed(c.dim("head dimension", "key_cache", kc, 3, "q", q, 2)) ||
      failed(c.heads("q", q, 1, "key_cache", kc, 2)) ||
      failed(c.dim("number of sequences", "block_tables", bt, 0, "q", q, 0)) ||
      failed(c.dim("number of sequences", "context_lens", lens, 0, "q", q, 0)))
    return failure();
  for (int64_t i = 0; i < 3; ++i)
    if (failed(c.dim("output shape", "out", o, i, "q", q, i)))
      return failure();
  return c.scale(getScale());
}

float PagedAttentionOp::getScaleValue() { return defaultScale(getScale(), getQ(), 2); }

void PagedAttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  dpsEffects(*this, /*initsRead=*/false, effects);
}

//===----------------------------------------------------------------------===//
// PagedKVWriteOp
//===----------------------------------------------------------------------===//

LogicalResult PagedKVWriteOp::verify() {
  Checker c{*this};
  Value k = getKey(), v = getValue(), slots = getSlotMapping(), kc = getKeyCache(),
        vc = getValueCache();
  if (failed(c.sizes({{"key", k}, {"value", v}, {"slot_mapping", slots},
                      {"key_cache", kc}, {"value_cache", vc}})) ||
      failed(c.oneForm()) || failed(c.rank("key", k, {3})) ||
      failed(c.rank("value", v, {3})) || failed(c.rank("slot_mapping", slots, {1})) ||
      failed(c.rank("key_cache", kc, {4})) || failed(c.rank("value_cache", vc, {4})))
    return failure();
  if (failed(c.floatElement("key_cache", kc)) ||
      failed(c.sameElement("value_cache", vc, "key_cache", kc)) ||
      failed(c.sameElement("key", k, "key_cache", kc)) ||
      failed(c.sameElement("value", v, "key_cache", kc)) ||
      failed(c.element("slot_mapping", slots, IntegerType::get(getContext(), 64))))
    return failure();
  for (int64_t i = 0; i < 4; ++i)
    if (failed(c.dim("cache shape", "value_cache", vc, i, "key_cache", kc, i)))
      return failure();
  for (int64_t i = 0; i < 3; ++i)
    if (failed(c.dim("shape", "value", v, i, "key", k, i)))
      return failure();
  return failure(failed(c.blockSize("key_cache", kc)) ||
                 failed(c.headDim("key_cache", kc, 3)) ||
                 failed(c.dim("number of tokens", "slot_mapping", slots, 0, "key", k, 0)) ||
                 failed(c.dim("key/value heads", "key", k, 1, "key_cache", kc, 2)) ||
                 failed(c.dim("head dimension", "key", k, 2, "key_cache", kc, 3)));
}

void PagedKVWriteOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  dpsEffects(*this, /*initsRead=*/true, effects);
}

//===----------------------------------------------------------------------===//
// CopyBlocksOp
//===----------------------------------------------------------------------===//

LogicalResult CopyBlocksOp::verify() {
  Checker c{*this};
  Value map = getBlockMapping(), kc = getKeyCache(), vc = getValueCache();
  if (failed(c.sizes({{"block_mapping", map}, {"key_cache", kc}, {"value_cache", vc}})) ||
      failed(c.oneForm()) || failed(c.rank("block_mapping", map, {2})) ||
      failed(c.rank("key_cache", kc, {4})) || failed(c.rank("value_cache", vc, {4})) ||
      failed(c.element("block_mapping", map, IntegerType::get(getContext(), 64))) ||
      failed(c.floatElement("key_cache", kc)) ||
      failed(c.sameElement("value_cache", vc, "key_cache", kc)))
    return failure();
  int64_t pair = c.type(map).getDimSize(1);
  if (pair != 2)
    return emitOpError() << "operand 'block_mapping' must have shape [N, 2] of "
                            "(src, dst) pairs, got dimension 1 of size "
                         << (ShapedType::isDynamic(pair) ? std::string("?")
                                                         : std::to_string(pair));
  for (int64_t i = 0; i < 4; ++i)
    if (failed(c.dim("cache shape", "value_cache", vc, i, "key_cache", kc, i)))
      return failure();
  return failure(failed(c.blockSize("key_cache", kc)) ||
                 failed(c.headDim("key_cache", kc, 3)));
}

void CopyBlocksOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  dpsEffects(*this, /*initsRead=*/true, effects);
}
