// RUN: tessel-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func @fold_transpose_a
// CHECK-SAME: (%[[AT:.*]]: tensor<32x16xf16>, %[[B:.*]]: tensor<32x8xf16>, %[[I:.*]]: tensor<16x8xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: tessel.gemm %[[AT]], %[[B]] into %[[I]] {transpose_a} : tensor<32x16xf16>, tensor<32x8xf16>
func.func @fold_transpose_a(%at: tensor<32x16xf16>, %b: tensor<32x8xf16>, %i: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %e = tensor.empty() : tensor<16x32xf16>
  %a = linalg.transpose ins(%at : tensor<32x16xf16>) outs(%e : tensor<16x32xf16>) permutation = [1, 0]
  %d = tessel.gemm %a, %b into %i : tensor<16x32xf16>, tensor<32x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return %d : tensor<16x8xf32>
}

// -----

// A transpose of an already transposed operand clears the flag; batch
// dimensions must stay in place.
// CHECK-LABEL: func @fold_transpose_b_batched
// CHECK-SAME: (%[[A:.*]]: tensor<2x16x32xf16>, %[[B:.*]]: tensor<2x32x8xf16>
// CHECK: tessel.gemm %[[A]], %[[B]] into %{{.*}} : tensor<2x16x32xf16>, tensor<2x32x8xf16>
func.func @fold_transpose_b_batched(%a: tensor<2x16x32xf16>, %b: tensor<2x32x8xf16>, %i: tensor<2x16x8xf32>) -> tensor<2x16x8xf32> {
  %e = tensor.empty() : tensor<2x8x32xf16>
  %bt = linalg.transpose ins(%b : tensor<2x32x8xf16>) outs(%e : tensor<2x8x32xf16>) permutation = [0, 2, 1]
  %d = tessel.gemm %a, %bt into %i {transpose_b} : tensor<2x16x32xf16>, tensor<2x8x32xf16> into tensor<2x16x8xf32> -> tensor<2x16x8xf32>
  return %d : tensor<2x16x8xf32>
}

// -----

// CHECK-LABEL: func @keep_batch_transpose
// CHECK: linalg.transpose
// CHECK: tessel.gemm
func.func @keep_batch_transpose(%a: tensor<16x2x32xf16>, %b: tensor<2x32x8xf16>, %i: tensor<2x16x8xf32>) -> tensor<2x16x8xf32> {
  %e = tensor.empty() : tensor<2x16x32xf16>
  %at = linalg.transpose ins(%a : tensor<16x2x32xf16>) outs(%e : tensor<2x16x32xf16>) permutation = [1, 0, 2]
  %d = tessel.gemm %at, %b into %i : tensor<2x16x32xf16>, tensor<2x32x8xf16> into tensor<2x16x8xf32> -> tensor<2x16x8xf32>
  return %d : tensor<2x16x8xf32>
}

// -----

// CHECK-LABEL: func @drop_zero_beta_c
// CHECK: tessel.gemm %{{.*}}, %{{.*}} into %{{.*}} : tensor<16x32xf16>, tensor<32x8xf16> into
func.func @drop_zero_beta_c(%a: tensor<16x32xf16>, %b: tensor<32x8xf16>, %c: tensor<16x8xf32>, %i: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %d = tessel.gemm %a, %b, %c into %i {beta = 0.0 : f32} : tensor<16x32xf16>, tensor<32x8xf16>, tensor<16x8xf32> into tensor<16x8xf32> -> tensor<16x8xf32>
  return %d : tensor<16x8xf32>
}

// -----

// CHECK-LABEL: func @zero_alpha_no_c
// CHECK-SAME: %[[I:[a-z0-9]+]]: tensor<16x8xbf16>
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : bf16
// CHECK: %[[F:.*]] = linalg.fill ins(%[[Z]] : bf16) outs(%[[I]] : tensor<16x8xbf16>)
// CHECK-NOT: tessel.gemm
// CHECK: return %[[F]]
func.func @zero_alpha_no_c(%a: tensor<16x32xf16>, %b: tensor<32x8xf16>, %i: tensor<16x8xbf16>) -> tensor<16x8xbf16> {
  %d = tessel.gemm %a, %b into %i {alpha = 0.0 : f32} : tensor<16x32xf16>, tensor<32x8xf16> into tensor<16x8xbf16> -> tensor<16x8xbf16>
  return %d : tensor<16x8xbf16>
}

// -----

