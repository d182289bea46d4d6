// RUN: tessel-opt %s -convert-tessel-to-gpu=strategy=naive | FileCheck %s --check-prefix=NAIVE
// RUN: tessel-opt %s -convert-tessel-to-gpu=strategy=smem | FileCheck %s --check-prefix=SMEM
// RUN: tessel-opt %s -convert-tessel-to-gpu=strategy=regtile | FileCheck %s --check-prefix=REGTILE
// RUN: tessel-opt %s -convert-tessel-to-gpu=strategy=pipelined | FileCheck %s --check-prefix=PIPE
// RUN: tessel-opt %s -convert-tessel-to-gpu="strategy=mma block-m=64 block-n=64 block-k=32 stages=3" | FileCheck %s --check-prefix=MMA
// RUN: tessel-opt %s -convert-tessel-to-gpu="strategy=mma block-m=64 block-n=64" | FileCheck %s --check-prefix=GROUP8
// RUN: tessel-opt %s -convert-tessel-to-gpu="strategy=mma block-m=64 block-n=64 group-m=1" | FileCheck %s --check-prefix=GROUP1

// 100 x 72 (K) x 80, f16 inputs, f32 result: edges are masked on every rung.

// NAIVE-LABEL: func @gemm
// NAIVE: gpu.launch blocks({{.*}}) in ({{.*}} = %c5{{.*}}, {{.*}} = %c7{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c16{{.*}}, {{.*}} = %c16
// NAIVE: scf.if
// NAIVE: scf.for {{.*}} iter_args
// NAIVE: memref.load %{{.*}} : memref<100x72xf16>
// NAIVE-NOT: gpu.barrier
// NAIVE: memref.store {{.*}} : memref<100x80xf32>

// SMEM-LABEL: func @gemm
// SMEM: gpu.launch {{.*}} workgroup(%[[SA:.*]] : memref<32x32xf32, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<32x32xf32, #gpu.address_space<workgroup>>)
// SMEM: memref.store %{{.*}}, %[[SA]]
// SMEM: memref.store %{{.*}}, %[[SB]]
// SMEM: gpu.barrier
// SMEM: memref.load %[[SA]]
// SMEM: gpu.barrier

// REGTILE-LABEL: func @gemm
// REGTILE: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}) workgroup(%[[SA:.*]] : memref<1x8x128xf32, #gpu.address_space<workgroup>>, %[[SB:.*]] : memref<1x8x128xf32, #gpu.address_space<workgroup>>)
// REGTILE: gpu.barrier
// REGTILE: vector.load %[[SA]]{{.*}} {alignment = 16 : i64} : memref<1x8x128xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// REGTILE: vector.fma {{.*}} : vector<8xf32>
// REGTILE: gpu.barrier

// Double-buffered tiles, the next tile's loads in an scf.if before the FMAs.
// PIPE-LABEL: func @gemm
// PIPE: workgroup(%[[SA:.*]] : memref<2x8x128xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<2x8x128xf32, #gpu.address_space<workgroup>>)
// PIPE: gpu.barrier
// PIPE: scf.for
// PIPE: %{{.*}}:8 = scf.if
// PIPE: vector.fma
// PIPE: memref.store {{.*}}, %[[SA]]
// PIPE: gpu.barrier

// MMA-LABEL: func @gemm
// MMA: gpu.launch {{.*}} dynamic_shared_memory_size
// MMA: %[[RAW:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// MMA: %[[SA:.*]] = memref.view %[[RAW]][{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<3x64x40xf16, #gpu.address_space<workgroup>>
// MMA: %[[SB:.*]] = memref.view %[[RAW]][{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<3x32x72xf16, #gpu.address_space<workgroup>>
// MMA: nvgpu.device_async_copy {{.*}}, %[[SA]]{{.*}}, 8, %{{.*}} {bypassL1}
// MMA: nvgpu.device_async_create_group
// MMA: scf.for
// MMA: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// MMA: gpu.barrier
// MMA: nvgpu.ldmatrix %[[SA]]{{.*}} {numTiles = 4 : i32, transpose = false}
// MMA: nvgpu.ldmatrix %[[SB]]{{.*}} {numTiles = 4 : i32, transpose = true}
// MMA: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// The refill is issued after the first k-slice's mma.syncs.
// MMA: scf.if
// MMA: nvgpu.device_async_copy
// MMA: nvgpu.device_async_create_group
// MMA: nvgpu.ldmatrix %[[SA]]
// Grouped rasterization: block (x, y) of a 2 x 2 grid becomes pid = y * 2 + x,
// swept in groups of group-m block rows; group-m = 1 uses y directly.
// GROUP8: gpu.launch blocks(%[[BX:[a-z0-9]+]], %[[BY:[a-z0-9]+]], %{{.*}})
// GROUP8: %[[Y2:.*]] = arith.muli %[[BY]], %{{c2(_[0-9]+)?}} : index
// GROUP8: %[[PID:.*]] = arith.addi %[[Y2]], %[[BX]] : index
// GROUP8: arith.divui %[[PID]], %{{c16(_[0-9]+)?}} : index
// GROUP1: gpu.launch blocks(%[[BX:[a-z0-9]+]], %[[BY:[a-z0-9]+]], %{{.*}})
// GROUP1-NOT: arith.addi %{{.*}}, %[[BX]]
// GROUP1: arith.muli %[[BY]], %{{c64(_[0-9]+)?}} : index
func.func @gemm(%a: memref<100x72xf16>, %b: memref<72x80xf16>, %d: memref<100x80xf32>) {
  tessel.gemm %a, %b into %d : memref<100x72xf16>, memref<72x80xf16> into memref<100x80xf32>
  return
}
