// RUN: tessel-opt %s -split-input-file -verify-diagnostics

func.func @unknown_strategy(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{unknown attention strategy 'tma'; expected mma, wgmma or wgmma_tma}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<strategy = "tma">} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @too_many_warps(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{warps = 33 is outside [0, 32] (0: the default)}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<warps = 33>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @negative(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{block_n = -16 is outside [0, 16384] (0: the default)}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<block_n = -16>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @huge_stages(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{stages = 4294967296 is outside [0, 32] (0: the default)}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<stages = 4294967296>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @block_m_bound(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{block_m = 32768 is outside [0, 16384] (0: the default)}}
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<block_m = 32768>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

func.func @bad_layout(%q: memref<1x2x64x64xf16>) {
  // expected-error @+1 {{layout must be "bhsd" ([batch, heads, seq, head_dim]) or "bshd" ([batch, seq, heads, head_dim]), got "bsdh"}}
  tessel.flash_attention %q, %q, %q into %q {layout = "bsdh"} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}

// -----

// bshd: heads are dimension 2, so 8 query heads over 3 kv heads is an error.
func.func @bshd_heads(%q: memref<1x64x8x64xf16>, %k: memref<1x64x3x64xf16>) {
  // expected-error @+1 {{query heads of 'q' (8) must be a multiple of the key/value heads of 'k' (3)}}
  tessel.flash_attention %q, %k, %k into %q {layout = "bshd"} : memref<1x64x8x64xf16>, memref<1x64x3x64xf16>, memref<1x64x3x64xf16> into memref<1x64x8x64xf16>
  return
}
