//===- Mbarrier.h - mbarriers and the producer/consumer ring ----*- C++ -*-===//
//
// Hopper's split arrive/wait barriers in shared memory (8 bytes each), and a
// ring of N stages built from them, the way a TMA producer and tensor-core
// consumers hand tiles to each other:
//
//   full[s]  completes when the producer's bytes for stage s have landed
//            (one arrive.expect_tx, then the TMA transactions);
//   empty[s] completes when every consumer has released stage s.
//
// A stage's barriers complete once per trip around the ring, so the phase
// to wait for is the trip count's parity. Slots are computed from a running
// iteration count k (stage k mod N, phase (k / N) mod 2) instead of being
// carried through loops, which keeps persistent tile loops and K loops free
// of extra loop-carried state:
//
//   ring.producerAcquire(s); ring.producerExpect(s, bytes); tma::load(...);
//   ring.consumerWait(s); compute; ring.consumerRelease(s);
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_MBARRIER_H
#define TESSEL_LIB_GPU_MBARRIER_H

#include "GPU/KernelBuilder.h"

namespace mlir::tessel::mbarrier {

/// Bytes of one mbarrier object (and its alignment).
constexpr int64_t kBytes = 8;

/// The !llvm.ptr<3> of a shared-memory address (index, as from
/// SmemArena::originAddress or addressOf), the form the mbarrier, TMA and
/// mapa ops take.
Value pointer(KernelBuilder &e, Value sharedAddress);

/// Initializes the barrier for `arrivals` arrivals per phase (1 to 2^20 - 1).
/// One thread initializes; fenceInit and a block barrier must follow before
/// any other thread or the TMA unit uses it.
void init(KernelBuilder &e, Value bar, int64_t arrivals);
/// Makes initialized barriers visible to the async proxy (TMA).
void fenceInit(KernelBuilder &e);
/// One arrival.
void arrive(KernelBuilder &e, Value bar);
/// One arrival on a barrier of any block of the cluster (`bar`: a
/// shared::cluster pointer, cluster::mapShared).
void arriveCluster(KernelBuilder &e, Value bar);
/// One arrival that also expects `bytes` (i32) of transactions this phase.
void arriveExpectTx(KernelBuilder &e, Value bar, Value bytes);
/// Expects `bytes` more transactions without arriving.
void expectTx(KernelBuilder &e, Value bar, Value bytes);
/// Blocks until the phase of parity `parity` (i32, 0 or 1) has completed. A
/// fresh barrier counts its phase "-1" (parity 1) as completed.
void waitParity(KernelBuilder &e, Value bar, Value parity);

} // namespace mlir::tessel::mbarrier

namespace mlir::tessel {

/// A stage of the ring: its index and the parity of the trip around it.
struct RingSlot {
  Value stage; // index in [0, stages)
  Value phase; // i32, 0 or 1
};

class MbarrierRing {
public:
  /// The ring's 2 * stages barriers at `address` (a shared address, index,
  /// 8-byte aligned): full[0..stages), then empty[0..stages). A phase of
  /// empty[s] needs `consumerArrivals` consumerRelease calls.
  MbarrierRing(KernelBuilder &e, Value address, int64_t stages, int64_t consumerArrivals);

  /// Shared-memory bytes the barriers take.
  static int64_t bytes(int64_t stages) { return 2 * stages * mbarrier::kBytes; }

  /// Initializes every barrier from the thread where `leader` (i1) holds,
  /// then fences and synchronizes the whole block (with `clusterWide` the
  /// whole cluster, whose blocks then use each other's barriers): every
  /// thread must call it.
  void init(Value leader, bool clusterWide = false);

  /// The slot of iteration `k` (index): stage k mod stages, phase
  /// (k / stages) mod 2.
  RingSlot slot(Value k);

  Value full(const RingSlot &s);
  Value empty(const RingSlot &s);

  /// Producer: waits until the consumers have released the slot (the first
  /// trip passes at once).
  void producerAcquire(const RingSlot &s);
  /// Producer, one thread: arms full[s] for `bytes` (i32) of TMA traffic.
  void producerExpect(const RingSlot &s, Value bytes);
  /// Consumer: waits until the slot's bytes have landed.
  void consumerWait(const RingSlot &s);
  /// Consumer: one of the `consumerArrivals` releases of the slot.
  void consumerRelease(const RingSlot &s);
  /// Consumer: one release of the slot in block `rank` (an index) of the
  /// cluster, whose producer also writes this block's stages (multicast).
  void consumerRelease(const RingSlot &s, Value rank);

  int64_t stages() const { return numStages; }

private:
  Value barrier(Value index);

  KernelBuilder &e;
  Value base; // index
  int64_t numStages, consumerArrivals;
};

} // namespace mlir::tessel

#endif // TESSEL_LIB_GPU_MBARRIER_H
