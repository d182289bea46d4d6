//===- TesselOps.td - tessel operations --------------------*- tablegen -*-===//

#ifndef TESSEL_OPS_TD
#define TESSEL_OPS_TD

include "tessel/TesselDialect.td"
include "tessel/TesselAttrs.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"

// Every operand is a ranked tensor (tensor form) or a strided memref (memref
// form); element types are checked by the verifiers so that the message can
// name the operand. `MemRefType::isStrided()` asserts on a memref whose static
// sizes multiply past int64, so such a memref passes this constraint and the
// op's verifier rejects it, naming the operand and the limit.
def Tessel_Shaped : Type<Or<[AnyRankedTensor.predicate,
                             And<[AnyMemRef.predicate,
                                  CPred<"::mlir::tessel::isStridedOrOversized("
                                        "::llvm::cast<::mlir::MemRefType>($_self))">]>]>,
                         "ranked tensor or strided memref", "::mlir::ShapedType">;

// Destination-style ops read their inputs and (in the memref form) write
// their inits; the memref form therefore has memory effects, the tensor form
// none. MemoryEffectsOpInterface is implemented in C++ to tell them apart.
class Tessel_DpsOp<string mnemonic, list<Trait> traits = []>
    : Tessel_Op<mnemonic, !listconcat(traits, [
        DestinationStyleOpInterface,
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>])> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// gemm
//===----------------------------------------------------------------------===//

def Tessel_GemmOp : Tessel_DpsOp<"gemm"> {
  let summary = "General matrix multiply D = alpha * op(A) * op(B) + beta * C";
  let description = [{
    Computes `D = alpha * op(A) * op(B) + beta * C` where `op(X)` is `X` or,
    with `transpose_a` / `transpose_b`, its transpose (the last two dimensions
    swapped). Operands are 2-D (`[M, K] x [K, N] -> [M, N]`) or 3-D with a
    leading batch dimension shared by every operand.

    Inputs `A` and `B` share one element type among f16, bf16 and f32; `C`
    and the result may each be f16, bf16 or f32. Products are accumulated in
    f32 and rounded once to the result type. `C` is optional; without it
    (or with `beta = 0`) the init's contents are ignored: it is only written.

    Example:

    ```mlir
    %d = tessel.gemm %a, %b, %c into %init {alpha = 2.0 : f32, beta = 1.0 : f32, transpose_b}
        : tensor<128x64xf16>, tensor<256x64xf16>, tensor<128x256xf32>
        into tensor<128x256xf32> -> tensor<128x256xf32>
    ```

    An optional `config` (`#tessel.gemm_config<...>`) says how the GPU
    lowering builds this gemm's kernel; other lowerings ignore it.

    The memref form has no result and writes `init` in place:

    ```mlir
    tessel.gemm %a, %b into %d : memref<128x64xf16>, memref<64x256xf16> into memref<128x256xf32>
    ```
  }];
  let arguments = (ins Tessel_Shaped:$a, Tessel_Shaped:$b,
                       Optional<Tessel_Shaped>:$c, Tessel_Shaped:$init,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.0f">:$beta,
                       UnitAttr:$transpose_a, UnitAttr:$transpose_b,
                       OptionalAttr<Tessel_GemmConfigAttr>:$config);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? `into` $init attr-dict `:` type($a) `,` type($b)
    (`,` type($c)^)? `into` type($init) (`->` type($result)^)?
  }];
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
    /// Whether the operands carry a leading batch dimension.
    bool isBatched() { return ::llvm::cast<::mlir::ShapedType>(getInit().getType()).getRank() == 3; }
  }];
}

//===----------------------------------------------------------------------===//
// flash_attention
//===----------------------------------------------------------------------===//

