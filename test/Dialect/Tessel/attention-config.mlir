// RUN: tessel-opt %s -split-input-file | tessel-opt -split-input-file | FileCheck %s

// Fields left at their default are not printed; the rest round-trip, and so
// does the layout.
// CHECK-LABEL: func @configured
// CHECK: tessel.flash_attention {{.*}} {causal, config = #tessel.attention_config<strategy = "mma", block_m = 64, block_n = 32, warps = 4, stages = 3>, layout = "bshd"}
func.func @configured(%q: memref<2x100x8x64xf16>, %k: memref<2x80x2x64xf16>, %o: memref<2x100x8x64xf16>) {
  tessel.flash_attention %q, %k, %k into %o {causal, layout = "bshd", config = #tessel.attention_config<strategy = "mma", block_m = 64, block_n = 32, warps = 4, stages = 3>} : memref<2x100x8x64xf16>, memref<2x80x2x64xf16>, memref<2x80x2x64xf16> into memref<2x100x8x64xf16>
  return
}

// -----

// CHECK-LABEL: func @empty_config
// CHECK: tessel.flash_attention {{.*}} {config = #tessel.attention_config<>}
func.func @empty_config(%q: memref<1x2x64x64xf16>) {
  tessel.flash_attention %q, %q, %q into %q {config = #tessel.attention_config<>} : memref<1x2x64x64xf16>, memref<1x2x64x64xf16>, memref<1x2x64x64xf16> into memref<1x2x64x64xf16>
  return
}
