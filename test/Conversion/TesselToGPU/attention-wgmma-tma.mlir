// RUN: tessel-opt %s -convert-tessel-to-gpu | FileCheck %s

// The wgmma rung fed by TMA, bshd, head dim 128, run-time batch and
// lengths: tensor maps of Q, K and V over [B, S, H, D] views (boxes of one
// head's rows x 64 columns), a producer warpgroup besides the two consumer
// ones (384 threads), the barriers after the tiles (164864 + 6 x 8 bytes).
// The producer's elected lane loads Q (two boxes) on its own barrier, then
// per key tile acquires a stage, arms it with K's and V's 64 KiB and issues
// two boxes of each; the consumers wait for Q, then per tile wait for the
// stage, multiply, and release it, with no block barrier in the loop. The
// two consumers take turns to issue Q K^T (FA3's ping-pong): warpgroup w
// waits at named barrier 1 + w, which the other one's arrival opens; the
// last warpgroup arrives at barrier 1 first, warpgroup 0 takes the last
// arrival after the loops.
// CHECK-LABEL: func @tma(
// CHECK-SAME:    %[[Q:[^:]*]]: memref<?x?x8x128xbf16>, %[[K:[^:]*]]: memref<?x?x2x128xbf16>
// CHECK:         %[[VQ:.*]] = memref.reinterpret_cast %[[Q]] to offset: [0], sizes: [%{{.*}}, %{{.*}}, 8, 128], strides: [%{{.*}}, 1024, 128, 1]
// CHECK:         nvgpu.tma.create.descriptor {{.*}} -> <tensor = memref<1x128x1x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
// CHECK:         %[[MAPQ:.*]] = builtin.unrealized_conversion_cast
// CHECK:         memref.reinterpret_cast %[[K]] to offset: [0], sizes: [%{{.*}}, %{{.*}}, 2, 128], strides: [%{{.*}}, 256, 128, 1]
// CHECK:         %[[MAPK:.*]] = builtin.unrealized_conversion_cast
// CHECK:         %[[MAPV:.*]] = builtin.unrealized_conversion_cast
// CHECK:         gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c384{{.*}}) dynamic_shared_memory_size %c164912_i32
// CHECK-COUNT-6:   nvvm.mbarrier.init
// CHECK:           scf.if
// CHECK:             nvvm.setmaxregister  decrease 40
// CHECK:             nvvm.elect.sync
// CHECK:             nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c32768_i32
// CHECK-COUNT-2:     nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[MAPQ]]
// CHECK:             scf.for
// CHECK:               nvvm.mbarrier.try_wait.parity
// CHECK:               nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c65536_i32
// CHECK-COUNT-2:       nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[MAPK]]
// CHECK-COUNT-2:       nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[MAPV]]
// CHECK:           } else {
// CHECK:             nvvm.setmaxregister  increase 232
// CHECK:             nvvm.mbarrier.try_wait.parity
// CHECK:             nvvm.barrier.arrive id = %{{[^ ]*}} number_of_threads = %c256_i32
// CHECK:             scf.for
// CHECK-NOT:           gpu.barrier
// CHECK:               nvvm.mbarrier.try_wait.parity
// CHECK:               nvvm.barrier id = %[[MINE:[^ ]*]] number_of_threads = %c256_i32
// CHECK:               nvvm.wgmma.mma_async
// CHECK:               nvvm.barrier.arrive id = %[[NEXT:[^ ]*]] number_of_threads = %c256_i32
// CHECK:               nvvm.wgmma.wait.group.sync.aligned 0
// CHECK:               nvvm.wgmma.mma_async
// CHECK:               nvvm.wgmma.wait.group.sync.aligned 0
// CHECK:               nvvm.mbarrier.arrive
// CHECK-NEXT:          scf.yield
func.func @tma(%q: memref<?x?x8x128xbf16>, %k: memref<?x?x2x128xbf16>, %v: memref<?x?x2x128xbf16>, %o: memref<?x?x8x128xbf16>) {
  tessel.flash_attention %q, %k, %v into %o {causal, layout = "bshd", config = #tessel.attention_config<strategy = "wgmma_tma">} : memref<?x?x8x128xbf16>, memref<?x?x2x128xbf16>, memref<?x?x2x128xbf16> into memref<?x?x8x128xbf16>
  return
}
