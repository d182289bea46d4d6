//===- Cluster.cpp - thread-block clusters --------------------------------===//

#include "GPU/Cluster.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::tessel;

gpu::LaunchOp cluster::launch(KernelBuilder &e, Value gridX, Value gridY, Value gridZ,
                              int64_t threads, Value sharedBytes, int64_t clusterX,
                              int64_t clusterY, int64_t clusterZ) {
  Value one = e.idx(1);
  auto op = gpu::LaunchOp::create(e.b, e.loc, gridX, gridY, gridZ, e.idx(threads), one, one,
                                  sharedBytes, Type(), ValueRange{}, TypeRange{}, TypeRange{},
                                  e.idx(clusterX), e.idx(clusterY), e.idx(clusterZ));
  for (int i = 0; i < 6; ++i)
    op.getBody().front().addArgument(e.b.getIndexType(), e.loc);
  return op;
}

void cluster::sync(KernelBuilder &e) {
  // Not .aligned: the roles reach the end of a kernel from diverged code.
  NVVM::ClusterArriveOp::create(e.b, e.loc, UnitAttr());
  NVVM::ClusterWaitOp::create(e.b, e.loc, UnitAttr());
}

Value cluster::mapShared(KernelBuilder &e, Value local, Value rank) {
  auto ptr = LLVM::LLVMPointerType::get(
      e.b.getContext(), static_cast<unsigned>(NVVM::NVVMMemorySpace::SharedCluster));
  Value r = arith::IndexCastUIOp::create(e.b, e.loc, e.b.getI32Type(), rank);
  return NVVM::MapaOp::create(e.b, e.loc, ptr, local, r);
}

Value cluster::firstBlocksMask(KernelBuilder &e, int64_t blocks) {
  assert(blocks >= 1 && blocks <= 16 && "cluster::firstBlocksMask: 1 to 16 blocks");
  return arith::ConstantIntOp::create(e.b, e.loc, (int64_t(1) << blocks) - 1, 16);
}
