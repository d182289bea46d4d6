//===- Mbarrier.cpp - mbarriers and the producer/consumer ring ------------===//

#include "GPU/Mbarrier.h"

#include "GPU/Cluster.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::tessel;

static NVVM::MemScopeKindAttr ctaScope(KernelBuilder &e) {
  return NVVM::MemScopeKindAttr::get(e.b.getContext(), NVVM::MemScopeKind::CTA);
}

Value mbarrier::pointer(KernelBuilder &e, Value sharedAddress) {
  auto ptr = LLVM::LLVMPointerType::get(e.b.getContext(), static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared));
  return LLVM::IntToPtrOp::create(e.b, e.loc, ptr, e.toI64(sharedAddress));
}

void mbarrier::init(KernelBuilder &e, Value bar, int64_t arrivals) {
  assert(arrivals >= 1 && arrivals < (1 << 20) && "mbarrier::init: arrivals out of range");
  NVVM::MBarrierInitOp::create(e.b, e.loc, bar, e.i32(arrivals), Value());
}

void mbarrier::fenceInit(KernelBuilder &e) { NVVM::FenceMbarrierInitOp::create(e.b, e.loc); }

void mbarrier::arrive(KernelBuilder &e, Value bar) {
  NVVM::MBarrierArriveOp::create(e.b, e.loc, Type(), bar, Value(), ctaScope(e),
                                 e.b.getBoolAttr(false));
}

void mbarrier::arriveExpectTx(KernelBuilder &e, Value bar, Value bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(e.b, e.loc, Type(), bar, bytes, ctaScope(e),
                                         e.b.getBoolAttr(false), Value());
}

void mbarrier::expectTx(KernelBuilder &e, Value bar, Value bytes) {
  NVVM::MBarrierExpectTxOp::create(e.b, e.loc, bar, bytes, ctaScope(e));
}

void mbarrier::waitParity(KernelBuilder &e, Value bar, Value parity) {
  // The op loops until the phase completed; the tick count is only the
  // suspend-time hint of each try (10 ms, as CUTLASS uses).
  NVVM::MBarrierTryWaitParityOp::create(e.b, e.loc, bar, parity, e.i32(10000000));
}

MbarrierRing::MbarrierRing(KernelBuilder &e, Value address, int64_t stages,
                           int64_t consumerArrivals)
    : e(e), base(address), numStages(stages), consumerArrivals(consumerArrivals) {
  assert(stages >= 1 && "MbarrierRing: at least one stage");
}

void mbarrier::arriveCluster(KernelBuilder &e, Value bar) {
  // Release at CTA scope, as CUTLASS's cluster barriers do: what the arrival
  // orders is this block's reads of its own stage (wgmma, retired by then)
  // before the TMA writes its observer issues; a cluster-scope release
  // costs a fence per K step.
  NVVM::MBarrierArriveOp::create(e.b, e.loc, Type(), bar, Value(), ctaScope(e),
                                 e.b.getBoolAttr(false));
}

Value MbarrierRing::barrier(Value index) {
  return mbarrier::pointer(e, e.add(base, e.mul(index, e.idx(mbarrier::kBytes))));
}

void MbarrierRing::init(Value leader, bool clusterWide) {
  e.when(leader, [&] {
    for (int64_t s = 0; s < numStages; ++s) {
      mbarrier::init(e, barrier(e.idx(s)), 1);
      mbarrier::init(e, barrier(e.idx(numStages + s)), consumerArrivals);
    }
    mbarrier::fenceInit(e);
  });
  if (clusterWide)
    return cluster::sync(e);
  gpu::BarrierOp::create(e.b, e.loc);
}

RingSlot MbarrierRing::slot(Value k) {
  Value stage = numStages == 1 ? e.idx(0) : e.rem(k, e.idx(numStages));
  Value trip = numStages == 1 ? k : e.div(k, e.idx(numStages));
  Value phase = arith::IndexCastUIOp::create(e.b, e.loc, e.b.getI32Type(),
                                             e.rem(trip, e.idx(2)));
  return {stage, phase};
}

Value MbarrierRing::full(const RingSlot &s) { return barrier(s.stage); }
Value MbarrierRing::empty(const RingSlot &s) {
  return barrier(e.add(s.stage, e.idx(numStages)));
}

void MbarrierRing::producerAcquire(const RingSlot &s) {
  // empty[s] has completed `trip` phases once the consumers released the
  // previous trip; on the first trip the parity-1 wait passes at once.
  mbarrier::waitParity(e, empty(s), e.xorI(s.phase, e.i32(1)));
}

void MbarrierRing::producerExpect(const RingSlot &s, Value bytes) {
  mbarrier::arriveExpectTx(e, full(s), bytes);
}

void MbarrierRing::consumerWait(const RingSlot &s) { mbarrier::waitParity(e, full(s), s.phase); }

void MbarrierRing::consumerRelease(const RingSlot &s) { mbarrier::arrive(e, empty(s)); }

void MbarrierRing::consumerRelease(const RingSlot &s, Value rank) {
  mbarrier::arriveCluster(e, cluster::mapShared(e, empty(s), rank));
}
