// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu

func.func @f32_inputs(%q: memref<1x2x64x64xf32>) {
  // expected-error @+1 {{convert-tessel-to-gpu: strategy 'wgmma': needs f16 or bf16 inputs, got 'f32'}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma">} : memref<1x2x64x64xf32>, memref<1x2x64x64xf32>, memref<1x2x64x64xf32> into memref<1x2x64x64xf32>
  return
}

// -----

func.func @f32_output(%q: memref<1x2x64x64xf16>, %o: memref<1x2x64x64xf32>) {
  // expected-error @+1 {{strategy 'wgmma': writes O in f16 or bf16, got 'f32'}}
  tessel.flash_attention %q, %q, %q into %o {config = #tessel.attention_config<strategy = "wgmma">} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf32>
  return
}

// -----

func.func @value_head_dim(%q: memref<1x2x64x64xf16>, %v: memref<1x2x64x128xf16>, %o: memref<1x2x64x128xf16>) {
  // expected-error @+1 {{strategy 'wgmma': needs the value head dimension (128) equal to the query/key head dimension (64)}}
  tessel.flash_attention %q, %q, %v into %o {config = #tessel.attention_config<strategy = "wgmma">} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x128xf16> into memref<1x2x64x128xf16>
  return
}

// -----

func.func @head_dim_96(%q: memref<1x2x64x96xf16>) {
  // expected-error @+1 {{strategy 'wgmma': head dimension 96 must be 64, 128, 192 or 256 (whole 128-byte swizzle rows, and the n of the P V wgmma at most 256)}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma">} : memref<1x2x64x96xf16>, memref<1x2x64x96xf16>, memref<1x2x64x96xf16> into memref<1x2x64x96xf16>
  return
}

// -----

func.func @warps(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'wgmma': warps (6) must be 4, 8, 12 or 16: whole warpgroups, at most 4}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma", warps = 6>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @block_m(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'wgmma': block_m (64) must be 16 x warps (128): each warpgroup owns 64 query rows}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma", block_m = 64>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @block_n(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'wgmma': block_n (40) must be a multiple of 16 up to 256 (the n of the S wgmma; P is read 16 keys at a time)}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma", block_n = 40>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @block_n_272(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'wgmma': block_n (272) must be a multiple of 16 up to 256}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma", block_n = 272>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @stages(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'wgmma': stages must be at least 2 (one K/V tile loading while one is read), got 1}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma", stages = 1>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

// Three warpgroups leave 170 registers a thread.
func.func @registers(%q: memref<1x2x64x128xf16>) {
  // expected-error @+1 {{strategy 'wgmma': head dimension 128 with block_n = 128 keeps 192 registers per thread live across the key loop (O, S and two P generations); the limit for 384 threads is 130}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma", block_m = 192, warps = 12>} : memref<1x2x64x128xf16>, memref<1x2x64x128xf16>, memref<1x2x64x128xf16> into memref<1x2x64x128xf16>
  return
}

// -----

func.func @shared_memory(%q: memref<1x2x64x128xf16>) {
  // expected-error @+1 {{strategy 'wgmma': needs 295936 bytes of shared memory (Q tile and 4 K and V tiles); the limit is 232448}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma", stages = 4>} : memref<1x2x64x128xf16>, memref<1x2x64x128xf16>, memref<1x2x64x128xf16> into memref<1x2x64x128xf16>
  return
}

// -----

func.func @varlen(%q: memref<?x2x64xf16>, %cu: memref<?xi32>, %m: index) {
  // expected-error @+1 {{convert-tessel-to-gpu: strategy 'wgmma' has no packed (varlen) form yet; use strategy 'mma'}}
  tessel.flash_attention_varlen %q, %q, %q, %cu, %cu, %m, %m into %q {config = #tessel.attention_config<strategy = "wgmma">} : memref<?x2x64xf16>, memref<?x2x64xf16>, memref<?x2x64xf16>, memref<?xi32>, memref<?xi32> into memref<?x2x64xf16>
  return
}

// -----

func.func @tma_warps(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'wgmma_tma': warps (12) must be 4 or 8: with the producer warpgroup, more consumers than two cannot hold 232 registers each}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "wgmma_tma", block_m = 192, warps = 12>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}
