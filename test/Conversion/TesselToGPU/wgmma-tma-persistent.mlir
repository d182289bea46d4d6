// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu="strategy=wgmma_tma block-n=128 stages=3 persistent=132" | FileCheck %s

// Persistent: min(tiles, 132) blocks; producer and consumers walk the same
// tiles (from the block id, by the grid size: ceil((tiles - id) / grid) of
// them). Each consumer parks D itself (alpha * acc + beta * C, rounded to
// f16) in a buffer after the stages; with a 16-bit D of 16-byte rows that
// buffer is its 64 rows as swizzled column blocks, and one thread stores
// them by TMA through D's tensor map, after the last store has read them.
// CHECK-LABEL: func @gemm(
// CHECK-SAME:    %{{[^:]*}}: memref<?x72xf16>, %{{[^:]*}}: memref<72x80xf16>, %[[C:[^:]*]]: memref<?x80xf16>, %[[D:[^:]*]]: memref<?x80xf16>
// CHECK:         %[[VC:.*]] = memref.reinterpret_cast %[[C]]
// CHECK:         %[[CD:.*]] = memref.cast %[[D]] : memref<?x80xf16> to memref<*xf16>
// CHECK:         nvgpu.tma.create.descriptor %[[CD]] {{.*}} -> <tensor = memref<64x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none
// CHECK:         %[[MAPD:.*]] = builtin.unrealized_conversion_cast
// CHECK:         %[[GRID:.*]] = arith.minui %{{.*}}, %c132
// CHECK:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%[[GX:.*]] = %[[GRID]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}})
// CHECK:           nvvm.setmaxregister  decrease 40
// CHECK:           %[[LEFT:.*]] = arith.subi %{{.*}}, %[[BX]]
// CHECK:           %[[COUNT:.*]] = arith.ceildivui %[[LEFT]], %[[GX]]
// CHECK:           scf.for %{{.*}} = %c0{{.*}} to %[[COUNT]]
// CHECK:             nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK:           nvvm.setmaxregister  increase 232
// CHECK:           %[[PARK:.*]] = memref.view {{.*}} to memref<2x8192xf16, #gpu.address_space<workgroup>>
// CHECK:           arith.ceildivui %{{.*}}, %[[GX]]
// CHECK:           scf.for
// CHECK:             scf.for {{.*}} iter_args
// CHECK:               nvvm.wgmma.mma_async
// CHECK:             nvvm.wgmma.wait.group.sync.aligned 0
// CHECK:             nvvm.cp.async.bulk.wait_group 0 {read}
// CHECK:             nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK:             memref.load %[[VC]]
// CHECK:             arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK:             vector.store %{{.*}}, %[[PARK]]
// CHECK:             nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK:             nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK-COUNT-2:     nvvm.cp.async.bulk.tensor.global.shared.cta %[[MAPD]]
// CHECK:             nvvm.cp.async.bulk.commit.group
// CHECK:           nvvm.cp.async.bulk.wait_group 0 {read}
func.func @gemm(%a: memref<?x72xf16>, %b: memref<72x80xf16>, %c: memref<?x80xf16>,
                %d: memref<?x80xf16>) {
  tessel.gemm %a, %b, %c into %d {alpha = 2.0 : f32, beta = 0.5 : f32}
      : memref<?x72xf16>, memref<72x80xf16>, memref<?x80xf16> into memref<?x80xf16>
  return
}

// -----

// An f32 D: the park is padded rows of f32 (64 x 136 per consumer), written
// out by the warpgroup in 4-element vectors.
// CHECK-LABEL: func @gemm_f32(
// CHECK:           %[[PARK:.*]] = memref.view {{.*}} to memref<2x64x136xf32, #gpu.address_space<workgroup>>
// CHECK:           scf.for
// CHECK:             nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK:             vector.store %{{.*}}, %[[PARK]]
// CHECK:             nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK:             scf.for
// CHECK:               %[[V:.*]] = vector.load %[[PARK]]{{.*}} vector<4xf32>
// CHECK:               vector.store %[[V]], %{{.*}} {alignment = 16 : i64} : memref<2147483647x80xf32>, vector<4xf32>
func.func @gemm_f32(%a: memref<?x72xf16>, %b: memref<72x80xf16>, %d: memref<?x80xf32>) {
  tessel.gemm %a, %b into %d : memref<?x72xf16>, memref<72x80xf16> into memref<?x80xf32>
  return
}
