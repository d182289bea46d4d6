// RUN: tessel-opt %s -split-input-file | tessel-opt -split-input-file | FileCheck %s

// Fields left at their default are not printed; the rest round-trip.
// CHECK-LABEL: func @configured
// CHECK: tessel.gemm {{.*}} {config = #tessel.gemm_config<strategy = "mma", block_m = 64, warps_n = 4, stages = 4>}
func.func @configured(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "mma", block_m = 64, warps_n = 4, stages = 4>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}

// -----

// CHECK-LABEL: func @empty_config
// CHECK: tessel.gemm {{.*}} {config = #tessel.gemm_config<>}
func.func @empty_config(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}
