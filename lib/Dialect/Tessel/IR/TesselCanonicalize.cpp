//===- TesselCanonicalize.cpp - tessel.gemm canonicalization --------------===//

#include "Common/FloatUtils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "tessel/TesselOps.h"

using namespace mlir;
using namespace mlir::tessel;

namespace {

/// A transpose of the last two dimensions feeding A or B becomes the operand's
/// transpose flag, so the kernel reads the original layout instead of a
/// materialised copy.
struct FoldTransposeIntoGemm : OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;

  static bool swapsLastTwo(ArrayRef<int64_t> perm) {
    int64_t r = perm.size();
    for (int64_t i = 0; i < r - 2; ++i)
      if (perm[i] != i)
        return false;
    return r >= 2 && perm[r - 2] == r - 1 && perm[r - 1] == r - 2;
  }

  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rewriter) const override {
    for (unsigned idx : {0u, 1u}) {
      auto transpose = op->getOperand(idx).getDefiningOp<linalg::TransposeOp>();
      if (!transpose || !transpose.hasPureTensorSemantics() ||
          !swapsLastTwo(transpose.getPermutation()))
        continue;
      rewriter.modifyOpInPlace(op, [&] {
        op->setOperand(idx, transpose.getInput());
        if (idx == 0)
          op.setTransposeA(!op.getTransposeA());
        else
          op.setTransposeB(!op.getTransposeB());
      });
      return success();
    }
    return failure();
  }
};

/// With beta = 0, C does not contribute (BLAS convention: it is not even
/// read, so NaNs in it do not propagate).
struct DropZeroBetaC : OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rewriter) const override {
    if (!op.getC() || !op.getBeta().isZero())
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.getCMutable().clear(); });
    return success();
  }
};

/// With alpha = 0 the product is dropped: D = beta * C (A and B are not read),
/// or zeros when there is no C.
struct DropZeroAlphaProduct : OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GemmOp op, PatternRewriter &rewriter) const override {
    if (!op.getAlpha().isZero())
      return failure();
    Location loc = op.getLoc();
    Value init = op.getInit();
    auto initType = cast<ShapedType>(init.getType());
    Type elt = initType.getElementType();
    Operation *replacement;
    if (!op.getC()) {
      Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(elt));
      replacement = linalg::FillOp::create(rewriter, loc, zero, init);
    } else {
      int64_t rank = initType.getRank();
      AffineMap id = rewriter.getMultiDimIdentityMap(rank);
      SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
      float beta = op.getBeta().convertToFloat();
      TypeRange results = op->getResultTypes();
      replacement = linalg::GenericOp::create(
          rewriter, loc, results, ValueRange{op.getC()}, ValueRange{init},
          ArrayRef<AffineMap>{id, id}, iters,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value c = castFloat(b, l, args[0], b.getF32Type());
            Value d = arith::MulFOp::create(b, l, c, f32Constant(b, l, beta));
            linalg::YieldOp::create(b, l, castFloat(b, l, d, elt));
          });
    }
    rewriter.replaceOp(op, replacement->getResults());
    return success();
  }
};

/// max_seqlen_q = 0 bounds every query sequence to length 0: the op writes
/// nothing, so its results are its inits (memref form: it goes away).
struct DropEmptyVarlenAttention : OpRewritePattern<FlashAttentionVarlenOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FlashAttentionVarlenOp op,
                                PatternRewriter &rewriter) const override {
    if (!matchPattern(op.getMaxSeqlenQ(), m_Zero()))
      return failure();
    if (op->getNumResults() == 0) {
      rewriter.eraseOp(op);
      return success();
    }
    SmallVector<Value> inits{op.getOut()};
    if (op.getLse())
      inits.push_back(op.getLse());
    rewriter.replaceOp(op, inits);
    return success();
  }
};

} // namespace

void FlashAttentionVarlenOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                         MLIRContext *context) {
  results.add<DropEmptyVarlenAttention>(context);
}

void GemmOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<FoldTransposeIntoGemm, DropZeroBetaC, DropZeroAlphaProduct>(context);
}
