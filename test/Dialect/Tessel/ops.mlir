// RUN: tessel-opt %s | tessel-opt | FileCheck %s
// RUN: tessel-opt %s --mlir-print-op-generic | tessel-opt | FileCheck %s

// CHECK-LABEL: func @gemm_tensor
// CHECK-SAME: (%[[A:.*]]: tensor<16x32xf16>, %[[B:.*]]: tensor<64x32xf16>, %[[C:.*]]: tensor<16x64xf32>, %[[I:.*]]: tensor<16x64xbf16>)
func.func @gemm_tensor(%a: tensor<16x32xf16>, %b: tensor<64x32xf16>, %c: tensor<16x64xf32>, %i: tensor<16x64xbf16>) -> tensor<16x64xbf16> {
  // CHECK: %[[D:.*]] = tessel.gemm %[[A]], %[[B]], %[[C]] into %[[I]] {alpha = 2.000000e+00 : f32, beta = 5.000000e-01 : f32, transpose_b} : tensor<16x32xf16>, tensor<64x32xf16>, tensor<16x64xf32> into tensor<16x64xbf16> -> tensor<16x64xbf16>
  %d = tessel.gemm %a, %b, %c into %i {alpha = 2.0 : f32, beta = 0.5 : f32, transpose_b} : tensor<16x32xf16>, tensor<64x32xf16>, tensor<16x64xf32> into tensor<16x64xbf16> -> tensor<16x64xbf16>
  // CHECK: return %[[D]]
  return %d : tensor<16x64xbf16>
}

// Default alpha/beta are elided.
// CHECK-LABEL: func @gemm_batched_memref
// CHECK: tessel.gemm %{{.*}}, %{{.*}} into %{{.*}} {transpose_a} : memref<2x8x4xf32>, memref<2x8x16xf32> into memref<2x4x16xf32>
// CHECK-NOT: ->
func.func @gemm_batched_memref(%a: memref<2x8x4xf32>, %b: memref<2x8x16xf32>, %d: memref<2x4x16xf32>) {
  tessel.gemm %a, %b into %d {alpha = 1.0 : f32, transpose_a} : memref<2x8x4xf32>, memref<2x8x16xf32> into memref<2x4x16xf32>
  return
}

// CHECK-LABEL: func @flash_attention_lse
// CHECK: %{{.*}}:2 = tessel.flash_attention %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}}, %{{.*}} {causal, scale = 1.250000e-01 : f32} : tensor<1x8x128x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x32xf16> into tensor<1x8x128x32xf16>, tensor<1x8x128xf32> -> tensor<1x8x128x32xf16>, tensor<1x8x128xf32>
func.func @flash_attention_lse(%q: tensor<1x8x128x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x32xf16>, %o: tensor<1x8x128x32xf16>, %l: tensor<1x8x128xf32>) -> (tensor<1x8x128x32xf16>, tensor<1x8x128xf32>) {
  %r:2 = tessel.flash_attention %q, %k, %v into %o, %l {causal, scale = 0.125 : f32} : tensor<1x8x128x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x32xf16> into tensor<1x8x128x32xf16>, tensor<1x8x128xf32> -> tensor<1x8x128x32xf16>, tensor<1x8x128xf32>
  return %r#0, %r#1 : tensor<1x8x128x32xf16>, tensor<1x8x128xf32>
}

// CHECK-LABEL: func @flash_attention_memref
// CHECK: tessel.flash_attention %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} : memref<2x4x16x32xbf16>
func.func @flash_attention_memref(%q: memref<2x4x16x32xbf16>, %k: memref<2x4x16x32xbf16>, %v: memref<2x4x16x32xbf16>, %o: memref<2x4x16x32xbf16>) {
  tessel.flash_attention %q, %k, %v into %o : memref<2x4x16x32xbf16>, memref<2x4x16x32xbf16>, memref<2x4x16x32xbf16> into memref<2x4x16x32xbf16>
  return
}

// CHECK-LABEL: func @paged_attention
// CHECK: tessel.paged_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} : tensor<4x8x64xf16>, tensor<128x16x2x64xf16>, tensor<128x16x2x64xf16>, tensor<4x32xi32>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
func.func @paged_attention(%q: tensor<4x8x64xf16>, %kc: tensor<128x16x2x64xf16>, %vc: tensor<128x16x2x64xf16>, %bt: tensor<4x32xi32>, %lens: tensor<4xi32>, %o: tensor<4x8x64xf16>) -> tensor<4x8x64xf16> {
  %r = tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o : tensor<4x8x64xf16>, tensor<128x16x2x64xf16>, tensor<128x16x2x64xf16>, tensor<4x32xi32>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
  return %r : tensor<4x8x64xf16>
}

