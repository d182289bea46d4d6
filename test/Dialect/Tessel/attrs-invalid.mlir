// RUN: tessel-opt %s -split-input-file -verify-diagnostics

func.func @unknown_strategy(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{unknown strategy 'fast'; expected naive, smem, regtile, pipelined, mma, wgmma or wgmma_tma}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "fast">} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}

// -----

func.func @negative(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{block_k = -8 is outside [0, 16384] (0: the default)}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<block_k = -8>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}

// -----

func.func @split_k_bound(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{split_k = 2000 is outside [0, 1024] (0: the default)}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "mma", split_k = 2000>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}

// -----

func.func @huge(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{warpgroups = 4611686018427387904 is outside [0, 8] (0: the default)}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma", warpgroups = 4611686018427387904>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}

// -----

func.func @unknown_field(%a: memref<64x64xf16>, %d: memref<64x64xf32>) {
  // expected-error @+1 {{duplicate or unknown struct parameter name: tiles}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<tiles = 3>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf32>
  return
}

// -----

func.func @paged_unknown_strategy(%m: memref<1x2xi64>, %kc: memref<8x16x2x64xf16>) {
  // expected-error @+1 {{unknown strategy 'v3'; expected v1 or v2}}
  tessel.copy_blocks %m into %kc, %kc {config = #tessel.paged_config<strategy = "v3">} : memref<1x2xi64> into memref<8x16x2x64xf16>, memref<8x16x2x64xf16>
  return
}

// -----

func.func @paged_bound(%m: memref<1x2xi64>, %kc: memref<8x16x2x64xf16>) {
  // expected-error @+1 {{partition_size = 131072 is outside [0, 65536] (0: the default)}}
  tessel.copy_blocks %m into %kc, %kc {config = #tessel.paged_config<partition_size = 131072>} : memref<1x2xi64> into memref<8x16x2x64xf16>, memref<8x16x2x64xf16>
  return
}

// -----

func.func @paged_cluster_bound(%m: memref<1x2xi64>, %kc: memref<8x16x2x64xf16>) {
  // expected-error @+1 {{cluster = 9 is outside [0, 8] (0: the default)}}
  tessel.copy_blocks %m into %kc, %kc {config = #tessel.paged_config<cluster = 9>} : memref<1x2xi64> into memref<8x16x2x64xf16>, memref<8x16x2x64xf16>
  return
}

// -----

func.func @paged_rows_per_warp(%m: memref<1x2xi64>, %kc: memref<8x16x2x64xf16>) {
  // expected-error @+1 {{rows_per_warp = 24 is not 16 or 32 (0: the default)}}
  tessel.copy_blocks %m into %kc, %kc {config = #tessel.paged_config<rows_per_warp = 24>} : memref<1x2xi64> into memref<8x16x2x64xf16>, memref<8x16x2x64xf16>
  return
}

// -----

func.func @persistent_bound(%a: memref<64x64xf16>, %d: memref<64x64xf16>) {
  // expected-error @+1 {{persistent = 100000 is outside [0, 65536] (0: the default)}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma_tma", persistent = 100000>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf16>
  return
}

// -----

func.func @cluster_bound(%a: memref<64x64xf16>, %d: memref<64x64xf16>) {
  // expected-error @+1 {{cluster = 16 is outside [0, 8] (0: the default)}}
  tessel.gemm %a, %a into %d {config = #tessel.gemm_config<strategy = "wgmma_tma", cluster = 16>} : memref<64x64xf16>, memref<64x64xf16> into memref<64x64xf16>
  return
}
