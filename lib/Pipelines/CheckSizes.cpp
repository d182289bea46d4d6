//===- CheckSizes.cpp - tessel-check-sizes --------------------------------===//
//
// Rejects shaped types whose element count or byte size overflows int64
// before any pass asks MLIR's layout utilities about them (they assert).
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "tessel/Passes.h"
#include "tessel/TesselOps.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELCHECKSIZES
#include "tessel/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// The first ranked shaped type nested in `t` (t itself, or inside a function,
/// tuple, ... type) that is too large, with the reason.
std::optional<std::pair<Type, std::string>> oversized(Type t) {
  std::optional<std::pair<Type, std::string>> found;
  t.walk([&](Type sub) {
    if (found)
      return WalkResult::interrupt();
    if (auto shaped = dyn_cast<ShapedType>(sub))
      if (std::optional<std::string> why = sizeOverflowReason(shaped))
        found = {sub, *why};
    return WalkResult::advance();
  });
  return found;
}

struct TesselCheckSizes : tessel::impl::TesselCheckSizesBase<TesselCheckSizes> {
  void runOnOperation() override {
    WalkResult result = getOperation()->walk([](Operation *op) {
      auto report = [&](Type t, const std::string &why, const Twine &where) {
        op->emitError() << where << " has type " << t << ", which is too large: " << why;
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
                          << bad->first << ", which is too large: " << bad->second;
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
