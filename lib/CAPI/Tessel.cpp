//===- Tessel.cpp - C API of the tessel Python plugin ---------------------===//

#include "tessel-c/Tessel.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include "tessel/InitTessel.h"
#include "tessel/TesselDialect.h"

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Tessel, tessel, mlir::tessel::TesselDialect)

void tesselRegisterDialects(MlirDialectRegistry registry) {
  mlir::tessel::registerTesselDialects(*unwrap(registry));
}

void tesselRegisterPasses(void) { mlir::tessel::registerTesselPasses(); }

const char *tesselVersion(void) { return TESSEL_VERSION; }

char *tesselRunPassPipeline(MlirOperation op, const char *pipeline) {
  mlir::Operation *operation = unwrap(op);
  mlir::MLIRContext *ctx = operation->getContext();
  std::string text;
  llvm::raw_string_ostream os(text);
  bool sawError = false;
  mlir::ScopedDiagnosticHandler handler(ctx, [&](mlir::Diagnostic &diag) {
    sawError |= diag.getSeverity() == mlir::DiagnosticSeverity::Error;
    os << diag.getLocation() << ": " << diag << "\n";
    for (mlir::Diagnostic &note : diag.getNotes())
      os << "  note: " << note.getLocation() << ": " << note << "\n";
    return mlir::success();
  });
  mlir::PassManager pm(ctx, operation->getName().getStringRef());
  bool ok = mlir::succeeded(mlir::parsePassPipeline(pipeline, pm, os)) &&
            mlir::succeeded(pm.run(operation)) && !sawError;
  if (ok)
    return nullptr;
  if (text.empty())
    text = "pass pipeline failed";
  char *out = static_cast<char *>(std::malloc(text.size() + 1));
  std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

void tesselFreeString(char *string) { std::free(string); }
