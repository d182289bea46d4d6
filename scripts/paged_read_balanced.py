"""The MQA decode row's bytes read with the work balanced across SMs: is a
balanced read of them any nearer the copy rate than the decode's one wave of
128 equal ranges? (A diagnostic for the GPU machine, not a test; it needs
torch and cupy, not tessel's MLIR runtime.)

The thirteenth session's timeline put the loop of each SM at a speed of its
own (29 us on two groups of SMs, 31.5 on the rest) and 2.9 us of the call in
that imbalance. A read kernel (CUDA C through NVRTC) reads the row's K and V
pages (64 x 4096 tokens, one kv head, D = 128, block 16, shuffled table:
134 MB) in chunks of P pages, handed out in one of three ways:

  grid     one block a chunk: the hardware's block scheduler balances
  static   G persistent blocks, block b takes chunks b, b + G, ...
  dynamic  G persistent blocks claim chunks from a counter (atomicAdd),
           zeroed by a memset before each call (timed with the call), or
           reset by the call's last block (`dynamic-self`)

Each thread of a block loads one 16-byte vector of every page of its chunk
(a page of K is 4 KB: 256 threads), U pages of K and V per step, and XORs
them so that no load is dead.

    python3 scripts/paged_read_balanced.py [OUT.json]"""
import json
import sys

import cupy as cp
import torch

S, CTX, HKV, D, BS = 64, 4096, 1, 128, 16
PAGE_VEC = BS * HKV * D * 2 // 16  # 16-byte vectors in a page of K

SOURCE = r"""
#define PAGE_VEC %(page_vec)d
template <int U>
__device__ __forceinline__ void run(const uint4* __restrict__ kc, const uint4* __restrict__ vc,
                                    const int* __restrict__ bt, int per_seq, int pages,
                                    int nchunks, unsigned* ctr, unsigned* out, int mode) {
  __shared__ int s_tbl[256];
  __shared__ int s_next;
  const int tid = threadIdx.x;
  const int cps = per_seq / pages;  // chunks a sequence
  unsigned acc = 0;
  int c;
  if (mode >= 2) {
    if (tid == 0) s_next = atomicAdd(ctr, 1u);
    __syncthreads();
    c = s_next;
    __syncthreads();
  } else {
    c = blockIdx.x;
  }
  while (c < nchunks) {
    const int* row = bt + (long)(c / cps) * per_seq + (c %% cps) * pages;
    if (tid < pages) s_tbl[tid] = row[tid];
    if (mode >= 2 && tid == 0) s_next = atomicAdd(ctr, 1u);
    __syncthreads();
    for (int p = 0; p < pages; p += U) {
      uint4 k[U], v[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        long blk = s_tbl[p + u];
        k[u] = kc[blk * PAGE_VEC + tid];
        v[u] = vc[blk * PAGE_VEC + tid];
      }
#pragma unroll
      for (int u = 0; u < U; ++u)
        acc ^= k[u].x ^ k[u].y ^ k[u].z ^ k[u].w ^ v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
    int n = mode == 0 ? nchunks : mode == 1 ? c + gridDim.x : s_next;
    __syncthreads();
    c = n;
  }
  out[blockIdx.x * PAGE_VEC + tid] = acc;
  if (mode == 3) {
    // The last block to finish leaves the counters zero for the next call.
    __syncthreads();
    if (tid == 0) {
      __threadfence();
      if (atomicAdd(ctr + 1, 1u) == gridDim.x - 1) {
        ctr[0] = 0;
        ctr[1] = 0;
        __threadfence();
      }
    }
  }
}
""" % dict(page_vec=PAGE_VEC)
UNROLLS = (2, 4, 8, 16)
# One kernel per unroll, each a wrapper of run<U>.
SOURCE += "".join(
    f'extern "C" __global__ void __launch_bounds__(PAGE_VEC) read{u}(const uint4* kc, '
    f"const uint4* vc, const int* bt, int per_seq, int pages, int nchunks, unsigned* ctr, "
    f"unsigned* out, int mode) {{ run<{u}>(kc, vc, bt, per_seq, pages, nchunks, ctr, out, mode); }}\n"
    for u in UNROLLS)

MODES = {"grid": 0, "static": 1, "dynamic": 2, "dynamic-self": 3}


