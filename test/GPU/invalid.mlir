// RUN: tessel-opt %s -split-input-file -verify-diagnostics -tessel-test-kernel-blocks

// expected-error @+1 {{@f (tessel.test_block = "warp_reduction"): unknown block; expected one of warp_reduce, online_softmax, tile_copy, mma, wgmma_rs, split_range, rasterize, for_each_tile, tma_load, tma_store, pipeline}}
func.func @f(%in: memref<32xf32>, %out: memref<2xf32>) attributes {tessel.test_block = "warp_reduction"} {
  return
}

// -----

// expected-error @+1 {{@f: tessel.test_block must be a string naming a block, got 1 : i64}}
func.func @f() attributes {tessel.test_block = 1} {
  return
}

// -----

// expected-error @+1 {{@f: tessel.test_options must be a dictionary, got [4]}}
func.func @f(%in: memref<32xf32>, %out: memref<2xf32>) attributes {tessel.test_block = "warp_reduce", tessel.test_options = [4]} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "warp_reduce"): the function must return nothing, got results (f32)}}
func.func @f(%in: memref<32xf32>) -> f32 attributes {tessel.test_block = "warp_reduce"} {
  %c0 = arith.constant 0 : index
  %v = memref.load %in[%c0] : memref<32xf32>
  return %v : f32
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "warp_reduce"): expected arguments (memref<32xf32>, memref<2xf32>) (width 32 only) or (memref<32xf32>, memref<2x32xf32>), got (memref<16xf32>, memref<2xf32>)}}
func.func @f(%in: memref<16xf32>, %out: memref<2xf32>) attributes {tessel.test_block = "warp_reduce"} {
  return
}

// -----

// A per-group result needs one output per lane.
// expected-error @+1 {{expected arguments (memref<32xf32>, memref<2xf32>) (width 32 only) or (memref<32xf32>, memref<2x32xf32>), got (memref<32xf32>, memref<2xf32>)}}
func.func @f(%in: memref<32xf32>, %out: memref<2xf32>) attributes {tessel.test_block = "warp_reduce", tessel.test_options = {width = 4}} {
  return
}

// -----

// expected-error @+1 {{width 3 must be a power of two in [1, 32]}}
func.func @f(%in: memref<32xf32>, %out: memref<2x32xf32>) attributes {tessel.test_block = "warp_reduce", tessel.test_options = {width = 3}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "warp_reduce"): unknown option 'widht'; expected width}}
func.func @f(%in: memref<32xf32>, %out: memref<2x32xf32>) attributes {tessel.test_block = "warp_reduce", tessel.test_options = {widht = 4}} {
  return
}

// -----

// expected-error @+1 {{option 'width' must be an integer, got "4"}}
func.func @f(%in: memref<32xf32>, %out: memref<2x32xf32>) attributes {tessel.test_block = "warp_reduce", tessel.test_options = {width = "4"}} {
  return
}

// -----

// Arguments must be statically shaped memrefs.
// expected-error @+1 {{expected arguments (memref<32xf32>, memref<2xf32>) (width 32 only) or (memref<32xf32>, memref<2x32xf32>), got (memref<?xf32>, memref<2xf32>)}}
func.func @f(%in: memref<?xf32>, %out: memref<2xf32>) attributes {tessel.test_block = "warp_reduce"} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "online_softmax"): expected arguments (memref<RxCxf32>, memref<Cxf32>, memref<Rxf32>, memref<Rxf32>) with R a multiple of 8 in [8, 256] and C a positive multiple of 32, got (memref<12x128xf32>, memref<128xf32>, memref<12xf32>, memref<12xf32>)}}
func.func @f(%s: memref<12x128xf32>, %v: memref<128xf32>, %o: memref<12xf32>, %l: memref<12xf32>) attributes {tessel.test_block = "online_softmax"} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "tile_copy"): option 'rows' is required}}
func.func @f(%src: memref<16x64xf16>, %out: memref<640xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {cols = 32}} {
  return
}

// -----

// expected-error @+1 {{layout "swizzle16" is not one of padded, swizzle128, swizzle64, swizzle32}}
func.func @f(%src: memref<16x64xf16>, %out: memref<512xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 32, layout = "swizzle16"}} {
  return
}