// CHECK-LABEL: func @paged_kv_write
// CHECK: %{{.*}}:2 = tessel.paged_kv_write %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}}, %{{.*}} : tensor<7x2x64xf16>, tensor<7x2x64xf16>, tensor<7xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
func.func @paged_kv_write(%k: tensor<7x2x64xf16>, %v: tensor<7x2x64xf16>, %s: tensor<7xi64>, %kc: tensor<32x16x2x64xf16>, %vc: tensor<32x16x2x64xf16>) -> (tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>) {
  %r:2 = tessel.paged_kv_write %k, %v, %s into %kc, %vc : tensor<7x2x64xf16>, tensor<7x2x64xf16>, tensor<7xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
  return %r#0, %r#1 : tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
}

// CHECK-LABEL: func @copy_blocks_memref
// CHECK: tessel.copy_blocks %{{.*}} into %{{.*}}, %{{.*}} : memref<3x2xi64> into memref<32x8x2x64xf32>, memref<32x8x2x64xf32>
func.func @copy_blocks_memref(%m: memref<3x2xi64>, %kc: memref<32x8x2x64xf32>, %vc: memref<32x8x2x64xf32>) {
  tessel.copy_blocks %m into %kc, %vc : memref<3x2xi64> into memref<32x8x2x64xf32>, memref<32x8x2x64xf32>
  return
}

// CHECK-LABEL: func @copy_blocks_tensor
// CHECK: tessel.copy_blocks %{{.*}} into %{{.*}}, %{{.*}} : tensor<3x2xi64> into tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32> -> tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32>
func.func @copy_blocks_tensor(%m: tensor<3x2xi64>, %kc: tensor<32x8x2x64xf32>, %vc: tensor<32x8x2x64xf32>) -> (tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32>) {
  %r:2 = tessel.copy_blocks %m into %kc, %vc : tensor<3x2xi64> into tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32> -> tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32>
  return %r#0, %r#1 : tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32>
}

// CHECK-LABEL: func @flash_attention_varlen
// CHECK-SAME: (%[[Q:.*]]: tensor<?x8x64xf16>, %[[K:.*]]: tensor<?x2x64xf16>, %[[CQ:.*]]: tensor<?xi32>, %[[CK:.*]]: tensor<?xi32>, %[[MQ:.*]]: index, %[[MK:.*]]: index
// CHECK: %{{.*}}:2 = tessel.flash_attention_varlen %[[Q]], %[[K]], %[[K]], %[[CQ]], %[[CK]], %[[MQ]], %[[MK]] into %{{.*}}, %{{.*}} {causal, config = #tessel.attention_config<block_m = 64>} : tensor<?x8x64xf16>, tensor<?x2x64xf16>, tensor<?x2x64xf16>, tensor<?xi32>, tensor<?xi32> into tensor<?x8x64xf16>, tensor<8x?xf32> -> tensor<?x8x64xf16>, tensor<8x?xf32>
func.func @flash_attention_varlen(%q: tensor<?x8x64xf16>, %k: tensor<?x2x64xf16>, %cq: tensor<?xi32>, %ck: tensor<?xi32>, %mq: index, %mk: index, %o: tensor<?x8x64xf16>, %l: tensor<8x?xf32>) -> (tensor<?x8x64xf16>, tensor<8x?xf32>) {
  %r:2 = tessel.flash_attention_varlen %q, %k, %k, %cq, %ck, %mq, %mk into %o, %l {causal, config = #tessel.attention_config<block_m = 64>} : tensor<?x8x64xf16>, tensor<?x2x64xf16>, tensor<?x2x64xf16>, tensor<?xi32>, tensor<?xi32> into tensor<?x8x64xf16>, tensor<8x?xf32> -> tensor<?x8x64xf16>, tensor<8x?xf32>
  return %r#0, %r#1 : tensor<?x8x64xf16>, tensor<8x?xf32>
}

// CHECK-LABEL: func @flash_attention_varlen_memref
// CHECK: tessel.flash_attention_varlen %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} : memref<300x4x32xbf16>
func.func @flash_attention_varlen_memref(%q: memref<300x4x32xbf16>, %k: memref<500x4x32xbf16>, %cu: memref<3xi32>, %m: index, %o: memref<300x4x32xbf16>) {
  tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %m, %m into %o : memref<300x4x32xbf16>, memref<500x4x32xbf16>, memref<500x4x32xbf16>, memref<3xi32>, memref<3xi32> into memref<300x4x32xbf16>
  return
}
