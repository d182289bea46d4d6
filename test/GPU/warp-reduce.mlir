// RUN: tessel-opt %s -tessel-test-kernel-blocks | FileCheck %s

// One warp, butterfly XOR shuffles 16, 8, 4, 2, 1 for the max and again for
// the sum; lane 0 stores the max, lane 31 the sum.
// CHECK-LABEL: func.func @warp(
// CHECK-SAME:    %[[IN:[^:]*]]: memref<32xf32>, %[[OUT:[^:]*]]: memref<2xf32>)
// CHECK:         gpu.launch blocks({{.*}}) threads(%[[LANE:[^,]*]], {{.*}} in (%{{.*}} = %c32,
// CHECK:           %[[V:.*]] = memref.load %[[IN]][%[[LANE]]] : memref<32xf32>
// CHECK:           %[[C16:.*]] = arith.constant 16 : i32
// CHECK:           %[[X:.*]], %{{.*}} = gpu.shuffle  xor %[[V]], %[[C16]], %{{.*}} : f32
// CHECK:           %[[M:.*]] = arith.maximumf %[[V]], %[[X]] : f32
// CHECK:           gpu.shuffle  xor %[[M]]
// CHECK-COUNT-3:   gpu.shuffle  xor
// CHECK:           %[[MAX:.*]] = arith.maximumf
// CHECK:           %[[Y:.*]], %{{.*}} = gpu.shuffle  xor %[[V]], %{{.*}}, %{{.*}} : f32
// CHECK:           arith.addf %[[V]], %[[Y]] : f32
// CHECK-COUNT-4:   gpu.shuffle  xor
// CHECK:           %[[SUM:.*]] = arith.addf
// CHECK:           %[[L0:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK:           scf.if %[[L0]] {
// CHECK:             memref.store %[[MAX]], %[[OUT]][%c0
// CHECK:           %[[L31:.*]] = arith.cmpi eq, %[[LANE]], %c31
// CHECK:           scf.if %[[L31]] {
// CHECK:             memref.store %[[SUM]], %[[OUT]][%c1
func.func @warp(%in: memref<32xf32>, %out: memref<2xf32>) attributes {tessel.test_block = "warp_reduce"} {
  return
}

// Width 4 (the quads of an mma row): offsets 2 and 1 only; every lane
// stores its group's max and sum.
// CHECK-LABEL: func.func @quad(
// CHECK-SAME:    %[[IN:[^:]*]]: memref<32xf32>, %[[OUT:[^:]*]]: memref<2x32xf32>)
// CHECK:         threads(%[[LANE:[^,]*]],
// CHECK:           %[[V:.*]] = memref.load %[[IN]][%[[LANE]]]
// CHECK:           %[[C2:.*]] = arith.constant 2 : i32
// CHECK:           gpu.shuffle  xor %[[V]], %[[C2]]
// CHECK:           %[[C1:.*]] = arith.constant 1 : i32
// CHECK:           gpu.shuffle  xor %{{.*}}, %[[C1]]
// CHECK:           %[[MAX:.*]] = arith.maximumf
// CHECK-NOT:       arith.constant 4 : i32
// CHECK:           gpu.shuffle  xor %[[V]]
// CHECK:           arith.addf
// CHECK:           gpu.shuffle  xor
// CHECK:           %[[SUM:.*]] = arith.addf
// CHECK-NOT:       gpu.shuffle
// CHECK:           memref.store %[[MAX]], %[[OUT]][%{{.*}}, %[[LANE]]] : memref<2x32xf32>
// CHECK:           memref.store %[[SUM]], %[[OUT]][%{{.*}}, %[[LANE]]] : memref<2x32xf32>
func.func @quad(%in: memref<32xf32>, %out: memref<2x32xf32>) attributes {tessel.test_block = "warp_reduce", tessel.test_options = {width = 4}} {
  return
}