// -----

// expected-error @+1 {{expected arguments (memref<RxCxT>, [memref<Lxi32>,] memref<NxT>) with T a 1-, 2- or 4-byte integer or float, got (memref<16x64xf16>, memref<16xi64>, memref<640xf16>)}}
func.func @f(%src: memref<16x64xf16>, %index: memref<16xi64>, %out: memref<640xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 32}} {
  return
}

// -----

// expected-error @+1 {{cols (20) must be a multiple of 8 elements (16 bytes)}}
func.func @f(%src: memref<16x64xf16>, %out: memref<448xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 20}} {
  return
}

// -----

// expected-error @+1 {{the output has 512 elements; the padded tile has 640}}
func.func @f(%src: memref<16x64xf16>, %out: memref<512xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 32}} {
  return
}

// -----

// expected-error @+1 {{aligned (cp.async) copies need rows and the tile origin on 16-byte boundaries: C (37) and col0 (0) must be multiples of 8}}
func.func @f(%src: memref<16x37xf16>, %out: memref<640xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 32}} {
  return
}

// -----

// expected-error @+1 {{option 'pad' applies to the padded layout only}}
func.func @f(%src: memref<16x64xf16>, %out: memref<1024xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 64, layout = "swizzle128", pad = 8}} {
  return
}

// -----

// expected-error @+1 {{cols (32) must be a multiple of the 128-byte swizzle row (64 elements)}}
func.func @f(%src: memref<16x64xf16>, %out: memref<512xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 32, layout = "swizzle128"}} {
  return
}

// -----

// expected-error @+1 {{the limits (17, 64) must not exceed the global extents (16, 64)}}
func.func @f(%src: memref<16x64xf16>, %out: memref<640xf16>) attributes {tessel.test_block = "tile_copy", tessel.test_options = {rows = 16, cols = 32, row_limit = 17}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "mma"): expected arguments (memref<16x16xT>, memref<16x16xT>, memref<16x8xT>, memref<16x16xf32>, memref<16x8xf32>) with T f16 or bf16, got (memref<16x16xf32>, memref<16x16xf32>, memref<16x8xf32>, memref<16x16xf32>, memref<16x8xf32>)}}
func.func @f(%a: memref<16x16xf32>, %b: memref<16x16xf32>, %c: memref<16x8xf32>, %s: memref<16x16xf32>, %o: memref<16x8xf32>) attributes {tessel.test_block = "mma"} {
  return
}

// -----

// expected-error @+1 {{option 'a_k_contiguous' must be true or false, got 1 : i64}}
func.func @f(%a: memref<16x16xf16>, %b: memref<16x16xf16>, %c: memref<16x8xf16>, %s: memref<16x16xf32>, %o: memref<16x8xf32>) attributes {tessel.test_block = "mma", tessel.test_options = {a_k_contiguous = 1}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "split_range"): expected arguments (memref<Kxi32>, memref<KxSx2xi32>) with K <= 65535, got (memref<3xi32>, memref<4x5x2xi32>)}}
func.func @f(%n: memref<3xi32>, %out: memref<4x5x2xi32>) attributes {tessel.test_block = "split_range"} {
  return
}

// -----

// expected-error @+1 {{align (0) must be positive}}
func.func @f(%n: memref<3xi32>, %out: memref<3x5x2xi32>) attributes {tessel.test_block = "split_range", tessel.test_options = {align = 0}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "rasterize"): expected arguments (memref<MxNx2xi32>) with M <= 65535, got (memref<5x7xi32>)}}
func.func @f(%out: memref<5x7xi32>) attributes {tessel.test_block = "rasterize"} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "for_each_tile"): blocks (0) must be in [1, 65535]}}
func.func @f(%out: memref<10xi32>) attributes {tessel.test_block = "for_each_tile", tessel.test_options = {blocks = 0}} {
  return
}

// -----

