//===- WarpRole.cpp - warpgroups, producer/consumer roles, registers ------===//

#include "GPU/WarpRole.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::tessel;

void mlir::tessel::splitRoles(KernelBuilder &e, Value warpgroup, function_ref<void()> producer,
                              function_ref<void(Value)> consumer) {
  auto ifOp = scf::IfOp::create(e.b, e.loc, e.eq(warpgroup, e.idx(0)), /*withElse=*/true);
  OpBuilder::InsertionGuard guard(e.b);
  e.b.setInsertionPointToStart(ifOp.thenBlock());
  producer();
  e.b.setInsertionPointToStart(ifOp.elseBlock());
  consumer(e.sub(warpgroup, e.idx(1)));
}

std::string mlir::tessel::maxRegistersError(int64_t count) {
  if (count >= 24 && count <= 256 && count % 8 == 0)
    return "";
  return "register count " + std::to_string(count) + " must be a multiple of 8 in [24, 256]";
}

void mlir::tessel::setMaxRegisters(KernelBuilder &e, int64_t count, bool increase) {
  assert(maxRegistersError(count).empty() && "setMaxRegisters: check the count first");
  NVVM::SetMaxRegisterOp::create(
      e.b, e.loc, e.b.getI32IntegerAttr(count),
      NVVM::SetMaxRegisterActionAttr::get(e.b.getContext(),
                                          increase ? NVVM::SetMaxRegisterAction::increase
                                                   : NVVM::SetMaxRegisterAction::decrease));
}

Value mlir::tessel::electOneLane(KernelBuilder &e) {
  return NVVM::ElectSyncOp::create(e.b, e.loc, e.b.getI1Type(), Value());
}
