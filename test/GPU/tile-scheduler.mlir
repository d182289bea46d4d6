// RUN: tessel-opt %s -tessel-test-kernel-blocks | FileCheck %s

// splitRange with the part count taken from the run-time grid size:
// per = ceil(ceil(n / 16) / parts) * 16, begin = min(s * per, n),
// end = min(begin + per, n).
// CHECK-LABEL: func.func @split(
// CHECK-SAME:    %[[N:[^:]*]]: memref<3xi32>, %[[OUT:[^:]*]]: memref<3x5x2xi32>)
// CHECK:         gpu.launch blocks(%[[BX:[^,]*]], %[[BY:[^,]*]], %{{[^)]*}}) in (%[[GX:[^ ]*]] = %c5, %{{.*}} = %c3,
// CHECK:           %[[NI:.*]] = memref.load %[[N]][%[[BY]]] : memref<3xi32>
// CHECK:           %[[NV:.*]] = arith.index_cast %[[NI]] : i32 to index
// CHECK:           %[[UNITS:.*]] = arith.ceildivui %[[NV]], %c16
// CHECK:           %[[Q:.*]] = arith.ceildivui %[[UNITS]], %[[GX]] : index
// CHECK:           %[[PER:.*]] = arith.muli %[[Q]], %c16
// CHECK:           %[[S:.*]] = arith.muli %[[BX]], %[[PER]] : index
// CHECK:           %[[BEGIN:.*]] = arith.minui %[[S]], %[[NV]] : index
// CHECK:           %[[E:.*]] = arith.addi %[[BEGIN]], %[[PER]] : index
// CHECK:           %[[END:.*]] = arith.minui %[[E]], %[[NV]] : index
// CHECK:           %[[B32:.*]] = arith.index_cast %[[BEGIN]] : index to i32
// CHECK:           memref.store %[[B32]], %[[OUT]][%[[BY]], %[[BX]], %{{.*}}]
// CHECK:           %[[E32:.*]] = arith.index_cast %[[END]] : index to i32
// CHECK:           memref.store %[[E32]], %[[OUT]][%[[BY]], %[[BX]], %{{.*}}]
func.func @split(%n: memref<3xi32>, %out: memref<3x5x2xi32>) attributes {tessel.test_block = "split_range", tessel.test_options = {align = 16}} {
  return
}

// Grouped rasterization over a 5 x 7 grid, group_m = 2, with the number of
// block rows read from the grid (the run-time gridM path).
// CHECK-LABEL: func.func @raster(
// CHECK-SAME:    %[[OUT:[^:]*]]: memref<5x7x2xi32>)
// CHECK:         gpu.launch blocks(%[[BX:[^,]*]], %[[BY:[^,]*]], %{{[^)]*}}) in (%{{.*}} = %c7, %[[GY:[^ ]*]] = %c5,
// CHECK:           %[[ROWS:.*]] = arith.muli %[[BY]], %c7
// CHECK:           %[[PID:.*]] = arith.addi %[[ROWS]], %[[BX]] : index
// CHECK:           %[[GROUP:.*]] = arith.divui %[[PID]], %c14 : index
// CHECK:           %[[FIRST:.*]] = arith.muli %[[GROUP]], %c2 : index
// CHECK:           %[[LEFT:.*]] = arith.subi %[[GY]], %[[FIRST]] : index
// CHECK:           %[[SIZE:.*]] = arith.minui %[[LEFT]], %c2{{.*}} : index
// CHECK:           %[[IN:.*]] = arith.remui %[[PID]], %c14 : index
// CHECK:           %[[R:.*]] = arith.remui %[[IN]], %[[SIZE]] : index
// CHECK:           %[[ROW:.*]] = arith.addi %[[FIRST]], %[[R]] : index
// CHECK:           %[[COL:.*]] = arith.divui %[[IN]], %[[SIZE]] : index
// CHECK:           %[[ROW32:.*]] = arith.index_cast %[[ROW]] : index to i32
// CHECK:           memref.store %[[ROW32]], %[[OUT]][%[[BY]], %[[BX]], %{{.*}}]
// CHECK:           %[[COL32:.*]] = arith.index_cast %[[COL]] : index to i32
// CHECK:           memref.store %[[COL32]], %[[OUT]][%[[BY]], %[[BX]], %{{.*}}]
func.func @raster(%out: memref<5x7x2xi32>) attributes {tessel.test_block = "rasterize", tessel.test_options = {group_m = 2, dynamic = true}} {
  return
}

// group_m = 1: the identity, (block y, block x).
// CHECK-LABEL: func.func @raster_identity(
// CHECK:         gpu.launch blocks(%[[BX:[^,]*]], %[[BY:[^,]*]],
// CHECK-NOT:       arith.divui
// CHECK:           arith.index_cast %[[BY]] : index to i32
// CHECK:           arith.index_cast %[[BX]] : index to i32
func.func @raster_identity(%out: memref<5x7x2xi32>) attributes {tessel.test_block = "rasterize", tessel.test_options = {group_m = 1}} {
  return
}

// forEachTile: a persistent block's walk, first = block id, stride = grid
// size, over its ceil((10 - first) / stride) tiles; out[tile] = 100 * block
// + the tiles it walked before.
// CHECK-LABEL: func.func @persistent(
// CHECK-SAME:    %[[OUT:[^:]*]]: memref<10xi32>)
// CHECK:         gpu.launch blocks(%[[BX:[^,]*]], {{.*}} in (%[[GX:[^ ]*]] = %c3,
// CHECK:           %[[HI:.*]] = arith.maxui %c10, %[[BX]]
// CHECK:           %[[LEFT:.*]] = arith.subi %[[HI]], %[[BX]]
// CHECK:           %[[COUNT:.*]] = arith.ceildivui %[[LEFT]], %[[GX]]
// CHECK:           scf.for %[[J:.*]] = %c0 to %[[COUNT]] step %c1{{.*}} {
// CHECK:             %[[JS:.*]] = arith.muli %[[J]], %[[GX]]
// CHECK:             %[[TILE:.*]] = arith.addi %[[BX]], %[[JS]]
// CHECK:             %[[B100:.*]] = arith.muli %[[BX]], %c100
// CHECK:             %[[V:.*]] = arith.addi %[[B100]], %[[J]]
// CHECK:             %[[V32:.*]] = arith.index_cast %[[V]] : index to i32
// CHECK:             memref.store %[[V32]], %[[OUT]][%[[TILE]]] : memref<10xi32>
func.func @persistent(%out: memref<10xi32>) attributes {tessel.test_block = "for_each_tile", tessel.test_options = {blocks = 3}} {
  return
}
