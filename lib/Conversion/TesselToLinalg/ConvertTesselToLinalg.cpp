//===- ConvertTesselToLinalg.cpp - host reference lowering ----------------===//
//
// The reference semantics of every tessel op, written as plainly as possible:
// this lowering is what the GPU kernels are tested against on machines
// without a GPU, so clarity beats speed here.
//
//===----------------------------------------------------------------------===//

#include "Common/Emitter.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "tessel/Passes.h"
#include "tessel/TesselOps.h"

#include <limits>

namespace mlir::tessel {
#define GEN_PASS_DEF_CONVERTTESSELTOLINALG
#include "tessel/Passes.h.inc"
} // namespace mlir::tessel

using namespace mlir;
using namespace mlir::tessel;

namespace {

template <typename OpTy>
struct MemrefFormPattern : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const final {
    if (!op.hasPureBufferSemantics())
      return rewriter.notifyMatchFailure(op, "expects the memref form");
    Emitter e{rewriter, op.getLoc()};
    lower(op, e);
    rewriter.eraseOp(op);
    return success();
  }
  virtual void lower(OpTy op, Emitter &e) const = 0;
};

//===----------------------------------------------------------------------===//
// gemm: f32 accumulator, contraction generic, epilogue generic.
//===----------------------------------------------------------------------===//

struct GemmLowering : MemrefFormPattern<GemmOp> {
  using MemrefFormPattern::MemrefFormPattern;
  void lower(GemmOp op, Emitter &e) const override {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value init = op.getInit();
    auto initType = cast<MemRefType>(init.getType());
    int64_t rank = initType.getRank();
    bool batched = rank == 3;

    SmallVector<Value> dynSizes;
    for (int64_t i = 0; i < rank; ++i)
      if (initType.isDynamicDim(i))
        dynSizes.push_back(e.dim(init, i));
    auto accType = MemRefType::get(initType.getShape(), b.getF32Type());
    Value acc = memref::AllocOp::create(b, loc, accType, dynSizes);
    linalg::FillOp::create(b, loc, e.f32(0), acc);

    // Loops: (batch?, m, n, k).
    MLIRContext *ctx = b.getContext();
    unsigned nl = batched ? 4 : 3, o = batched ? 1 : 0;
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    auto map = [&](AffineExpr x, AffineExpr y) {
      SmallVector<AffineExpr> r;
      if (batched)
        r.push_back(d(0));
      r.append({x, y});
      return AffineMap::get(nl, 0, r, ctx);
    };
    AffineExpr m = d(o), n = d(o + 1), k = d(o + 2);
    AffineMap aMap = op.getTransposeA() ? map(k, m) : map(m, k);
    AffineMap bMap = op.getTransposeB() ? map(n, k) : map(k, n);
    AffineMap cMap = map(m, n);
    SmallVector<utils::IteratorType> iters(nl, utils::IteratorType::parallel);
    iters.back() = utils::IteratorType::reduction;
    linalg::GenericOp::create(
        b, loc, TypeRange{}, ValueRange{op.getA(), op.getB()}, ValueRange{acc},
        ArrayRef<AffineMap>{aMap, bMap, cMap}, iters,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value x = castFloat(nb, l, args[0], nb.getF32Type());
          Value y = castFloat(nb, l, args[1], nb.getF32Type());
          Value p = arith::MulFOp::create(nb, l, x, y);
          linalg::YieldOp::create(nb, l, arith::AddFOp::create(nb, l, args[2], p).getResult());
        });

    // D = alpha * acc + beta * C, rounded once.
    AffineMap id = b.getMultiDimIdentityMap(rank);
    SmallVector<Value> ins{acc};
    SmallVector<AffineMap> maps{id};
    if (op.getC()) {
      ins.push_back(op.getC());
      maps.push_back(id);
    }
    maps.push_back(id);
    float alpha = op.getAlpha().convertToFloat(), beta = op.getBeta().convertToFloat();
    Type outElt = initType.getElementType();
    linalg::GenericOp::create(
        b, loc, TypeRange{}, ins, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value r = args[0];
          if (alpha != 1.0f)
            r = arith::MulFOp::create(nb, l, r, f32Constant(nb, l, alpha));
          if (args.size() == 3) {
            Value c = castFloat(nb, l, args[1], nb.getF32Type());
            c = arith::MulFOp::create(nb, l, c, f32Constant(nb, l, beta));
            r = arith::AddFOp::create(nb, l, r, c);
          }
          linalg::YieldOp::create(nb, l, castFloat(nb, l, r, outElt));
        });
    memref::DeallocOp::create(b, loc, acc);
  }
};

