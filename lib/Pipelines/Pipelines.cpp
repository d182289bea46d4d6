//===- Pipelines.cpp - tessel pass pipelines ------------------------------===//
//
// Each stage is written as textual pipeline so that what runs is exactly what
// `tessel-opt --dump-pass-pipeline` and the Python `.ir(stage)` dumps show.
//
//===----------------------------------------------------------------------===//

#include "mlir/Pass/PassRegistry.h"
#include "tessel/Passes.h"

#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

static void addTextual(OpPassManager &pm, StringRef pipeline) {
  // These strings are fixed at build time; a failure is a tessel bug.
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("tessel: invalid built-in pipeline");
}

// tessel-check-types opens each host pipeline: upstream passes assert on
// shaped types whose sizes overflow int64 (tessel ops reject such operands in
// their verifiers, but a function signature may still carry one).

void tessel::buildTesselBufferizePipeline(OpPassManager &pm) {
  addTextual(pm, "tessel-check-types,"
                 "one-shot-bufferize{bufferize-function-boundaries "
                 "function-boundary-type-conversion=identity-layout-map},"
                 "drop-equivalent-buffer-results,"
                 "buffer-deallocation-pipeline,canonicalize");
}

void tessel::buildTesselCPULowerPipeline(OpPassManager &pm) {
  addTextual(pm, "tessel-check-types,convert-tessel-to-linalg,func.func(convert-linalg-to-loops),"
                 "canonicalize,cse");
}

void tessel::buildTesselCPUToLLVMPipeline(OpPassManager &pm) {
  // bf16 conversions are expanded to integer code: the host JIT has no
  // runtime library for them.
  addTextual(pm, "tessel-check-types,lower-affine,func.func(arith-expand{include-bf16=true}),"
                 "convert-scf-to-cf,expand-strided-metadata,lower-affine,"
                 "finalize-memref-to-llvm,convert-math-to-llvm,"
                 "convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,"
                 "reconcile-unrealized-casts");
}

void tessel::buildTesselGPULowerPipeline(OpPassManager &pm) {
  addTextual(pm, "convert-tessel-to-gpu,gpu-kernel-outlining,canonicalize");
}

void tessel::buildTesselGPUToNVVMPipeline(OpPassManager &pm) {
  // Bare-pointer memref arguments: kernels take one device pointer per
  // (statically shaped) operand, which is what the Python runtime passes.
  // Vector ops go last: convert-gpu-to-nvvm first maps the workgroup memory
  // space to an NVVM address space. convert-nvvm-to-llvm turns the NVVM ops
  // with no LLVM intrinsic (wgmma) into inline PTX. Tensor-map arguments
  // become by-value grid constants once the kernels are llvm.funcs.
  addTextual(pm, "gpu.module(convert-nvgpu-to-nvvm,lower-affine,convert-scf-to-cf,"
                 "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=true},"
                 "convert-vector-to-llvm,convert-nvvm-to-llvm,canonicalize,cse,"
                 "reconcile-unrealized-casts),"
                 "tessel-finalize-kernels");
}
