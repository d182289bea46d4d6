// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu

func.func @not_wgmma_tma(%a: memref<64x64xf16>, %d: memref<64x64xf16>) {
  // expected-error @+1 {{cluster applies to strategy 'wgmma_tma' only, not 'wgmma'}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma", cluster = 2>}
      : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf16>
  return
}

// -----

func.func @with_split_k(%a: memref<64x4096xf16>, %b: memref<4096x64xf16>,
                        %d: memref<64x64xf16>) {
  // expected-error @+1 {{cluster (2) and split-k (2) do not combine; use one of them}}
  tessel.gemm %a, %b into %d {config = #tessel.gemm_config<strategy = "wgmma_tma", cluster = 2,
                                                           split_k = 2>}
      : memref<64x4096xf16>, memref<4096x64xf16> into memref<64x64xf16>
  return
}

// -----

func.func @fewer_blocks_than_a_cluster(%a: memref<256x256xf16>, %d: memref<256x256xf16>) {
  // expected-error @+1 {{persistent (1) must be at least cluster (2): the walk is over whole clusters}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma_tma", stages = 3,
                                                           persistent = 1, cluster = 2>}
      : memref<256x256xf16>, memref<256x256xf16> into memref<256x256xf16>
  return
}

// -----

// Each block multicasts 64 / 3 rows of B's 64-row (block-k) tile: not whole
// 8-row swizzle atoms.
func.func @pieces_not_whole_atoms(%a: memref<256x256xf16>, %d: memref<256x256xf16>) {
  // expected-error @+1 {{cluster (3) must split B's tile rows (64, block-k) into pieces of a multiple of 8 rows}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma_tma", cluster = 3>}
      : memref<256x256xf16>, memref<256x256xf16> into memref<256x256xf16>
  return
}
