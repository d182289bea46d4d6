// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu=strategy=smem | FileCheck %s

// Each gemm's config attribute picks its own rung; the pass option (smem) is
// the default of the one without.
// CHECK-LABEL: func @two_configs
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size
// CHECK: nvgpu.ldmatrix
// CHECK: nvgpu.mma.sync
// CHECK: gpu.launch {{.*}} workgroup(%{{.*}} : memref<32x32xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: nvgpu.mma.sync
func.func @two_configs(%a: memref<64x64xf16>, %d: memref<64x64xf32>, %e: memref<64x64xf32>) {
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "mma", block_m = 64, block_n = 64>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  tessel.gemm %a, %a into %e : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}

// -----

// A run-time M: read once outside the kernel, the grid computed from it,
// the operands viewed with a static bound so the kernel takes bare pointers.
// CHECK-LABEL: func @run_time_m
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf16>, %[[B:.*]]: memref<64x128xf16>, %[[D:.*]]: memref<?x128xf32>)
// CHECK: %[[M:.*]] = memref.dim %[[D]], %c0
// CHECK: memref.reinterpret_cast %[[A]] to offset: [0], sizes: [2147483647, 64], strides: [64, 1] : memref<?x64xf16> to memref<2147483647x64xf16>
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[M]], %c128
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %[[GRID]], {{.*}} = %c1{{.*}})
// CHECK: arith.cmpi ult, %{{.*}}, %[[M]]
func.func @run_time_m(%a: memref<?x64xf16>, %b: memref<64x128xf16>, %d: memref<?x128xf32>) {
  tessel.gemm %a, %b into %d {config = #tessel.gemm_config<strategy = "wgmma", block_n = 128>} : memref<?x64xf16>, memref<64x128xf16> into memref<?x128xf32>
  return
}
