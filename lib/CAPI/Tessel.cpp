//===- Tessel.cpp - C API of the tessel Python plugin ---------------------===//

#include "tessel-c/Tessel.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "tessel/InitTessel.h"
#include "tessel/TesselDialect.h"

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Tessel, tessel, mlir::tessel::TesselDialect)

void tesselRegisterDialects(MlirDialectRegistry registry) {
  mlir::tessel::registerTesselDialects(*unwrap(registry));
}

void tesselRegisterPasses(void) { mlir::tessel::registerTesselPasses(); }

const char *tesselVersion(void) { return TESSEL_VERSION; }