// CHECK-LABEL: func @zero_alpha_scales_c
// CHECK-SAME: %[[C:[a-z0-9]+]]: tensor<16x8xf16>, %[[I:[a-z0-9]+]]: tensor<16x8xf32>
// CHECK: %[[BETA:.*]] = arith.constant 2.500000e-01 : f32
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[C]] : tensor<16x8xf16>) outs(%[[I]] : tensor<16x8xf32>)
// CHECK: %[[E:.*]] = arith.extf
// CHECK: arith.mulf %[[E]], %[[BETA]]
// CHECK-NOT: tessel.gemm
// CHECK: return %[[G]]
func.func @zero_alpha_scales_c(%a: tensor<16x32xf16>, %b: tensor<32x8xf16>, %c: tensor<16x8xf16>, %i: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %d = tessel.gemm %a, %b, %c into %i {alpha = 0.0 : f32, beta = 0.25 : f32} : tensor<16x32xf16>, tensor<32x8xf16>, tensor<16x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return %d : tensor<16x8xf32>
}

// -----

// Unused tensor-form ops are pure and disappear; memref-form ops write memory and stay.
// CHECK-LABEL: func @dead_tensor_form
// CHECK-NOT: tessel.flash_attention
// CHECK: tessel.gemm
func.func @dead_tensor_form(%q: tensor<1x2x16x32xf32>, %o: tensor<1x2x16x32xf32>, %a: memref<4x4xf32>, %d: memref<4x4xf32>) {
  %r = tessel.flash_attention %q, %q, %q into %o : tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x16x32xf32> into tensor<1x2x16x32xf32> -> tensor<1x2x16x32xf32>
  tessel.gemm %a, %a into %d : memref<4x4xf32>, memref<4x4xf32> into memref<4x4xf32>
  return
}

// -----

// max_seqlen_q = 0: every query sequence is empty, nothing is written.
// CHECK-LABEL: func @varlen_no_queries
// CHECK-SAME: %[[O:[a-z0-9]+]]: tensor<0x4x32xf16>, %[[L:[a-z0-9]+]]: tensor<4x0xf32>
// CHECK-NOT: tessel.flash_attention_varlen
// CHECK: return %[[O]], %[[L]]
func.func @varlen_no_queries(%q: tensor<0x4x32xf16>, %k: tensor<9x4x32xf16>, %cu: tensor<3xi32>, %mk: index, %o: tensor<0x4x32xf16>, %l: tensor<4x0xf32>) -> (tensor<0x4x32xf16>, tensor<4x0xf32>) {
  %zero = arith.constant 0 : index
  %r:2 = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %zero, %mk into %o, %l : tensor<0x4x32xf16>, tensor<9x4x32xf16>, tensor<9x4x32xf16>, tensor<3xi32>, tensor<3xi32> into tensor<0x4x32xf16>, tensor<4x0xf32> -> tensor<0x4x32xf16>, tensor<4x0xf32>
  return %r#0, %r#1 : tensor<0x4x32xf16>, tensor<4x0xf32>
}

// -----

// CHECK-LABEL: func @varlen_no_queries_memref
// CHECK-NOT: tessel.flash_attention_varlen
func.func @varlen_no_queries_memref(%q: memref<5x4x32xf16>, %cu: memref<3xi32>, %mk: index, %o: memref<5x4x32xf16>) {
  %zero = arith.constant 0 : index
  tessel.flash_attention_varlen %q, %q, %q, %cu, %cu, %zero, %mk into %o : memref<5x4x32xf16>, memref<5x4x32xf16>, memref<5x4x32xf16>, memref<3xi32>, memref<3xi32> into memref<5x4x32xf16>
  return
}

// -----

// A run-time bound keeps the op.
// CHECK-LABEL: func @varlen_kept
// CHECK: tessel.flash_attention_varlen
func.func @varlen_kept(%q: tensor<5x4x32xf16>, %cu: tensor<3xi32>, %m: index, %o: tensor<5x4x32xf16>) -> tensor<5x4x32xf16> {
  %r = tessel.flash_attention_varlen %q, %q, %q, %cu, %cu, %m, %m into %o : tensor<5x4x32xf16>, tensor<5x4x32xf16>, tensor<5x4x32xf16>, tensor<3xi32>, tensor<3xi32> into tensor<5x4x32xf16> -> tensor<5x4x32xf16>
  return %r : tensor<5x4x32xf16>
}