//===----------------------------------------------------------------------===//
// flash_attention: one softmax row per (batch, query head, query).
//===----------------------------------------------------------------------===//

struct FlashAttentionLowering : MemrefFormPattern<FlashAttentionOp> {
  using MemrefFormPattern::MemrefFormPattern;
  void lower(FlashAttentionOp op, Emitter &e) const override {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value q = op.getQ(), k = op.getK(), v = op.getV(), out = op.getOut(),
          lse = op.getLse();
    // bhsd or bshd: only where heads and positions sit differs.
    int64_t hDim = op.headsDim(), sDim = op.seqDim();
    auto at = [&](Value bi, Value h, Value i, Value d) -> SmallVector<Value> {
      if (op.isSeqMajor())
        return {bi, i, h, d};
      return {bi, h, i, d};
    };
    Value batch = e.dim(q, 0), hq = e.dim(q, hDim), sq = e.dim(q, sDim), hd = e.dim(q, 3);
    Value hkv = e.dim(k, hDim), skv = e.dim(k, sDim), dv = e.dim(v, 3);
    Value group = arith::DivUIOp::create(b, loc, hq, hkv);
    Value scale = e.f32(op.getScaleValue());
    // Bottom-right causal alignment: query i sees keys j <= i + (Skv - Sq).
    Value shift = arith::SubIOp::create(b, loc, skv, sq);
    Value scratch = e.alloc(b.getF32Type(), {skv});

    e.loop(batch, [&](Value bi) {
      e.loop(hq, [&](Value h) {
        Value hk = arith::DivUIOp::create(b, loc, h, group);
        e.loop(sq, [&](Value i) {
          Value n = skv;
          if (op.getCausal()) {
            Value lim = arith::AddIOp::create(b, loc, i, shift);
            lim = arith::AddIOp::create(b, loc, lim, e.idx(1));
            lim = arith::MaxSIOp::create(b, loc, lim, e.idx(0));
            n = arith::MinSIOp::create(b, loc, lim, skv);
          }
          Value rowLse = e.softmaxRow(
              n, dv, scratch,
              [&](Value j) {
                Value s = e.dot(hd, [&](Value d) { return e.loadF32(q, at(bi, h, i, d)); },
                                [&](Value d) { return e.loadF32(k, at(bi, hk, j, d)); });
                return arith::MulFOp::create(b, loc, s, scale).getResult();
              },
              [&](Value j, Value d) { return e.loadF32(v, at(bi, hk, j, d)); },
              [&](Value d, Value o) { e.store(o, out, at(bi, h, i, d)); });
          if (lse)
            e.store(rowLse, lse, {bi, h, i});
        });
      });
    });
    memref::DeallocOp::create(b, loc, scratch);
  }
};

//===----------------------------------------------------------------------===//
// flash_attention_varlen: the same rows, per packed sequence.
//===----------------------------------------------------------------------===//

