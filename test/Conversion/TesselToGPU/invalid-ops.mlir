// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu=strategy=mma

func.func @f32_mma(%a: memref<64x64xf32>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{strategy 'mma' needs f16 or bf16 inputs, got 'f32'}}
  tessel.gemm %a, %a into %d : memref<64x64xf32>, memref<64x64xf32> into memref<64x64xf32>
  return
}

// -----

func.func @tensor_form(%a: tensor<64x64xf16>, %d: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{is in the tensor form; convert-tessel-to-gpu expects the memref form (run one-shot-bufferize first)}}
  %r = tessel.gemm %a, %a into %d : tensor<64x64xf16>, tensor<64x64xf16> into tensor<64x64xf32> -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

func.func @inner_dynamic(%a: memref<64x?xf16>, %b: memref<?x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{operand 0 ('memref<64x?xf16>') has a run-time size in dimension 1; convert-tessel-to-gpu takes run-time sizes only in the leading dimension}}
  tessel.gemm %a, %b into %d : memref<64x?xf16>, memref<?x64xf16> into memref<64x64xf32>
  return
}

// -----

func.func @dynamic_too_wide(%a: memref<?x4294967296xf16>, %b: memref<4294967296x8xf16>, %d: memref<?x8xf32>) {
  // expected-error @+1 {{operand 0 ('memref<?x4294967296xf16>') has more than 2^31 elements per leading index, the limit with a run-time leading size}}
  tessel.gemm %a, %b into %d : memref<?x4294967296xf16>, memref<4294967296x8xf16> into memref<?x8xf32>
  return
}

// -----

func.func @strided(%a: memref<64x64xf16, strided<[128, 1]>>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{convert-tessel-to-gpu needs identity-layout memrefs}}
  tessel.gemm %a, %a into %d : memref<64x64xf16, strided<[128, 1]>>, memref<64x64xf16, strided<[128, 1]>> into memref<64x64xf32>
  return
}

// -----

func.func @grid_too_large(%a: memref<4294967295x8x8xf16>, %d: memref<4294967295x8x8xf32>) {
  // expected-error @+1 {{needs a grid of 1 x 1 x 4294967295 thread blocks (N / block-n, M / block-m, batch); CUDA's limits are 2^31 - 1 x 65535 x 65535}}
  tessel.gemm %a, %a into %d : memref<4294967295x8x8xf16>, memref<4294967295x8x8xf16> into memref<4294967295x8x8xf32>
  return
}