// expected-error @+1 {{@wgmma_rs_bad_n (tessel.test_block = "wgmma_rs"): expected arguments (memref<64x16xT>, memref<16xNxT>, memref<64xNxf32>) with T f16 or bf16 and N 64 or 128, got (memref<64x16xf16>, memref<16x32xf16>, memref<64x32xf32>)}}
func.func @wgmma_rs_bad_n(%a: memref<64x16xf16>, %b: memref<16x32xf16>, %d: memref<64x32xf32>) attributes {tessel.test_block = "wgmma_rs"} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "tma_load"): layout "swizzle16" is not one of plain, swizzle128, swizzle64, swizzle32}}
func.func @f(%src: memref<16x64xf16>, %out: memref<1024xf16>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 16, cols = 64, layout = "swizzle16"}} {
  return
}

// -----

// expected-error @+1 {{cols (32) must be a positive multiple of the 128-byte swizzle row (64 elements)}}
func.func @f(%src: memref<16x64xf16>, %out: memref<512xf16>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 16, cols = 32}} {
  return
}

// -----

// expected-error @+1 {{box extents must be in [1, 256], got [300, 64]}}
func.func @f(%src: memref<300x64xf16>, %out: memref<19200xf16>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 300, cols = 64}} {
  return
}

// -----

// expected-error @+1 {{the box's inner extent (4 x 2 bytes) must be a multiple of 16 bytes}}
func.func @f(%src: memref<16x64xf16>, %out: memref<64xf16>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 16, cols = 4, layout = "plain"}} {
  return
}

// -----

// expected-error @+1 {{threads (100) must be a multiple of 32 in [32, 1024]}}
func.func @f(%src: memref<16x64xf16>, %out: memref<1024xf16>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 16, cols = 64, threads = 100}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "tma_load"): the output has 512 elements; the tile has 1024}}
func.func @f(%src: memref<16x64xf16>, %out: memref<512xf16>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 16, cols = 64}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "tma_load"): expected arguments (memref<RxCxT>, memref<NxT>) with T a 1-, 2- or 4-byte integer or float, got (memref<16x64xf16>, memref<1024xf32>)}}
func.func @f(%src: memref<16x64xf16>, %out: memref<1024xf32>) attributes {tessel.test_block = "tma_load", tessel.test_options = {rows = 16, cols = 64}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "tma_store"): expected arguments (memref<RxCxT>, memref<RxCxT>) with T a 1-, 2- or 4-byte integer or float, got (memref<16x64xf16>, memref<16x32xf16>)}}
func.func @f(%src: memref<16x64xf16>, %dst: memref<16x32xf16>) attributes {tessel.test_block = "tma_store", tessel.test_options = {rows = 16, cols = 64}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "pipeline"): stages (0) must be in [1, 8]}}
func.func @f(%src: memref<56x32xf32>, %out: memref<8x32xf32>) attributes {tessel.test_block = "pipeline", tessel.test_options = {stages = 0}} {
  return
}

// -----

// expected-error @+1 {{register count 236 must be a multiple of 8 in [24, 256]}}
func.func @f(%src: memref<56x32xf32>, %out: memref<8x32xf32>) attributes {tessel.test_block = "pipeline", tessel.test_options = {consumer_registers = 236}} {
  return
}

// -----

// expected-error @+1 {{producer_registers (240) must not exceed consumer_registers (232)}}
func.func @f(%src: memref<56x32xf32>, %out: memref<8x32xf32>) attributes {tessel.test_block = "pipeline", tessel.test_options = {producer_registers = 240}} {
  return
}

// -----

// expected-error @+1 {{@f (tessel.test_block = "pipeline"): expected arguments (memref<TxCxf32>, memref<RxCxf32>) with R in [1, 256] dividing T, C a multiple of 4 in [4, 256] and R x C a multiple of 128, got (memref<50x32xf32>, memref<8x32xf32>)}}
func.func @f(%src: memref<50x32xf32>, %out: memref<8x32xf32>) attributes {tessel.test_block = "pipeline"} {
  return
}

// -----

// expected-error @+1 {{the ring needs 262288 bytes of shared memory; the limit is 232448}}
func.func @f(%src: memref<1024x256xf32>, %out: memref<256x256xf32>) attributes {tessel.test_block = "pipeline", tessel.test_options = {stages = 1}} {
  return
}
