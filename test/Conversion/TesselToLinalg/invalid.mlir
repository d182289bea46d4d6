// RUN: tessel-opt %s -convert-tessel-to-linalg -verify-diagnostics

func.func @tensor_form(%a: tensor<16x32xf16>, %b: tensor<32x8xf16>, %i: tensor<16x8xf32>) -> tensor<16x8xf32> {
  // expected-error @+1 {{is in the tensor form; convert-tessel-to-linalg expects the memref form (run one-shot-bufferize first)}}
  %d = tessel.gemm %a, %b into %i : tensor<16x32xf16>, tensor<32x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return %d : tensor<16x8xf32>
}
