//===- Passes.td - tessel passes ---------------------------*- tablegen -*-===//

#ifndef TESSEL_PASSES_TD
#define TESSEL_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertTesselToLinalg : Pass<"convert-tessel-to-linalg"> {
  let summary = "Lower memref-form tessel ops to linalg, scf, arith and math";
  let description = [{
    The reference semantics of every tessel op, for the host: `tessel.gemm`
    becomes a zero fill of an f32 accumulator, a `linalg.generic` contraction
    and an epilogue `linalg.generic`; the attention and paged-cache ops become
    `scf.for` nests over `memref.load`/`memref.store`, computing scores,
    softmax and products in f32.

    The pass works on the memref form: run `one-shot-bufferize` first. A
    tensor-form tessel op left in the input is reported as an error.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def ConvertTesselToGPU : Pass<"convert-tessel-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower memref-form tessel ops to gpu.launch kernels";
  let description = [{
    Rewrites every memref-form tessel op that has a GPU lowering into one or
    more `gpu.launch` ops whose bodies are the op's kernels, composed from
    tessel's kernel building blocks (lib/GPU); `gpu-kernel-outlining` then
    turns them into `gpu.func`s in `gpu.module`s. Each op family has its own
    lowering file under lib/Conversion/TesselToGPU/.

    Run-time sizes: a leading dimension of an operand may be dynamic (`?`,
    e.g. a gemm's M). The kernel then receives it as a scalar argument, its
    operands as statically shaped views of the same memory, and the grid is
    computed from it on the host side of the launch.

    `tessel.gemm`: the op's `config` attribute (`#tessel.gemm_config<...>`)
    chooses the rung and the tiles; the pass options below give the values
    the attribute leaves unset. The `strategy` picks the rung of the
    optimisation ladder:

    - `naive`: one thread per output element, K loop over global memory;
    - `smem`: `block-m` x `block-n` output tiles per block, A/B tiles of depth
      `block-k` staged through shared memory (converted to f32 once) with
      coalesced global loads and barriers;
    - `regtile`: block tiles plus `thread-m` x `thread-n` register tiles per
      thread, A kept k-major in shared memory so both operands are read with
      128-bit loads, outer-product FMAs;
    - `pipelined`: regtile with double-buffered shared tiles; the next tile's
      global loads are issued into registers before this tile's FMAs and
      stored afterwards, one barrier per K step;
    - `mma`: tensor cores (f16/bf16 inputs): warp tiles of m16n8k16
      `mma.sync` fed by `nvgpu.ldmatrix` from a padded shared layout, filled by
      a `stages`-deep `nvgpu.device_async_copy` (cp.async) pipeline in
      dynamic shared memory;
    - `wgmma`: Hopper (sm_90a) tensor cores (f16/bf16 inputs): `warpgroups`
      warpgroups each issue m64nNk16 `wgmma.mma_async` on operands read
      from 128-byte-swizzled shared tiles through matrix descriptors (both
      K-major and M/N-major, so transposes need no rearranging), filled by
      the same cp.async ring.

    Edges are masked, so any M, N and K work; transposes, alpha/beta, C and a
    leading batch dimension (the grid's z) are handled on every rung. Tile
    options of 0 take the strategy's default; a configuration that does not
    fit (threads per block, shared memory) is rejected naming the limit.

    Ops without a GPU lowering (yet) are reported as errors.
  }];
  let options = [
    Option<"strategy", "strategy", "std::string", /*default=*/"\"smem\"",
           "Rung of the GEMM ladder: naive, smem, regtile, pipelined, mma, wgmma">,
    Option<"blockM", "block-m", "int64_t", /*default=*/"0",
           "Output rows per thread block (0: the strategy's default)">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"0",
           "Output columns per thread block (0: the strategy's default)">,
    Option<"blockK", "block-k", "int64_t", /*default=*/"0",
           "Depth of the shared-memory K tile (0: the strategy's default)">,
    Option<"warpsM", "warps-m", "int64_t", /*default=*/"0",
           "mma: warps along M (0: default 2)">,
    Option<"warpsN", "warps-n", "int64_t", /*default=*/"0",
           "mma: warps along N (0: default 2)">,
    Option<"stages", "stages", "int64_t", /*default=*/"0",
           "mma/wgmma: depth of the cp.async software pipeline (0: default 3 for "
           "mma, 4 for wgmma)">,
    Option<"groupM", "group-m", "int64_t", /*default=*/"0",
           "mma/wgmma: block rows swept together for L2 reuse (0: default 8, 1: off)">,
    Option<"threadM", "thread-m", "int64_t", /*default=*/"0",
           "regtile/pipelined: outputs per thread along M (0: default 8)">,
    Option<"threadN", "thread-n", "int64_t", /*default=*/"0",
           "regtile/pipelined: outputs per thread along N (0: default 8)">,
    Option<"warpgroups", "warpgroups", "int64_t", /*default=*/"0",
           "wgmma: 128-thread warpgroups along M (0: default 2)">,
    Option<"splitK", "split-k", "int64_t", /*default=*/"0",
           "mma/wgmma: K parts reduced by a second kernel (0: default 1, no split)">,
    Option<"persistent", "persistent", "int64_t", /*default=*/"0",
           "wgmma_tma: at most this many thread blocks walking the output tiles "
           "(0: one block per tile)">,
    Option<"cluster", "cluster", "int64_t", /*default=*/"0",
           "wgmma_tma: thread blocks of this many tile rows sharing their B tiles "
           "by TMA multicast (0: default 1, no cluster)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def TesselCheckTypes : Pass<"tessel-check-types"> {
  let summary = "Reject types that upstream passes of the tessel pipelines assert on";
  let description = [{
    Upstream utilities and passes assert, instead of reporting an error, on
    two kinds of types that parse and verify fine:
    - ranked tensor, memref and vector types whose static element count or
      byte size overflows int64 (strided layouts, `getNumElements`, the
      LLVM lowering);
    - tensors whose element type a memref cannot hold (`!llvm.ptr`, ...):
      bufferization builds the memref type unchecked.
    Tessel's host pipelines run this pass first, so such a type in a result,
    a block argument or an attribute (a function's signature) is reported as
    an error. Tessel ops check their own operands in their verifiers.
  }];
}

def TesselFinalizeKernels : Pass<"tessel-finalize-kernels", "::mlir::ModuleOp"> {
  let summary = "Kernel ABI details the GPU-to-NVVM conversion cannot express";
  let description = [{
    Runs at the end of `tessel-gpu-to-nvvm`, once kernels are `llvm.func`s
    whose bare-pointer arguments match their `gpu.launch_func` operands one
    to one (the conversion drops `llvm.byval` from `gpu.func` arguments and
    rejects `nvvm.grid_constant` there):

    - Tensor maps by value. A TMA tensor map reaches a kernel as a 128-byte
      parameter (PTX `.param .align 64 .b8 [128]`) whose address is the
      descriptor's: in LLVM a `ptr byval([128 x i8]) align 64` argument marked
      `nvvm.grid_constant`. The host side describes each map as an
      `nvgpu.tma.create.descriptor` cast to `!llvm.ptr` (lib/GPU/Tma.h); the
      kernel argument fed by such a launch operand gets those attributes.
    - Register budgets. ptxas ignores `setmaxnreg` unless it knows the
      register count at entry; a kernel that contains `nvvm.setmaxregister`
      and no `nvvm.minctasm` gets `nvvm.minctasm = 1` (with the block size
      the conversion already gives as `nvvm.maxntid`, as CUTLASS's launch
      bounds do).
    - Cluster shapes. A kernel launched in clusters (`gpu.launch_func` with
      constant cluster sizes) gets `nvvm.cluster_dim`, which PTX declares as
      `.explicitcluster` and `.reqnctapercluster`: a plain launch of the
      whole grid then runs it in those clusters.
    - Grid dependency. Every kernel begins with `nvvm.griddepcontrol wait`:
      it reads nothing before the kernel ahead of it on the stream has
      completed and its memory is visible. The runtime can then launch it
      with programmatic stream serialization (PDL), which the driver starts
      while the previous kernel drains; under a plain launch the wait
      returns at once.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect"];
}

#endif // TESSEL_PASSES_TD
