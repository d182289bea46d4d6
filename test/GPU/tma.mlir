// RUN: tessel-opt %s -tessel-test-kernel-blocks | FileCheck %s

// A 16 x 128 f16 tile in 128-byte swizzle is two 16 x 64 boxes. The host
// describes the tensor map (a descriptor of the argument, cast to the
// pointer the kernel takes); thread 0 arms the barrier with both boxes'
// bytes and issues both loads at (row0, col0) and (row0, col0 + 64), the
// coordinates innermost first; every thread waits on phase 0.
// CHECK-LABEL: func.func @load(
// CHECK-SAME:    %[[SRC:[^:]*]]: memref<40x128xf16>
// CHECK:         %[[CAST:.*]] = memref.cast %[[SRC]] : memref<40x128xf16> to memref<*xf16>
// CHECK:         %[[DESC:.*]] = nvgpu.tma.create.descriptor %[[CAST]] box[%{{.*}}, %{{.*}}] : memref<*xf16> -> <tensor = memref<16x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
// CHECK:         %[[MAP:.*]] = builtin.unrealized_conversion_cast %[[DESC]] {{.*}} to !llvm.ptr
// CHECK:         gpu.launch
// CHECK:           %[[BAR:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr<3>
// CHECK:           scf.if
// CHECK:             nvvm.mbarrier.init %[[BAR]], %{{.*}} : !llvm.ptr<3>, i32
// CHECK:             nvvm.fence.mbarrier.init
// CHECK:           nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK:           gpu.barrier
// CHECK:           scf.if
// CHECK:             nvvm.prefetch tensormap, %[[MAP]]
// CHECK:             %[[BYTES:.*]] = arith.constant 4096 : i32
// CHECK:             nvvm.mbarrier.arrive.expect_tx %[[BAR]], %[[BYTES]]
// CHECK:             %[[ROW:.*]] = arith.constant 30 : index
// CHECK:             %[[COL:.*]] = arith.constant -8 : index
// CHECK:             %[[X:.*]] = arith.index_cast %[[COL]] : index to i32
// CHECK:             %[[Y:.*]] = arith.index_cast %[[ROW]] : index to i32
// CHECK:             nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[MAP]], %[[BAR]], box[%[[X]], %[[Y]]] : !llvm.ptr<7>, !llvm.ptr
// CHECK:             %[[COL2:.*]] = arith.constant 56 : index
// CHECK:             %[[X2:.*]] = arith.index_cast %[[COL2]] : index to i32
// CHECK:             nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[MAP]], %[[BAR]], box[%[[X2]], %{{.*}}]
// CHECK:           nvvm.mbarrier.try_wait.parity %[[BAR]], %{{.*}}, %{{.*}} : !llvm.ptr<3>, i32, i32
func.func @load(%src: memref<40x128xf16>, %out: memref<2048xf16>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 16, cols = 128, row0 = 30, col0 = -8}} {
  return
}

// The round trip: a second tensor map for the destination; the loaded
// boxes go back out as one bulk group, waited for before the kernel ends.
// CHECK-LABEL: func.func @store(
// CHECK:         %[[IN:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !nvgpu.tensormap.descriptor<tensor = memref<16x8xf32, {{.*}}swizzle = swizzle_32b{{.*}}> to !llvm.ptr
// CHECK:         %[[OUT:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !nvgpu.tensormap.descriptor<tensor = memref<16x8xf32, {{.*}}swizzle = swizzle_32b{{.*}}> to !llvm.ptr
// CHECK:         gpu.launch
// CHECK-COUNT-2:   nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[IN]]
// CHECK:           nvvm.mbarrier.try_wait.parity
// CHECK:           scf.if
// CHECK-COUNT-2:     nvvm.cp.async.bulk.tensor.global.shared.cta %[[OUT]], %{{.*}}, box[
// CHECK-NEXT:        nvvm.cp.async.bulk.commit.group
// CHECK-NEXT:        nvvm.cp.async.bulk.wait_group 0
func.func @store(%src: memref<20x40xf32>, %dst: memref<20x40xf32>) attributes {tessel.test_block = "tma_store", tessel.test_options = {layout = "swizzle32", rows = 16, cols = 16, row0 = 10, col0 = 16}} {
  return
}

// Warp specialization through a 3-stage ring: barriers initialized by
// thread 0 (full: 1 arrival, empty: 128), warpgroup 0 gives up registers
// and its elected lane acquires a stage (parity phase ^ 1 on empty), arms
// full with the tile's 1024 bytes and loads tile k; the consumer warpgroup
// takes registers, waits on full (parity phase), sums, releases empty.
// CHECK-LABEL: func.func @pipe(
// CHECK:         gpu.launch
// CHECK-COUNT-3:   nvvm.mbarrier.init %{{.*}}, %c1_i32
// CHECK-NOT:       nvvm.mbarrier.init
// CHECK:           nvvm.mbarrier.init %{{.*}}, %c128_i32
// CHECK:           nvvm.fence.mbarrier.init
// CHECK:           gpu.barrier
// CHECK:           %[[WG:.*]] = arith.divui %{{.*}}, %c128
// CHECK:           %[[PRODUCER:.*]] = arith.cmpi eq, %[[WG]], %c0
// CHECK:           scf.if %[[PRODUCER]] {
// CHECK:             nvvm.setmaxregister  decrease 40
// CHECK:             %[[ELECTED:.*]] = nvvm.elect.sync -> i1
// CHECK:             scf.if %[[ELECTED]] {
// CHECK:               scf.for %[[K:.*]] = %c0{{.*}} to %c7 step
// CHECK:                 %[[STAGE:.*]] = arith.remui %[[K]], %c3
// CHECK:                 %[[TRIP:.*]] = arith.divui %[[K]], %c3
// CHECK:                 %[[PHASE:.*]] = arith.index_castui %{{.*}} : index to i32
// CHECK:                 %[[FLIPPED:.*]] = arith.xori %[[PHASE]], %c1_i32
// CHECK:                 nvvm.mbarrier.try_wait.parity %{{.*}}, %[[FLIPPED]]
// CHECK:                 nvvm.mbarrier.arrive.expect_tx %[[FULL:.*]], %c1024_i32
// CHECK:                 nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %{{.*}}, %[[FULL2:[^,]*]], box[
// CHECK:           } else {
// CHECK:             nvvm.setmaxregister  increase 232
// CHECK:             scf.for {{.*}} iter_args
// CHECK:               nvvm.mbarrier.try_wait.parity %{{.*}}, %[[CPHASE:[^,]*]],
// CHECK-COUNT-2:       arith.addf
// CHECK:               nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// CHECK:               scf.yield
func.func @pipe(%src: memref<56x32xf32>, %out: memref<8x32xf32>) attributes {tessel.test_block = "pipeline", tessel.test_options = {stages = 3}} {
  return
}
