//===- CheckTypes.cpp - tessel-check-types --------------------------------===//
//
// Rejects the types upstream passes assert on before any of them runs:
// shaped types whose element count or byte size overflows int64, and tensors
// of element types that bufferization cannot put in a memref.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "tessel/Passes.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELCHECKTYPES
#include "tessel/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// The first type nested in `t` (t itself, or inside a function, tuple, ...
/// type) that upstream passes would assert on, with the reason.
std::optional<std::pair<Type, std::string>> oversized(Type t) {
  std::optional<std::pair<Type, std::string>> found;
  t.walk([&](Type sub) {
    if (found)
      return WalkResult::interrupt();
    if (auto tensor = dyn_cast<TensorType>(sub);
        tensor && !BaseMemRefType::isValidElementType(tensor.getElementType()))
      found = {sub, "its element type cannot be bufferized (no memref holds it)"};
    else if (auto shaped = dyn_cast<ShapedType>(sub))
      if (std::optional<std::string> why = sizeOverflowReason(shaped))
        found = {sub, *why};
    return WalkResult::advance();
  });
  return found;
}

struct TesselCheckTypes : tessel::impl::TesselCheckTypesBase<TesselCheckTypes> {
  void runOnOperation() override {
    WalkResult result = getOperation()->walk([](Operation *op) {
      auto report = [&](Type t, const std::string &why, const Twine &where) {
        op->emitError() << where << " has type " << t << ", which tessel cannot lower: " << why;
        return WalkResult::interrupt();
      };
      for (OpResult r : op->getResults())
        if (auto bad = oversized(r.getType()))
          return report(bad->first, bad->second, "result #" + Twine(r.getResultNumber()));
      for (Region &region : op->getRegions())
        for (Block &block : region)
          for (BlockArgument arg : block.getArguments())
            if (auto bad = oversized(arg.getType()))
              return report(bad->first, bad->second,
                            "block argument #" + Twine(arg.getArgNumber()));
      for (NamedAttribute attr : op->getAttrs()) {
        std::optional<std::pair<Type, std::string>> bad;
        attr.getValue().walk([&](Type t) {
          if (!bad)
            bad = oversized(t);
        });
        if (bad) {
          op->emitError() << "attribute '" << attr.getName().getValue() << "' holds type "
                          << bad->first << ", which tessel cannot lower: " << bad->second;
          return WalkResult::interrupt();
        }
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
