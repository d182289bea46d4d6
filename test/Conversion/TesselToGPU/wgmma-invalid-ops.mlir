// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu="strategy=wgmma block-k=128"

func.func @f32_wgmma(%a: memref<64x64xf32>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{strategy 'wgmma' needs f16 or bf16 inputs, got 'f32'}}
  tessel.gemm %a, %a into %d : memref<64x64xf32>, memref<64x64xf32> into memref<64x64xf32>
  return
}

// -----

// Four stages of 128 x 128 A and 128 x 256 B tiles, plus the alignment slack.
func.func @too_much_shared(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{strategy 'wgmma' needs 394240 bytes of shared memory; the limit is 232448}}
  tessel.gemm %a, %a into %d : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}
