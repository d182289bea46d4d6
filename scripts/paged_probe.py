"""Times paged_attention decode configurations (strategy, warps, stages,
partition) on one shape, for choosing the defaults: python scripts/paged_probe.py
[seqs ctx hq hkv d bs]. A tuning aid, not a test or the benchmark."""
import itertools
import json
import sys

import torch

import tessel
from tessel.bench.paged import _decode_inputs, _time, copy_rate

s, ctx, hq, hkv, d, bs = (int(x) for x in sys.argv[1:7]) if len(sys.argv) > 6 else \
    (64, 4096, 32, 1, 128, 16)
a = _decode_inputs(torch, s, ctx, hq, hkv, d, bs)
nbytes = 2 * s * ctx * hkv * d * 2 + 2 * s * hq * d * 2
copy = copy_rate()
rows = []
# rows_per_warp 32 (every warp runs both row tiles) only differs for groups
# above 16 heads; 16 is the default there.
rpw = (16, 32) if hq // hkv > 16 and d <= 128 else (16,)
grid = [("v1", w, st, None, r) for w, st, r in itertools.product((4, 8), (2, 3, 4), rpw)]
grid += [("v2", w, st, p, r) for w, st, p, r in
         itertools.product((4, 8, 16), (2, 3), (512, 1024, 2048, 4096), rpw)]
if len(sys.argv) > 7:  # only v2, for the long-context shapes
    grid = [g for g in grid if g[0] == sys.argv[7]]
for strategy, warps, stages, part, rows_per_warp in grid:
    opts = dict(strategy=strategy, config=dict(warps=warps, stages=stages,
                                               **({} if part is None else
                                                  dict(partition_size=part)),
                                               **({} if len(rpw) == 1 else
                                                  dict(rows_per_warp=rows_per_warp))))
    try:
        k = tessel.paged_attention.compile(*a.values(), target="cuda", **opts)
        t = _time(lambda: k.run_validated(a))
    except Exception as exc:  # a config over the shared-memory limit
        print(strategy, warps, stages, part, rows_per_warp, "refused:",
              str(exc).splitlines()[0])
        continue
    rows.append(dict(strategy=strategy, warps=warps, stages=stages, partition=part,
                     rows_per_warp=rows_per_warp, us=t * 1e6, of_copy=nbytes / t / 1e9 / copy))
    print(f"{strategy} warps {warps} stages {stages} partition {part} rows/warp "
          f"{rows_per_warp}: {t * 1e6:7.1f} us "
          f"{rows[-1]['of_copy']:.2f} of copy", flush=True)
print(json.dumps(dict(shape=[s, ctx, hq, hkv, d, bs], copy_gbs=copy, rows=rows)))
