// RUN: tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma_tma block-n=128 stages=3" | FileCheck %s

// One tile per block with a 16-bit D of 16-byte rows: once both consumers
// are done with the stages (barrier 1), each parks D (alpha applied, f16)
// over them as its 64 rows in swizzled column blocks, fences them for the
// async proxy, meets its own warpgroup, and one thread stores the two
// 64-column boxes through D's tensor map and waits for their reads.
// CHECK-LABEL: func @gemm(
// CHECK-SAME:    %{{[^:]*}}: memref<?x72xf16>, %{{[^:]*}}: memref<72x128xf16>, %[[D:[^:]*]]: memref<?x128xf16>
// CHECK:         %[[CD:.*]] = memref.cast %[[D]] : memref<?x128xf16> to memref<*xf16>
// CHECK:         nvgpu.tma.create.descriptor %[[CD]] {{.*}} -> <tensor = memref<64x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none
// CHECK:         %[[MAPD:.*]] = builtin.unrealized_conversion_cast
// CHECK:         gpu.launch
// CHECK:           nvvm.setmaxregister  increase 232
// CHECK:           %[[PARK:.*]] = memref.view {{.*}} to memref<2x8192xf16, #gpu.address_space<workgroup>>
// CHECK:           nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NOT:       nvvm.cp.async.bulk.wait_group
// CHECK:           nvvm.barrier id = %c1_i32 number_of_threads = %c256_i32
// CHECK:           arith.mulf
// CHECK:           arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK:           vector.store %{{.*}}, %[[PARK]]
// CHECK:           nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK:           nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK-COUNT-2:   nvvm.cp.async.bulk.tensor.global.shared.cta %[[MAPD]]
// CHECK:           nvvm.cp.async.bulk.commit.group
// CHECK:           nvvm.cp.async.bulk.wait_group 0 {read}
func.func @gemm(%a: memref<?x72xf16>, %b: memref<72x128xf16>, %d: memref<?x128xf16>) {
  tessel.gemm %a, %b into %d {alpha = 0.5 : f32}
      : memref<?x72xf16>, memref<72x128xf16> into memref<?x128xf16>
  return
}
