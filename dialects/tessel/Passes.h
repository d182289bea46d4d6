//===- Passes.h - tessel passes and pipelines -------------------*- C++ -*-===//
#ifndef TESSEL_PASSES_H
#define TESSEL_PASSES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
class RewritePatternSet;
namespace tessel {

#define GEN_PASS_DECL
#include "tessel/Passes.h.inc"

/// Patterns rewriting memref-form tessel ops into linalg/scf/arith/math.
void populateTesselToLinalgConversionPatterns(RewritePatternSet &patterns);

/// Tensor form -> memref form with identity-layout function boundaries;
/// results equivalent to function arguments are dropped, so a function
/// writes its init arguments in place.
void buildTesselBufferizePipeline(OpPassManager &pm);
/// Memref-form tessel -> loops (scf/arith/math/memref) for the host.
void buildTesselCPULowerPipeline(OpPassManager &pm);
/// Loops -> the LLVM dialect for the host ExecutionEngine.
void buildTesselCPUToLLVMPipeline(OpPassManager &pm);

/// Memref-form tessel.gemm -> gpu.launch (default strategy) -> outlined
/// gpu.module/gpu.func + gpu.launch_func.
void buildTesselGPULowerPipeline(OpPassManager &pm);
/// Kernels in gpu.modules -> the NVVM/LLVM dialects.
void buildTesselGPUToNVVMPipeline(OpPassManager &pm);

#define GEN_PASS_REGISTRATION
#include "tessel/Passes.h.inc"

} // namespace tessel
} // namespace mlir

#endif // TESSEL_PASSES_H
