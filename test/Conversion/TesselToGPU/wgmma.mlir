// RUN: tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-m=64 block-n=64 warpgroups=1 stages=3" | FileCheck %s

// 100 x 72 (K) x 80: a 3-stage ring keeps one tile in flight (cp.async wait
// 0), the swizzled stages start 1024-byte aligned in one flat f16 view, and
// the last K step is peeled so that its wgmma group is retired (wait 0)
// before the loop's results are read.
// CHECK-LABEL: func @gemm
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c128{{.*}}) dynamic_shared_memory_size %c50176_i32
// CHECK: %[[RAW:.*]] = gpu.dynamic_shared_memory
// CHECK: memref.extract_aligned_pointer_as_index %[[RAW]]
// CHECK: %[[S:.*]] = memref.view %[[RAW]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<24576xf16, #gpu.address_space<workgroup>>
// CHECK: arith.xori
// CHECK: nvgpu.device_async_copy %arg0[{{.*}}], %[[S]][{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_copy %arg1[{{.*}}], %[[S]][{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: %[[ACC:.*]] = scf.for {{.*}} iter_args(%[[IN:.*]] = %{{.*}}) -> (!llvm.struct<(f32,
// CHECK:   nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK:   nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK:   gpu.barrier
// CHECK:   nvvm.wgmma.fence.aligned
// CHECK:   %[[W0:.*]] = nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %[[IN]], <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
// CHECK:   nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %[[W0]]
// CHECK:   nvvm.wgmma.commit.group.sync.aligned
// CHECK:   nvgpu.device_async_copy
// CHECK:   nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %[[ACC]]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: llvm.extractvalue
func.func @gemm(%a: memref<100x72xf16>, %b: memref<72x80xf16>, %d: memref<100x80xf32>) {
  tessel.gemm %a, %b into %d : memref<100x72xf16>, memref<72x80xf16> into memref<100x80xf32>
  return
}

// Transposed operands are read in place: A becomes M-major and B K-major,
// which wgmma's transpose bits express (layout col for A, col for B).
// CHECK-LABEL: func @transposed
// CHECK: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <col>]
func.func @transposed(%a: memref<72x100xbf16>, %b: memref<80x72xbf16>, %d: memref<100x80xbf16>) {
  tessel.gemm %a, %b into %d {transpose_a, transpose_b}
      : memref<72x100xbf16>, memref<80x72xbf16> into memref<100x80xbf16>
  return
}
