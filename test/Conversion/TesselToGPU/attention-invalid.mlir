// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu

func.func @f32_inputs(%q: memref<1x2x64x64xf32>, %o: memref<1x2x64x64xf32>) {
  // expected-error @+1 {{convert-tessel-to-gpu: strategy 'mma': needs f16 or bf16 inputs, got 'f32'}}
  tessel.flash_attention %q, %q, %q into %o : memref<1x2x64x64xf32>, memref<1x2x64x64xf32>, memref<1x2x64x64xf32> into memref<1x2x64x64xf32>
  return
}

// -----

func.func @f32_output(%q: memref<1x2x64x64xf16>, %o: memref<1x2x64x64xf32>) {
  // expected-error @+1 {{strategy 'mma': writes O in f16 or bf16, got 'f32'}}
  tessel.flash_attention %q, %q, %q into %o : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf32>
  return
}

// -----

func.func @value_head_dim(%q: memref<1x2x64x64xf16>, %v: memref<1x2x64x128xf16>, %o: memref<1x2x64x128xf16>) {
  // expected-error @+1 {{strategy 'mma': needs the value head dimension (128) equal to the query/key head dimension (64)}}
  tessel.flash_attention %q, %q, %v into %o : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x128xf16> into memref<1x2x64x128xf16>
  return
}

// -----

func.func @head_dim_72(%q: memref<1x2x64x72xf16>) {
  // expected-error @+1 {{strategy 'mma': head dimension 72 must be a multiple of 16 (the k of mma.sync m16n8k16)}}
  tessel.flash_attention %q, %q, %q into %q : memref<1x2x64x72xf16>, memref<1x2x64x72xf16>, memref<1x2x64x72xf16> into memref<1x2x64x72xf16>
  return
}

// -----

func.func @block_m(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'mma': block_m (96) must be a multiple of 16 x warps (64): each warp owns whole m16 tiles of query rows}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<block_m = 96, warps = 4>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @block_n(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'mma': block_n (40) must be a multiple of 16 (P is the A operand of m16n8k16)}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<block_n = 40>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @stages(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{strategy 'mma': stages must be at least 2 (one K/V tile loading while one is read), got 1}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<stages = 1>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

// 32 rows a warp re-read Q from shared memory, and still O, S and P of two
// m16 tiles at 128 keys a step do not fit.
func.func @registers(%q: memref<1x2x64x128xf16>) {
  // expected-error @+1 {{strategy 'mma': head dimension 128 with 32 query rows per warp and block_n = 128 keeps 320 registers per thread live across the key loop (O, S and P, Q re-read from shared memory); the limit is 224}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<block_n = 128>} : memref<1x2x64x128xf16>, memref<1x2x64x128xf16>, memref<1x2x64x128xf16> into memref<1x2x64x128xf16>
  return
}

// -----

// Head dimension 256 fits only with 16 query rows a warp (its default).
func.func @head_dim_256(%q: memref<1x2x64x256xbf16>) {
  // expected-error @+1 {{strategy 'mma': head dimension 256 with 32 query rows per warp and block_n = 16 keeps 280 registers per thread live across the key loop (O, S and P, Q re-read from shared memory); the limit is 224}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<block_n = 16, warps = 4>} : memref<1x2x64x256xbf16>, memref<1x2x64x256xbf16>, memref<1x2x64x256xbf16> into memref<1x2x64x256xbf16>
  return
}

// -----

func.func @shared_memory(%q: memref<1x2x64x128xf16>) {
  // expected-error @+1 {{strategy 'mma': needs 452608 bytes of shared memory (Q tile and 12 K and V tiles); the limit is 232448}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<stages = 12>} : memref<1x2x64x128xf16>, memref<1x2x64x128xf16>, memref<1x2x64x128xf16> into memref<1x2x64x128xf16>
  return
}

// -----

// flash_attention_varlen shares the kernel and its configuration checks.
func.func @varlen_f32(%q: memref<?x2x64xf32>, %cu: memref<?xi32>, %m: index) {
  // expected-error @+1 {{convert-tessel-to-gpu: strategy 'mma': needs f16 or bf16 inputs, got 'f32'}}
  tessel.flash_attention_varlen %q, %q, %q, %cu, %cu, %m, %m into %q : memref<?x2x64xf32>, memref<?x2x64xf32>, memref<?x2x64xf32>, memref<?xi32>, memref<?xi32> into memref<?x2x64xf32>
  return
}

// -----

func.func @varlen_config(%q: memref<?x2x64xf16>, %cu: memref<?xi32>, %m: index) {
  // expected-error @+1 {{strategy 'mma': block_m (96) must be a multiple of 16 x warps (64)}}
  tessel.flash_attention_varlen %q, %q, %q, %cu, %cu, %m, %m into %q {config = #tessel.attention_config<block_m = 96>} : memref<?x2x64xf16>, memref<?x2x64xf16>, memref<?x2x64xf16>, memref<?xi32>, memref<?xi32> into memref<?x2x64xf16>
  return
}

// -----

func.func @varlen_dynamic_heads(%q: memref<?x?x64xf16>, %cu: memref<?xi32>, %m: index) {
  // expected-error @+1 {{strategy 'mma': the head counts of 'q' and 'k' must be static}}
  tessel.flash_attention_varlen %q, %q, %q, %cu, %cu, %m, %m into %q : memref<?x?x64xf16>, memref<?x?x64xf16>, memref<?x?x64xf16>, memref<?xi32>, memref<?xi32> into memref<?x?x64xf16>
  return
}
