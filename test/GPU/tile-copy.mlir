// RUN: tessel-opt %s -tessel-test-kernel-blocks | FileCheck %s

// copyTile into a padded tile: 16 x 32 f16 is 64 chunks of 16 bytes for 128
// threads, so one guarded round of cp.async into a [16][32 + 8] view; the
// shared memory is set to -1 first and copied out raw after the wait.
// CHECK-LABEL: func.func @padded(
// CHECK-SAME:    %[[SRC:[^:]*]]: memref<40x64xf16>, %[[OUT:[^:]*]]: memref<640xf16>)
// CHECK:         gpu.launch blocks({{.*}}) threads(%[[TID:[^,]*]], {{.*}} dynamic_shared_memory_size
// CHECK:           %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK:           %[[RAW:.*]] = memref.view %[[SMEM]][%{{.*}}][] {{.*}} to memref<640xf16, #gpu.address_space<workgroup>>
// CHECK:           %[[TILE:.*]] = memref.view %[[SMEM]][%{{.*}}][] {{.*}} to memref<16x40xf16, #gpu.address_space<workgroup>>
// CHECK:           %[[MINUS1:.*]] = arith.constant -1.000000e+00 : f16
// CHECK:           scf.for %[[I:.*]] = %[[TID]] to
// CHECK-NEXT:        memref.store %[[MINUS1]], %[[RAW]][%[[I]]]
// CHECK:           gpu.barrier
// CHECK:           %[[GUARD:.*]] = arith.cmpi ult, %{{.*}}, %c64
// CHECK:           scf.if %[[GUARD]] {
// CHECK:             nvgpu.device_async_copy %[[SRC]][%{{.*}}, %{{.*}}], %[[TILE]][%{{.*}}, %{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK:           %[[GROUP:.*]] = nvgpu.device_async_create_group
// CHECK:           nvgpu.device_async_wait %[[GROUP]] {numGroups = 0 : i32}
// CHECK:           gpu.barrier
// CHECK:           scf.for %[[J:.*]] = %[[TID]] to
// CHECK-NEXT:        %[[V:.*]] = memref.load %[[RAW]][%[[J]]]
// CHECK-NEXT:        memref.store %[[V]], %[[OUT]][%[[J]]]
func.func @padded(%src: memref<40x64xf16>, %out: memref<640xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 32, row0 = 32, col0 = 8}} {
  return
}

// 128-byte swizzle: the arena is aligned to the 1024-byte pattern and each
// chunk's destination is SmemLayout::offset, chunk ^ (row % 8); 256 chunks
// for 64 threads are four unguarded rounds.
// CHECK-LABEL: func.func @swizzled(
// CHECK:         %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK:         %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[SMEM]]
// CHECK:         arith.remui %[[PTR]], %c1024
// CHECK:         %[[RAW:.*]] = memref.view %[[SMEM]][%{{.*}}][] {{.*}} to memref<2048xf16, #gpu.address_space<workgroup>>
// CHECK-NOT:     scf.if
// CHECK:         %[[PHASE:.*]] = arith.xori
// CHECK:         nvgpu.device_async_copy %{{.*}}, %[[RAW]][%{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK-COUNT-3: nvgpu.device_async_copy {{.*}} %[[RAW]]
// CHECK-NOT:     nvgpu.device_async_copy
// CHECK:         nvgpu.device_async_create_group
func.func @swizzled(%src: memref<64x128xf16>, %out: memref<2048xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {layout = "swizzle128", rows = 16, cols = 128, threads = 64}} {
  return
}

// The unaligned fallback with a row gather: element loads guarded by the
// limits, the global row read from the index memref.
// CHECK-LABEL: func.func @gather_unaligned(
// CHECK-SAME:    %[[SRC:[^:]*]]: memref<30x37xf16>, %[[INDEX:[^:]*]]: memref<12xi32>
// CHECK-NOT:     nvgpu.device_async_copy
// CHECK:         %[[OK:.*]] = arith.andi
// CHECK:         scf.if %[[OK]] -> (f16) {
// CHECK:           %[[ROW:.*]] = memref.load %[[INDEX]][%{{.*}}] : memref<12xi32>
// CHECK:           %[[R:.*]] = arith.index_cast %[[ROW]] : i32 to index
// CHECK:           memref.load %[[SRC]][%[[R]], %{{.*}}] : memref<30x37xf16>
// CHECK:         } else {
// CHECK:           arith.constant 0.000000e+00 : f16
// CHECK-NOT:     nvgpu.device_async_copy
// CHECK:         nvgpu.device_async_create_group
func.func @gather_unaligned(%src: memref<30x37xf16>, %index: memref<12xi32>, %out: memref<384xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 16, aligned = false, threads = 32}} {
  return
}