struct FlashAttentionVarlenLowering : MemrefFormPattern<FlashAttentionVarlenOp> {
  using MemrefFormPattern::MemrefFormPattern;
  void lower(FlashAttentionVarlenOp op, Emitter &e) const override {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value q = op.getQ(), k = op.getK(), v = op.getV(), cuQ = op.getCuSeqlensQ(),
          cuK = op.getCuSeqlensK(), out = op.getOut(), lse = op.getLse();
    Value batch = e.sub(e.dim(cuQ, 0), e.idx(1));
    Value hq = e.dim(q, 1), hd = e.dim(q, 2), hkv = e.dim(k, 1), dv = e.dim(v, 2);
    Value group = arith::DivUIOp::create(b, loc, hq, hkv);
    Value scale = e.f32(op.getScaleValue());
    // No key sequence is longer than the packed keys.
    Value scratch = e.alloc(b.getF32Type(), {e.dim(k, 0)});

    e.loop(batch, [&](Value bi) {
      Value q0 = e.toIndex(e.load(cuQ, bi)), k0 = e.toIndex(e.load(cuK, bi));
      Value b1 = e.add(bi, e.idx(1));
      Value sq = e.sub(e.toIndex(e.load(cuQ, b1)), q0);
      Value skv = e.sub(e.toIndex(e.load(cuK, b1)), k0);
      // Bottom-right causal alignment per sequence: query i sees keys
      // j <= i + (Sk_b - Sq_b).
      Value shift = arith::SubIOp::create(b, loc, skv, sq);
      e.loop(hq, [&](Value h) {
        Value hk = arith::DivUIOp::create(b, loc, h, group);
        e.loop(sq, [&](Value i) {
          Value qi = e.add(q0, i);
          Value n = skv;
          if (op.getCausal()) {
            Value lim = arith::AddIOp::create(b, loc, i, shift);
            lim = arith::AddIOp::create(b, loc, lim, e.idx(1));
            lim = arith::MaxSIOp::create(b, loc, lim, e.idx(0));
            n = arith::MinSIOp::create(b, loc, lim, skv);
          }
          Value rowLse = e.softmaxRow(
              n, dv, scratch,
              [&](Value j) {
                Value kj = e.add(k0, j);
                Value s = e.dot(hd, [&](Value d) { return e.loadF32(q, {qi, h, d}); },
                                [&](Value d) { return e.loadF32(k, {kj, hk, d}); });
                return arith::MulFOp::create(b, loc, s, scale).getResult();
              },
              [&](Value j, Value d) { return e.loadF32(v, {e.add(k0, j), hk, d}); },
              [&](Value d, Value o) { e.store(o, out, {qi, h, d}); });
          if (lse)
            e.store(rowLse, lse, {h, qi});
        });
      });
    });
    memref::DeallocOp::create(b, loc, scratch);
  }
};

//===----------------------------------------------------------------------===//
// paged_attention: the same row, keys gathered through the block table.
//===----------------------------------------------------------------------===//

struct PagedAttentionLowering : MemrefFormPattern<PagedAttentionOp> {
  using MemrefFormPattern::MemrefFormPattern;
  void lower(PagedAttentionOp op, Emitter &e) const override {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value q = op.getQ(), kc = op.getKeyCache(), vc = op.getValueCache(),
          tables = op.getBlockTables(), lens = op.getContextLens(), out = op.getOut();
    Value seqs = e.dim(q, 0), hq = e.dim(q, 1), hd = e.dim(q, 2);
    Value blockSize = e.dim(kc, 1), hkv = e.dim(kc, 2);
    Value group = arith::DivUIOp::create(b, loc, hq, hkv);
    Value scale = e.f32(op.getScaleValue());
    Value maxTokens = arith::MulIOp::create(b, loc, e.dim(tables, 1), blockSize);
    Value scratch = e.alloc(b.getF32Type(), {maxTokens});

    e.loop(seqs, [&](Value s) {
      Value n = e.toIndex(e.load(lens, s));
      e.loop(hq, [&](Value h) {
        Value hk = arith::DivUIOp::create(b, loc, h, group);
        // Physical (block, offset) of token t of sequence s.
        auto slot = [&](Value t) -> std::pair<Value, Value> {
          Value logical = arith::DivUIOp::create(b, loc, t, blockSize);
          Value block = e.toIndex(e.load(tables, {s, logical}));
          return {block, arith::RemUIOp::create(b, loc, t, blockSize)};
        };
        e.softmaxRow(
            n, hd, scratch,
            [&](Value t) {
              auto [block, off] = slot(t);
              Value dot = e.dot(hd, [&](Value d) { return e.loadF32(q, {s, h, d}); },
                                [&](Value d) { return e.loadF32(kc, {block, off, hk, d}); });
              return arith::MulFOp::create(b, loc, dot, scale).getResult();
            },
            [&](Value t, Value d) {
              auto [block, off] = slot(t);
              return e.loadF32(vc, {block, off, hk, d});
            },
            [&](Value d, Value o) { e.store(o, out, {s, h, d}); });
      });
    });
    memref::DeallocOp::create(b, loc, scratch);
  }
};

