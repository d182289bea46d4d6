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

#define GET_OP_CLASSES
#include "tessel/TesselOps.h.inc"

#endif // TESSEL_TESSELOPS_H
