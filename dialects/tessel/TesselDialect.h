//===- TesselDialect.h - tessel dialect -------------------------*- C++ -*-===//
#ifndef TESSEL_TESSELDIALECT_H
#define TESSEL_TESSELDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Dialect.h"

namespace mlir::linalg {
class LinalgDialect;
} // namespace mlir::linalg

#include "tessel/TesselDialect.h.inc"

#endif // TESSEL_TESSELDIALECT_H