//===----------------------------------------------------------------------===//
// paged_kv_write and copy_blocks: plain element copies.
//===----------------------------------------------------------------------===//

/// Copies one [Hkv, D] token row from (src, srcIvs...) to (dst, dstIvs...).
static void copyToken(Emitter &e, Value src, ValueRange srcPrefix, Value dst,
                      ValueRange dstPrefix, Value heads, Value hd) {
  e.loop(heads, [&](Value h) {
    e.loop(hd, [&](Value d) {
      SmallVector<Value> si(srcPrefix), di(dstPrefix);
      si.append({h, d});
      di.append({h, d});
      e.store(e.load(src, si), dst, di);
    });
  });
}

struct PagedKVWriteLowering : MemrefFormPattern<PagedKVWriteOp> {
  using MemrefFormPattern::MemrefFormPattern;
  void lower(PagedKVWriteOp op, Emitter &e) const override {
    OpBuilder &b = e.b;
    Location loc = e.loc;
    Value key = op.getKey(), value = op.getValue(), kc = op.getKeyCache(),
          vc = op.getValueCache(), slots = op.getSlotMapping();
    Value tokens = e.dim(key, 0), heads = e.dim(key, 1), hd = e.dim(key, 2);
    Value blockSize = arith::IndexCastOp::create(b, loc, b.getI64Type(), e.dim(kc, 1));
    Value zero = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0));
    e.loop(tokens, [&](Value t) {
      Value slot = e.load(slots, t);
      // Negative slots mark padding tokens: skipped.
      Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, slot, zero);
      auto ifOp = scf::IfOp::create(b, loc, valid, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      Value block = e.toIndex(arith::DivUIOp::create(b, loc, slot, blockSize));
      Value off = e.toIndex(arith::RemUIOp::create(b, loc, slot, blockSize));
      copyToken(e, key, {t}, kc, {block, off}, heads, hd);
      copyToken(e, value, {t}, vc, {block, off}, heads, hd);
    });
  }
};

struct CopyBlocksLowering : MemrefFormPattern<CopyBlocksOp> {
  using MemrefFormPattern::MemrefFormPattern;
  void lower(CopyBlocksOp op, Emitter &e) const override {
    Value map = op.getBlockMapping(), kc = op.getKeyCache(), vc = op.getValueCache();
    Value blockSize = e.dim(kc, 1), heads = e.dim(kc, 2), hd = e.dim(kc, 3);
    e.loop(e.dim(map, 0), [&](Value p) {
      Value src = e.toIndex(e.load(map, {p, e.idx(0)}));
      Value dst = e.toIndex(e.load(map, {p, e.idx(1)}));
      e.loop(blockSize, [&](Value o) {
        copyToken(e, kc, {src, o}, kc, {dst, o}, heads, hd);
        copyToken(e, vc, {src, o}, vc, {dst, o}, heads, hd);
      });
    });
  }
};

struct ConvertTesselToLinalg
    : tessel::impl::ConvertTesselToLinalgBase<ConvertTesselToLinalg> {
  void runOnOperation() override {
    WalkResult tensorForm = getOperation()->walk([](Operation *op) {
      auto dps = dyn_cast<DestinationStyleOpInterface>(op);
      if (!dps || !isa<TesselDialect>(op->getDialect()) || dps.hasPureBufferSemantics())
        return WalkResult::advance();
      op->emitOpError() << "is in the tensor form; convert-tessel-to-linalg "
                           "expects the memref form (run one-shot-bufferize first)";
      return WalkResult::interrupt();
    });
    if (tensorForm.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    populateTesselToLinalgConversionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::tessel::populateTesselToLinalgConversionPatterns(RewritePatternSet &patterns) {
  patterns.add<GemmLowering, FlashAttentionLowering, FlashAttentionVarlenLowering,
               PagedAttentionLowering,
               PagedKVWriteLowering, CopyBlocksLowering>(patterns.getContext());
}
