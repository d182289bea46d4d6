// RUN: tessel-opt %s -tessel-gpu-pipeline | FileCheck %s

// Tensor form in; the outlined kernel (default strategy: smem) compiled to PTX
// for sm_90a in a gpu.binary, launched from the host function.
// CHECK-LABEL: func.func @kernel
// CHECK: gpu.launch_func @kernel_kernel::@kernel_kernel blocks in ({{.*}}) threads in ({{.*}}) args(%{{.*}} : memref<128x64xf16>, %{{.*}} : memref<64x256xf16>, %{{.*}} : memref<128x256xf32>)
// CHECK: gpu.binary @kernel_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// CHECK-SAME: assembly = "
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .entry kernel_kernel
// CHECK-SAME: ld.shared
// CHECK-SAME: bar.sync
func.func @kernel(%a: tensor<128x64xf16>, %b: tensor<64x256xf16>, %i: tensor<128x256xf32>) {
  %d = tessel.gemm %a, %b into %i : tensor<128x64xf16>, tensor<64x256xf16> into tensor<128x256xf32> -> tensor<128x256xf32>
  bufferization.materialize_in_destination %d in %i : (tensor<128x256xf32>, tensor<128x256xf32>) -> tensor<128x256xf32>
  return
}
