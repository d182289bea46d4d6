// RUN: tessel-opt %s -split-input-file -convert-tessel-to-gpu | FileCheck %s

// v1: one block per (sequence, kv head); sequences, max_blocks and
// num_blocks are run-time sizes read outside the kernel.
// CHECK-LABEL: func @v1
// CHECK-DAG: %[[S:.*]] = memref.dim %{{.*}}, %c0 : memref<?x8x128xf16>
// CHECK-DAG: %[[MB:.*]] = memref.dim %{{.*}}, %c1 : memref<?x?xi32>
// CHECK: %[[X:.*]] = arith.muli %[[S]], %c2
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[X]], {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size
// Q and tile 0 landed: the one block barrier before the loop; in it each
// warp (a key slice of its own) waits for its copies and syncs the warp.
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.bar.warp.sync
// CHECK-NOT: gpu.barrier
// CHECK: nvgpu.ldmatrix
// CHECK: nvgpu.mma.sync
// CHECK: math.exp2
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.mma.sync
// CHECK: scf.yield
// The fold: the slices' O into shared memory, one barrier, then quads of
// four columns (every slice's loaded as a vector, the row's weights
// derived in place) written as four f16 without another barrier.
// CHECK: gpu.barrier
// CHECK: vector.store {{.*}} vector<2xf32>
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: vector.load {{.*}} : memref<4x16x136xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-NOT: gpu.barrier
// CHECK: vector.store {{.*}} vector<4xf16>
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @v1(%q: memref<?x8x128xf16>, %kc: memref<?x16x2x128xf16>, %vc: memref<?x16x2x128xf16>,
              %bt: memref<?x?xi32>, %lens: memref<?xi32>, %o: memref<?x8x128xf16>) {
  tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o {config = #tessel.paged_config<strategy = "v1">}
      : memref<?x8x128xf16>, memref<?x16x2x128xf16>, memref<?x16x2x128xf16>, memref<?x?xi32>, memref<?xi32> into memref<?x8x128xf16>
  return
}

// -----

// v2: a workspace allocated in the host function, the attention kernel over
// (sequence, kv head, partition), then the reduction over (sequence, head).
// CHECK-LABEL: func @v2
// CHECK: %[[PARTS:.*]] = arith.ceildivui %{{.*}}, %c512
// CHECK: %[[WS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: memref.reinterpret_cast %[[WS]]
// CHECK: %[[X:.*]] = arith.muli %c4{{.*}}, %c1
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[X]], {{.*}} = %c1{{.*}}, {{.*}} = %[[PARTS]])
// The partition's 512 / 32 + 2 block-table entries are read once, into
// shared memory, before any K/V copy.
// CHECK: %[[TABLE:.*]] = memref.view %{{.*}} to memref<18xi32, #gpu.address_space<workgroup>>
// CHECK: memref.store %{{.*}}, %[[TABLE]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[TABLE]]
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.mma.sync
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}, {{.*}} = %c8{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c64
// CHECK: math.exp2
// CHECK: memref.dealloc %[[WS]]
func.func @v2(%q: memref<4x8x64xbf16>, %kc: memref<64x32x1x64xbf16>, %vc: memref<64x32x1x64xbf16>,
              %bt: memref<4x?xi32>, %lens: memref<4xi32>, %o: memref<4x8x64xbf16>) {
  tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o {config = #tessel.paged_config<strategy = "v2", partition_size = 512>}
      : memref<4x8x64xbf16>, memref<64x32x1x64xbf16>, memref<64x32x1x64xbf16>, memref<4x?xi32>, memref<4xi32> into memref<4x8x64xbf16>
  return
}

// -----

// Without a strategy the static sizes choose: 1 sequence, 16384 tokens -> v2.
// A group of 32 query heads (MQA) is one block per kv head (two 16-row tiles
// sharing each K/V fragment), so its shared memory holds a 32-row Q tile.
// CHECK-LABEL: func @default_split
// CHECK: memref.alloc
// CHECK: %[[SMEM:.*]] = arith.constant 113288 : i32
// CHECK: %[[X:.*]] = arith.muli %c1{{.*}}, %c1
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[X]], {{.*}} = %c1{{.*}}, {{.*}} = %c32
// CHECK-SAME: dynamic_shared_memory_size %[[SMEM]]
// Two warps share each 16-token slice: a named barrier of 64 threads per
// slice (ids 1..4), no block barrier inside the key loop.
// CHECK: scf.for {{.*}} iter_args
// CHECK: nvgpu.device_async_wait
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c64_i32
// CHECK-NOT: gpu.barrier
// CHECK: scf.yield
func.func @default_split(%q: memref<1x32x128xf16>, %kc: memref<1024x16x1x128xf16>, %vc: memref<1024x16x1x128xf16>,
              %bt: memref<1x1024xi32>, %lens: memref<1xi32>, %o: memref<1x32x128xf16>) {
  tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o
      : memref<1x32x128xf16>, memref<1024x16x1x128xf16>, memref<1024x16x1x128xf16>, memref<1x1024xi32>, memref<1xi32> into memref<1x32x128xf16>
  return
}

// -----

// v2 with a cluster of 4 partitions: the grid's z rounds the partitions up
// to whole clusters; after the key loop the blocks of a cluster meet
// (barrier.cluster) and fold each other's rows through mapa'd shared
// memory. The reduction kernel's grid is empty (launch skipped) when one
// cluster covers the longest context.
// CHECK-LABEL: func @v2_cluster
// CHECK: %[[PARTS:.*]] = arith.ceildivui %{{.*}}, %c256
// CHECK: %[[SLOTS:.*]] = arith.ceildivui %[[PARTS]], %c4
// CHECK: memref.alloc
// CHECK: %[[Z:.*]] = arith.muli %[[SLOTS]], %c4
// CHECK: gpu.launch clusters({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c4{{.*}}) blocks({{.*}}) in ({{.*}}, {{.*}}, {{.*}} = %[[Z]])
// CHECK: scf.for
// CHECK: nvvm.cluster.arrive
// CHECK-NEXT: nvvm.cluster.wait
// CHECK-COUNT-4: nvvm.mapa
// CHECK: llvm.load %{{.*}} : !llvm.ptr<7> -> f32
// CHECK: nvvm.cluster.arrive
// CHECK: %[[TWO:.*]] = arith.minui %[[SLOTS]], %c2
// CHECK: %[[ONE:.*]] = arith.minui %[[SLOTS]], %c1
// CHECK: %[[MORE:.*]] = arith.subi %[[TWO]], %[[ONE]]
// CHECK: %[[RX:.*]] = arith.muli %{{.*}}, %[[MORE]]
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[RX]]
func.func @v2_cluster(%q: memref<?x8x128xf16>, %kc: memref<?x16x2x128xf16>, %vc: memref<?x16x2x128xf16>,
              %bt: memref<?x?xi32>, %lens: memref<?xi32>, %o: memref<?x8x128xf16>) {
  tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o {config = #tessel.paged_config<strategy = "v2", partition_size = 256, cluster = 4>}
      : memref<?x8x128xf16>, memref<?x16x2x128xf16>, memref<?x16x2x128xf16>, memref<?x?xi32>, memref<?xi32> into memref<?x8x128xf16>
  return
}
