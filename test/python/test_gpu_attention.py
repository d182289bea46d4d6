"""tessel.flash_attention on the GPU (strategies mma, wgmma and wgmma_tma: each
test runs on every rung) against the float64 numpy reference and torch SDPA. Skipped
without a GPU; sized to run in a few minutes on an H200."""

import ml_dtypes
import numpy as np
import pytest

import tessel
from tessel import reference as R

pytestmark = pytest.mark.gpu
BF16 = ml_dtypes.bfloat16
DTYPES = {"f16": np.float16, "bf16": BF16}
# Max |error| relative to max(1, max |ref|): P is rounded to the input dtype
# before P V, O once at the end.
TOL = {"f16": 4e-3, "bf16": 3e-2}
LSE_TOL = {"f16": 2e-3, "bf16": 1e-2}
# (Sq, Skv): equal and unequal, tile edges, one token, fully masked rows
# (causal with Sq > Skv).
LENGTHS = [(1, 1), (1, 100), (17, 17), (17, 1000), (100, 128), (128, 100), (128, 128),
           (1000, 17), (1000, 1000), (4097, 4097), (100, 4097), (4097, 100)]


@pytest.fixture(params=["mma", "wgmma", "wgmma_tma"])
def rung(request):
    return request.param


def inputs(b, hq, hkv, sq, skv, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, hq, sq, d)).astype(DTYPES[dtype])
    k = rng.standard_normal((b, hkv, skv, d)).astype(DTYPES[dtype])
    v = rng.standard_normal((b, hkv, skv, d)).astype(DTYPES[dtype])
    return q, k, v


def reference(q, k, v, causal, scale=None):
    """float64 oracle: numpy for small problems, torch float64 on the GPU for
    the large ones (same formula; numpy would take seconds)."""
    if q.shape[2] * k.shape[2] * q.shape[1] <= 4_000_000:
        return R.flash_attention(q, k, v, causal=causal, scale=scale)
    import torch

    t = [torch.as_tensor(np.asarray(x, np.float64), device="cuda") for x in (q, k, v)]
    tq, tk, tv = t
    group = tq.shape[1] // tk.shape[1]
    tk, tv = tk.repeat_interleave(group, 1), tv.repeat_interleave(group, 1)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = scale * tq @ tk.transpose(-1, -2)
    sq, skv = q.shape[2], k.shape[2]
    if causal:
        i = torch.arange(sq, device="cuda")[:, None]
        j = torch.arange(skv, device="cuda")[None, :]
        s = s.masked_fill(j > i + (skv - sq), float("-inf"))
    lse = torch.logsumexp(s, -1)
    p = torch.exp(s - torch.where(torch.isfinite(lse), lse, 0)[..., None])
    o = torch.nan_to_num(p @ tv) * torch.isfinite(lse)[..., None]
    return o.cpu().numpy(), lse.cpu().numpy()


def check(o, lse, want, want_lse, dtype):
    o = np.asarray(o, np.float64)
    assert not np.isnan(o).any()
    err = np.abs(o - want).max() / max(1.0, np.abs(want).max())
    assert err <= TOL[dtype], f"O: relative error {err:.3g} > {TOL[dtype]}"
    if lse is not None:
        lse = np.asarray(lse, np.float64)
        assert not np.isnan(lse).any()
        assert np.array_equal(np.isneginf(lse), np.isneginf(want_lse))
        fin = np.isfinite(want_lse)
        if fin.any():
            lerr = np.abs(lse[fin] - want_lse[fin]).max()
            assert lerr <= LSE_TOL[dtype], f"LSE: error {lerr:.3g} > {LSE_TOL[dtype]}"


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("sq,skv", LENGTHS)
@pytest.mark.parametrize("d,dtype", [(64, "f16"), (128, "bf16")])
def test_lengths(d, dtype, sq, skv, causal, rung):
    b, hq, hkv = (1, 1, 1) if max(sq, skv) > 1000 else (2, 2, 1)
    q, k, v = inputs(b, hq, hkv, sq, skv, d, dtype, seed=sq + skv)
    o, lse = tessel.flash_attention(q, k, v, causal=causal, return_lse=True, target="cuda",
                                    strategy=rung)
    check(o, lse, *reference(q, k, v, causal), dtype)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_head_dims_and_dtypes(d, dtype, causal, rung):
    q, k, v = inputs(2, 4, 2, 300, 257, d, dtype, seed=d)
    o, lse = tessel.flash_attention(q, k, v, causal=causal, return_lse=True, target="cuda",
                                    strategy=rung)
    check(o, lse, *reference(q, k, v, causal), dtype)


