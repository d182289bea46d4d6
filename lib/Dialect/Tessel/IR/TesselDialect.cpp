//===- TesselDialect.cpp - tessel dialect ---------------------------------===//

#include "tessel/TesselDialect.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "tessel/TesselOps.h"

using namespace mlir;
using namespace mlir::tessel;

#include "tessel/TesselDialect.cpp.inc"

void TesselDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "tessel/TesselOps.cpp.inc"
      >();
  // The models live in BufferizableOpInterfaceImpl.cpp and are attached by
  // registerTesselDialects; promising them makes a registry that forgot them
  // fail loudly instead of leaving the ops silently unbufferized.
  declarePromisedInterfaces<bufferization::BufferizableOpInterface, GemmOp,
                            FlashAttentionOp, PagedAttentionOp, PagedKVWriteOp,
                            CopyBlocksOp>();
}
