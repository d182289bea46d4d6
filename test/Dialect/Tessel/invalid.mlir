// RUN: tessel-opt %s -split-input-file -verify-diagnostics

func.func @gemm_rank(%a: tensor<16xf16>, %b: tensor<16x8xf16>, %i: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'a' must have rank 2 or 3, got rank 1}}
  %d = tessel.gemm %a, %b into %i : tensor<16xf16>, tensor<16x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @gemm_rank_b(%a: tensor<2x16x8xf16>, %b: tensor<8x8xf16>, %i: tensor<2x16x8xf32>) {
  // expected-error @+1 {{operand 'b' must have rank 3, got rank 2}}
  %d = tessel.gemm %a, %b into %i : tensor<2x16x8xf16>, tensor<8x8xf16> into tensor<2x16x8xf32> -> tensor<2x16x8xf32>
  return
}

// -----

func.func @gemm_int(%a: tensor<16x8xi32>, %b: tensor<8x8xi32>, %i: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'a' must have element type f16, bf16 or f32, got 'i32'}}
  %d = tessel.gemm %a, %b into %i : tensor<16x8xi32>, tensor<8x8xi32> into tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @gemm_mixed_inputs(%a: tensor<16x8xf16>, %b: tensor<8x8xf32>, %i: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'b' has element type 'f32' but 'a' has 'f16'; they must match}}
  %d = tessel.gemm %a, %b into %i : tensor<16x8xf16>, tensor<8x8xf32> into tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @gemm_k(%a: tensor<16x8xf16>, %b: tensor<9x8xf16>, %i: tensor<16x8xf32>) {
  // expected-error @+1 {{contraction dimension K mismatch: 'a' has 8 (dimension 1) but 'b' has 9 (dimension 0)}}
  %d = tessel.gemm %a, %b into %i : tensor<16x8xf16>, tensor<9x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @gemm_k_transposed(%a: tensor<16x8xf16>, %b: tensor<8x8xf16>, %i: tensor<8x8xf32>) {
  // expected-error @+1 {{contraction dimension K mismatch: 'a' has 16 (dimension 0) but 'b' has 8 (dimension 0)}}
  %d = tessel.gemm %a, %b into %i {transpose_a} : tensor<16x8xf16>, tensor<8x8xf16> into tensor<8x8xf32> -> tensor<8x8xf32>
  return
}

// -----

func.func @gemm_m(%a: tensor<16x8xf16>, %b: tensor<8x8xf16>, %i: tensor<15x8xf32>) {
  // expected-error @+1 {{row dimension M mismatch: 'init' has 15 (dimension 0) but 'a' has 16 (dimension 0)}}
  %d = tessel.gemm %a, %b into %i : tensor<16x8xf16>, tensor<8x8xf16> into tensor<15x8xf32> -> tensor<15x8xf32>
  return
}

// -----

func.func @gemm_n(%a: tensor<16x8xf16>, %b: tensor<8x8xf16>, %i: tensor<16x9xf32>) {
  // expected-error @+1 {{column dimension N mismatch: 'init' has 9 (dimension 1) but 'b' has 8 (dimension 1)}}
  %d = tessel.gemm %a, %b into %i : tensor<16x8xf16>, tensor<8x8xf16> into tensor<16x9xf32> -> tensor<16x9xf32>
  return
}

// -----

func.func @gemm_c_shape(%a: tensor<16x8xf16>, %b: tensor<8x8xf16>, %c: tensor<16x4xf32>, %i: tensor<16x8xf32>) {
  // expected-error @+1 {{column dimension N mismatch: 'c' has 4 (dimension 1) but 'init' has 8 (dimension 1)}}
  %d = tessel.gemm %a, %b, %c into %i : tensor<16x8xf16>, tensor<8x8xf16>, tensor<16x4xf32> into tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @gemm_batch(%a: tensor<2x16x8xf16>, %b: tensor<3x8x8xf16>, %i: tensor<2x16x8xf32>) {
  // expected-error @+1 {{batch dimension mismatch: 'b' has 3 (dimension 0) but 'a' has 2 (dimension 0)}}
  %d = tessel.gemm %a, %b into %i : tensor<2x16x8xf16>, tensor<3x8x8xf16> into tensor<2x16x8xf32> -> tensor<2x16x8xf32>
  return
}

// -----

func.func @gemm_inf_alpha(%a: tensor<16x8xf16>, %b: tensor<8x8xf16>, %i: tensor<16x8xf32>) {
  // expected-error @+1 {{alpha and beta must be finite, got alpha = INF, beta = 0.000000e+00}}
  %d = tessel.gemm %a, %b into %i {alpha = 0x7F800000 : f32} : tensor<16x8xf16>, tensor<8x8xf16> into tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @gemm_mixed_forms(%a: tensor<16x8xf16>, %b: memref<8x8xf16>, %i: memref<16x8xf32>) {
  // expected-error @+1 {{mixes tensor and memref operands; use all tensors (tensor form) or all memrefs (memref form)}}
  tessel.gemm %a, %b into %i : tensor<16x8xf16>, memref<8x8xf16> into memref<16x8xf32>
  return
}

// -----

func.func @fa_rank(%q: tensor<8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %o: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{operand 'q' must have rank 4, got rank 3}}
  %r = tessel.flash_attention %q, %k, %k into %o : tensor<8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16> into tensor<1x8x128x64xf16> -> tensor<1x8x128x64xf16>
  return
}

// -----

func.func @fa_lse_type(%q: tensor<1x8x128x64xf16>, %o: tensor<1x8x128x64xf16>, %l: tensor<1x8x128xf16>) {
  // expected-error @+1 {{operand 'lse' must have element type 'f32', got 'f16'}}
  %r:2 = tessel.flash_attention %q, %q, %q into %o, %l : tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16> into tensor<1x8x128x64xf16>, tensor<1x8x128xf16> -> tensor<1x8x128x64xf16>, tensor<1x8x128xf16>
  return
}

// -----

func.func @fa_heads(%q: tensor<1x6x128x64xf16>, %k: tensor<1x4x128x64xf16>, %o: tensor<1x6x128x64xf16>) {
  // expected-error @+1 {{query heads of 'q' (6) must be a multiple of the key/value heads of 'k' (4)}}
  %r = tessel.flash_attention %q, %k, %k into %o : tensor<1x6x128x64xf16>, tensor<1x4x128x64xf16>, tensor<1x4x128x64xf16> into tensor<1x6x128x64xf16> -> tensor<1x6x128x64xf16>
  return
}

// -----

func.func @fa_head_dim(%q: tensor<1x4x128x20xf16>, %o: tensor<1x4x128x20xf16>) {
  // expected-error @+1 {{head dimension of 'q' is 20; supported head dimensions are multiples of 8 up to 256}}
  %r = tessel.flash_attention %q, %q, %q into %o : tensor<1x4x128x20xf16>, tensor<1x4x128x20xf16>, tensor<1x4x128x20xf16> into tensor<1x4x128x20xf16> -> tensor<1x4x128x20xf16>
  return
}

// -----

func.func @fa_dynamic_head_dim(%q: tensor<1x4x128x?xf16>, %o: tensor<1x4x128x?xf16>) {
  // expected-error @+1 {{head dimension of 'q' (dimension 3) must be static}}
  %r = tessel.flash_attention %q, %q, %q into %o : tensor<1x4x128x?xf16>, tensor<1x4x128x?xf16>, tensor<1x4x128x?xf16> into tensor<1x4x128x?xf16> -> tensor<1x4x128x?xf16>
  return
}

// -----

func.func @fa_kv_len(%q: tensor<1x4x128x64xf16>, %k: tensor<1x4x100x64xf16>, %v: tensor<1x4x99x64xf16>, %o: tensor<1x4x128x64xf16>) {
  // expected-error @+1 {{key length mismatch: 'v' has 99 (dimension 2) but 'k' has 100 (dimension 2)}}
  %r = tessel.flash_attention %q, %k, %v into %o : tensor<1x4x128x64xf16>, tensor<1x4x100x64xf16>, tensor<1x4x99x64xf16> into tensor<1x4x128x64xf16> -> tensor<1x4x128x64xf16>
  return
}

// -----

func.func @fa_scale(%q: tensor<1x4x128x64xf16>, %o: tensor<1x4x128x64xf16>) {
  // expected-error @+1 {{scale must be finite and positive, got -1}}
  %r = tessel.flash_attention %q, %q, %q into %o {scale = -1.0 : f32} : tensor<1x4x128x64xf16>, tensor<1x4x128x64xf16>, tensor<1x4x128x64xf16> into tensor<1x4x128x64xf16> -> tensor<1x4x128x64xf16>
  return
}

// -----

func.func @pa_block_size(%q: tensor<4x8x64xf16>, %kc: tensor<128x12x2x64xf16>, %bt: tensor<4x32xi32>, %lens: tensor<4xi32>, %o: tensor<4x8x64xf16>) {
  // expected-error @+1 {{block size of 'key_cache' (dimension 1) is 12; it must be static and one of 8, 16, 32}}
  %r = tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o : tensor<4x8x64xf16>, tensor<128x12x2x64xf16>, tensor<128x12x2x64xf16>, tensor<4x32xi32>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
  return
}

// -----

func.func @pa_table_type(%q: tensor<4x8x64xf16>, %kc: tensor<128x16x2x64xf16>, %bt: tensor<4x32xi64>, %lens: tensor<4xi32>, %o: tensor<4x8x64xf16>) {
  // expected-error @+1 {{operand 'block_tables' must have element type 'i32', got 'i64'}}
  %r = tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o : tensor<4x8x64xf16>, tensor<128x16x2x64xf16>, tensor<128x16x2x64xf16>, tensor<4x32xi64>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
  return
}

// -----

func.func @pa_seqs(%q: tensor<4x8x64xf16>, %kc: tensor<128x16x2x64xf16>, %bt: tensor<3x32xi32>, %lens: tensor<4xi32>, %o: tensor<4x8x64xf16>) {
  // expected-error @+1 {{number of sequences mismatch: 'block_tables' has 3 (dimension 0) but 'q' has 4 (dimension 0)}}
  %r = tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o : tensor<4x8x64xf16>, tensor<128x16x2x64xf16>, tensor<128x16x2x64xf16>, tensor<3x32xi32>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
  return
}

// -----

func.func @pa_cache_shapes(%q: tensor<4x8x64xf16>, %kc: tensor<128x16x2x64xf16>, %vc: tensor<64x16x2x64xf16>, %bt: tensor<4x32xi32>, %lens: tensor<4xi32>, %o: tensor<4x8x64xf16>) {
  // expected-error @+1 {{cache shape mismatch: 'value_cache' has 64 (dimension 0) but 'key_cache' has 128 (dimension 0)}}
  %r = tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o : tensor<4x8x64xf16>, tensor<128x16x2x64xf16>, tensor<64x16x2x64xf16>, tensor<4x32xi32>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
  return
}

// -----

func.func @kvw_slots(%k: tensor<7x2x64xf16>, %s: tensor<7xi32>, %kc: tensor<32x16x2x64xf16>) {
  // expected-error @+1 {{operand 'slot_mapping' must have element type 'i64', got 'i32'}}
  %r:2 = tessel.paged_kv_write %k, %k, %s into %kc, %kc : tensor<7x2x64xf16>, tensor<7x2x64xf16>, tensor<7xi32> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
  return
}

// -----

func.func @kvw_tokens(%k: tensor<7x2x64xf16>, %s: tensor<6xi64>, %kc: tensor<32x16x2x64xf16>) {
  // expected-error @+1 {{number of tokens mismatch: 'slot_mapping' has 6 (dimension 0) but 'key' has 7 (dimension 0)}}
  %r:2 = tessel.paged_kv_write %k, %k, %s into %kc, %kc : tensor<7x2x64xf16>, tensor<7x2x64xf16>, tensor<6xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
  return
}

// -----

func.func @kvw_dtype(%k: tensor<7x2x64xf32>, %s: tensor<7xi64>, %kc: tensor<32x16x2x64xf16>) {
  // expected-error @+1 {{operand 'key' has element type 'f32' but 'key_cache' has 'f16'; they must match}}
  %r:2 = tessel.paged_kv_write %k, %k, %s into %kc, %kc : tensor<7x2x64xf32>, tensor<7x2x64xf32>, tensor<7xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16> -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
  return
}

// -----

func.func @copy_pairs(%m: tensor<3x3xi64>, %kc: tensor<32x8x2x64xf32>) {
  // expected-error @+1 {{operand 'block_mapping' must have shape [N, 2] of (src, dst) pairs, got dimension 1 of size 3}}
  %r:2 = tessel.copy_blocks %m into %kc, %kc : tensor<3x3xi64> into tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32> -> tensor<32x8x2x64xf32>, tensor<32x8x2x64xf32>
  return
}

// -----

func.func @copy_cache_elt(%m: tensor<3x2xi64>, %kc: tensor<32x8x2x64xi8>) {
  // expected-error @+1 {{operand 'key_cache' must have element type f16, bf16 or f32, got 'i8'}}
  %r:2 = tessel.copy_blocks %m into %kc, %kc : tensor<3x2xi64> into tensor<32x8x2x64xi8>, tensor<32x8x2x64xi8> -> tensor<32x8x2x64xi8>, tensor<32x8x2x64xi8>
  return
}

// -----

// The issue's reproducer: isStrided() on these memrefs used to abort the parse.
func.func @gemm_too_many_elements(%a: memref<2x4611686018427387904xf16>, %b: memref<4611686018427387904x2xf16>, %d: memref<2x2xf32>) {
  // expected-error @+1 {{operand 'a' of type 'memref<2x4611686018427387904xf16>' is too large: the product of its non-zero static dimensions exceeds the int64 limit 9223372036854775807}}
  tessel.gemm %a, %b into %d : memref<2x4611686018427387904xf16>, memref<4611686018427387904x2xf16> into memref<2x2xf32>
  return
}

// -----

func.func @gemm_too_many_elements_b(%a: memref<2x2xf16>, %b: memref<2x4611686018427387904x2xf16>, %d: memref<2x2xf32>) {
  // expected-error @+1 {{operand 'b' of type 'memref<2x4611686018427387904x2xf16>' is too large}}
  tessel.gemm %a, %b into %d : memref<2x2xf16>, memref<2x4611686018427387904x2xf16> into memref<2x2xf32>
  return
}

// -----

// A zero dimension makes the element count 0, but the layout's strides are
// still the products of the other dimensions.
func.func @gemm_zero_dim_overflowing_strides(%a: memref<0x4611686018427387904x4xf16>, %b: memref<0x4x2xf16>, %d: memref<0x4611686018427387904x2xf32>) {
  // expected-error @+1 {{operand 'a' of type 'memref<0x4611686018427387904x4xf16>' is too large: the product of its non-zero static dimensions exceeds the int64 limit}}
  tessel.gemm %a, %b into %d {transpose_a} : memref<0x4611686018427387904x4xf16>, memref<0x4x2xf16> into memref<0x4611686018427387904x2xf32>
  return
}

// -----

func.func @gemm_dynamic_and_overflowing(%a: memref<?x4611686018427387904x4xf16>, %b: memref<?x4x2xf16>, %d: memref<?x2x2xf32>) {
  // expected-error @+1 {{operand 'a' of type 'memref<?x4611686018427387904x4xf16>' is too large}}
  tessel.gemm %a, %b into %d : memref<?x4611686018427387904x4xf16>, memref<?x4x2xf16> into memref<?x2x2xf32>
  return
}

// -----

func.func @gemm_too_many_bytes(%a: memref<2x2305843009213693952xf32>, %b: memref<2305843009213693952x2xf32>, %d: memref<2x2xf32>) {
  // expected-error @+1 {{operand 'a' of type 'memref<2x2305843009213693952xf32>' is too large: 4611686018427387904 elements of 4 bytes exceed the int64 limit of 9223372036854775807 bytes}}
  tessel.gemm %a, %b into %d : memref<2x2305843009213693952xf32>, memref<2305843009213693952x2xf32> into memref<2x2xf32>
  return
}

// -----

func.func @gemm_tensor_too_large(%a: tensor<16x8xf16>, %b: tensor<8x8xf16>, %c: tensor<3037000500x3037000500xf32>, %i: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'c' of type 'tensor<3037000500x3037000500xf32>' is too large: the product of its non-zero static dimensions exceeds the int64 limit}}
  %d = tessel.gemm %a, %b, %c into %i : tensor<16x8xf16>, tensor<8x8xf16>, tensor<3037000500x3037000500xf32> into tensor<16x8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @gemm_init_too_large(%a: memref<16x8xf16>, %b: memref<8x8xf16>, %i: memref<1152921504606846976x8xf32>) {
  // expected-error @+1 {{operand 'init' of type 'memref<1152921504606846976x8xf32>' is too large}}
  tessel.gemm %a, %b into %i : memref<16x8xf16>, memref<8x8xf16> into memref<1152921504606846976x8xf32>
  return
}

// -----

func.func @fa_too_large(%q: memref<1x1x8x8xf16>, %k: memref<1x1x4611686018427387904x8xf16>, %o: memref<1x1x8x8xf16>) {
  // expected-error @+1 {{operand 'k' of type 'memref<1x1x4611686018427387904x8xf16>' is too large}}
  tessel.flash_attention %q, %k, %k into %o : memref<1x1x8x8xf16>, memref<1x1x4611686018427387904x8xf16>, memref<1x1x4611686018427387904x8xf16> into memref<1x1x8x8xf16>
  return
}

// -----

func.func @fa_lse_too_large(%q: memref<1x1x8x8xf16>, %o: memref<1x1x8x8xf16>, %l: memref<4611686018427387904x1x8xf32>) {
  // expected-error @+1 {{operand 'lse' of type 'memref<4611686018427387904x1x8xf32>' is too large}}
  tessel.flash_attention %q, %q, %q into %o, %l : memref<1x1x8x8xf16>, memref<1x1x8x8xf16>, memref<1x1x8x8xf16> into memref<1x1x8x8xf16>, memref<4611686018427387904x1x8xf32>
  return
}

// -----

func.func @pa_too_large(%q: memref<4x8x64xf16>, %kc: memref<128x16x2x64xf16>, %bt: memref<4x4611686018427387904xi32>, %lens: memref<4xi32>, %o: memref<4x8x64xf16>) {
  // expected-error @+1 {{operand 'block_tables' of type 'memref<4x4611686018427387904xi32>' is too large}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o : memref<4x8x64xf16>, memref<128x16x2x64xf16>, memref<128x16x2x64xf16>, memref<4x4611686018427387904xi32>, memref<4xi32> into memref<4x8x64xf16>
  return
}

// -----

func.func @kvw_too_large(%k: memref<7x2x64xf16>, %s: memref<7xi64>, %kc: memref<4611686018427387904x16x2x64xf16>) {
  // expected-error @+1 {{operand 'key_cache' of type 'memref<4611686018427387904x16x2x64xf16>' is too large}}
  tessel.paged_kv_write %k, %k, %s into %kc, %kc : memref<7x2x64xf16>, memref<7x2x64xf16>, memref<7xi64> into memref<4611686018427387904x16x2x64xf16>, memref<4611686018427387904x16x2x64xf16>
  return
}

// -----

func.func @copy_too_large(%m: memref<4611686018427387904x2xi64>, %kc: memref<32x8x2x64xf32>) {
  // expected-error @+1 {{operand 'block_mapping' of type 'memref<4611686018427387904x2xi64>' is too large}}
  tessel.copy_blocks %m into %kc, %kc : memref<4611686018427387904x2xi64> into memref<32x8x2x64xf32>, memref<32x8x2x64xf32>
  return
}

// -----

func.func @fav_rank(%q: tensor<1x300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'q' must have rank 3, got rank 4}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<1x300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_cu_rank(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5x1xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'cu_seqlens_q' must have rank 1, got rank 2}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5x1xi32>, tensor<5x1xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_dtype(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xbf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'k' has element type 'bf16' but 'q' has 'f16'; they must match}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xbf16>, tensor<500x2x64xbf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_cu_type(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi64>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'cu_seqlens_q' must have element type 'i32', got 'i64'}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi64>, tensor<5xi64> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_cu_short(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<1xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'cu_seqlens_q' holds 1 offsets; it needs batch + 1 >= 2}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<1xi32>, tensor<1xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_cu_lengths(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %cuk: tensor<4xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{number of offsets (batch + 1) mismatch: 'cu_seqlens_k' has 4 (dimension 0) but 'cu_seqlens_q' has 5 (dimension 0)}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cuk, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<4xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_heads(%q: tensor<300x6x64xf16>, %k: tensor<500x4x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x6x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{query heads of 'q' (6) must be a multiple of the key/value heads of 'k' (4)}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x6x64xf16>, tensor<500x4x64xf16>, tensor<500x4x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x6x64xf16> -> tensor<300x6x64xf16>
  return
}

// -----

func.func @fav_head_dim(%q: tensor<300x8x64xf16>, %k: tensor<500x2x32xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{head dimension mismatch: 'k' has 32 (dimension 2) but 'q' has 64 (dimension 2)}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x32xf16>, tensor<500x2x32xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_kv_len(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %v: tensor<499x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{packed key length mismatch: 'v' has 499 (dimension 0) but 'k' has 500 (dimension 0)}}
  %r = tessel.flash_attention_varlen %q, %k, %v, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<499x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_out_len(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<301x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{packed query length mismatch: 'out' has 301 (dimension 0) but 'q' has 300 (dimension 0)}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<301x8x64xf16> -> tensor<301x8x64xf16>
  return
}

// -----

func.func @fav_lse_shape(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %l: tensor<300x8xf32>, %mq: index, %mk: index) {
  // expected-error @+1 {{query heads mismatch: 'lse' has 300 (dimension 0) but 'q' has 8 (dimension 1)}}
  %r:2 = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o, %l : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16>, tensor<300x8xf32> -> tensor<300x8x64xf16>, tensor<300x8xf32>
  return
}

// -----

func.func @fav_lse_rank(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %l: tensor<1x8x300xf32>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'lse' must have rank 2, got rank 3}}
  %r:2 = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o, %l : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16>, tensor<1x8x300xf32> -> tensor<300x8x64xf16>, tensor<1x8x300xf32>
  return
}

// -----

func.func @fav_lse_type(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %l: tensor<8x300xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'lse' must have element type 'f32', got 'f16'}}
  %r:2 = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o, %l : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16>, tensor<8x300xf16> -> tensor<300x8x64xf16>, tensor<8x300xf16>
  return
}