@pytest.mark.parametrize("hq,hkv", [(4, 4), (4, 2), (8, 2), (8, 1), (16, 2)],
                         ids=["mha", "gqa2", "gqa4", "mqa", "gqa8"])
def test_gqa_mqa(hq, hkv, rung):
    q, k, v = inputs(2, hq, hkv, 130, 200, 64, "f16", seed=hq * 10 + hkv)
    for causal in (False, True):
        o = tessel.flash_attention(q, k, v, causal=causal, target="cuda", strategy=rung)
        check(o, None, *reference(q, k, v, causal), "f16")


@pytest.mark.parametrize("causal", [False, True])
def test_bshd_layout(causal, rung):
    q, k, v = inputs(2, 8, 2, 150, 190, 128, "bf16", seed=7)
    t = [np.ascontiguousarray(x.transpose(0, 2, 1, 3)) for x in (q, k, v)]
    o, lse = tessel.flash_attention(*t, causal=causal, return_lse=True, layout="bshd",
                                    target="cuda", strategy=rung)
    assert o.shape == (2, 150, 8, 128) and lse.shape == (2, 8, 150)
    want, want_lse = reference(q, k, v, causal)
    check(o, lse, want.transpose(0, 2, 1, 3), want_lse, "bf16")


def test_fully_masked_rows_are_nan_free(rung):
    # Sq > Skv, causal: the first Sq - Skv rows see no key.
    q, k, v = inputs(1, 2, 1, 300, 40, 64, "f16")
    o, lse = tessel.flash_attention(q, k, v, causal=True, return_lse=True, target="cuda",
                                    strategy=rung)
    o, lse = np.asarray(o, np.float64), np.asarray(lse)
    assert not np.isnan(o).any() and not np.isnan(lse).any()
    assert (o[:, :, :260] == 0).all() and np.isneginf(lse[:, :, :260]).all()
    assert np.isfinite(lse[:, :, 260:]).all()
    # No key at all.
    q, k, v = inputs(1, 2, 1, 20, 0, 64, "f16")
    o, lse = tessel.flash_attention(q, k, v, return_lse=True, target="cuda",
                                    strategy=rung)
    assert (np.asarray(o) == 0).all() and np.isneginf(lse).all()


@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
def test_scores_rising_along_the_keys(causal, d, rung):
    """Each key tile raises every row's max by more than the lazy-rescale
    threshold (2^8), then a plateau and a fall: the rescale of O runs on
    some tiles and is skipped on others, and both must agree with the
    reference (with the max rising steadily, a skipped rescale shows)."""
    rng = np.random.default_rng(11)
    sq, skv = 200, 700
    u = rng.choice([-1.0, 1.0], d)
    # Score (natural units) of key j: up to ~90 at j = 400, then down again.
    c = np.minimum(np.arange(skv), 400) - np.maximum(np.arange(skv) - 400, 0) * 0.5
    k = (c[:, None] * 90 / 400 / np.sqrt(d)) * u + 0.05 * rng.standard_normal((skv, d))
    q = np.tile(u, (sq, 1)) + 0.05 * rng.standard_normal((sq, d))
    v = rng.standard_normal((skv, d))
    q, k, v = (x[None, None].astype(np.float16) for x in (q, k, v))
    o, lse = tessel.flash_attention(q, k, v, causal=causal, return_lse=True, target="cuda",
                                    strategy=rung)
    check(o, lse, *reference(q, k, v, causal), "f16")


def test_scale(rung):
    q, k, v = inputs(1, 2, 2, 64, 96, 64, "f16", seed=3)
    o = tessel.flash_attention(q, k, v, scale=0.3, target="cuda", strategy=rung)
    check(o, None, *reference(q, k, v, False, scale=0.3), "f16")


def test_run_time_sizes_one_compile(rung):
    from tessel.compiler import clear_cache, cuda

    clear_cache()
    before = len(cuda._kernels)
    for b, sq, skv in [(1, 17, 17), (3, 100, 250), (2, 1000, 999), (1, 129, 64)]:
        q, k, v = inputs(b, 4, 2, sq, skv, 64, "f16", seed=sq)
        o = tessel.flash_attention(q, k, v, causal=True, target="cuda", strategy=rung)
        check(o, None, *reference(q, k, v, True), "f16")
    assert len(cuda._kernels) == before + 1
    (kernel,) = [kern for kern in cuda._kernels.values()
                 if kern.signature.op == "flash_attention"]
    assert kernel.signature.arg("q").spec.shape == (None, 4, None, 64)


