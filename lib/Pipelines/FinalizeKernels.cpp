//===- FinalizeKernels.cpp - tessel-finalize-kernels ----------------------===//
//
// Kernel arguments fed by a host-side tensor map (lib/GPU/Tma.h: an
// nvgpu.tma.create.descriptor cast to !llvm.ptr) become 128-byte by-value
// grid constants, the parameter cuLaunchKernel fills from runtime/kernel.py;
// kernels that rebalance registers with setmaxnreg get the launch bound
// ptxas needs to honour it; kernels launched in clusters declare the
// cluster's shape (.reqnctapercluster), which is how a plain cuLaunchKernel
// of the whole grid runs them in clusters; every kernel first waits for the
// grid before it (griddepcontrol.wait), which lets the runtime launch it
// with programmatic stream serialization: the driver then launches it while
// the previous kernel drains, instead of after (runtime/driver.py).
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "tessel/Passes.h"

namespace mlir::tessel {
#define GEN_PASS_DEF_TESSELFINALIZEKERNELS
#include "tessel/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;

namespace {

bool isTensorMap(Value v) {
  auto cast = v.getDefiningOp<UnrealizedConversionCastOp>();
  return cast && cast->getNumOperands() == 1 &&
         isa<nvgpu::TensorMapDescriptorType>(cast->getOperand(0).getType());
}

struct FinalizeKernels : tessel::impl::TesselFinalizeKernelsBase<FinalizeKernels> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    auto byval = TypeAttr::get(LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), 128));
    if (failed(declareClusters()))
      return signalPassFailure();
    WalkResult result = getOperation().walk([&](gpu::LaunchFuncOp launch) {
      ValueRange operands = launch.getKernelOperands();
      if (llvm::none_of(operands, isTensorMap))
        return WalkResult::advance();
      auto fn = SymbolTable::lookupNearestSymbolFrom<LLVM::LLVMFuncOp>(launch,
                                                                        launch.getKernel());
      if (!fn) {
        launch.emitError() << "tessel-finalize-kernels: kernel " << launch.getKernel()
                           << " takes a tensor map but is not an llvm.func; run the pass "
                              "after the GPU-to-NVVM conversion";
        return WalkResult::interrupt();
      }
      if (fn.getNumArguments() != operands.size()) {
        launch.emitError() << "tessel-finalize-kernels: kernel " << launch.getKernel()
                           << " has " << fn.getNumArguments() << " arguments for "
                           << operands.size()
                           << " launch operands; tensor maps need bare-pointer memref "
                              "arguments (one per operand)";
        return WalkResult::interrupt();
      }
      for (auto [i, v] : llvm::enumerate(operands)) {
        if (!isTensorMap(v))
          continue;
        if (!isa<LLVM::LLVMPointerType>(fn.getArgument(i).getType())) {
          launch.emitError() << "tessel-finalize-kernels: kernel " << launch.getKernel()
                             << " argument " << i << " receives a tensor map but has type "
                             << fn.getArgument(i).getType() << ", not !llvm.ptr";
          return WalkResult::interrupt();
        }
        fn.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(), byval);
        fn.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(64));
        fn.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(), b.getUnitAttr());
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    getOperation().walk([&](LLVM::LLVMFuncOp fn) {
      if (!fn->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName()) || fn.empty())
        return;
      waitForPriorGrid(fn);
      if (fn->hasAttr(NVVM::NVVMDialect::getMinctasmAttrName()))
        return;
      if (fn.walk([](NVVM::SetMaxRegisterOp) { return WalkResult::interrupt(); })
              .wasInterrupted())
        fn->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(), b.getI32IntegerAttr(1));
    });
  }

  /// A kernel reads nothing before the grid launched ahead of it on the
  /// stream has completed and its memory is visible: the kernel is then
  /// correct under a programmatic (early) launch as under a plain one, in
  /// which the wait returns at once. No kernel signals its dependents early
  /// (griddepcontrol.launch_dependents): a waiting grid's blocks would hold
  /// SM resources that a multi-wave kernel's later blocks still need.
  static void waitForPriorGrid(LLVM::LLVMFuncOp fn) {
    Block &entry = fn.getBody().front();
    if (!entry.empty())
      if (auto first = dyn_cast<NVVM::GriddepcontrolOp>(entry.front()))
        if (first.getKind() == NVVM::GridDepActionKind::wait)
          return;
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    NVVM::GriddepcontrolOp::create(b, fn.getLoc(), NVVM::GridDepActionKind::wait);
  }

  LogicalResult declareClusters() {
    WalkResult result = getOperation().walk([&](gpu::LaunchFuncOp launch) {
      if (!launch.hasClusterSize())
        return WalkResult::advance();
      auto fn = SymbolTable::lookupNearestSymbolFrom<LLVM::LLVMFuncOp>(launch,
                                                                        launch.getKernel());
      if (!fn) {
        launch.emitError() << "tessel-finalize-kernels: kernel " << launch.getKernel()
                           << " is launched in clusters but is not an llvm.func; run the "
                              "pass after the GPU-to-NVVM conversion";
        return WalkResult::interrupt();
      }
      SmallVector<int32_t> dims;
      for (Value v : {launch.getClusterSizeX(), launch.getClusterSizeY(),
                      launch.getClusterSizeZ()}) {
        std::optional<int64_t> d = getConstantIntValue(v);
        if (!d || *d < 1 || *d > 8) {
          launch.emitError() << "tessel-finalize-kernels: kernel " << launch.getKernel()
                             << " needs a constant cluster size of 1 to 8 blocks per "
                                "dimension (the kernel declares it)";
          return WalkResult::interrupt();
        }
        dims.push_back(int32_t(*d));
      }
      auto attr = DenseI32ArrayAttr::get(&getContext(), dims);
      Attribute had = fn->getAttr(NVVM::NVVMDialect::getClusterDimAttrName());
      if (had && had != attr) {
        launch.emitError() << "tessel-finalize-kernels: kernel " << launch.getKernel()
                           << " is launched with clusters of two shapes";
        return WalkResult::interrupt();
      }
      fn->setAttr(NVVM::NVVMDialect::getClusterDimAttrName(), attr);
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }
};

} // namespace
