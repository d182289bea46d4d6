// RUN: tessel-opt %s -tessel-cpu-pipeline | FileCheck %s

// Tensor form in, LLVM dialect out; the function writes its init argument.
// CHECK-LABEL: llvm.func @kernel
// CHECK-NOT: tessel.
// CHECK-NOT: memref.
// CHECK: llvm.fmul
// CHECK-LABEL: llvm.func @_mlir_ciface_kernel
func.func @kernel(%a: tensor<16x32xbf16>, %b: tensor<32x8xbf16>, %i: tensor<16x8xbf16>) attributes {llvm.emit_c_interface} {
  %d = tessel.gemm %a, %b into %i : tensor<16x32xbf16>, tensor<32x8xbf16> into tensor<16x8xbf16> -> tensor<16x8xbf16>
  bufferization.materialize_in_destination %d in %i : (tensor<16x8xbf16>, tensor<16x8xbf16>) -> tensor<16x8xbf16>
  return
}