def test_explicit_configs():
    q, k, v = inputs(2, 2, 1, 200, 333, 128, "f16", seed=11)
    want = reference(q, k, v, True)
    # The 16-rows-a-warp layout with Q kept in registers (the earlier
    # default), and 32 rows a warp with Q re-read at 64 keys a step.
    for config in (dict(block_m=128, block_n=64, warps=8, stages=3),
                   dict(block_m=128, block_n=64, warps=4, stages=2),
                   dict(block_m=64, block_n=32, warps=4, stages=3),
                   dict(block_m=64, block_n=64, warps=4, stages=2),
                   dict(block_m=32, block_n=16, warps=2, stages=4)):
        o = tessel.flash_attention(q, k, v, causal=True, target="cuda", config=config,
                                   strategy="mma")
        check(o, None, *want, "f16")
    # Two m16 tiles per warp (32 query rows each), head dim 64.
    q, k, v = inputs(2, 2, 1, 200, 333, 64, "bf16", seed=12)
    o, lse = tessel.flash_attention(q, k, v, causal=True, return_lse=True, target="cuda",
                                    strategy="mma",
                                    config=dict(block_m=64, block_n=32, warps=2, stages=2))
    check(o, lse, *reference(q, k, v, True), "bf16")


@pytest.mark.parametrize("strategy, config, heads, dtype, seed", [
    # wgmma: three warpgroups, one warpgroup, the smallest key step.
    ("wgmma", dict(block_m=192, block_n=64, warps=12, stages=2), (2, 1), "f16", 13),
    ("wgmma", dict(block_m=64, block_n=128, warps=4, stages=3), (2, 1), "f16", 13),
    ("wgmma", dict(block_m=128, block_n=16, warps=8, stages=4), (2, 1), "f16", 13),
    # wgmma_tma: one consumer warpgroup, 3 stages of 64 keys, the smallest key step.
    ("wgmma_tma", dict(block_m=64, block_n=128, warps=4, stages=3), (4, 2), "bf16", 14),
    ("wgmma_tma", dict(block_m=128, block_n=64, warps=8, stages=3), (4, 2), "bf16", 14),
    ("wgmma_tma", dict(block_m=128, block_n=16, warps=8, stages=2), (4, 2), "bf16", 14),
], ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None)
def test_wgmma_configs(strategy, config, heads, dtype, seed):
    q, k, v = inputs(2, *heads, 200, 333, 128, dtype, seed=seed)
    o, lse = tessel.flash_attention(q, k, v, causal=True, return_lse=True, target="cuda",
                                    strategy=strategy, config=config)
    check(o, lse, *reference(q, k, v, True), dtype)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("d", [192, 256])
