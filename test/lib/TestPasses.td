//===- TestPasses.td - tessel's test-only passes -----------*- tablegen -*-===//

#ifndef TESSEL_TEST_PASSES_TD
#define TESSEL_TEST_PASSES_TD

include "mlir/Pass/PassBase.td"

def TestKernelBlocks : Pass<"tessel-test-kernel-blocks", "::mlir::ModuleOp"> {
  let summary = "Replace tagged functions by one kernel exercising a lib/GPU block";
  let description = [{
    Test-only. Every `func.func` carrying `tessel.test_block = "<name>"` gets
    its body replaced by one `gpu.launch` that exercises that kernel building
    block (lib/GPU) on the function's memref arguments (static shapes,
    identity layouts), followed by `return`. Block parameters that the
    argument types do not give come from an optional dictionary
    `tessel.test_options`. Unknown blocks, options or argument types are
    errors naming the function and what was expected.

    Blocks (arguments; options):

    - `warp_reduce` (in: memref<32xf32>, out: memref<2xf32> | memref<2x32xf32>;
      `width` = 32): one warp; max and sum of `in` over groups of `width`
      lanes (warpReduce). A memref<2xf32> output (width 32) gets the max from
      lane 0 and the sum from lane 31; memref<2x32xf32> gets out[0][l] = max
      and out[1][l] = sum from every lane l.
    - `online_softmax` (scores: memref<RxCxf32>, values: memref<Cxf32>,
      out: memref<Rxf32>, lse: memref<Rxf32>; `scale` = 1.0): 4 R threads, 4
      lanes per row (width 4); lane q of a row holds columns 8 j + 2 q + k
      (j < 4, k < 2) of each 32-column tile, the C / 32 tiles are folded in
      with OnlineSoftmax::update inside an scf.for, then finish. out[r] =
      sum_j softmax(scale * scores[r])_j * values[j], lse[r] its natural-log
      log-sum-exp; a fully masked (-inf) row gives 0 and -inf. R % 8 == 0,
      C % 32 == 0.
    - `tile_copy` (src: memref<RxCxT>, [index: memref<Lxi32>,] out:
      memref<NxT>, T of 1, 2 or 4 bytes; `rows`, `cols` (required), `layout`
      = "padded" | "swizzle128" | "swizzle64" | "swizzle32", `pad` = 16 bytes, `row0`
      = 0, `col0` = 0, `row_limit` = R (L with an index), `col_limit` = C,
      `aligned` = true, `threads` = 128): the shared memory is filled with -1,
      then copyTile copies the rows x cols tile at (row0, col0) (tile row r
      reads global row index[row0 + r] when an index is given), zero-filling
      past the limits, with cp.async (aligned) or element copies; after the
      wait and a barrier the raw shared tile (N = the layout's elements,
      padding included) is copied linearly to `out`.
    - `mma` (a: memref<16x16xT>, b: memref<16x16xT>, c: memref<16x8xT>, s:
      memref<16x16xf32>, o: memref<16x8xf32>, T = f16 | bf16;
      `a_k_contiguous` = true, `b_k_contiguous` = false): one warp; a, b, c
      staged as padded shared tiles; S = A·B (loadA, loadB, two m16n8k16
      mma), P = accumulatorsToA(S), O = P·C. `a` holds A (m x k) when
      a_k_contiguous, else A^T; `b` holds B^T (n x k) when b_k_contiguous,
      else B (k x n).
    - `split_range` (n: memref<Kxi32>, out: memref<KxSx2xi32>; `align` = 1):
      grid S x K of one thread; block (s, i) writes splitRange(n[i], s, S,
      align) as out[i][s] = (begin, end).
    - `rasterize` (out: memref<MxNx2xi32>; `group_m` = 8, `dynamic` = false):
      grid N x M of one thread; block (x, y) writes rasterize(x, y, M, N,
      group_m) as out[y][x] = (tile row, tile column); with `dynamic` M is
      the run-time grid size.
    - `for_each_tile` (out: memref<Nxi32>; `blocks` = 4): grid of `blocks`
      one-thread blocks; block b writes 100 b + j to out[t] for the j-th
      tile t of its forEachTile walk (first b, stride the grid size).

    - `tma_load` (src: memref<RxCxT>, out: memref<NxT>, T of 1, 2 or 4
      bytes; `rows`, `cols` (required), `layout` = "swizzle128" | "swizzle64"
      | "swizzle32" | "plain", `row0` = 0, `col0` = 0 (either may be negative
      or run past the end: TMA zero-fills), `threads` = 128): a tensor map of
      `src` with boxes rows x (one swizzle row, or cols when plain); the
      shared tile is filled with -1, thread 0 arms an mbarrier with the
      tile's bytes and loads one box per column block; after the wait the
      raw tile (N = rows x cols, SmemLayout order) is copied to `out`.
    - `tma_store` (src, dst: memref<RxCxT>; the options of tma_load): the
      tile is loaded as in tma_load and stored back to `dst` at the same
      coordinates by TMA (clipped at dst's edges), one bulk group.
    - `pipeline` (src: memref<TxCxf32>, out: memref<RxCxf32>; `stages` = 2,
      `producer_registers` = 40, `consumer_registers` = 232): 256 threads;
      warpgroup 0 (setmaxnreg dec) has one elected lane stream the T / R
      tiles of src through an MbarrierRing of `stages` stages by TMA;
      warpgroup 1 (setmaxnreg inc) waits for each stage, adds it to its
      registers and releases it; out = the sum of the tiles.

    wgmma is exercised through the GEMM tests (convert-tessel-to-gpu
    strategy=wgmma), not here.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // TESSEL_TEST_PASSES_TD
