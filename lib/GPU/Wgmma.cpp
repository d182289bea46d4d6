//===- Wgmma.cpp - Hopper warpgroup MMA -----------------------------------===//

#include "GPU/Wgmma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::tessel;

Value wgmma::descriptor(KernelBuilder &e, Value byteAddr, const Operand &op) {
  Value field = arith::ShRUIOp::create(e.b, e.loc, e.toI64(byteAddr), e.i64(4));
  field = arith::AndIOp::create(e.b, e.loc, field, e.i64(0x3FFF));
  return arith::OrIOp::create(e.b, e.loc, field, e.i64(op.layout.descriptorBits(op.kMajor)));
}

Value wgmma::advance(KernelBuilder &e, Value desc, int64_t bytes) {
  if (bytes == 0)
    return desc;
  return arith::AddIOp::create(e.b, e.loc, desc, e.i64(bytes >> 4));
}

Value wgmma::advance(KernelBuilder &e, Value desc, Value bytesOver16) {
  return arith::AddIOp::create(e.b, e.loc, desc, bytesOver16);
}

Type wgmma::accumulatorType(MLIRContext *ctx, int64_t n) {
  return LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, Float32Type::get(ctx)));
}

Value wgmma::zeroAccumulator(KernelBuilder &e, int64_t n) {
  return LLVM::ZeroOp::create(e.b, e.loc, accumulatorType(e.b.getContext(), n));
}

Value wgmma::mmaAsync(KernelBuilder &e, Value acc, Value descA, Value descB, int64_t n, Type elt,
                      const Operand &a, const Operand &b) {
  MLIRContext *ctx = e.b.getContext();
  NVVM::WGMMATypes type = elt.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  // wgmma's transpose bits: A "row" and B "col" are K-major.
  NVVM::MMALayout layoutA = a.kMajor ? NVVM::MMALayout::row : NVVM::MMALayout::col;
  NVVM::MMALayout layoutB = b.kMajor ? NVVM::MMALayout::col : NVVM::MMALayout::row;
  return NVVM::WgmmaMmaAsyncOp::create(
      e.b, e.loc, acc.getType(), acc, descA, descB, NVVM::MMAShapeAttr::get(ctx, 64, n, kK),
      type, type, NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
      NVVM::WGMMAScaleIn::one, layoutA, layoutB, /*satfinite=*/nullptr);
}

Value wgmma::mmaAsyncRegA(KernelBuilder &e, Value acc, Value aFragment, Value descB, int64_t n,
                          const Operand &b, Value scaleD) {
  OpBuilder &bld = e.b;
  Location loc = e.loc;
  auto fragType = cast<VectorType>(aFragment.getType());
  Type elt = fragType.getElementType();
  int64_t regs = n / 2;
  SmallVector<Value> operands;
  for (int64_t i = 0; i < regs; ++i)
    operands.push_back(LLVM::ExtractValueOp::create(bld, loc, acc, ArrayRef<int64_t>{i}));
  for (int64_t r = 0; r < 4; ++r) {
    Value pair = vector::ExtractOp::create(bld, loc, aFragment, ArrayRef<int64_t>{r});
    Value asInt =
        vector::BitCastOp::create(bld, loc, VectorType::get({1}, bld.getI32Type()), pair);
    operands.push_back(vector::ExtractOp::create(bld, loc, asInt, ArrayRef<int64_t>{0}));
  }
  operands.push_back(descB);
  operands.push_back(scaleD);
  // $0..$(regs-1): D; $regs..$(2 regs-1): D's inputs (tied); then a0..a3,
  // the B descriptor and scale-d.
  std::string asmText, constraints;
  llvm::raw_string_ostream as(asmText), cs(constraints);
  std::string type = elt.isBF16() ? "bf16" : "f16";
  as << "{\n.reg .pred p;\nsetp.ne.b32 p, $" << 2 * regs + 5 << ", 0;\n"
     << "wgmma.mma_async.sync.aligned.m64n" << n << "k16.f32." << type << "." << type << " {";
  for (int64_t i = 0; i < regs; ++i)
    as << (i ? ", " : "") << "$" << i;
  as << "}, {$" << 2 * regs << ", $" << 2 * regs + 1 << ", $" << 2 * regs + 2 << ", $"
     << 2 * regs + 3 << "}, $" << 2 * regs + 4 << ", p, 1, 1, " << (b.kMajor ? 0 : 1)
     << ";\n}";
  for (int64_t i = 0; i < regs; ++i)
    cs << (i ? "," : "") << "=f";
  for (int64_t i = 0; i < regs; ++i)
    cs << "," << i;
  cs << ",r,r,r,r,l,r";
  return LLVM::InlineAsmOp::create(bld, loc, acc.getType(), operands, asmText, constraints,
                                   /*has_side_effects=*/true, /*is_align_stack=*/false,
                                   LLVM::tailcallkind::TailCallKind::None,
                                   LLVM::AsmDialectAttr::get(bld.getContext(),
                                                             LLVM::AsmDialect::AD_ATT),
                                   /*operand_attrs=*/ArrayAttr())
      .getResult(0);
}

void wgmma::fence(KernelBuilder &e) { NVVM::WgmmaFenceAlignedOp::create(e.b, e.loc); }
void wgmma::commitGroup(KernelBuilder &e) { NVVM::WgmmaGroupSyncAlignedOp::create(e.b, e.loc); }
void wgmma::waitGroups(KernelBuilder &e, int64_t pending) {
  NVVM::WgmmaWaitGroupSyncOp::create(e.b, e.loc, pending);
}

int64_t wgmma::accumulatorRegister(int64_t nb, int64_t half, int64_t k) {
  return 4 * nb + 2 * half + k;
}

Value wgmma::element(KernelBuilder &e, Value acc, int64_t reg) {
  return LLVM::ExtractValueOp::create(e.b, e.loc, acc, ArrayRef<int64_t>{reg});
}
