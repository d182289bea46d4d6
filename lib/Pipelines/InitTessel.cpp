//===- InitTessel.cpp - registration shared by tessel-opt and the C API ---===//

#include "tessel/InitTessel.h"

#include "mlir/Pass/PassRegistry.h"
#include "tessel/Passes.h"

#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

namespace mlir::tessel::test {
// Test-only passes (test/lib), linked into tessel-opt and the C API.
void registerTestPasses();
} // namespace mlir::tessel::test

static void addGPUTargetPipeline(OpPassManager &pm) {
  if (failed(parsePassPipeline("nvvm-attach-target{chip=sm_90a features=+ptx80 O=3},"
                               "gpu-module-to-binary{format=isa}",
                               pm, llvm::errs())))
    llvm::report_fatal_error("tessel: invalid built-in pipeline");
}

void tessel::registerTesselPasses() {
  // The Python package may call this once per context it sets up; the global
  // registry asserts on duplicate names.
  static bool registered = [] {
    registerTesselTransformsPasses();
    test::registerTestPasses();
    PassPipelineRegistration<>("tessel-bufferize",
                               "Tensor-form tessel to memref form, in place "
                               "on function arguments",
                               buildTesselBufferizePipeline);
    PassPipelineRegistration<>("tessel-cpu-lower",
                               "Memref-form tessel to loops for the host",
                               buildTesselCPULowerPipeline);
    PassPipelineRegistration<>("tessel-cpu-to-llvm",
                               "Host loops to the LLVM dialect",
                               buildTesselCPUToLLVMPipeline);
    PassPipelineRegistration<>(
        "tessel-cpu-pipeline",
        "Tensor-form tessel to the LLVM dialect for the host ExecutionEngine",
        [](OpPassManager &pm) {
          buildTesselBufferizePipeline(pm);
          buildTesselCPULowerPipeline(pm);
          buildTesselCPUToLLVMPipeline(pm);
        });
    PassPipelineRegistration<>("tessel-gpu-lower",
                               "Memref-form tessel.gemm to outlined GPU kernels",
                               buildTesselGPULowerPipeline);
    PassPipelineRegistration<>("tessel-gpu-to-nvvm",
                               "GPU kernels to the NVVM dialect",
                               buildTesselGPUToNVVMPipeline);
    PassPipelineRegistration<>(
        "tessel-gpu-pipeline",
        "Tensor-form tessel.gemm to PTX in a gpu.binary (sm_90a)",
        [](OpPassManager &pm) {
          buildTesselBufferizePipeline(pm);
          buildTesselGPULowerPipeline(pm);
          buildTesselGPUToNVVMPipeline(pm);
          addGPUTargetPipeline(pm);
        });
    return true;
  }();
  (void)registered;
}
