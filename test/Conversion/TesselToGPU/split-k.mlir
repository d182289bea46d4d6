// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu | FileCheck %s

// split_k = 3 on mma with a run-time M: an f32 workspace of 3 x M x N
// allocated on the host, blocks along z take the K parts and store their
// partial sums there; a second kernel adds the parts, applies alpha and
// beta * C, rounds to f16 and writes D; the workspace is freed last.
// CHECK-LABEL: func @mma_split
// CHECK: memref.dim %arg3, %c0
// CHECK: %[[ALLOC:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[WS:.*]] = memref.reinterpret_cast %[[ALLOC]] {{.*}} to memref<1099511627776xf32>
// CHECK: %[[Z:.*]] = arith.muli %c1{{.*}}, %c3{{.*}} : index
// CHECK: gpu.launch blocks(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[BZ:[a-z0-9_]+]]) in ({{.*}}, %{{.*}} = %[[Z]])
// CHECK: arith.remui %[[BZ]], %c3
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[WS]][%{{.*}}] : memref<1099511627776xf32>
// CHECK: gpu.terminator
// CHECK: gpu.launch blocks
// CHECK: memref.load %[[WS]]
// CHECK: scf.for {{.*}} iter_args
// CHECK:   memref.load %[[WS]]
// CHECK:   arith.addf
// CHECK: arith.mulf
// CHECK: memref.load %{{.*}} : memref<2147483647x80xf32>
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %{{.*}} : memref<2147483647x80xf16>
// CHECK: gpu.terminator
// CHECK: memref.dealloc %[[ALLOC]]
func.func @mma_split(%a: memref<?x300xf16>, %b: memref<300x80xf16>, %c: memref<?x80xf32>,
                     %d: memref<?x80xf16>) {
  tessel.gemm %a, %b, %c into %d
      {alpha = 2.0 : f32, beta = 0.5 : f32,
       config = #tessel.gemm_config<strategy = "mma", split_k = 3>}
      : memref<?x300xf16>, memref<300x80xf16>, memref<?x80xf32> into memref<?x80xf16>
  return
}

// -----

// Batched wgmma: z = batch x parts, the batch is z / parts and the part
// z mod parts; the peeled last K step starts at the part's tile count - 1.
// CHECK-LABEL: func @wgmma_batched_split
// CHECK: gpu.launch blocks(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[BZ:[a-z0-9_]+]]) in
// CHECK-DAG: arith.divui %[[BZ]], %c2
// CHECK-DAG: arith.remui %[[BZ]], %c2
// CHECK: %[[LAST:.*]] = arith.subi %{{.*}}, %c1{{.*}} : index
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %[[LAST]]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: memref.store %{{.*}} : memref<1099511627776xf32>
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}} : memref<3x64x64xf32>
func.func @wgmma_batched_split(%a: memref<3x64x1000xbf16>, %b: memref<3x1000x64xbf16>,
                               %d: memref<3x64x64xf32>) {
  tessel.gemm %a, %b into %d
      {config = #tessel.gemm_config<strategy = "wgmma", block_m = 64, block_n = 64,
                                    warpgroups = 1, stages = 3, split_k = 2>}
      : memref<3x64x1000xbf16>, memref<3x1000x64xbf16> into memref<3x64x64xf32>
  return
}

// -----

// wgmma_tma: the producer loads only its part's K tiles (the TMA K
// coordinate starts at the part's first tile), and the parked tile goes to
// the part's workspace slice as 4-float vectors.
// CHECK-LABEL: func @wgmma_tma_split
// CHECK: gpu.launch blocks(%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[BZ:[a-z0-9_]+]]) in
// CHECK: %[[PART:.*]] = arith.remui %[[BZ]], %c3
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: vector.store %{{.*}} : memref<1099511627776xf32>, vector<4xf32>
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}} : memref<256x256xbf16>
func.func @wgmma_tma_split(%a: memref<256x4096xbf16>, %b: memref<4096x256xbf16>,
                           %d: memref<256x256xbf16>) {
  tessel.gemm %a, %b into %d
      {config = #tessel.gemm_config<strategy = "wgmma_tma", block_m = 128, block_n = 128,
                                    split_k = 3>}
      : memref<256x4096xbf16>, memref<4096x256xbf16> into memref<256x256xbf16>
  return
}

// -----

// split_k = 1 is the unsplit kernel, on any rung: no workspace, one launch.
// CHECK-LABEL: func @split_k_one
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @split_k_one(%a: memref<64x64xf32>, %d: memref<64x64xf32>) {
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "pipelined", split_k = 1>}
      : memref<64x64xf32>, memref<64x64xf32> into memref<64x64xf32>
  return
}
