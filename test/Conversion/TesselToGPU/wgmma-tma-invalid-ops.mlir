// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu="strategy=wgmma_tma"

// TMA rows start on 16-byte boundaries: K = 60 f16 elements is 120 bytes.
func.func @unaligned_rows(%a: memref<64x60xf16>, %b: memref<60x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{strategy 'wgmma_tma': operand 'a' has rows of 60 elements; TMA needs them to be a multiple of 8 (16 bytes)}}
  tessel.gemm %a, %b into %d : memref<64x60xf16>, memref<60x64xf16> into memref<64x64xf32>
  return
}

// -----

func.func @f32(%a: memref<64x64xf32>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{strategy 'wgmma_tma' needs f16 or bf16 inputs, got 'f32'}}
  tessel.gemm %a, %a into %d : memref<64x64xf32>, memref<64x64xf32> into memref<64x64xf32>
  return
}