def Tessel_FlashAttentionOp : Tessel_DpsOp<"flash_attention"> {
  let summary = "Exact softmax attention O = softmax(scale * Q K^T) V";
  let description = [{
    Multi-head attention over `Q [B, Hq, Sq, D]`, `K [B, Hkv, Skv, D]` and
    `V [B, Hkv, Skv, Dv]`, writing `O [B, Hq, Sq, Dv]` and, when a second init
    is given, `LSE [B, Hq, Sq]` (f32): the natural log of each row's softmax
    denominator, `max + log(sum(exp(s - max)))` over the scaled scores.

    `layout` names the order of Q, K, V and O's dimensions: `"bhsd"` (the
    default, as above) or `"bshd"` (`[B, S, H, D]`, flash-attn's layout:
    `Q [B, Sq, Hq, D]` and so on). LSE is `[B, Hq, Sq]` in both.

    Grouped-query and multi-query attention: query head `h` reads key/value
    head `h / (Hq / Hkv)`; `Hq` must be a multiple of `Hkv`.

    `causal` masks with the bottom-right alignment of FlashAttention-2: query
    `i` sees keys `j <= i + (Skv - Sq)`. A row that sees no key at all (only
    possible when `Sq > Skv`) gets `O = 0` and `LSE = -inf`.

    `scale` multiplies the scores before the softmax; it defaults to
    `1 / sqrt(D)`. Scores, softmax and the `P V` product are computed in f32
    whatever the input type. Head dimensions `D` and `Dv` are multiples of 8
    up to 256.

    An optional `config` (`#tessel.attention_config<...>`) says how the GPU
    lowering builds this op's kernel; other lowerings ignore it.

    Example:

    ```mlir
    %o, %lse = tessel.flash_attention %q, %k, %v into %o0, %lse0 {causal}
        : tensor<1x8x128x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>
        into tensor<1x8x128x64xf16>, tensor<1x8x128xf32>
        -> tensor<1x8x128x64xf16>, tensor<1x8x128xf32>
    ```
  }];
  let arguments = (ins Tessel_Shaped:$q, Tessel_Shaped:$k, Tessel_Shaped:$v,
                       Tessel_Shaped:$out, Optional<Tessel_Shaped>:$lse,
                       UnitAttr:$causal, OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<StrAttr>:$layout,
                       OptionalAttr<Tessel_AttentionConfigAttr>:$config);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $q `,` $k `,` $v `into` $out (`,` $lse^)? attr-dict `:` type($q) `,`
    type($k) `,` type($v) `into` type($out) (`,` type($lse)^)?
    (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), /*start=*/3,
                                         /*length=*/getLse() ? 2 : 1);
    }
    /// The score scale: the `scale` attribute, else 1/sqrt(D).
    float getScaleValue();
    /// Whether Q, K, V and O are [B, S, H, D] (`layout = "bshd"`).
    bool isSeqMajor() { return getLayout() && *getLayout() == "bshd"; }
    /// The dimension of Q, K, V and O holding the heads / the sequence.
    int64_t headsDim() { return isSeqMajor() ? 2 : 1; }
    int64_t seqDim() { return isSeqMajor() ? 1 : 2; }
  }];
}

//===----------------------------------------------------------------------===//
// flash_attention_varlen
//===----------------------------------------------------------------------===//

