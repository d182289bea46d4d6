// RUN: tessel-opt %s -convert-tessel-to-linalg -split-input-file | FileCheck %s

// CHECK-LABEL: func @gemm
// CHECK-SAME: (%[[A:.*]]: memref<16x32xf16>, %[[B:.*]]: memref<8x32xf16>, %[[C:.*]]: memref<16x8xf16>, %[[D:.*]]: memref<16x8xbf16>)
// CHECK: %[[ACC:.*]] = memref.alloc() : memref<16x8xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[ACC]] : memref<16x8xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%[[A]], %[[B]] : memref<16x32xf16>, memref<8x32xf16>) outs(%[[ACC]] : memref<16x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %[[C]] : memref<16x8xf32>, memref<16x8xf16>) outs(%[[D]] : memref<16x8xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: memref.dealloc %[[ACC]]
func.func @gemm(%a: memref<16x32xf16>, %b: memref<8x32xf16>, %c: memref<16x8xf16>, %d: memref<16x8xbf16>) {
  tessel.gemm %a, %b, %c into %d {beta = 1.0 : f32, transpose_b} : memref<16x32xf16>, memref<8x32xf16>, memref<16x8xf16> into memref<16x8xbf16>
  return
}

// -----

// Bottom-right causal limit min(Skv, max(0, i + Skv - Sq + 1)), GQA head
// h / (Hq / Hkv), f32 softmax with exp/log.
// CHECK-LABEL: func @flash_attention
// CHECK: %[[SCRATCH:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %[[B:.*]] =
// CHECK: scf.for %[[H:.*]] =
// CHECK: %[[HK:.*]] = arith.divui %[[H]]
// CHECK: scf.for %[[I:.*]] =
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: math.log
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[B]], %[[H]], %[[I]]] : memref<1x8x16xf32>
// CHECK: memref.dealloc %[[SCRATCH]]
func.func @flash_attention(%q: memref<1x8x16x32xf16>, %k: memref<1x2x24x32xf16>, %v: memref<1x2x24x32xf16>, %o: memref<1x8x16x32xf16>, %l: memref<1x8x16xf32>) {
  tessel.flash_attention %q, %k, %v into %o, %l {causal} : memref<1x8x16x32xf16>, memref<1x2x24x32xf16>, memref<1x2x24x32xf16> into memref<1x8x16x32xf16>, memref<1x8x16xf32>
  return
}

// -----

// One row per (sequence, query head, query): sequence b's rows start at
// cu_q[b] / cu_k[b], its lengths are the differences, and the causal limit
// uses its own Sk_b - Sq_b. LSE is [Hq, total_q].
// CHECK-LABEL: func @flash_attention_varlen
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: memref<?x8x64xf16>, %[[K:[a-z0-9]+]]: memref<?x2x64xf16>, %[[CQ:[a-z0-9]+]]: memref<?xi32>, %[[CK:[a-z0-9]+]]: memref<?xi32>
// CHECK: %[[NB:.*]] = arith.subi %{{.*}}, %c1
// CHECK: %[[SCRATCH:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %[[B:.*]] = %c0 to %[[NB]]
// CHECK: %[[Q0R:.*]] = memref.load %[[CQ]][%[[B]]]
// CHECK: %[[Q0:.*]] = arith.index_cast %[[Q0R]]
// CHECK: %[[K0R:.*]] = memref.load %[[CK]][%[[B]]]
// CHECK: %[[K0:.*]] = arith.index_cast %[[K0R]]
// CHECK: %[[SQ:.*]] = arith.subi %{{.*}}, %[[Q0]]
// CHECK: %[[SK:.*]] = arith.subi %{{.*}}, %[[K0]]
// CHECK: %[[SHIFT:.*]] = arith.subi %[[SK]], %[[SQ]]
// CHECK: scf.for %[[H:.*]] =
// CHECK: %[[HK:.*]] = arith.divui %[[H]]
// CHECK: scf.for %[[I:.*]] = %c0 to %[[SQ]]
// CHECK: %[[QI:.*]] = arith.addi %[[Q0]], %[[I]]
// CHECK: arith.addi %[[I]], %[[SHIFT]]
// CHECK: %[[N:.*]] = arith.minsi %{{.*}}, %[[SK]]
// CHECK: scf.for %[[J:.*]] = %c0 to %[[N]]
// CHECK: %[[KJ:.*]] = arith.addi %[[K0]], %[[J]]
// CHECK: memref.load %[[K]][%[[KJ]], %[[HK]], %{{.*}}]
// CHECK: memref.load %[[Q]][%[[QI]], %[[H]], %{{.*}}]
// CHECK: math.log
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[H]], %[[QI]]] : memref<8x?xf32>
// CHECK: memref.dealloc %[[SCRATCH]]
func.func @flash_attention_varlen(%q: memref<?x8x64xf16>, %k: memref<?x2x64xf16>, %cq: memref<?xi32>, %ck: memref<?xi32>, %mq: index, %mk: index, %o: memref<?x8x64xf16>, %l: memref<8x?xf32>) {
  tessel.flash_attention_varlen %q, %k, %k, %cq, %ck, %mq, %mk into %o, %l {causal} : memref<?x8x64xf16>, memref<?x2x64xf16>, memref<?x2x64xf16>, memref<?xi32>, memref<?xi32> into memref<?x8x64xf16>, memref<8x?xf32>
  return
}

