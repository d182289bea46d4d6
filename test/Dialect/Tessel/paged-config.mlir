// RUN: tessel-opt %s -split-input-file | tessel-opt -split-input-file | FileCheck %s

// Fields left at their default are not printed; the rest round-trip.
// CHECK-LABEL: func @configured
// CHECK: tessel.paged_attention {{.*}} {config = #tessel.paged_config<strategy = "v2", warps = 4, stages = 3, partition_size = 1024>}
func.func @configured(%q: memref<2x8x64xf16>, %kc: memref<8x16x2x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x8x64xf16>) {
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<strategy = "v2", warps = 4, stages = 3, partition_size = 1024>} : memref<2x8x64xf16>, memref<8x16x2x64xf16>, memref<8x16x2x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x8x64xf16>
  return
}

// -----

// CHECK-LABEL: func @cache_ops
// CHECK: tessel.paged_kv_write {{.*}} {config = #tessel.paged_config<warps = 8>}
// CHECK: tessel.copy_blocks {{.*}} {config = #tessel.paged_config<>}
func.func @cache_ops(%k: memref<4x2x64xf16>, %slots: memref<4xi64>, %m: memref<1x2xi64>, %kc: memref<8x16x2x64xf16>) {
  tessel.paged_kv_write %k, %k, %slots into %kc, %kc {config = #tessel.paged_config<warps = 8>} : memref<4x2x64xf16>, memref<4x2x64xf16>, memref<4xi64> into memref<8x16x2x64xf16>, memref<8x16x2x64xf16>
  tessel.copy_blocks %m into %kc, %kc {config = #tessel.paged_config<>} : memref<1x2xi64> into memref<8x16x2x64xf16>, memref<8x16x2x64xf16>
  return
}