def Tessel_FlashAttentionVarlenOp : Tessel_DpsOp<"flash_attention_varlen"> {
  let summary = "Exact softmax attention over a packed batch of variable-length sequences";
  let description = [{
    flash-attn's `flash_attn_varlen_func`: the sequences of a batch are packed
    along one token dimension, `Q [total_q, Hq, D]`, `K [total_k, Hkv, D]` and
    `V [total_k, Hkv, Dv]`, and `cu_seqlens_q` / `cu_seqlens_k` (i32,
    `[B + 1]`) hold the cumulative lengths: sequence `b` is rows
    `cu_seqlens_q[b] .. cu_seqlens_q[b + 1]` of Q (and of `O [total_q, Hq, Dv]`)
    against rows `cu_seqlens_k[b] .. cu_seqlens_k[b + 1]` of K and V.

    Per sequence the semantics are exactly those of `tessel.flash_attention`:
    query head `h` reads key/value head `h / (Hq / Hkv)`; `causal` is
    bottom-right aligned per sequence (query `i` sees keys
    `j <= i + Sk_b - Sq_b`); a row that sees no key (a zero-length key
    sequence, or causal with `Sq_b > Sk_b`) gets `O = 0` and `LSE = -inf`;
    `scale` defaults to `1 / sqrt(D)`. A zero-length query sequence writes
    nothing.

    `LSE` (f32, optional second init) is `[Hq, total_q]`, flash-attn's varlen
    layout (heads first), not the `[B, Hq, Sq]` of `tessel.flash_attention`.

    `max_seqlen_q` and `max_seqlen_k` (index) bound the sequences' lengths;
    the GPU lowering sizes its grid by `max_seqlen_q`. The contents of
    `cu_seqlens_*` and the bounds are run-time data the op does not check:
    `cu[0] = 0`, non-decreasing, `cu[B]` at most the packed length, every
    length at most its `max_seqlen` (the Python API validates them). Rows of
    `O` past `cu_seqlens_q[B]` are not written.

    An optional `config` (`#tessel.attention_config<...>`) says how the GPU
    lowering builds this op's kernel; other lowerings ignore it.

    Example:

    ```mlir
    %o, %lse = tessel.flash_attention_varlen %q, %k, %v, %cu_q, %cu_k, %max_q, %max_k
        into %o0, %lse0 {causal}
        : tensor<300x8x64xf16>, tensor<500x2x64xf16>, tensor<500x2x64xf16>,
          tensor<5xi32>, tensor<5xi32> into tensor<300x8x64xf16>, tensor<8x300xf32>
        -> tensor<300x8x64xf16>, tensor<8x300xf32>
    ```
  }];
  let arguments = (ins Tessel_Shaped:$q, Tessel_Shaped:$k, Tessel_Shaped:$v,
                       Tessel_Shaped:$cu_seqlens_q, Tessel_Shaped:$cu_seqlens_k,
                       Index:$max_seqlen_q, Index:$max_seqlen_k,
                       Tessel_Shaped:$out, Optional<Tessel_Shaped>:$lse,
                       UnitAttr:$causal, OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<Tessel_AttentionConfigAttr>:$config);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $cu_seqlens_q `,` $cu_seqlens_k `,` $max_seqlen_q `,`
    $max_seqlen_k `into` $out (`,` $lse^)? attr-dict `:` type($q) `,` type($k)
    `,` type($v) `,` type($cu_seqlens_q) `,` type($cu_seqlens_k) `into`
    type($out) (`,` type($lse)^)? (`->` type($results)^)?
  }];
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), /*start=*/7,
                                         /*length=*/getLse() ? 2 : 1);
    }
    /// The score scale: the `scale` attribute, else 1/sqrt(D).
    float getScaleValue();
  }];
}

//===----------------------------------------------------------------------===//
// paged_attention
//===----------------------------------------------------------------------===//

def Tessel_PagedAttentionOp : Tessel_DpsOp<"paged_attention"> {
  let summary = "Decode attention over a paged KV cache";
  let description = [{
    One query token per sequence (`Q [S, Hq, D]`) attends to that sequence's
    first `context_lens[s]` cached tokens. The caches are
    `[num_blocks, block_size, Hkv, D]`; token `t` of sequence `s` lives in
    block `block_tables[s][t / block_size]` at offset `t % block_size`.
    Query head `h` reads cache head `h / (Hq / Hkv)`. The output is
    `O [S, Hq, D]`; a sequence with context length 0 gets `O = 0`.

    `block_tables [S, max_blocks]` and `context_lens [S]` are i32.
    `block_size` is 8, 16 or 32; `D` a multiple of 8 up to 256. `scale`
    defaults to `1 / sqrt(D)`; scores and softmax are computed in f32.
    Block ids must lie in `[0, num_blocks)` and context lengths in
    `[0, max_blocks * block_size]`: the op does not check them at run time.

    Example:

    ```mlir
    %o = tessel.paged_attention %q, %kc, %vc, %bt, %lens into %o0
        : tensor<4x8x64xf16>, tensor<128x16x2x64xf16>, tensor<128x16x2x64xf16>,
          tensor<4x32xi32>, tensor<4xi32> into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
    ```
  }];
  let arguments = (ins Tessel_Shaped:$q, Tessel_Shaped:$key_cache,
                       Tessel_Shaped:$value_cache, Tessel_Shaped:$block_tables,
                       Tessel_Shaped:$context_lens, Tessel_Shaped:$out,
                       OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<Tessel_PagedConfigAttr>:$config);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $q `,` $key_cache `,` $value_cache `,` $block_tables `,` $context_lens
    `into` $out attr-dict `:` type($q) `,` type($key_cache) `,`
    type($value_cache) `,` type($block_tables) `,` type($context_lens)
    `into` type($out) (`->` type($result)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getOutMutable(); }
    /// The score scale: the `scale` attribute, else 1/sqrt(D).
    float getScaleValue();
  }];
}

