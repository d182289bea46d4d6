//===- WarpRole.h - warpgroups, producer/consumer roles, registers -*- C++ -*-===//
//
// Warp specialization on Hopper: the block's 128-thread warpgroups take
// roles — warpgroup 0 produces (issues TMA, needs few registers), the others
// consume (tensor-core math, want many) — and rebalance the register file
// between them with setmaxnreg. One elected lane issues what only one thread
// may (arming a barrier, a TMA copy).
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_WARPROLE_H
#define TESSEL_LIB_GPU_WARPROLE_H

#include "GPU/KernelBuilder.h"

namespace mlir::tessel {

constexpr int64_t kWarpgroupThreads = 128;

struct WarpgroupIds {
  Value warpgroup; // tid / 128
  Value thread;    // tid % 128
  static WarpgroupIds of(KernelBuilder &e, Value tid) {
    return {e.div(tid, e.idx(kWarpgroupThreads)), e.rem(tid, e.idx(kWarpgroupThreads))};
  }
};

/// `if warpgroup == 0 { producer() } else { consumer(warpgroup - 1) }`.
void splitRoles(KernelBuilder &e, Value warpgroup, function_ref<void()> producer,
                function_ref<void(Value consumer)> consumer);

/// Why `count` cannot be a setmaxnreg target (a multiple of 8 in [24, 256]);
/// empty when it can.
std::string maxRegistersError(int64_t count);

/// setmaxnreg.inc / .dec: every thread of the warpgroup executes it, with
/// the same count. The kernel's launch bounds must be known (ptxas ignores
/// the instruction otherwise).
void setMaxRegisters(KernelBuilder &e, int64_t count, bool increase);

/// bar.sync `id`, `threads`: a barrier among `threads` threads (whole warps)
/// only, so two warpgroups can meet while the producer runs on. Id 0 is the
/// block-wide barrier (gpu.barrier); named barriers take 1..15.
void namedBarrier(KernelBuilder &e, int64_t id, int64_t threads);
/// The same with a run-time id (an index), e.g. one barrier per warpgroup.
void namedBarrier(KernelBuilder &e, Value id, int64_t threads);

/// bar.arrive `id`, `threads`: counts the calling warps into the barrier
/// without waiting (the other side of a named barrier another warpgroup
/// waits on with namedBarrier).
void namedBarrierArrive(KernelBuilder &e, Value id, int64_t threads);

/// i1: true on exactly one active lane of the calling warp (elect.sync).
Value electOneLane(KernelBuilder &e);

} // namespace mlir::tessel

#endif // TESSEL_LIB_GPU_WARPROLE_H
