"""Per-block timeline of the MQA decode (64 x 4096, 32/1, D = 128, f16, v2
partition 2048, cluster 2): when each block starts, has its block-table
entries, has its first tile, leaves the key loop, has folded its key slices,
has met its cluster and ends (%globaltimer, 256 ns steps on an H200), and on
which SM it ran. Also the same points in %clock64 cycles and each warp's
key-loop exit.

It needs an instrumented build, which is not part of the product:

    git apply scripts/decode_trace.patch && ninja -C <build>   # (made on 41baf60;
                                                               #  git apply -3 later)
    python3 scripts/decode_trace.py OUT.json                   # on the GPU
    git apply -R scripts/decode_trace.patch

With TESSEL_DECODE_TRACE set at compile time the patched lowering enlarges
the v2 workspace by 64 floats a block and thread 0 of each block writes its
stamps there (cluster configs only). The script compiles into a fresh cache
directory, keeps every workspace the calls allocate (torch.empty is wrapped
before tessel binds it) and reads the stamps back. A probe for the GPU
machine, not a test."""
import json
import os
import sys
import tempfile

os.environ["TESSEL_DECODE_TRACE"] = "1"
os.environ["TESSEL_CACHE_DIR"] = tempfile.mkdtemp()

import numpy as np  # noqa: E402
import torch  # noqa: E402

kept = []
_empty = torch.empty


def _keep_workspaces(*a, **k):
    t = _empty(*a, **k)
    if k.get("dtype") is torch.uint8:
        kept.append(t)
    return t


torch.empty = _keep_workspaces

import tessel  # noqa: E402
from tessel.bench.__main__ import _time  # noqa: E402
from tessel.bench.paged import _decode_inputs, copy_rate  # noqa: E402
from tessel.runtime import driver  # noqa: E402

PHASES = ["table", "prologue", "loop", "slice_fold", "cluster_wait", "cluster_fold"]
S, CTX, HQ, HKV, D = 64, 4096, 32, 1, 128
BLOCKS = 2 * S  # partition 2048: two blocks (one cluster) a sequence
TRACE_OFFSET = S * HQ * (D + 2) * 4  # bytes: after the workspace proper


def stamps(ws):
    """(blocks, 32) int64: [0:7] globaltimer at the seven points, [7] SM,
    [8:15] clock64 at them, [16:24] / [24:32] each warp's loop exit."""
    raw = ws[TRACE_OFFSET:TRACE_OFFSET + BLOCKS * 256].cpu().numpy()
    return raw.view(np.int64).reshape(BLOCKS, 32)


def main():
    a = _decode_inputs(torch, S, CTX, HQ, HKV, D, 16)
    k = tessel.paged_attention.compile(*a.values(), target="cuda", strategy="v2",
                                       config=dict(partition_size=2048, cluster=2))
    for _ in range(30):
        k.run_validated(a)
    torch.cuda.synchronize()
    timed = [_time(lambda: k.run_validated(a), iters=50) * 1e6 for _ in range(3)]
    del kept[:]
    for _ in range(200):
        k.run_validated(a)
    torch.cuda.synchronize()
    traces = [stamps(w) for w in kept if w.numel() >= TRACE_OFFSET + BLOCKS * 256]
    g = np.array([(t[:, 0:7] - t[:, 0].min()) / 1e3 for t in traces])  # calls x blocks x 7, us
    sm = traces[0][:, 7]
    phases = np.diff(g, axis=2)
    med = lambda v: float(np.median(v))  # noqa: E731
    loop = phases[:, :, 2]
    mb = 2048 * 512 / 1e6
    # The loops' end if every block streamed at its own rate until the
    # calls' bytes were read (perfect balance, no rate gained from others'
    # finishing): a lower bound on what dynamic balancing could give.
    rates = mb / loop
    balanced = [(mb * BLOCKS + (r * g[i, :, 2]).sum()) / r.sum() for i, r in enumerate(rates)]
    starts = [traces[i + 1][:, 0].min() for i in range(len(traces) - 1)]
    ends = [traces[i][:, 6].max() for i in range(len(traces) - 1)]
    out = dict(
        device=driver.device_name(), copy_gbs=copy_rate(), timed_us=timed, calls=len(traces),
        span_us=med(g[:, :, 6].max(1)),
        gap_us=med([(s - e) / 1e3 for s, e in zip(starts, ends)]),
        phases_us={n: dict(p10=float(np.percentile(phases[:, :, j], 10)),
                           median=med(phases[:, :, j]),
                           p90=float(np.percentile(phases[:, :, j], 90)))
                   for j, n in enumerate(PHASES)},
        loop_end_us=dict(first=med(g[:, :, 3].min(1)), median=med(np.median(g[:, :, 3], 1)),
                         last=med(g[:, :, 3].max(1))),
        balanced_loop_end_us=med(balanced),
        aggregate_loop_gbs=med(rates.sum(1)) * 1e3,
        idle_sms=sorted(set(range(torch.cuda.get_device_properties(0).multi_processor_count))
                        - set(sm.tolist())),
        loop_us_by_sm={int(sm[b]): med(loop[:, b]) for b in range(BLOCKS)})
    for key in ("timed_us", "span_us", "gap_us", "phases_us", "loop_end_us",
                "balanced_loop_end_us", "aggregate_loop_gbs"):
        print(key, out[key])
    ranked = sorted(out["loop_us_by_sm"].items(), key=lambda kv: kv[1])
    print("fastest SMs", ranked[:6], "slowest", ranked[-6:])
    if len(sys.argv) > 1:
        json.dump(out, open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