@pytest.mark.parametrize("strategy", ["mma", "wgmma", "wgmma_tma"])
def test_large_heads(d, causal, strategy):
    q, k, v = inputs(1, 4, 2, 300, 257, d, "bf16", seed=d)
    o, lse = tessel.flash_attention(q, k, v, causal=causal, return_lse=True, target="cuda",
                                    strategy=strategy)
    check(o, lse, *reference(q, k, v, causal), "bf16")


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_torch_inputs_against_sdpa(dtype, rung):
    import torch
    import torch.nn.functional as F

    tdt = {"f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    g = torch.Generator(device="cuda").manual_seed(0)
    for (sq, skv, hq, hkv, causal) in [(1000, 1000, 8, 2, True), (128, 4097, 4, 4, False),
                                       (100, 300, 8, 1, True), (17, 17, 2, 2, False)]:
        q = torch.randn(2, hq, sq, 128, device="cuda", dtype=tdt, generator=g)
        k = torch.randn(2, hkv, skv, 128, device="cuda", dtype=tdt, generator=g)
        v = torch.randn(2, hkv, skv, 128, device="cuda", dtype=tdt, generator=g)
        o = tessel.flash_attention(q, k, v, causal=causal, target="cuda", strategy=rung)
        assert isinstance(o, torch.Tensor) and o.device == q.device and o.dtype == tdt
        # SDPA's is_causal is top-left aligned: pass the bottom-right mask.
        mask = None
        if causal:
            i = torch.arange(sq, device="cuda")[:, None]
            j = torch.arange(skv, device="cuda")[None, :]
            mask = j <= i + (skv - sq)
        rep = hq // hkv
        want = F.scaled_dot_product_attention(q.float(), k.float().repeat_interleave(rep, 1),
                                              v.float().repeat_interleave(rep, 1),
                                              attn_mask=mask)
        err = (o.float() - want).abs().max().item() / max(1.0, want.abs().max().item())
        assert err <= TOL[dtype], (sq, skv, hq, hkv, causal, err)


# ---------------------------------------------------------------------------
# tessel.flash_attention_varlen: the packed batch on the same kernel.

# Mixed lengths {0, 1, 17, 100, 128, 1000}: (query lengths, key lengths) per
# batch, with Sq < Sk, Sq > Sk (fully masked causal rows), zero-length query
# and key sequences and tile edges in one call.
VARLEN_BATCHES = [
    ([0, 1, 17, 100, 128, 1000], [1000, 17, 1, 128, 100, 0]),
    ([17, 17, 1000, 1], [17, 1000, 100, 1]),
    ([128, 0, 100], [128, 128, 100]),
    ([1000], [1000]),
]


def varlen_inputs(lq, lk, hq, hkv, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    cq = np.concatenate([[0], np.cumsum(lq)]).astype(np.int32)
    ck = np.concatenate([[0], np.cumsum(lk)]).astype(np.int32)
    q = rng.standard_normal((int(cq[-1]), hq, d)).astype(DTYPES[dtype])
    k = rng.standard_normal((int(ck[-1]), hkv, d)).astype(DTYPES[dtype])
    v = rng.standard_normal((int(ck[-1]), hkv, d)).astype(DTYPES[dtype])
    return q, k, v, cq, ck


def run_varlen(q, k, v, cq, ck, **kw):
    return tessel.flash_attention_varlen(q, k, v, cq, ck, int(np.diff(cq).max()),
                                         int(np.diff(ck).max()), target="cuda", **kw)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("batch", range(len(VARLEN_BATCHES)))
@pytest.mark.parametrize("d,dtype", [(64, "f16"), (128, "bf16"), (64, "bf16"), (128, "f16")])
def test_varlen_against_reference(d, dtype, batch, causal):
    lq, lk = VARLEN_BATCHES[batch]
    q, k, v, cq, ck = varlen_inputs(lq, lk, 4, 2, d, dtype, seed=batch)
    o, lse = run_varlen(q, k, v, cq, ck, causal=causal, return_lse=True)
    assert o.shape == q.shape and lse.shape == (4, q.shape[0])
    check(o, lse, *R.flash_attention_varlen(q, k, v, cq, ck, causal=causal), dtype)


@pytest.mark.parametrize("hq,hkv", [(4, 4), (4, 2), (8, 2), (16, 2), (8, 1)],
                         ids=["mha", "gqa2", "gqa4", "gqa8", "mqa"])
def test_varlen_gqa_mqa(hq, hkv):
    q, k, v, cq, ck = varlen_inputs([100, 1, 17, 0], [17, 128, 100, 1], hq, hkv, 128, "f16")
    for causal in (False, True):
        o, lse = run_varlen(q, k, v, cq, ck, causal=causal, return_lse=True)
        check(o, lse, *R.flash_attention_varlen(q, k, v, cq, ck, causal=causal), "f16")


def test_varlen_zero_length_sequences_are_nan_free():
    # Sk = 0 with Sq > 0 (zeros, -inf), Sq = 0 (nothing), causal Sq > Sk.
    q, k, v, cq, ck = varlen_inputs([5, 0, 300, 1], [0, 7, 20, 0], 2, 1, 64, "f16")
    o, lse = run_varlen(q, k, v, cq, ck, causal=True, return_lse=True)
    o, lse = np.asarray(o, np.float64), np.asarray(lse)
    assert not np.isnan(o).any() and not np.isnan(lse).any()
    np.testing.assert_array_equal(o[:5], 0)
    assert np.isneginf(lse[:, :5]).all()
    check(o, lse, *R.flash_attention_varlen(q, k, v, cq, ck, causal=True), "f16")


def test_varlen_one_compile_for_every_batch_composition():
    from tessel.compiler import clear_cache, cuda

    clear_cache()
    for seed, (lq, lk) in enumerate(VARLEN_BATCHES):
        q, k, v, cq, ck = varlen_inputs(lq, lk, 4, 2, 64, "f16", seed=seed)
        o = run_varlen(q, k, v, cq, ck, causal=True)
        check(o, None, *R.flash_attention_varlen(q, k, v, cq, ck, causal=True), "f16")
    kernels = [kern for kern in cuda._kernels.values()
               if kern.signature.op == "flash_attention_varlen"]
    assert len(kernels) == 1
    assert kernels[0].signature.arg("q").spec.shape == (None, 4, 64)


def test_varlen_loose_bound_matches():
    # max_seqlen_q above every length: the extra query tiles return at once.
    q, k, v, cq, ck = varlen_inputs([17, 100], [100, 17], 2, 2, 64, "f16")
    o = tessel.flash_attention_varlen(q, k, v, cq, ck, 1000, 1000, causal=True, target="cuda")
    check(o, None, *R.flash_attention_varlen(q, k, v, cq, ck, causal=True), "f16")


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_varlen_torch_against_sdpa_per_sequence(dtype):
    import torch
    import torch.nn.functional as F

    tdt = {"f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    g = torch.Generator(device="cuda").manual_seed(0)
    lq, lk = [1000, 0, 1, 17, 128, 100], [1000, 5, 100, 17, 1, 128]
    for hq, hkv, d, causal in [(8, 2, 128, True), (4, 4, 64, False), (8, 1, 64, True)]:
        cq = torch.tensor(np.concatenate([[0], np.cumsum(lq)]), dtype=torch.int32, device="cuda")
        ck = torch.tensor(np.concatenate([[0], np.cumsum(lk)]), dtype=torch.int32, device="cuda")
        q = torch.randn(int(cq[-1]), hq, d, device="cuda", dtype=tdt, generator=g)
        k = torch.randn(int(ck[-1]), hkv, d, device="cuda", dtype=tdt, generator=g)
        v = torch.randn(int(ck[-1]), hkv, d, device="cuda", dtype=tdt, generator=g)
        o, lse = tessel.flash_attention_varlen(q, k, v, cq, ck, max(lq), max(lk), causal=causal,
                                               return_lse=True, target="cuda")
        assert isinstance(o, torch.Tensor) and o.dtype == tdt and o.device == q.device
        assert not torch.isnan(o).any() and not torch.isnan(lse).any()
        rep = hq // hkv
        for b in range(len(lq)):
            q0, q1, k0, k1 = (int(x) for x in (cq[b], cq[b + 1], ck[b], ck[b + 1]))
            if q1 == q0:
                continue
            sq, sk = q1 - q0, k1 - k0
            tq = q[q0:q1].transpose(0, 1).float()
            tk = k[k0:k1].transpose(0, 1).float().repeat_interleave(rep, 0)
            tv = v[k0:k1].transpose(0, 1).float().repeat_interleave(rep, 0)
            mask = torch.ones(sq, sk, dtype=torch.bool, device="cuda")
            if causal:  # bottom-right aligned, per sequence
                i = torch.arange(sq, device="cuda")[:, None]
                j = torch.arange(sk, device="cuda")[None, :]
                mask = j <= i + (sk - sq)
            seen = mask.any(-1)  # SDPA gives NaN for rows that see no key
            got = o[q0:q1].transpose(0, 1).float()
            if sk:
                want = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mask)
                err = (got[:, seen] - want[:, seen]).abs().max().item() if seen.any() else 0.0
                assert err <= TOL[dtype] * max(1.0, want[:, seen].abs().max().item()), (b, err)
                s = (tq @ tk.transpose(-1, -2)) / np.sqrt(d)
                want_lse = torch.logsumexp(s.masked_fill(~mask, float("-inf")), -1)
                lerr = (lse[:, q0:q1][:, seen] - want_lse[:, seen]).abs().max().item() \
                    if seen.any() else 0.0
                assert lerr <= LSE_TOL[dtype], (b, lerr)
            assert (got[:, ~seen] == 0).all()
            assert torch.isneginf(lse[:, q0:q1][:, ~seen]).all()


def test_varlen_device_offsets_checked_and_validated_path():
    import torch

    q, k, v, cq, ck = varlen_inputs([17, 100], [100, 17], 2, 2, 64, "f16")
    tq, tk, tv = (torch.as_tensor(x.astype(np.float16)).cuda() for x in (q, k, v))
    bad = torch.tensor([0, 17, 200], dtype=torch.int32, device="cuda")
    with pytest.raises(ValueError, match="cu_seqlens_q"):
        tessel.flash_attention_varlen(tq, tk, tv, bad, torch.as_tensor(ck).cuda(), 100, 100,
                                      target="cuda")
    # The validated path (host copies checked by the caller) reads nothing back.
    kernel = tessel.flash_attention_varlen.compile(tq, tk, tv, torch.as_tensor(cq).cuda(),
                                                   torch.as_tensor(ck).cuda(), 100, 100,
                                                   causal=True, target="cuda")
    args = dict(q=tq, k=tk, v=tv, cu_seqlens_q=torch.as_tensor(cq).cuda(),
                cu_seqlens_k=torch.as_tensor(ck).cuda(), max_seqlen_q=100, max_seqlen_k=100)
    kernel.opdef.check_values(kernel.signature, dict(args, cu_seqlens_q=cq, cu_seqlens_k=ck))
    o = kernel.run_validated(args)
    check(o.cpu().numpy(), None, *R.flash_attention_varlen(q, k, v, cq, ck, causal=True), "f16")
