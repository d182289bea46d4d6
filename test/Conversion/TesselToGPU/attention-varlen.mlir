// RUN: tessel-opt %s -convert-tessel-to-gpu | FileCheck %s

// The packed batch on the FlashAttention-2 mma kernel: causal, GQA (8 query
// heads over 2 kv heads), head dim 64 (128 x 64 tiles, 4 warps, 2 stages).
// The grid is (sequences x heads) x ceil(max_seqlen_q / 128), query tiles
// fastest; each block reads its sequence's offsets from cu_seqlens, returns
// when its query tile starts past the sequence's end, and addresses Q/K/V/O
// through the packed rows (constant row strides: Hq x D = 512, Hkv x D = 128).
// CHECK-LABEL: func @varlen
// CHECK-SAME: (%{{.*}}: memref<?x8x64xf16>, %{{.*}}: memref<?x2x64xf16>, %[[CQ:[a-z0-9]+]]: memref<?xi32>, %[[CK:[a-z0-9]+]]: memref<?xi32>, %[[MQ:[a-z0-9]+]]: index
// CHECK: %[[TOTALQ:.*]] = memref.dim %{{.*}}, %c0{{.*}} : memref<?x8x64xf16>
// CHECK: %[[OFFS:.*]] = memref.dim %[[CQ]], %c0{{.*}} : memref<?xi32>
// CHECK: %[[B:.*]] = arith.subi %[[OFFS]], %c1
// CHECK: %[[FCQ:.*]] = memref.reinterpret_cast %[[CQ]] to offset: [0], sizes: [1099511627776], strides: [1] : memref<?xi32> to memref<1099511627776xi32>
// CHECK: %[[FCK:.*]] = memref.reinterpret_cast %[[CK]]
// CHECK: %[[GX:.*]] = arith.muli %[[B]], %c8
// CHECK: %[[GY:.*]] = arith.ceildivui %[[MQ]], %c128
// CHECK: %[[GRID:.*]] = arith.muli %[[GX]], %[[GY]]
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}}) dynamic_shared_memory_size %c55296_i32
// Heaviest query tiles first.
// CHECK: %[[T:.*]] = arith.remui %[[BX]], %[[GY]]
// CHECK: %[[LAST:.*]] = arith.subi %[[GY]], %c1
// CHECK: %[[TILE:.*]] = arith.subi %[[LAST]], %[[T]]
// CHECK: %[[BH:.*]] = arith.divui %[[BX]], %[[GY]]
// CHECK: %[[SEQ:.*]] = arith.divui %[[BH]], %c8
// CHECK: %[[H:.*]] = arith.remui %[[BH]], %c8
// CHECK: %[[NEXT:.*]] = arith.addi %[[SEQ]], %c1
// CHECK: memref.load %[[FCQ]][%[[SEQ]]] : memref<1099511627776xi32>
// CHECK: memref.load %[[FCQ]][%[[NEXT]]]
// CHECK: memref.load %[[FCK]][%[[SEQ]]]
// CHECK: memref.load %[[FCK]][%[[NEXT]]]
// CHECK: arith.muli %{{.*}}, %c512
// CHECK: arith.muli %{{.*}}, %c128
// CHECK: %[[SQ:.*]] = arith.subi
// CHECK: %[[SK:.*]] = arith.subi
// LSE [Hq, total_q]: row h starts at h x total_q, the sequence at cu_q[b].
// CHECK: arith.muli %[[H]], %[[TOTALQ]]
// The early return past the sequence.
// CHECK: %[[QBASE:.*]] = arith.muli %[[TILE]], %c128
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[QBASE]], %[[SQ]]
// CHECK: scf.if %[[INSIDE]] {
// Per-sequence causal offset Sk_b - Sq_b.
// CHECK: arith.subi %[[SK]], %[[SQ]]
// CHECK: nvgpu.device_async_copy {{.*}} : memref<1099511627776xf16> to memref<128x72xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy {{.*}} : memref<1099511627776xf16> to memref<2x64x72xf16, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: nvgpu.mma.sync
// CHECK: scf.for
// CHECK: arith.cmpi uge
// CHECK: arith.cmpi slt
// CHECK: vector.store %{{.*}} : memref<1099511627776xf16>, vector<2xf16>
// CHECK: memref.store %{{.*}} : memref<1099511627776xf32>
// CHECK: gpu.terminator
func.func @varlen(%q: memref<?x8x64xf16>, %k: memref<?x2x64xf16>, %cq: memref<?xi32>, %ck: memref<?xi32>, %mq: index, %mk: index, %o: memref<?x8x64xf16>, %l: memref<8x?xf32>) {
  tessel.flash_attention_varlen %q, %k, %k, %cq, %ck, %mq, %mk into %o, %l {causal} : memref<?x8x64xf16>, memref<?x2x64xf16>, memref<?x2x64xf16>, memref<?xi32>, memref<?xi32> into memref<?x8x64xf16>, memref<8x?xf32>
  return
}
