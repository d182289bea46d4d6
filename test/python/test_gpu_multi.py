"""Two GPUs: a tensor-parallel GEMM across two ranks with torch.distributed
(NCCL) all-reduce, checked against one big matmul. Skips with fewer GPUs."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gpu

WORKER = textwrap.dedent("""
    import os, sys
    import torch, torch.distributed as dist
    import tessel
    rank, world = int(sys.argv[1]), int(sys.argv[2])
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world,
                            init_method="tcp://127.0.0.1:" + sys.argv[3])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(384, 1024, generator=g).half()
    w = torch.randn(1024, 512, generator=g).half()
    # Row-parallel: each rank holds a K slice of x's columns and w's rows.
    k = 1024 // world
    xs = x[:, rank * k:(rank + 1) * k].contiguous().cuda(rank)
    ws = w[rank * k:(rank + 1) * k].contiguous().cuda(rank)
    part = tessel.gemm(xs, ws, target="cuda", out_dtype="f32")
    assert part.device.index == rank
    dist.all_reduce(part)
    want = x.double() @ w.double()
    err = (part.double().cpu() - want).abs().max().item() / want.abs().max().item()
    assert err < 2e-3, err
    dist.destroy_process_group()
    print("rank", rank, "ok", err)
""")


def test_tensor_parallel_gemm_two_ranks(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two GPUs")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = str(29500 + os.getpid() % 1000)
    procs = [subprocess.Popen([sys.executable, str(script), str(r), "2", port],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
        assert "ok" in out
