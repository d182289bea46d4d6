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

/// Lines of each diagnostic note kept in the message returned to Python.
static constexpr size_t kNoteLines = 12;

char *tesselRunPassPipeline(MlirOperation op, const char *pipeline) {
  mlir::Operation *operation = unwrap(op);
  mlir::MLIRContext *ctx = operation->getContext();
  std::string text;
  llvm::raw_string_ostream os(text);
  bool sawError = false;
  mlir::ScopedDiagnosticHandler handler(ctx, [&](mlir::Diagnostic &diag) {
    sawError |= diag.getSeverity() == mlir::DiagnosticSeverity::Error;
    os << diag.getLocation() << ": " << diag << "\n";
    for (mlir::Diagnostic &note : diag.getNotes()) {
      // Notes may carry a whole module ("see current operation"): an
      // exception message keeps its head, tessel-opt shows all of it.
      std::string body = note.str();
      llvm::SmallVector<llvm::StringRef> lines;
      llvm::StringRef(body).split(lines, '\n');
      os << "  note: " << note.getLocation() << ": ";
      for (auto [i, line] : llvm::enumerate(lines)) {
        if (i == kNoteLines) {
          os << "    ... (" << lines.size() - kNoteLines
             << " more lines; run the pipeline with tessel-opt for the whole text)\n";
          break;
        }
        os << (i ? "    " : "") << line << "\n";
      }
    }
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
