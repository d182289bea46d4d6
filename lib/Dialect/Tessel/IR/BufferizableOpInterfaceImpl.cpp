//===- BufferizableOpInterfaceImpl.cpp - tessel bufferization -------------===//

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "tessel/InitTessel.h"
#include "tessel/TesselOps.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::tessel;

namespace {

/// One model for every tessel op: they are all destination-style, so the
/// memref form is the same op with buffers for operands and no results, and
/// each result is the buffer of its tied init.
template <typename OpTy>
struct TesselOpInterface
    : DstBufferizableOpInterfaceExternalModel<TesselOpInterface<OpTy>, OpTy> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const AnalysisState &) const {
    auto dps = cast<DestinationStyleOpInterface>(op);
    if (!dps.isDpsInit(&operand))
      return true;
    // gemm and the attention ops only write their inits; the cache ops update
    // theirs in place, keeping what they do not overwrite.
    return isa<PagedKVWriteOp, CopyBlocksOp>(op);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      if (!isa<TensorType>(v.getType())) {
        operands.push_back(v);
        continue;
      }
      FailureOr<Value> buffer = getBuffer(rewriter, v, options, state);
      if (failed(buffer))
        return failure();
      operands.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    OperationState memrefForm(op->getLoc(), op->getName());
    memrefForm.addOperands(operands);
    memrefForm.addAttributes(op->getDiscardableAttrDictionary().getValue());
    memrefForm.propertiesAttr = op->getPropertiesAsAttribute();
    rewriter.create(memrefForm);

    auto dps = cast<DestinationStyleOpInterface>(op);
    SmallVector<Value> replacements;
    for (OpOperand &init : dps.getDpsInitsMutable())
      replacements.push_back(operands[init.getOperandNumber()]);
    replaceOpWithBufferizedValues(rewriter, op, replacements);
    return success();
  }
};

template <typename... Ops>
void attachModels(MLIRContext *ctx) {
  (Ops::template attachInterface<TesselOpInterface<Ops>>(*ctx), ...);
}

} // namespace

void mlir::tessel::registerTesselDialects(DialectRegistry &registry) {
  registry.insert<TesselDialect>();
  registry.addExtension(+[](MLIRContext *ctx, TesselDialect *) {
    attachModels<GemmOp, FlashAttentionOp, FlashAttentionVarlenOp, PagedAttentionOp, PagedKVWriteOp,
                 CopyBlocksOp>(ctx);
  });
}
