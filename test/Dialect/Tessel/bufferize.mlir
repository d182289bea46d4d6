// RUN: tessel-opt %s -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -split-input-file | FileCheck %s

// gemm writes its init without reading it: no copy of %i is made.
// CHECK-LABEL: func @gemm
// CHECK-SAME: (%[[A:.*]]: memref<16x32xf16>, %[[B:.*]]: memref<32x8xf16>, %[[I:.*]]: memref<16x8xf32>)
// CHECK-NOT: memref.copy
// CHECK: tessel.gemm %[[A]], %[[B]] into %[[I]] {alpha = 2.000000e+00 : f32} : memref<16x32xf16>, memref<32x8xf16> into memref<16x8xf32>
// CHECK: return %[[I]]
func.func @gemm(%a: tensor<16x32xf16>, %b: tensor<32x8xf16>, %i: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %d = tessel.gemm %a, %b into %i {alpha = 2.0 : f32} : tensor<16x32xf16>, tensor<32x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return %d : tensor<16x8xf32>
}

// -----

// The caches are read and written in place.
// CHECK-LABEL: func @kv_then_copy
// CHECK-SAME: %[[KC:[a-z0-9]+]]: memref<32x16x2x64xf16>, %[[VC:[a-z0-9]+]]: memref<32x16x2x64xf16>
// CHECK-NOT: memref.alloc
// CHECK: tessel.paged_kv_write %{{.*}}, %{{.*}}, %{{.*}} into %[[KC]], %[[VC]]
// CHECK: tessel.copy_blocks %{{.*}} into %[[KC]], %[[VC]]
func.func @kv_then_copy(%k: tensor<7x2x64xf16>, %s: tensor<7xi64>, %m: tensor<1x2xi64>, %kc: tensor<32x16x2x64xf16>, %vc: tensor<32x16x2x64xf16>) -> (tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>) {
  %r:2 = tessel.paged_kv_write %k, %k, %s into %kc, %vc : tensor<7x2x64xf16>, tensor<7x2x64xf16>, tensor<7xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
  %c:2 = tessel.copy_blocks %m into %r#0, %r#1 : tensor<1x2xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
  return %c#0, %c#1 : tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
}

// -----

// Reading the old cache after the write forces a copy of the cache first.
// CHECK-LABEL: func @kv_write_keeps_old
// CHECK: %[[NEW:.*]] = memref.alloc
// CHECK: memref.copy %{{.*}}, %[[NEW]]
// CHECK: tessel.paged_kv_write %{{.*}} into %[[NEW]]
func.func @kv_write_keeps_old(%k: tensor<7x2x64xf16>, %s: tensor<7xi64>, %kc: tensor<32x16x2x64xf16>, %vc: tensor<32x16x2x64xf16>) -> (tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>) {
  %r:2 = tessel.paged_kv_write %k, %k, %s into %kc, %vc : tensor<7x2x64xf16>, tensor<7x2x64xf16>, tensor<7xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
  return %r#0, %r#1, %kc : tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
}

// -----

// CHECK-LABEL: func @attention
// CHECK: tessel.flash_attention %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}}, %{{.*}} {causal} : memref<1x4x16x32xf16>, memref<1x4x16x32xf16>, memref<1x4x16x32xf16> into memref<1x4x16x32xf16>, memref<1x4x16xf32>
// CHECK: tessel.paged_attention {{.*}} : memref<4x8x64xf16>
func.func @attention(%q: tensor<1x4x16x32xf16>, %o: tensor<1x4x16x32xf16>, %l: tensor<1x4x16xf32>, %pq: tensor<4x8x64xf16>, %kc: tensor<128x16x2x64xf16>, %bt: tensor<4x32xi32>, %lens: tensor<4xi32>, %po: tensor<4x8x64xf16>) -> (tensor<1x4x16x32xf16>, tensor<1x4x16xf32>, tensor<4x8x64xf16>) {
  %r:2 = tessel.flash_attention %q, %q, %q into %o, %l {causal} : tensor<1x4x16x32xf16>, tensor<1x4x16x32xf16>, tensor<1x4x16x32xf16> into tensor<1x4x16x32xf16>, tensor<1x4x16xf32> -> tensor<1x4x16x32xf16>, tensor<1x4x16xf32>
  %p = tessel.paged_attention %pq, %kc, %kc, %bt, %lens into %po : tensor<4x8x64xf16>, tensor<128x16x2x64xf16>, tensor<128x16x2x64xf16>, tensor<4x32xi32>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
  return %r#0, %r#1, %p : tensor<1x4x16x32xf16>, tensor<1x4x16xf32>, tensor<4x8x64xf16>
}

// -----

// The length bounds stay index operands; O and LSE are written in place.
// CHECK-LABEL: func @varlen
// CHECK-SAME: %[[MQ:[a-z0-9]+]]: index, %[[MK:[a-z0-9]+]]: index, %[[O:[a-z0-9]+]]: memref<?x4x32xf16>, %[[L:[a-z0-9]+]]: memref<4x?xf32>
// CHECK-NOT: memref.copy
// CHECK: tessel.flash_attention_varlen %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[MQ]], %[[MK]] into %[[O]], %[[L]] : memref<?x4x32xf16>
// CHECK: return %[[O]], %[[L]]
func.func @varlen(%q: tensor<?x4x32xf16>, %k: tensor<?x4x32xf16>, %cu: tensor<3xi32>, %mq: index, %mk: index, %o: tensor<?x4x32xf16>, %l: tensor<4x?xf32>) -> (tensor<?x4x32xf16>, tensor<4x?xf32>) {
  %r:2 = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o, %l : tensor<?x4x32xf16>, tensor<?x4x32xf16>, tensor<?x4x32xf16>, tensor<3xi32>, tensor<3xi32> into tensor<?x4x32xf16>, tensor<4x?xf32> -> tensor<?x4x32xf16>, tensor<4x?xf32>
  return %r#0, %r#1 : tensor<?x4x32xf16>, tensor<4x?xf32>
}
