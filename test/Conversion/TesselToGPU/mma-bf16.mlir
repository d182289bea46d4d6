// RUN: tessel-opt %s -convert-tessel-to-gpu=strategy=mma | FileCheck %s

// nvgpu.mma.sync has no bf16 form: bf16 goes through nvvm.mma.sync on i32
// registers. K = 70 is not a multiple of 8, so tiles are staged with plain
// masked loads instead of cp.async; transposed A and B use ldmatrix .trans and
// non-.trans respectively.
// CHECK-LABEL: func @gemm_bf16
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
func.func @gemm_bf16(%a: memref<2x70x33xbf16>, %b: memref<2x65x70xbf16>, %d: memref<2x33x65xbf16>) {
  tessel.gemm %a, %b into %d {transpose_a, transpose_b} : memref<2x70x33xbf16>, memref<2x65x70xbf16> into memref<2x33x65xbf16>
  return
}
