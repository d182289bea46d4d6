// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu | FileCheck %s

// FlashAttention-2 on mma.sync, causal, GQA (8 query heads over 2 kv heads),
// run-time batch and lengths, head dim 128 (defaults: 128 x 64 tiles, 4
// warps of 32 rows, 2 stages: Q waits for 1 younger group, key tile j for
// none). Sizes are read outside the kernel and every operand is viewed as a
// flat memref; one 1-D grid of (batch x head) x query tiles, tiles fastest.
// CHECK-LABEL: func @causal_gqa
// CHECK: memref.dim %{{.*}}, %c0{{.*}} : memref<?x8x?x128xf16>
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [1099511627776], strides: [1] : memref<?x8x?x128xf16> to memref<1099511627776xf16>
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [1099511627776], strides: [1] : memref<?x8x?xf32> to memref<1099511627776xf32>
// CHECK: %[[HEADS:.*]] = arith.muli %{{.*}}, %c8
// CHECK: %[[TILES:.*]] = arith.ceildivui %{{.*}}, %c128
// CHECK: %[[GRID:.*]] = arith.muli %[[HEADS]], %[[TILES]]
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}}) dynamic_shared_memory_size %c104448_i32
// Heaviest (last) query tile of each head first; query head h reads kv head h / 4.
// CHECK: %[[T:.*]] = arith.remui %[[BX]], %[[TILES]]
// CHECK: arith.subi %{{.*}}, %[[T]]
// CHECK: arith.divui %[[BX]], %[[TILES]]
// CHECK: arith.divui %{{.*}}, %c4
// Causal loop bound: min(ceil(Skv / 64), ceil(max(min(q0 + 128, Sq) + Skv - Sq, 0) / 64)).
// CHECK: arith.maxsi
// CHECK: arith.ceildivui %{{.*}}, %c64
// CHECK: %[[NT:.*]] = arith.minui
// Tiles needing no mask: below the diagonal of the block's first row.
// CHECK: %[[FULL:.*]] = arith.minui %{{.*}}, %[[NT]]
// Q, then K and V, through cp.async into padded shared tiles.
// CHECK: nvgpu.device_async_copy {{.*}} : memref<1099511627776xf16> to memref<128x136xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy {{.*}} : memref<1099511627776xf16> to memref<2x64x136xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK: gpu.barrier
// The unmasked key loop: Q re-read from shared memory at every k step (32
// rows a warp leave no registers for it), S = Q K^T, online softmax (quad
// shuffles, exp2), P V with V through ldmatrix.trans.
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %[[FULL]] step
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<128x136xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<2x64x136xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: gpu.shuffle xor %{{.*}}, %c2_i32
// CHECK: gpu.shuffle xor %{{.*}}, %c1_i32
// The max moves only when a tile raises it by more than 2^8; O is rescaled
// only when some row of the warp moved (a warp vote).
// CHECK: %[[LAG:.*]] = arith.addf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.cmpf ogt, %{{.*}}, %[[LAG]] : f32
// CHECK: math.exp2
// CHECK-NOT: arith.cmpi slt
// CHECK: %[[ANY:.*]] = nvvm.vote.sync any %{{.*}}, %{{.*}} -> i1
// CHECK: scf.if %[[ANY]] -> (vector<2x2xf32>
// CHECK: arith.mulf %{{.*}} : vector<2x2xf32>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true} : memref<2x64x136xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK: nvgpu.mma.sync
// The masked loop: keys past Skv and above the diagonal are -inf.
// CHECK: scf.for %{{.*}} = %[[FULL]] to %[[NT]] step
// CHECK: arith.cmpi uge
// CHECK: arith.cmpi slt
// CHECK: arith.select %{{.*}}, %cst{{.*}}, %{{.*}} : f32
// CHECK: math.exp2
// Epilogue: O / l as f16 pairs, LSE from the quad-reduced sum.
// CHECK: gpu.shuffle xor
// CHECK: math.log
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}] {alignment = 4 : i64} : memref<1099511627776xf16>, vector<2xf16>
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<1099511627776xf32>
func.func @causal_gqa(%q: memref<?x8x?x128xf16>, %k: memref<?x2x?x128xf16>, %v: memref<?x2x?x128xf16>, %o: memref<?x8x?x128xf16>, %lse: memref<?x8x?xf32>) {
  tessel.flash_attention %q, %k, %v into %o, %lse {causal} : memref<?x8x?x128xf16>, memref<?x2x?x128xf16>, memref<?x2x?x128xf16> into memref<?x8x?x128xf16>, memref<?x8x?xf32>
  return
}

// -----

// bshd, bf16, not causal, a given config: the layout only changes strides
// (a position's stride is H x D = 512); bf16 goes through nvvm.mma.sync;
// no causal compare, the loop bound is ceil(Skv / 32). 16 rows a warp:
// Q's fragments fit in registers, loaded once before the key loops.
// CHECK-LABEL: func @bshd_bf16
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}}) dynamic_shared_memory_size %c36864_i32
// CHECK-NOT: arith.cmpi slt
// CHECK: arith.ceildivui %{{.*}}, %c32
// CHECK: arith.muli %{{.*}}, %c512
// CHECK: nvgpu.ldmatrix {{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK-NOT: memref<64x72xbf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.mma.sync
// CHECK: math.exp2
// CHECK: scf.for
// CHECK: arith.cmpi uge
// CHECK-NOT: arith.cmpi slt
// CHECK: vector.store {{.*}} : memref<1099511627776xbf16>, vector<2xbf16>
func.func @bshd_bf16(%q: memref<?x?x8x64xbf16>, %k: memref<?x?x8x64xbf16>, %o: memref<?x?x8x64xbf16>) {
  tessel.flash_attention %q, %k, %k into %o {layout = "bshd", config = #tessel.attention_config<strategy = "mma", block_m = 64, block_n = 32, warps = 4, stages = 3>} : memref<?x?x8x64xbf16>, memref<?x?x8x64xbf16>, memref<?x?x8x64xbf16> into memref<?x?x8x64xbf16>
  return
}