// -----

func.func @fav_scale(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{scale must be finite and positive, got 0}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o {scale = 0.0 : f32} : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}

// -----

func.func @fav_mixed(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: memref<300x8x64xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{mixes tensor and memref operands}}
  tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into memref<300x8x64xf16>
  return
}

// -----

func.func @fav_too_large(%q: memref<8x1x8xf16>, %k: memref<4611686018427387904x1x8xf16>, %cu: memref<5xi32>, %o: memref<8x1x8xf16>, %mq: index, %mk: index) {
  // expected-error @+1 {{operand 'k' of type 'memref<4611686018427387904x1x8xf16>' is too large}}
  tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : memref<8x1x8xf16>, memref<4611686018427387904x1x8xf16>, memref<4611686018427387904x1x8xf16>, memref<5xi32>, memref<5xi32> into memref<8x1x8xf16>
  return
}

// -----

func.func @fav_negative_max(%q: tensor<300x8x64xf16>, %k: tensor<500x2x64xf16>, %cu: tensor<5xi32>, %o: tensor<300x8x64xf16>, %mk: index) {
  %mq = arith.constant -1 : index
  // expected-error @+1 {{operand 'max_seqlen_q' is -1; a length bound must be >= 0}}
  %r = tessel.flash_attention_varlen %q, %k, %k, %cu, %cu, %mq, %mk into %o : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>, tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16> -> tensor<300x8x64xf16>
  return
}