def _time(fn, warmup=3, iters=50, repeats=3):
    """Seconds per call: median over `repeats` runs of `iters` back-to-back calls."""
    for _ in range(warmup):
        fn()
    cp.cuda.Device().synchronize()
    runs = []
    for _ in range(repeats):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        runs.append(cp.cuda.get_elapsed_time(start, end) / iters / 1e3)
    return sorted(runs)[len(runs) // 2]


def main():
    torch.cuda.init()
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    per_seq = CTX // BS
    nb = S * per_seq
    kc = cp.random.standard_normal((nb, BS, HKV, D), dtype=cp.float32).astype(cp.float16)
    vc = cp.random.standard_normal((nb, BS, HKV, D), dtype=cp.float32).astype(cp.float16)
    bt = cp.random.permutation(nb).astype(cp.int32).reshape(S, per_seq)
    nbytes = 2 * kc.size * 2
    # The copy rates as the bench takes them (torch's copy_, read + write).
    big = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    big2 = torch.empty_like(big)
    copy = 2 * big.numel() / _time(lambda: big2.copy_(big), iters=20) / 1e9
    same = torch.empty(nbytes // 2, dtype=torch.uint8, device="cuda")
    same2 = torch.empty_like(same)
    copy_same = 2 * same.numel() / _time(lambda: same2.copy_(same)) / 1e9
    del big, big2, same, same2
    print(f"{torch.cuda.get_device_name(0)}, {sms} SMs; copy 1 GiB {copy:.0f} GB/s; "
          f"copy of the row's {nbytes / 2**20:.0f} MiB as 2 x {nbytes / 2**21:.0f} MiB "
          f"{copy_same:.0f} ({copy_same / copy:.2f})", flush=True)
    module = cp.RawModule(code=SOURCE, options=("-std=c++17",))
    kernels = {u: module.get_function(f"read{u}") for u in UNROLLS}
    ctr = cp.zeros(2, dtype=cp.uint32)
    rows = []

    def measure(mode, pages, unroll, grid):
        nchunks = nb // pages
        out = cp.empty(grid * PAGE_VEC, dtype=cp.uint32)
        args = (kc, vc, bt, cp.int32(per_seq), cp.int32(pages), cp.int32(nchunks), ctr, out,
                cp.int32(MODES[mode]))
        fn = kernels[unroll]

        def call():
            if mode == "dynamic":
                ctr.fill(0)
            fn((grid,), (PAGE_VEC,), args)

        ctr.fill(0)
        call()
        cp.cuda.Device().synchronize()
        t = _time(call)
        gbs = nbytes / t / 1e9
        row = dict(mode=mode, pages=pages, tokens=pages * BS, unroll=unroll, grid=grid,
                   chunks=nchunks, us=t * 1e6, gbs=gbs, of_copy=gbs / copy)
        rows.append(row)
        print(f"  {mode:12s} chunk {pages * BS:5d} tokens U {unroll} grid {grid:6d}: "
              f"{t * 1e6:6.1f} us {gbs:6.0f} GB/s ({gbs / copy:.3f})", flush=True)

    # The decode's own shape: one wave of 2 ranges a sequence (128 blocks).
    for unroll in (2, 4, 8):
        measure("grid", per_seq // 2, unroll, S * 2)
    for pages in (4, 8, 16, 32, 64):
        for unroll in UNROLLS:
            if unroll <= pages:
                measure("grid", pages, unroll, nb // pages)
    for mode in ("static", "dynamic", "dynamic-self"):
        for pages in (4, 8, 16, 32, 64):
            for per_sm in (1, 2, 4, 8):
                for unroll in (4, 8):
                    if unroll <= pages and sms * per_sm <= nb // pages:
                        measure(mode, pages, unroll, sms * per_sm)
    decode = None
    try:  # tessel's decode of the same bytes in the same process, where its runtime is staged
        import tessel

        q = torch.randn(S, 32, D, dtype=torch.float16, device="cuda")
        a = dict(q=q, key_cache=torch.as_tensor(kc, device="cuda"),
                 value_cache=torch.as_tensor(vc, device="cuda"),
                 block_tables=torch.as_tensor(bt, device="cuda"),
                 context_lens=torch.full((S,), CTX, dtype=torch.int32, device="cuda"))
        k = tessel.paged_attention.compile(*a.values(), target="cuda")
        t = _time(lambda: k.run_validated(a))
        qo = 2 * S * 32 * D * 2
        decode = dict(config=dict(k.recipe.config), us=t * 1e6,
                      of_copy=(nbytes + qo) / t / 1e9 / copy)
        print(f"tessel decode {decode}", flush=True)
    except ImportError as exc:
        print(f"tessel decode not timed: {exc}", flush=True)
    best = max(rows, key=lambda r: r["gbs"])
    print(f"best: {best}", flush=True)
    res = dict(device=torch.cuda.get_device_name(0), sms=sms, copy_gbs=copy,
               copy_same_gbs=copy_same, bytes=nbytes, rows=rows, decode=decode)
    if len(sys.argv) > 1:
        json.dump(res, open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
