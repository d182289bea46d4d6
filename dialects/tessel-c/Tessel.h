/*===- tessel-c/Tessel.h - C API of the tessel plugin -------------*- C -*-===*\
|* Reached from Python through ctypes (python/tessel/_native.py).            *|
\*===----------------------------------------------------------------------===*/
#ifndef TESSEL_C_TESSEL_H
#define TESSEL_C_TESSEL_H

#include "mlir-c/IR.h"
#include "mlir-c/RegisterEverything.h"

#ifdef __cplusplus
extern "C" {
#endif

MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Tessel, tessel);

/// Inserts the tessel dialect and its interface models into `registry`.
MLIR_CAPI_EXPORTED void tesselRegisterDialects(MlirDialectRegistry registry);

/// Registers the tessel passes and pipelines in the global pass registry.
MLIR_CAPI_EXPORTED void tesselRegisterPasses(void);

/// Runs a textual pass pipeline (no anchor: it is anchored on `op`'s name)
/// on `op`. Returns NULL on success, else a malloc'd string holding every
/// diagnostic, to be released with tesselFreeString. Unlike the Python
/// bindings' PassManager.run, an error diagnostic emitted by a pass that still
/// reports success counts as a failure instead of aborting the process.
MLIR_CAPI_EXPORTED char *tesselRunPassPipeline(MlirOperation op, const char *pipeline);

MLIR_CAPI_EXPORTED void tesselFreeString(char *string);

/// The version string the compile cache keys on.
MLIR_CAPI_EXPORTED const char *tesselVersion(void);

#ifdef __cplusplus
}
#endif

#endif /* TESSEL_C_TESSEL_H */
