// RUN: tessel-opt %s -tessel-test-kernel-blocks | FileCheck %s

// 16 rows x 4 lanes = 64 threads; the running (max, sum, acc) of a row is
// carried through an scf.for over the four 32-column tiles. Each tile: the
// max of a lane's eight raw scores, reduced over the quad (XOR 2, 1), then
// scaled once by scale * log2(e) (0.5 * 1.4427; the scale is positive); each
// probability one fma + exp2 against the new max (0 while the row is fully
// masked), summed as a tree; the accumulator rescaled. After the loop the sum and
// accumulator are reduced over the quad and lane 0 of the quad stores
// acc / sum and the LSE (ln sum + max ln 2, -inf for an empty row).
// CHECK-LABEL: func.func @softmax(
// CHECK-SAME:    %[[SCORES:[^:]*]]: memref<16x128xf32>, %[[VALUES:[^:]*]]: memref<128xf32>, %[[OUT:[^:]*]]: memref<16xf32>, %[[LSE:[^:]*]]: memref<16xf32>)
// CHECK:         gpu.launch blocks({{.*}}) threads(%[[TID:[^,]*]], {{.*}} in (%{{.*}} = %c64,
// CHECK:           %[[ROW:.*]] = arith.divui %[[TID]], %c4
// CHECK:           %[[QUAD:.*]] = arith.remui %[[TID]], %c4
// CHECK:           %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:           %[[STATE:.*]]:3 = scf.for %{{.*}} = %{{.*}} to %c4{{.*}} step %{{.*}} iter_args(%[[MAX:.*]] = %[[NEGINF]], %[[SUM:.*]] = %{{.*}}, %[[ACC:.*]] = %{{.*}}) -> (f32, f32, f32) {
// CHECK-COUNT-8:     memref.load %[[SCORES]][%[[ROW]], %{{.*}}] : memref<16x128xf32>
// CHECK-COUNT-7:     arith.maximumf
// CHECK:             %[[SCALE:.*]] = arith.constant 0.72134751 : f32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK:             %[[RAWMAX:.*]] = arith.maximumf
// CHECK:             %[[TMAX:.*]] = arith.mulf %[[RAWMAX]], %[[SCALE]] : f32
// CHECK:             %[[NEWMAX:.*]] = arith.maximumf %[[MAX]], %[[TMAX]] : f32
// CHECK:             %[[EMPTY:.*]] = arith.cmpf oeq, %[[NEWMAX]], %{{.*}} : f32
// CHECK:             %[[BASE:.*]] = arith.select %[[EMPTY]], %{{.*}}, %[[NEWMAX]] : f32
// CHECK:             %[[D:.*]] = arith.subf %[[MAX]], %[[BASE]] : f32
// CHECK:             %[[RESCALE:.*]] = math.exp2 %[[D]] : f32
// CHECK:             %[[NEGBASE:.*]] = arith.negf %[[BASE]] : f32
// CHECK-COUNT-8:     math.fma %{{.*}}, %[[SCALE]], %[[NEGBASE]] : f32
// CHECK-NEXT:        math.exp2
// CHECK-COUNT-7:     arith.addf
// CHECK:             arith.mulf %[[SUM]], %[[RESCALE]] : f32
// CHECK:             arith.mulf %[[ACC]], %[[RESCALE]] : f32
// CHECK-COUNT-8:     memref.load %[[VALUES]]
// CHECK:             scf.yield %[[NEWMAX]], %{{.*}}, %{{.*}} : f32, f32, f32
// CHECK:           gpu.shuffle  xor %[[STATE]]#1
// CHECK:           gpu.shuffle  xor
// CHECK:           %[[TOTAL:.*]] = arith.addf
// CHECK:           gpu.shuffle  xor %[[STATE]]#2
// CHECK:           gpu.shuffle  xor
// CHECK:           %[[PV:.*]] = arith.addf
// CHECK:           %[[ANY:.*]] = arith.cmpf ogt, %[[TOTAL]], %{{.*}} : f32
// CHECK:           %[[INV:.*]] = arith.select %[[ANY]],
// CHECK:           math.log %[[TOTAL]] : f32
// CHECK:           %[[LSEV:.*]] = arith.select %[[ANY]], %{{.*}}, %{{.*}} : f32
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[QUAD]], %{{.*}} : index
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             %[[O:.*]] = arith.mulf %[[PV]], %[[INV]] : f32
// CHECK:             memref.store %[[O]], %[[OUT]][%[[ROW]]]
// CHECK:             memref.store %[[LSEV]], %[[LSE]][%[[ROW]]]
func.func @softmax(%s: memref<16x128xf32>, %v: memref<128xf32>, %out: memref<16xf32>, %lse: memref<16xf32>) attributes {tessel.test_block = "online_softmax", tessel.test_options = {scale = 0.5}} {
  return
}