// -----

// CHECK-LABEL: func @paged_attention
// CHECK-SAME: %[[BT:[a-z0-9]+]]: memref<4x32xi32>, %[[LENS:[a-z0-9]+]]: memref<4xi32>
// CHECK: scf.for %[[S:.*]] =
// CHECK: memref.load %[[LENS]][%[[S]]]
// CHECK: memref.load %[[BT]][%[[S]], %{{.*}}]
// CHECK: math.exp
func.func @paged_attention(%q: memref<4x8x64xf16>, %kc: memref<128x16x2x64xf16>, %vc: memref<128x16x2x64xf16>, %bt: memref<4x32xi32>, %lens: memref<4xi32>, %o: memref<4x8x64xf16>) {
  tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o : memref<4x8x64xf16>, memref<128x16x2x64xf16>, memref<128x16x2x64xf16>, memref<4x32xi32>, memref<4xi32> into memref<4x8x64xf16>
  return
}

// -----

// Negative slots are skipped.
// CHECK-LABEL: func @paged_kv_write
// CHECK: %[[SLOT:.*]] = memref.load
// CHECK: %[[OK:.*]] = arith.cmpi sge, %[[SLOT]]
// CHECK: scf.if %[[OK]]
// CHECK: arith.divui %[[SLOT]]
// CHECK: arith.remui %[[SLOT]]
func.func @paged_kv_write(%k: memref<7x2x64xf16>, %v: memref<7x2x64xf16>, %s: memref<7xi64>, %kc: memref<32x16x2x64xf16>, %vc: memref<32x16x2x64xf16>) {
  tessel.paged_kv_write %k, %v, %s into %kc, %vc : memref<7x2x64xf16>, memref<7x2x64xf16>, memref<7xi64> into memref<32x16x2x64xf16>, memref<32x16x2x64xf16>
  return
}

// -----

// CHECK-LABEL: func @copy_blocks
// CHECK-SAME: (%[[M:[a-z0-9]+]]: memref<3x2xi64>, %[[KC:[a-z0-9]+]]: memref<32x8x2x64xf32>
// CHECK: scf.for
// CHECK-DAG: memref.load %[[M]][%{{.*}}, %c0]
// CHECK-DAG: memref.load %[[M]][%{{.*}}, %c1]
// CHECK: memref.store %{{.*}}, %[[KC]]
func.func @copy_blocks(%m: memref<3x2xi64>, %kc: memref<32x8x2x64xf32>, %vc: memref<32x8x2x64xf32>) {
  tessel.copy_blocks %m into %kc, %vc : memref<3x2xi64> into memref<32x8x2x64xf32>, memref<32x8x2x64xf32>
  return
}
