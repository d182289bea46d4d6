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

void mlir::tessel::namedBarrier(KernelBuilder &e, int64_t id, int64_t threads) {
  assert(id > 0 && id < 16 && threads % 32 == 0 && "namedBarrier: id 1..15, whole warps");
  NVVM::BarrierOp::create(e.b, e.loc, TypeRange{}, e.i32(id), e.i32(threads), {}, Value());
}

void mlir::tessel::namedBarrier(KernelBuilder &e, Value id, int64_t threads) {
  assert(threads % 32 == 0 && "namedBarrier: whole warps");
  Value id32 = arith::IndexCastUIOp::create(e.b, e.loc, e.b.getI32Type(), id);
  NVVM::BarrierOp::create(e.b, e.loc, TypeRange{}, id32, e.i32(threads), {}, Value());
}

void mlir::tessel::namedBarrierArrive(KernelBuilder &e, Value id, int64_t threads) {
  assert(threads % 32 == 0 && "namedBarrierArrive: whole warps");
  Value id32 = arith::IndexCastUIOp::create(e.b, e.loc, e.b.getI32Type(), id);
  NVVM::BarrierArriveOp::create(e.b, e.loc, id32, e.i32(threads));
}

Value mlir::tessel::electOneLane(KernelBuilder &e) {
  return NVVM::ElectSyncOp::create(e.b, e.loc, e.b.getI1Type(), Value());
}
