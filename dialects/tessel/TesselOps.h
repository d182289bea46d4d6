//===- TesselOps.h - tessel operations --------------------------*- C++ -*-===//
#ifndef TESSEL_TESSELOPS_H
#define TESSEL_TESSELOPS_H

// Generated op classes need these before the .inc (see build-recipe traps).
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "tessel/TesselDialect.h"

#define GET_ATTRDEF_CLASSES
#include "tessel/TesselAttrs.h.inc"

namespace mlir::tessel {
/// The product of the static, non-zero dimension sizes of `shape` (the number
/// `MemRefType::isStrided()` and `ShapedType::getNumElements()` compute
/// without overflow checks), or nullopt when it overflows int64.
std::optional<int64_t> staticSizeProduct(ArrayRef<int64_t> shape);

/// The operand constraint of tessel ops on memrefs: strided, or too large for
/// int64 (then `isStrided()` would assert; the op's verifier rejects it).
bool isStridedOrOversized(MemRefType type);

/// Why a ranked shaped type is too large for int64 ("the product of its
/// non-zero static dimensions exceeds ..." or "N elements of B bytes exceed
/// ..."), or nullopt when its element count and byte size fit.
std::optional<std::string> sizeOverflowReason(ShapedType type);
} // namespace mlir::tessel

#define GET_OP_CLASSES
#include "tessel/TesselOps.h.inc"

#endif // TESSEL_TESSELOPS_H
