// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu

func.func @not_wgmma_tma(%a: memref<64x64xf16>, %d: memref<64x64xf16>) {
  // expected-error @+1 {{persistent applies to strategy 'wgmma_tma' only, not 'wgmma'}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma", persistent = 132>}
      : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf16>
  return
}

// -----

func.func @with_split_k(%a: memref<64x4096xf16>, %b: memref<4096x64xf16>,
                        %d: memref<64x64xf16>) {
  // expected-error @+1 {{persistent (132) and split-k (2) do not combine; use one of them}}
  tessel.gemm %a, %b into %d {config = #tessel.gemm_config<strategy = "wgmma_tma", persistent = 132,
                                                           split_k = 2>}
      : memref<64x4096xf16>, memref<4096x64xf16> into memref<64x64xf16>
  return
}

// -----

// The park of an f32 128 x 256 tile (135 KB) does not fit beside 3 stages
// (144 KB) once both are live at the same time.
func.func @park_too_large(%a: memref<256x256xf16>, %d: memref<256x256xf32>) {
  // expected-error @+1 {{strategy 'wgmma_tma' needs 283696 bytes of shared memory; the limit is 232448}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma_tma", stages = 3,
                                                           persistent = 132>}
      : memref<256x256xf16>, memref<256x256xf16> into memref<256x256xf32>
  return
}
