// RUN: tessel-opt %s -split-input-file -verify-diagnostics -convert-tessel-to-gpu=strategy=fast
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=smem block-m=64 block-n=32" 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=smem block-m=4 block-n=4" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=smem block-k=256" 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=naive block-m=-1" 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=regtile thread-m=6" 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=regtile thread-m=16 thread-n=16" 2>&1 | FileCheck %s --check-prefix=REGS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=regtile block-m=64 block-n=64 thread-m=4 thread-n=4 block-k=3" 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=pipelined block-m=32 block-n=32 thread-m=4 thread-n=4 block-k=256" 2>&1 | FileCheck %s --check-prefix=PSHARED
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma warps-m=8 warps-n=8" 2>&1 | FileCheck %s --check-prefix=MWARPS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma block-m=80" 2>&1 | FileCheck %s --check-prefix=MDIV
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma warps-m=1" 2>&1 | FileCheck %s --check-prefix=MACC
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma stages=1" 2>&1 | FileCheck %s --check-prefix=MSTAGES
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma block-k=512 stages=4" 2>&1 | FileCheck %s --check-prefix=MSHARED

// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma warpgroups=2" 2>&1 | FileCheck %s --check-prefix=WGONLY
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma warps-n=2" 2>&1 | FileCheck %s --check-prefix=WWARPS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-m=1024 warpgroups=16" 2>&1 | FileCheck %s --check-prefix=WTHREADS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma warpgroups=4611686018427387904" 2>&1 | FileCheck %s --check-prefix=HUGEWG
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma warps-m=4611686018427387904" 2>&1 | FileCheck %s --check-prefix=HUGEWARPS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-m=4611686018427387904" 2>&1 | FileCheck %s --check-prefix=HUGEBM
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma block-k=4611686018427387904" 2>&1 | FileCheck %s --check-prefix=HUGEBK
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=mma block-k=16384" 2>&1 | FileCheck %s --check-prefix=BIGBK
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-m=96" 2>&1 | FileCheck %s --check-prefix=WM
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-n=320" 2>&1 | FileCheck %s --check-prefix=WN
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-k=32" 2>&1 | FileCheck %s --check-prefix=WK
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-m=256" 2>&1 | FileCheck %s --check-prefix=WACC
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma stages=2" 2>&1 | FileCheck %s --check-prefix=WSTAGES
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma block-m=256 warpgroups=4 stages=3" 2>&1 | FileCheck %s --check-prefix=WREGS
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma_tma stages=1" 2>&1 | FileCheck %s --check-prefix=TSTAGES
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma_tma block-m=192 block-n=64 warpgroups=3" 2>&1 | FileCheck %s --check-prefix=TWG
// RUN: %not tessel-opt %s -convert-tessel-to-gpu="strategy=wgmma_tma block-m=512 warpgroups=8" 2>&1 | FileCheck %s --check-prefix=TTHREADS
// TSTAGES: strategy 'wgmma_tma': stages must be at least 2 (one stage loading while one is multiplied), got 1
// TWG: strategy 'wgmma_tma': 3 consumer warpgroups need 89088 registers at 232 each; the register file holds 65536 (at most 2 consumers)
// TTHREADS: strategy 'wgmma_tma': 8 warpgroups is 1152 threads per block; the limit is 1024
// THREADS: 2048 threads per block exceeds the limit of 1024
// WARPS: 16 threads is not a whole number of 32-thread warps
// SHARED: shared-memory tiles need 65536 bytes; the static shared-memory limit is 49152
// NEG: block_m = -1 is outside [0, 16384] (0: the default)
// TILE: thread-m (6) and thread-n (8) must be multiples of 4 (128-bit shared loads) dividing block-m (128) and block-n (128)
// REGS: a 16 x 16 thread tile needs 256 accumulator registers per thread; the limit is 128
// SPLIT: a tile of 192 elements does not divide among 256 threads
// PSHARED: shared-memory tiles need 131072 bytes; the static shared-memory limit is 49152
// MWARPS: 64 warps is 2048 threads per block; the limit is 1024
// MDIV: block-m (80) must be a multiple of 16 x warps-m (32)
// MACC: a 128 x 64 warp tile needs 256 f32 accumulator registers per thread; the limit is 128
// MSTAGES: stages must be at least 2, got 1
// MSHARED: strategy 'mma' needs 1089536 bytes of shared memory; the limit is 232448
// WGONLY: warpgroups applies to strategies 'wgmma' and 'wgmma_tma' only, not 'mma'
// WWARPS: strategy 'wgmma': warps-n does not apply; the block is split into warpgroups along M
// HUGEWG: warpgroups = 4611686018427387904 is outside [0, 8] (0: the default)
// HUGEWARPS: warps_m = 4611686018427387904 is outside [0, 32] (0: the default)
// HUGEBM: block_m = 4611686018427387904 is outside [0, 16384] (0: the default)
// HUGEBK: block_k = 4611686018427387904 is outside [0, 16384] (0: the default)
// BIGBK: strategy 'mma' needs 25958400 bytes of shared memory; the limit is 232448
// WTHREADS: warpgroups = 16 is outside [0, 8] (0: the default)
// WM: block-m (96) must be a multiple of 64 x warpgroups (128): each warpgroup multiplies whole 64-row tiles
// WN: block-n (320) must be a multiple of 64 up to 256
// WK: block-k (32) must be a multiple of 64 (one 128-byte swizzle row)
// WACC: a 128 x 256 warpgroup tile needs 256 f32 accumulator registers per thread; the limit is 128
// WREGS: a 64 x 256 warpgroup tile needs 128 f32 accumulator registers per thread; with 512 threads per block the limit is 96
// WSTAGES: stages must be at least 3 (one stage loading, one multiplied, one still read by the previous wgmma group), got 2

func.func @f16(%a: memref<128x64xf16>, %b: memref<64x128xf16>, %d: memref<128x128xf32>) {
  // expected-error @+1 {{convert-tessel-to-gpu: unknown strategy 'fast'; expected naive, smem, regtile, pipelined, mma, wgmma or wgmma_tma}}
  tessel.gemm %a, %b into %d : memref<128x64xf16>, memref<64x128xf16> into memref<128x128xf32>
  return
}
