//===- InitTessel.cpp - registration shared by tessel-opt and the C API ---===//

#include "tessel/InitTessel.h"

#include "mlir/Pass/PassRegistry.h"
#include "tessel/Passes.h"

using namespace mlir;

void tessel::registerTesselPasses() {
  // The Python package may call this once per context it sets up; the global
  // registry asserts on duplicate names.
  static bool registered = [] {
    registerTesselTransformsPasses();
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
    return true;
  }();
  (void)registered;
}
