//===- TesselAttrs.td - tessel attributes ------------------*- tablegen -*-===//

#ifndef TESSEL_ATTRS_TD
#define TESSEL_ATTRS_TD

include "tessel/TesselDialect.td"
include "mlir/IR/AttrTypeBase.td"

class Tessel_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Tessel_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Tessel_GemmConfigAttr : Tessel_Attr<"GemmConfig", "gemm_config"> {
  let summary = "How one tessel.gemm is lowered to the GPU";
  let description = [{
    The rung of the GEMM ladder and its tile configuration for the op that
    carries it (as its `config` attribute). `convert-tessel-to-gpu` reads it;
    every field left out (or 0, or an empty strategy) takes the pass option
    of the same name, and then the strategy's default, so one module can
    hold several gemms lowered differently.

    - `strategy`: `naive`, `smem`, `regtile`, `pipelined`, `mma`, `wgmma` or
      `wgmma_tma` (wgmma fed by TMA through an mbarrier ring, a producer
      warpgroup beside the consumer ones; rows of A and B must be multiples
      of 16 bytes);
    - `block_m`, `block_n`, `block_k`: the thread block's output tile and the
      depth of one K step;
    - `warps_m`, `warps_n` (`mma`), `warpgroups` (`wgmma`, `wgmma_tma`: the
      consumer warpgroups): how the block's tile is split among warps;
    - `stages` (`mma`, `wgmma`, `wgmma_tma`): depth of the cp.async or TMA
      ring;
    - `group_m` (`mma`, `wgmma`, `wgmma_tma`): block rows swept together for
      L2 reuse;
    - `thread_m`, `thread_n` (`regtile`, `pipelined`): outputs per thread;
    - `split_k` (`mma`, `wgmma`): K cut into this many parts, one thread
      block each, whose f32 partial sums go to a workspace that a second
      kernel reduces (then applies alpha, beta * C and the output type); for
      skinny products whose output tiles alone leave most SMs idle;
    - `persistent` (`wgmma_tma`, not with `split_k`): at most this many
      thread blocks (one per SM: the GPU's SM count), each walking the
      output tiles in grouped order; the producer loads the next tile's
      operands while the consumers write the last one through a shared
      buffer of their own (in the output type), so that buffer and the
      stages must fit the shared memory together;
    - `cluster` (`wgmma_tma`, not with `split_k`): thread blocks of this
      many consecutive tile rows form a cluster and share their B tiles:
      each loads 1 / cluster of every B tile and TMA multicasts it to all of
      them (B's tile rows must split into pieces of a multiple of 8 rows).
      The grid is rounded up to whole clusters; persistent, the walk is over
      clusters (`persistent` blocks, `persistent / cluster` clusters).

    Each value is checked here against a hard bound (so no later size
    computation can overflow); whether a combination fits the hardware
    (threads, registers, shared memory) is checked by the lowering, which
    names the limit.

    Example:

    ```mlir
    #tessel.gemm_config<strategy = "mma", block_m = 128, block_n = 256, warps_n = 4>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"the rung", "\"\"">:$strategy,
    DefaultValuedParameter<"int64_t", "0">:$block_m,
    DefaultValuedParameter<"int64_t", "0">:$block_n,
    DefaultValuedParameter<"int64_t", "0">:$block_k,
    DefaultValuedParameter<"int64_t", "0">:$warps_m,
    DefaultValuedParameter<"int64_t", "0">:$warps_n,
    DefaultValuedParameter<"int64_t", "0">:$warpgroups,
    DefaultValuedParameter<"int64_t", "0">:$stages,
    DefaultValuedParameter<"int64_t", "0">:$group_m,
    DefaultValuedParameter<"int64_t", "0">:$thread_m,
    DefaultValuedParameter<"int64_t", "0">:$thread_n,
    DefaultValuedParameter<"int64_t", "0">:$split_k,
    DefaultValuedParameter<"int64_t", "0">:$persistent,
    DefaultValuedParameter<"int64_t", "0">:$cluster
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Tessel_PagedConfigAttr : Tessel_Attr<"PagedConfig", "paged_config"> {
  let summary = "How one paged KV-cache op is lowered to the GPU";
  let description = [{
    The kernel configuration of `tessel.paged_attention`, `tessel.paged_kv_write`
    or `tessel.copy_blocks` (as the op's `config` attribute). Every field left
    out (or 0, or an empty strategy) takes the lowering's default.

    - `strategy` (paged_attention): `v1` (one thread block per sequence and KV
      head) or `v2` (split-K: the context cut into partitions of
      `partition_size` tokens, one block each, then a reduction kernel);
      empty: chosen by the lowering from the static sizes;
    - `warps`: warps per thread block (paged_attention: each warp owns 16
      tokens of a key tile; the bandwidth kernels: 32 * warps threads);
    - `stages` (paged_attention): depth of the cp.async ring of K/V tiles;
    - `partition_size` (paged_attention, `v2`): tokens per partition, a
      multiple of the key tile;
    - `rows_per_warp` (paged_attention): query-head rows of the group each
      warp computes, 16 or 32. A group above 16 heads (MQA) is two 16-row
      tiles in one block; with 16 the warps split them (warps / 2 key
      slices of 16 tokens, each read by two warps), with 32 every warp runs
      both tiles on its own 16 tokens. The key tile is
      16 * warps * rows_per_warp / rows of the block;
    - `cluster` (paged_attention, `v2`): 2 to 8 partitions of a sequence run
      as one thread-block cluster and combine their results through each
      other's shared memory, so a context of at most `cluster` partitions
      needs no reduction kernel (0 or 1: no cluster).

    Each value is checked here against a hard bound; whether a combination
    fits the hardware is checked by the lowering, which names the limit.

    Example:

    ```mlir
    #tessel.paged_config<strategy = "v2", warps = 4, partition_size = 512>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"v1, v2 or empty", "\"\"">:$strategy,
    DefaultValuedParameter<"int64_t", "0">:$warps,
    DefaultValuedParameter<"int64_t", "0">:$stages,
    DefaultValuedParameter<"int64_t", "0">:$partition_size,
    DefaultValuedParameter<"int64_t", "0">:$rows_per_warp,
    DefaultValuedParameter<"int64_t", "0">:$cluster
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Tessel_AttentionConfigAttr : Tessel_Attr<"AttentionConfig", "attention_config"> {
  let summary = "How one tessel.flash_attention is lowered to the GPU";
  let description = [{
    The kernel family and its tiles for the op that carries it (as its
    `config` attribute). `convert-tessel-to-gpu` reads it; a field left out
    (or 0, or an empty strategy) takes the strategy's default, chosen per
    head dimension (lib/Conversion/TesselToGPU/Attention/Config.cpp).

    - `strategy`: `mma` (FlashAttention-2 on mma.sync m16n8k16, the
      default) or `wgmma` (sm_90a: warpgroups of 64 query rows, Q·Kᵀ and
      P·V on `wgmma.mma_async`, Attention/FlashWgmma.cpp);
    - `block_m`: query rows per thread block (mma: 16 per warp and m16 tile;
      wgmma: 64 per warpgroup, so 16 x warps);
    - `block_n`: keys per step of the inner loop (a multiple of 16);
    - `warps`: warps per thread block, splitting the query rows (wgmma: a
      multiple of 4, one warpgroup per 4);
    - `stages`: depth of the cp.async ring of K/V tiles.

    Each value is checked here against a hard bound; whether a combination
    fits the hardware (registers, shared memory) is checked by the lowering,
    which names the limit.

    Example:

    ```mlir
    #tessel.attention_config<strategy = "mma", block_m = 128, block_n = 64, warps = 8, stages = 2>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"the kernel family", "\"\"">:$strategy,
    DefaultValuedParameter<"int64_t", "0">:$block_m,
    DefaultValuedParameter<"int64_t", "0">:$block_n,
    DefaultValuedParameter<"int64_t", "0">:$warps,
    DefaultValuedParameter<"int64_t", "0">:$stages
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // TESSEL_ATTRS_TD
