//===- Cluster.h - thread-block clusters ------------------------*- C++ -*-===//
//
// On sm_90 the blocks of a cluster run at once on one GPC and can reach each
// other's shared memory (the shared::cluster window): a TMA load can land
// in several of them at once (multicast), and an mbarrier can be arrived on
// from another block. Kernels declare their cluster shape
// (.reqnctapercluster, set by tessel-finalize-kernels from the gpu.launch's
// cluster size), so a plain launch of a grid of whole clusters runs them.
//
// A block must not exit while another block of its cluster may still
// arrive on its barriers or write its shared memory: kernels that do that
// end with `sync`, as they begin with it once their barriers exist.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_LIB_GPU_CLUSTER_H
#define TESSEL_LIB_GPU_CLUSTER_H

#include "GPU/KernelBuilder.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::tessel::cluster {

/// gpu.launch of a grid of clusters (cluster sizes x, y, z): the builder
/// (MLIR 22) leaves out the body's cluster ids and sizes that the op's
/// accessors and verifier expect after the twelve launch ids; this adds them.
gpu::LaunchOp launch(KernelBuilder &e, Value gridX, Value gridY, Value gridZ, int64_t threads,
                     Value sharedBytes, int64_t clusterX, int64_t clusterY, int64_t clusterZ);

/// barrier.cluster.arrive.release + wait.acquire: every thread of every
/// block of the cluster, and what each wrote before it is visible after.
void sync(KernelBuilder &e);

/// The shared::cluster pointer (!llvm.ptr<7>) of the object at the
/// CTA-relative shared pointer `local` (!llvm.ptr<3>) in block `rank` (an
/// index) of the cluster (mapa).
Value mapShared(KernelBuilder &e, Value local, Value rank);

/// The i16 multicast mask of blocks [0, blocks) of the cluster.
Value firstBlocksMask(KernelBuilder &e, int64_t blocks);

} // namespace mlir::tessel::cluster

#endif // TESSEL_LIB_GPU_CLUSTER_H
