// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu | FileCheck %s

// One 16-byte vector per thread over (token, vector); negative slots skipped.
// CHECK-LABEL: func @kv_write
// CHECK: %[[T:.*]] = memref.dim %{{.*}}, %c0 : memref<?x2x64xf16>
// CHECK: %[[N:.*]] = arith.muli %[[T]], %c16
// CHECK: %[[G:.*]] = arith.ceildivui %[[N]], %c128
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[G]]
// CHECK: arith.cmpi sle, %c0{{.*}}, %{{.*}}
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<{{[0-9]+}}xf16>, vector<8xf16>
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<{{[0-9]+}}xf16>, vector<8xf16>
func.func @kv_write(%k: memref<?x2x64xf16>, %v: memref<?x2x64xf16>, %slots: memref<?xi64>,
                    %kc: memref<?x16x2x64xf16>, %vc: memref<?x16x2x64xf16>) {
  tessel.paged_kv_write %k, %v, %slots into %kc, %vc
      : memref<?x2x64xf16>, memref<?x2x64xf16>, memref<?xi64> into memref<?x16x2x64xf16>, memref<?x16x2x64xf16>
  return
}

// -----

// A block per (pair, group of 32 * warps vectors); f32 moves 4 per vector.
// CHECK-LABEL: func @copy_blocks
// CHECK: %[[P:.*]] = memref.dim %{{.*}}, %c0 : memref<?x2xi64>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[P]], {{.*}} = %c8{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c64
// CHECK: vector.load {{.*}} vector<4xf32>
func.func @copy_blocks(%m: memref<?x2xi64>, %kc: memref<32x16x2x64xf32>, %vc: memref<32x16x2x64xf32>) {
  tessel.copy_blocks %m into %kc, %vc {config = #tessel.paged_config<warps = 2>}
      : memref<?x2xi64> into memref<32x16x2x64xf32>, memref<32x16x2x64xf32>
  return
}
