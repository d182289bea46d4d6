// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu

func.func @not_a_tensor_core_rung(%a: memref<64x64xf32>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{split-k applies to strategies 'mma', 'wgmma' and 'wgmma_tma' only, not 'pipelined'}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "pipelined", split_k = 2>}
      : memref<64x64xf32>, memref<64x64xf32> into memref<64x64xf32>
  return
}

// -----

// K = 100 is two tiles of 64: three parts would leave one empty.
func.func @more_parts_than_k_tiles(%a: memref<64x100xf16>, %b: memref<100x64xf16>,
                                   %d: memref<64x64xf32>) {
  // expected-error @+1 {{split-k (3) exceeds the K tiles: K = 100 in tiles of block-k = 64 is 2 tiles}}
  tessel.gemm %a, %b into %d {config = #tessel.gemm_config<strategy = "wgmma", block_m = 64,
                                                           warpgroups = 1, split_k = 3>}
      : memref<64x100xf16>, memref<100x64xf16> into memref<64x64xf32>
  return
}

// -----

// 40000 batches x 2 parts exceed grid z's 65535.
func.func @grid_z(%a: memref<40000x16x256xf16>, %b: memref<40000x256x16xf16>,
                  %d: memref<40000x16x16xf32>) {
  // expected-error @+1 {{needs a grid of 1 x 1 x 80000 thread blocks (N / block-n, M / block-m, batch x split-k)}}
  tessel.gemm %a, %b into %d {config = #tessel.gemm_config<strategy = "mma", split_k = 2>}
      : memref<40000x16x256xf16>, memref<40000x256x16xf16> into memref<40000x16x16xf32>
  return
}
