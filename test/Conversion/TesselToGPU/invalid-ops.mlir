// RUN: tessel-opt %s -split-input-file -verify-diagnostics -tessel-gemm-to-gpu=strategy=mma

func.func @f32_mma(%a: memref<64x64xf32>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{strategy 'mma' needs f16 or bf16 inputs, got 'f32'}}
  tessel.gemm %a, %a into %d : memref<64x64xf32>, memref<64x64xf32> into memref<64x64xf32>
  return
}

// -----

func.func @tensor_form(%a: tensor<64x64xf16>, %d: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{is in the tensor form; tessel-gemm-to-gpu expects the memref form (run one-shot-bufferize first)}}
  %r = tessel.gemm %a, %a into %d : tensor<64x64xf16>, tensor<64x64xf16> into tensor<64x64xf32> -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

func.func @dynamic(%a: memref<?x64xf16>, %b: memref<64x64xf16>, %d: memref<?x64xf32>) {
  // expected-error @+1 {{tessel-gemm-to-gpu needs static shapes, got 'memref<?x64xf16>'}}
  tessel.gemm %a, %b into %d : memref<?x64xf16>, memref<64x64xf16> into memref<?x64xf32>
  return
}