//===----------------------------------------------------------------------===//
// paged_kv_write
//===----------------------------------------------------------------------===//

def Tessel_PagedKVWriteOp : Tessel_DpsOp<"paged_kv_write"> {
  let summary = "Scatter new keys and values into a paged KV cache";
  let description = [{
    vLLM's `reshape_and_cache`: token `t` of `key`/`value` (`[T, Hkv, D]`) is
    written to slot `slot_mapping[t]` of `key_cache`/`value_cache`
    (`[num_blocks, block_size, Hkv, D]`), where
    `slot = block * block_size + offset`. A negative slot (padding) is
    skipped. `slot_mapping` is i64; keys and caches share one element type.
    Slots must lie below `num_blocks * block_size`: the op does not check
    them at run time.

    The caches are inits: read and partially overwritten.

    Example:

    ```mlir
    %kc1, %vc1 = tessel.paged_kv_write %k, %v, %slots into %kc, %vc
        : tensor<7x2x64xf16>, tensor<7x2x64xf16>, tensor<7xi64>
        into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
        -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
    ```
  }];
  let arguments = (ins Tessel_Shaped:$key, Tessel_Shaped:$value,
                       Tessel_Shaped:$slot_mapping, Tessel_Shaped:$key_cache,
                       Tessel_Shaped:$value_cache,
                       OptionalAttr<Tessel_PagedConfigAttr>:$config);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $key `,` $value `,` $slot_mapping `into` $key_cache `,` $value_cache
    attr-dict `:` type($key) `,` type($value) `,` type($slot_mapping) `into`
    type($key_cache) `,` type($value_cache) (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), /*start=*/3, /*length=*/2);
    }
  }];
}

//===----------------------------------------------------------------------===//
// copy_blocks
//===----------------------------------------------------------------------===//

def Tessel_CopyBlocksOp : Tessel_DpsOp<"copy_blocks"> {
  let summary = "Copy whole KV-cache blocks (copy-on-write)";
  let description = [{
    For each row `(src, dst)` of `block_mapping [N, 2]` (i64), copies block
    `src` of both caches (`[num_blocks, block_size, Hkv, D]`) over block `dst`.
    Pairs are applied in order. Block ids must lie in `[0, num_blocks)`: the
    op does not check them at run time.

    Example:

    ```mlir
    %kc1, %vc1 = tessel.copy_blocks %mapping into %kc, %vc
        : tensor<3x2xi64> into tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
        -> tensor<32x16x2x64xf16>, tensor<32x16x2x64xf16>
    ```
  }];
  let arguments = (ins Tessel_Shaped:$block_mapping, Tessel_Shaped:$key_cache,
                       Tessel_Shaped:$value_cache,
                       OptionalAttr<Tessel_PagedConfigAttr>:$config);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $block_mapping `into` $key_cache `,` $value_cache attr-dict `:`
    type($block_mapping) `into` type($key_cache) `,` type($value_cache)
    (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), /*start=*/1, /*length=*/2);
    }
  }];
}

#endif // TESSEL_OPS_TD
