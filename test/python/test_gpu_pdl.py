"""Early (PDL) launches on the GPU: every tessel kernel is launched with
programmatic stream serialization and waits for the kernel ahead of it
itself (griddepcontrol.wait). Chains of dependent kernels, launched back to
back with no host synchronization, must give the bytes they give with a
synchronization after every launch. Skipped without a GPU."""

import pytest

import tessel

pytestmark = pytest.mark.gpu


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    return torch


def run_chain(torch, steps, sync):
    outs = []
    for step in steps:
        outs.append(step())
        if sync:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    return [o.clone() if o is not None else None for o in outs]


def test_a_gemm_chain_reads_each_product_after_it_is_written(torch):
    # A multi-wave wgmma_tma product, a split-K product (two kernels) and a
    # small one, each reading the one before: launched early, a reader that
    # did not wait would see the previous call's output or garbage.
    g = torch.Generator(device="cuda").manual_seed(0)
    w = (torch.randn(1024, 1024, device="cuda", generator=g) / 32).half()
    w2 = (torch.randn(1024, 1024, device="cuda", generator=g) / 32).half()
    big = tessel.gemm.compile(torch.empty(2048, 1024, dtype=torch.half, device="cuda"), w,
                              target="cuda", strategy="wgmma_tma")
    split = tessel.gemm.compile(torch.empty(2048, 1024, dtype=torch.half, device="cuda"), w2,
                                target="cuda", strategy="mma", config=dict(split_k=4))
    assert all(k["waits_for_prior_grid"] for k in big.kernels + split.kernels)
    assert len(split.kernels) == 2

    def chain():
        x = [torch.randn(2048, 1024, device="cuda", generator=g).half()]
        steps = []
        for i in range(12):
            k, b = (big, w) if i % 2 == 0 else (split, w2)

            def step(k=k, b=b):
                x.append(k.run_validated(dict(a=x[-1], b=b)))
                return x[-1]
            steps.append(step)
        return steps

    g.manual_seed(1)
    synced = run_chain(torch, chain(), sync=True)
    g.manual_seed(1)
    early = run_chain(torch, chain(), sync=False)
    for a, b in zip(synced, early):
        assert torch.equal(a, b)
    assert synced[-1].abs().max() > 0.01  # the chain did not decay to zeros


def test_a_decode_reads_the_cache_the_write_before_it_filled(torch):
    # The serving step: paged_kv_write fills a token's slot, the decode right
    # behind it attends over it, for several tokens in a row.
    bs, hkv, hq, d, seqs = 16, 2, 8, 128, 4
    nb = seqs * 8
    g = torch.Generator(device="cuda").manual_seed(2)
    tables = torch.randperm(nb, device="cuda", generator=g).to(torch.int32).view(seqs, 8)

    def chain():
        kc = torch.zeros(nb, bs, hkv, d, dtype=torch.half, device="cuda")
        vc = torch.zeros_like(kc)
        q = torch.randn(seqs, hq, d, device="cuda", generator=g).half()
        write = tessel.paged_kv_write.compile(
            torch.empty(seqs, hkv, d, dtype=torch.half, device="cuda"),
            torch.empty(seqs, hkv, d, dtype=torch.half, device="cuda"), kc, vc,
            torch.empty(seqs, dtype=torch.int64, device="cuda"), target="cuda")
        lens0 = torch.ones(seqs, dtype=torch.int32, device="cuda")
        decode = {s: tessel.paged_attention.compile(q, kc, vc, tables, lens0, target="cuda",
                                                    strategy=s) for s in ("v1", "v2")}
        steps = []
        for t in range(20):
            key = torch.randn(seqs, hkv, d, device="cuda", generator=g).half() * 4
            value = torch.randn(seqs, hkv, d, device="cuda", generator=g).half()
            blocks = tables[:, t // bs].long()
            slots = blocks * bs + t % bs
            lens = torch.full((seqs,), t + 1, dtype=torch.int32, device="cuda")

            def w(key=key, value=value, slots=slots):
                write.run_validated(dict(key=key, value=value, key_cache=kc, value_cache=vc,
                                         slot_mapping=slots))

            def a(lens=lens, s="v1" if t % 2 else "v2"):
                return decode[s].run_validated(dict(q=q, key_cache=kc, value_cache=vc,
                                                    block_tables=tables, context_lens=lens))
            steps += [w, a]
        return steps

    g.manual_seed(3)
    synced = run_chain(torch, chain(), sync=True)
    g.manual_seed(3)
    early = run_chain(torch, chain(), sync=False)
    for a, b in zip(synced[1::2], early[1::2]):
        assert torch.equal(a, b)
