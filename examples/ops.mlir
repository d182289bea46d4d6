// One of each tessel op in the tensor form. Try:
//   tessel-opt examples/ops.mlir --canonicalize
//   tessel-opt examples/ops.mlir --tessel-bufferize --tessel-cpu-lower
func.func @transformer_step(
    %x: tensor<64x128xf16>, %w: tensor<384x128xf16>, %qkv: tensor<64x384xf16>,
    %q: tensor<1x8x64x64xf16>, %k: tensor<1x2x64x64xf16>, %v: tensor<1x2x64x64xf16>,
    %o: tensor<1x8x64x64xf16>, %lse: tensor<1x8x64xf32>,
    %dq: tensor<4x8x64xf16>, %kc: tensor<64x16x2x64xf16>, %vc: tensor<64x16x2x64xf16>,
    %tables: tensor<4x8xi32>, %lens: tensor<4xi32>, %dout: tensor<4x8x64xf16>,
    %newk: tensor<4x2x64xf16>, %newv: tensor<4x2x64xf16>, %slots: tensor<4xi64>,
    %cow: tensor<1x2xi64>)
    -> (tensor<64x384xf16>, tensor<1x8x64x64xf16>, tensor<1x8x64xf32>, tensor<4x8x64xf16>,
        tensor<64x16x2x64xf16>, tensor<64x16x2x64xf16>) {
  // x @ w^T written with an explicit transpose: canonicalization folds it
  // into the transpose_b flag.
  %e = tensor.empty() : tensor<128x384xf16>
  %wt = linalg.transpose ins(%w : tensor<384x128xf16>) outs(%e : tensor<128x384xf16>) permutation = [1, 0]
  %proj = tessel.gemm %x, %wt into %qkv : tensor<64x128xf16>, tensor<128x384xf16> into tensor<64x384xf16> -> tensor<64x384xf16>
  %att:2 = tessel.flash_attention %q, %k, %v into %o, %lse {causal}
      : tensor<1x8x64x64xf16>, tensor<1x2x64x64xf16>, tensor<1x2x64x64xf16>
      into tensor<1x8x64x64xf16>, tensor<1x8x64xf32> -> tensor<1x8x64x64xf16>, tensor<1x8x64xf32>
  %kv:2 = tessel.paged_kv_write %newk, %newv, %slots into %kc, %vc
      : tensor<4x2x64xf16>, tensor<4x2x64xf16>, tensor<4xi64>
      into tensor<64x16x2x64xf16>, tensor<64x16x2x64xf16> -> tensor<64x16x2x64xf16>, tensor<64x16x2x64xf16>
  %cp:2 = tessel.copy_blocks %cow into %kv#0, %kv#1
      : tensor<1x2xi64> into tensor<64x16x2x64xf16>, tensor<64x16x2x64xf16> -> tensor<64x16x2x64xf16>, tensor<64x16x2x64xf16>
  %dec = tessel.paged_attention %dq, %cp#0, %cp#1, %tables, %lens into %dout
      : tensor<4x8x64xf16>, tensor<64x16x2x64xf16>, tensor<64x16x2x64xf16>, tensor<4x8xi32>, tensor<4xi32>
      into tensor<4x8x64xf16> -> tensor<4x8x64xf16>
  return %proj, %att#0, %att#1, %dec, %cp#0, %cp#1
      : tensor<64x384xf16>, tensor<1x8x64x64xf16>, tensor<1x8x64xf32>, tensor<4x8x64xf16>,
        tensor<64x16x2x64xf16>, tensor<64x16x2x64xf16>
}
