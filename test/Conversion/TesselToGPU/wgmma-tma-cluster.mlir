// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu="strategy=wgmma_tma block-n=128 stages=3 cluster=2" | FileCheck %s

// Clusters of 2 tile rows along y (the grid rounded up to whole clusters):
// B's map has boxes of half its 64 K rows, each block loads its half and
// multicasts it to both; the stages' empty barriers count one release per
// consumer warpgroup of the cluster (2 x 2), sent to each block from lane 0
// of warp r; the blocks meet once their barriers exist and before they exit.
// CHECK-LABEL: func @gemm(
// CHECK:         nvgpu.tma.create.descriptor %{{.*}} -> <tensor = memref<128x64xf16, {{.*}}>
// CHECK:         nvgpu.tma.create.descriptor %{{.*}} -> <tensor = memref<32x64xf16, {{.*}}>
// CHECK:         %[[Y:.*]] = arith.muli %{{.*}}, %c2
// CHECK:         gpu.launch clusters(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1{{.*}}, %{{.*}} = %c2{{.*}}, %{{.*}} = %c1{{.*}}) blocks(%{{.*}}, %[[BY:[^,]*]], %{{.*}}) in (%{{.*}} = %c3{{.*}}, %{{.*}} = %[[Y]], %{{.*}} = %c1{{.*}})
// CHECK:           %[[RANK:.*]] = arith.remui %[[BY]], %c2
// CHECK:           nvvm.mbarrier.init %{{.*}}, %c4_i32
// CHECK:           nvvm.fence.mbarrier.init
// CHECK:           nvvm.cluster.arrive
// CHECK-NEXT:      nvvm.cluster.wait
// CHECK:           nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}} multicast_mask
// CHECK:           nvvm.mapa
// CHECK:           nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<7>
// CHECK:           nvvm.cluster.arrive
// CHECK-NEXT:      nvvm.cluster.wait
// CHECK-NEXT:      gpu.terminator
func.func @gemm(%a: memref<300x72xf16>, %b: memref<72x320xf16>, %d: memref<300x320xf16>) {
  tessel.gemm %a, %b into %d : memref<300x72xf16>, memref<72x320xf16> into memref<300x320xf16>
  return
}

// -----

// Persistent: clusters along x, min(cluster tiles, 132 / 2) clusters of
// 2 blocks each walking the clusters' tiles.
// CHECK-LABEL: func @persistent(
// CHECK:         %[[TILES:.*]] = arith.minui %{{.*}}, %c66
// CHECK:         %[[GRID:.*]] = arith.muli %[[TILES]], %c2
// CHECK:         gpu.launch clusters(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c2{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) blocks(%{{.*}}) in (%{{.*}} = %[[GRID]],
func.func @persistent(%a: memref<?x72xf16>, %b: memref<72x320xf16>, %d: memref<?x320xf16>) {
  tessel.gemm %a, %b into %d {config = #tessel.gemm_config<persistent = 132>}
      : memref<?x72xf16>, memref<72x320xf16> into memref<?x320xf16>
  return
}
