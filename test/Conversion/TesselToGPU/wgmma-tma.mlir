// RUN: tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma_tma block-n=128 stages=3" | FileCheck %s

// 100 x 72 (K) x 80 with a run-time M: tensor maps of the arguments as the
// call passes them (A's box 128 x 64 once per K tile, B's 64 x 64 twice),
// one producer and two consumer warpgroups, a 3-stage ring after the
// tiles; the producer's elected lane arms each stage with its 32 KiB and
// loads it, the consumers wait, multiply, retire the previous group and
// release its stage. The epilogue meets both consumers at barrier 1 (the
// stages become free), parks each warpgroup's f32 tile in them (rows padded
// to 136), waits for its own warpgroup and writes rows of 4-column vectors,
// element by element at the edges.
// CHECK-LABEL: func @gemm(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x72xf16>, %[[B:[^:]*]]: memref<72x80xf16>
// CHECK:         %[[CA:.*]] = memref.cast %[[A]] : memref<?x72xf16> to memref<*xf16>
// CHECK:         nvgpu.tma.create.descriptor %[[CA]] box[%{{.*}}, %{{.*}}] : memref<*xf16> -> <tensor = memref<128x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
// CHECK:         %[[MAPA:.*]] = builtin.unrealized_conversion_cast
// CHECK:         %[[CB:.*]] = memref.cast %[[B]] : memref<72x80xf16> to memref<*xf16>
// CHECK:         nvgpu.tma.create.descriptor %[[CB]] {{.*}} -> <tensor = memref<64x64xf16,
// CHECK:         %[[MAPB:.*]] = builtin.unrealized_conversion_cast
// CHECK:         gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c384{{.*}}) dynamic_shared_memory_size %c99376_i32
// CHECK:           nvvm.mbarrier.init
// CHECK:           nvvm.fence.mbarrier.init
// CHECK:           gpu.barrier
// CHECK:           scf.if
// CHECK:             nvvm.setmaxregister  decrease 40
// CHECK:             nvvm.elect.sync
// CHECK:             nvvm.prefetch tensormap, %[[MAPA]]
// CHECK:             scf.for
// CHECK:               nvvm.mbarrier.try_wait.parity
// CHECK:               nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c32768_i32
// CHECK:               nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[MAPA]]
// CHECK-COUNT-2:       nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[MAPB]]
// CHECK:           } else {
// CHECK:             nvvm.setmaxregister  increase 232
// CHECK:             %[[PARK:.*]] = memref.view {{.*}} to memref<2x64x136xf32, #gpu.address_space<workgroup>>
// CHECK:             scf.for {{.*}} iter_args
// CHECK:               nvvm.mbarrier.try_wait.parity
// CHECK:               nvvm.wgmma.fence.aligned
// CHECK:               nvvm.wgmma.mma_async
// CHECK:               nvvm.wgmma.commit.group.sync.aligned
// CHECK:               nvvm.wgmma.wait.group.sync.aligned 1
// CHECK:               nvvm.mbarrier.arrive
// CHECK:             nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT:        nvvm.wgmma.wait.group.sync.aligned 0
// CHECK:             nvvm.barrier id = %c1_i32 number_of_threads = %c256_i32
// CHECK-COUNT-32:    vector.store %{{.*}}, %[[PARK]][{{.*}}] : memref<2x64x136xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK:             nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c16
// CHECK:               %[[V:.*]] = vector.load %[[PARK]]{{.*}} vector<4xf32>
// CHECK:               scf.if
// CHECK:                 vector.store %[[V]], %{{.*}} {alignment = 16 : i64} : memref<2147483647x80xf32>, vector<4xf32>
// CHECK:               } else {
// CHECK-COUNT-4:         memref.store
func.func @gemm(%a: memref<?x72xf16>, %b: memref<72x80xf16>, %d: memref<?x80xf32>) {
  tessel.gemm %a, %b into %d : memref<?x72xf16>, memref<72x80xf16> into memref<?x80xf32>
  return
}
