// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu | FileCheck %s

// The wgmma rung, causal GQA, head dim 128, defaults: two warpgroups of 64
// query rows (256 threads), 128-key steps, 2 stages; Q, K and V in
// 128-byte-swizzled shared tiles (Q 16384 + 2 x 2 x 16384 elements, 1024
// bytes of alignment slack). One 1-D grid, query tiles fastest.
// CHECK-LABEL: func @causal_gqa
// CHECK: %[[TILES:.*]] = arith.ceildivui %{{.*}}, %c128
// CHECK: %[[GRID:.*]] = arith.muli %{{.*}}, %[[TILES]]
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}}) dynamic_shared_memory_size %c164864_i32
// CHECK: arith.remui %[[BX]], %[[TILES]]
// CHECK: arith.divui %[[BX]], %[[TILES]]
// CHECK: nvgpu.device_async_copy {{.*}} : memref<1099511627776xf16> to memref<81920xf16, #gpu.address_space<workgroup>>
// The unmasked loop: S = Q K^T from shared memory (both K-major), softmax,
// O += P V with P in registers and V through a transposed descriptor.
// CHECK: %[[FULL:.*]]:5 = scf.for
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: gpu.shuffle xor %{{.*}}, %c2_i32
// CHECK: math.exp2
// CHECK-NOT: arith.cmpi sle
// CHECK: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16{{.*}}p, 1, 1, 1;
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// The masked loop: keys at or past min(Skv, diagonal + 1) are -inf.
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[FULL]]#0
// CHECK: nvvm.wgmma.mma_async
// CHECK: arith.minsi
// CHECK: arith.cmpi sle
// CHECK: arith.select
// CHECK: math.exp2
// Epilogue: O / l, LSE.
// CHECK: math.log
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}] {alignment = 4 : i64} : memref<1099511627776xf16>, vector<2xf16>
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<1099511627776xf32>
func.func @causal_gqa(%q: memref<?x8x?x128xf16>, %k: memref<?x2x?x128xf16>, %v: memref<?x2x?x128xf16>, %o: memref<?x8x?x128xf16>, %lse: memref<?x8x?xf32>) {
  tessel.flash_attention %q, %k, %v into %o, %lse {causal, config = #tessel.attention_config<strategy = "wgmma">} : memref<?x8x?x128xf16>, memref<?x2x?x128xf16>, memref<?x2x?x128xf16> into memref<?x8x?x128xf16>, memref<?x8x?xf32>
  return
}

// -----

// bshd, bf16, three warpgroups of head dim 64 with 64-key steps and 3
// stages; the P V wgmma is n = 64, and a position's stride is H x D = 512.
// CHECK-LABEL: func @bshd_bf16
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c384{{.*}}, {{.*}}) dynamic_shared_memory_size %c74752_i32
// CHECK: arith.muli %{{.*}}, %c512
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK-NOT: arith.minsi
// CHECK: vector.store {{.*}} : memref<1099511627776xbf16>, vector<2xbf16>
func.func @bshd_bf16(%q: memref<?x?x8x64xbf16>, %k: memref<?x?x8x64xbf16>, %o: memref<?x?x8x64xbf16>) {
  tessel.flash_attention %q, %k, %k into %o {layout = "bshd", config = #tessel.attention_config<strategy = "wgmma", block_m = 192, block_n = 64, warps = 12, stages = 3>} : memref<?x?x8x64xbf16>, memref<?x?x8x64xbf16>, memref<?x?x8x64xbf16> into memref<?x?x8x64xbf16>
  return
}

// -----

// 3 stages: the overlapped schedule. Tile 0's S and softmax come first;
// iteration j issues S_j and P_{j-1} V_{j-1} as two groups, waits for S_j
// (1 group left), runs the softmax, then waits for P V; the last P V
// follows the loops.
// CHECK-LABEL: func @overlapped
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: math.exp2
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: llvm.inline_asm has_side_effects {{.*}}m64n64k16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: math.exp2
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: scf.yield
// CHECK: scf.for
// CHECK: scf.yield
// CHECK: llvm.inline_asm has_side_effects {{.*}}m64n64k16
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: math.log
func.func @overlapped(%q: memref<?x4x?x64xf16>) {
  tessel.flash_attention %q, %q, %q into %q {causal, config = #tessel.attention_config<strategy = "wgmma", stages = 3>} : memref<?x4x?x64xf16>, memref<?x4x?x64xf16>, memref<?x4x?x64xf16> into memref<?x4x?x64xf16>
  return
}
