"""How fast can the MQA decode row's bytes be read at all? A Triton kernel
that only reads K and V through the block table (64 x 4096 tokens, one kv
head, D = 128, block 16: 134 MB) and sums them, with each sequence's context
cut into P ranges of one program each, beside tessel's decode and the copy
rates in the same process (a diagnostic for the GPU machine, not a test).

The question it answers: is 0.72 of the copy rate a cost of the decode's
own work (prologue, math, combine), or of reading this little data in one
wave of 128 equal ranges? If the bare read of 2 ranges a sequence is no
faster than the decode, the structure is the limit, and the ranges that
reach the copy rate say what the decode's schedule would need.

    python3 scripts/paged_read_roof.py [OUT.json]"""
import json
import sys

import torch
import triton
import triton.language as tl

import tessel
from tessel.bench.__main__ import _time

S, CTX, HQ, HKV, D, BS = 64, 4096, 32, 1, 128, 16


@triton.jit
def read_kernel(kc, vc, bt, out, tokens, parts, max_blocks, BS: tl.constexpr, D: tl.constexpr,
                T: tl.constexpr, STAGES: tl.constexpr):
    pid = tl.program_id(0)
    seq = pid // parts
    start = (pid % parts) * tokens
    acc = tl.zeros([T, D], tl.float32)
    cols = tl.arange(0, D)[None, :]
    for t0 in tl.range(start, start + tokens, T, num_stages=STAGES):
        toks = t0 + tl.arange(0, T)
        blk = tl.load(bt + seq * max_blocks + toks // BS).to(tl.int64)
        offs = (blk * BS + toks % BS)[:, None] * D + cols
        acc += tl.load(kc + offs).to(tl.float32) + tl.load(vc + offs).to(tl.float32)
    tl.store(out + pid, tl.sum(acc))


def main():
    per_seq = CTX // BS
    nb = S * per_seq
    kc = torch.randn(nb, BS, HKV, D, dtype=torch.float16, device="cuda")
    vc = torch.randn_like(kc)
    shuffled = torch.randperm(nb, device="cuda").to(torch.int32).view(S, per_seq)
    ordered = torch.arange(nb, device="cuda", dtype=torch.int32).view(S, per_seq)
    nbytes = 2 * kc.numel() * 2
    big = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    big2 = torch.empty_like(big)
    copy = 2 * big.numel() / _time(lambda: big2.copy_(big), iters=20) / 1e9
    same = torch.empty(nbytes // 2, dtype=torch.uint8, device="cuda")
    same2 = torch.empty_like(same)
    copy_same = 2 * same.numel() / _time(lambda: same2.copy_(same), iters=50) / 1e9
    flat = torch.cat([kc.view(-1), vc.view(-1)])
    sum_rate = nbytes / _time(lambda: flat.sum(), iters=50) / 1e9
    print(f"copy 1 GiB {copy:.0f} GB/s; same-size copy {copy_same:.0f} ({copy_same / copy:.2f}); "
          f"torch sum of the K and V bytes {sum_rate:.0f} ({sum_rate / copy:.2f})", flush=True)
    rows = []
    q = torch.randn(S, HQ, D, dtype=torch.float16, device="cuda")
    lens = torch.full((S,), CTX, dtype=torch.int32, device="cuda")
    a = dict(q=q, key_cache=kc, value_cache=vc, block_tables=shuffled, context_lens=lens)
    k = tessel.paged_attention.compile(*a.values(), target="cuda")
    t = _time(lambda: k.run_validated(a), iters=50)
    qo = 2 * S * HQ * D * 2
    print(f"tessel decode {dict(k.recipe.config)}: {t * 1e6:.1f} us "
          f"{(nbytes + qo) / t / 1e9:.0f} GB/s ({(nbytes + qo) / t / 1e9 / copy:.2f})", flush=True)
    rows.append(dict(kind="tessel", us=t * 1e6, of_copy=(nbytes + qo) / t / 1e9 / copy))
    for table_name, table in (("shuffled", shuffled), ("ordered", ordered)):
        for parts in (2, 4, 8, 16, 32):
            for warps, T, stages in ((4, 64, 3), (8, 64, 3), (4, 32, 4), (8, 128, 2)):
                out = torch.empty(S * parts, dtype=torch.float32, device="cuda")
                tokens = CTX // parts

                def run():
                    read_kernel[(S * parts,)](kc, vc, table, out, tokens, parts, per_seq, BS=BS,
                                              D=D, T=T, STAGES=stages, num_warps=warps)

                try:
                    run()
                    t = _time(run, iters=50)
                except Exception as exc:  # a config Triton cannot build: say so, go on
                    print(f"  {table_name} parts {parts} warps {warps} T {T}: {exc}")
                    continue
                gbs = nbytes / t / 1e9
                rows.append(dict(kind="read", table=table_name, parts=parts, warps=warps,
                                 tile=T, stages=stages, us=t * 1e6, of_copy=gbs / copy))
                print(f"  read {table_name:8s} parts {parts:2d} ({S * parts:5d} programs) "
                      f"warps {warps} T {T:3d} stages {stages}: {t * 1e6:6.1f} us "
                      f"{gbs:6.0f} GB/s ({gbs / copy:.2f})", flush=True)
    res = dict(device=torch.cuda.get_device_name(0), copy_gbs=copy, copy_same_gbs=copy_same,
               sum_gbs=sum_rate, rows=rows)
    if len(sys.argv) > 1:
        json.dump(res, open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
