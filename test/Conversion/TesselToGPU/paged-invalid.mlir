// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu

func.func @f32_decode(%q: memref<2x4x64xf32>, %kc: memref<8x16x1x64xf32>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x64xf32>) {
  // expected-error @+1 {{on the GPU needs f16 or bf16 operands (mma.sync), got 'f32'}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o : memref<2x4x64xf32>, memref<8x16x1x64xf32>, memref<8x16x1x64xf32>, memref<2x4xi32>, memref<2xi32> into memref<2x4x64xf32>
  return
}

// -----

func.func @dynamic_heads(%q: memref<2x?x64xf16>, %kc: memref<8x16x1x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x?x64xf16>) {
  // expected-error @+1 {{'q' has a run-time size in dimension 1; only sequences, max_blocks and num_blocks may be run-time}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o : memref<2x?x64xf16>, memref<8x16x1x64xf16>, memref<8x16x1x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x?x64xf16>
  return
}

// -----

func.func @head_dim_24(%q: memref<2x4x24xf16>, %kc: memref<8x16x1x24xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x24xf16>) {
  // expected-error @+1 {{head dimension 24 is not a multiple of 16, which the GPU kernel (mma.sync m16n8k16) needs}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o : memref<2x4x24xf16>, memref<8x16x1x24xf16>, memref<8x16x1x24xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x4x24xf16>
  return
}

// -----

func.func @too_many_warps(%q: memref<2x4x64xf16>, %kc: memref<8x16x1x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x64xf16>) {
  // expected-error @+1 {{config warps = 20 exceeds 16, the limit of the decode kernel}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<warps = 20>} : memref<2x4x64xf16>, memref<8x16x1x64xf16>, memref<8x16x1x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x4x64xf16>
  return
}

// -----

func.func @one_stage(%q: memref<2x4x64xf16>, %kc: memref<8x16x1x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x64xf16>) {
  // expected-error @+1 {{config stages = 1 is below 2, the decode kernel's minimum}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<stages = 1>} : memref<2x4x64xf16>, memref<8x16x1x64xf16>, memref<8x16x1x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x4x64xf16>
  return
}

// -----

func.func @odd_partition(%q: memref<2x4x64xf16>, %kc: memref<8x16x1x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x64xf16>) {
  // expected-error @+1 {{config partition_size = 100 is not a multiple of the key tile (64 tokens)}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<strategy = "v2", partition_size = 100>} : memref<2x4x64xf16>, memref<8x16x1x64xf16>, memref<8x16x1x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x4x64xf16>
  return
}

// -----

func.func @rows_per_warp_over_group(%q: memref<2x4x64xf16>, %kc: memref<8x16x1x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x64xf16>) {
  // expected-error @+1 {{config rows_per_warp = 32 exceeds the 16 query-head rows of a block (group of 4 heads, head dimension 64)}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<rows_per_warp = 32>} : memref<2x4x64xf16>, memref<8x16x1x64xf16>, memref<8x16x1x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x4x64xf16>
  return
}

// -----

func.func @odd_warps_split_rows(%q: memref<2x32x64xf16>, %kc: memref<8x16x1x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x32x64xf16>) {
  // expected-error @+1 {{config warps = 3 does not split into the 2 row tiles of a block (rows_per_warp = 16); use an even number of warps or rows_per_warp = 32}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<warps = 3>} : memref<2x32x64xf16>, memref<8x16x1x64xf16>, memref<8x16x1x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x32x64xf16>
  return
}

// -----

func.func @too_much_smem(%q: memref<2x4x256xf16>, %kc: memref<8x16x1x256xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x256xf16>) {
  // expected-error @+1 {{decode kernel needs 549120 bytes of shared memory; the limit is 232448 (lower stages or warps)}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<stages = 8>} : memref<2x4x256xf16>, memref<8x16x1x256xf16>, memref<8x16x1x256xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x4x256xf16>
  return
}

// -----

func.func @dynamic_cache_heads(%k: memref<4x?x64xf16>, %slots: memref<4xi64>, %kc: memref<8x16x?x64xf16>) {
  // expected-error @+1 {{cache 'memref<8x16x?x64xf16>' has a run-time size in dimension 2; only num_blocks may be run-time}}
  tessel.paged_kv_write %k, %k, %slots into %kc, %kc : memref<4x?x64xf16>, memref<4x?x64xf16>, memref<4xi64> into memref<8x16x?x64xf16>, memref<8x16x?x64xf16>
  return
}

// -----

func.func @dynamic_key_heads(%k: memref<4x?x64xf16>, %slots: memref<4xi64>, %kc: memref<8x16x2x64xf16>) {
  // expected-error @+1 {{keys/values 'memref<4x?x64xf16>' have a run-time size in dimension 1; only the number of tokens may be run-time}}
  tessel.paged_kv_write %k, %k, %slots into %kc, %kc : memref<4x?x64xf16>, memref<4x?x64xf16>, memref<4xi64> into memref<8x16x2x64xf16>, memref<8x16x2x64xf16>
  return
}

// -----

func.func @huge_blocks(%m: memref<2x2xi64>, %kc: memref<2x32x8200x256xf16>) {
  // expected-error @+1 {{a cache block of 67174400 elements needs 65600 thread blocks per pair; the limit is 65535}}
  tessel.copy_blocks %m into %kc, %kc : memref<2x2xi64> into memref<2x32x8200x256xf16>, memref<2x32x8200x256xf16>
  return
}

// -----

func.func @cluster_without_split(%q: memref<2x4x64xf16>, %kc: memref<8x16x1x64xf16>, %bt: memref<2x4xi32>, %lens: memref<2xi32>, %o: memref<2x4x64xf16>) {
  // expected-error @+1 {{config cluster = 2 needs the split-K kernel (strategy v2)}}
  tessel.paged_attention %q, %kc, %kc, %bt, %lens into %o {config = #tessel.paged_config<strategy = "v1", cluster = 2>} : memref<2x4x64xf16>, memref<8x16x1x64xf16>, memref<8x16x1x64xf16>, memref<2x4xi32>, memref<2xi32> into memref<2x4x64xf16>
  return
}
