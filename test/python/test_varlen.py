"""tessel.flash_attention_varlen without a GPU: the CPU path against the
float64 reference (and against flash_attention per sequence), the argument
and offset checks, and the GPU path's compile: PTX for every head dim x dtype
x causal assembled by ptxas with no spills, run-time sizes in the launch."""

import shutil

import numpy as np
import pytest

import tessel
from ptxtools import ptxas
from tessel import reference as R
from tessel.compiler import clear_cache

S = tessel.Spec


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSEL_CACHE_DIR", str(tmp_path / "cache"))
    clear_cache()
    yield
    clear_cache()


def offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)


def packed(lq, lk, hq, hkv, d, dtype=np.float32, seed=0, dv=None):
    rng = np.random.default_rng(seed)
    cq, ck = offsets(lq), offsets(lk)
    q = rng.standard_normal((int(cq[-1]), hq, d)).astype(dtype)
    k = rng.standard_normal((int(ck[-1]), hkv, d)).astype(dtype)
    v = rng.standard_normal((int(ck[-1]), hkv, dv or d)).astype(dtype)
    return q, k, v, cq, ck


def run(q, k, v, cq, ck, **kw):
    lq, lk = np.diff(cq), np.diff(ck)
    return tessel.flash_attention_varlen(q, k, v, cq, ck, int(lq.max(initial=0)),
                                         int(lk.max(initial=0)), return_lse=True, **kw)


def check(o, lse, want, want_lse, tol=2e-5):
    assert not np.isnan(o).any() and not np.isnan(lse).any()
    np.testing.assert_allclose(o, want, atol=tol, rtol=tol)
    assert np.array_equal(np.isneginf(lse), np.isneginf(want_lse))
    finite = np.isfinite(want_lse)
    np.testing.assert_allclose(lse[finite], want_lse[finite], atol=tol, rtol=tol)


# (query lengths, key lengths): zero-length and one-token sequences, unequal
# lengths, Sq < Sk and Sq > Sk in one batch, a zero-length key sequence.
BATCHES = [([0, 1, 17, 5], [3, 1, 20, 0]),
           ([1], [1]),
           ([7, 0, 12], [7, 9, 3]),
           ([33, 2], [2, 33])]


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("lq,lk", BATCHES)
def test_cpu_against_reference(lq, lk, causal):
    q, k, v, cq, ck = packed(lq, lk, 4, 2, 16)
    o, lse = run(q, k, v, cq, ck, causal=causal)
    assert o.shape == (q.shape[0], 4, 16) and lse.shape == (4, q.shape[0])
    want, want_lse = R.flash_attention_varlen(q, k, v, cq, ck, causal=causal)
    check(o, lse, want, want_lse)


@pytest.mark.parametrize("hq,hkv", [(4, 4), (4, 2), (8, 2), (8, 1)],
                         ids=["mha", "gqa2", "gqa4", "mqa"])
def test_cpu_gqa_matches_flash_attention_per_sequence(hq, hkv):
    lq, lk = [5, 9, 0, 3], [8, 4, 2, 3]
    q, k, v, cq, ck = packed(lq, lk, hq, hkv, 8, seed=3)
    o, lse = run(q, k, v, cq, ck, causal=True, scale=0.3)
    for b in range(len(lq)):
        rows = slice(cq[b], cq[b + 1])
        keys = slice(ck[b], ck[b + 1])
        if lq[b] == 0:
            continue
        fo, flse = tessel.flash_attention(
            np.ascontiguousarray(q[rows].transpose(1, 0, 2)[None]),
            np.ascontiguousarray(k[keys].transpose(1, 0, 2)[None]),
            np.ascontiguousarray(v[keys].transpose(1, 0, 2)[None]),
            causal=True, scale=0.3, return_lse=True)
        np.testing.assert_allclose(o[rows], fo[0].transpose(1, 0, 2), atol=1e-6)
        np.testing.assert_allclose(lse[:, rows], flse[0], atol=1e-6)


def test_cpu_fully_masked_rows_zero_and_minus_inf():
    # Causal with Sq_b > Sk_b: the first Sq_b - Sk_b queries see no key.
    q, k, v, cq, ck = packed([6, 3], [2, 0], 2, 1, 8)
    o, lse = run(q, k, v, cq, ck, causal=True)
    assert not np.isnan(o).any()
    np.testing.assert_array_equal(o[:4], 0)
    assert np.isneginf(lse[:, :4]).all() and np.isfinite(lse[:, 4:6]).all()
    np.testing.assert_array_equal(o[6:], 0)  # Sk = 0
    assert np.isneginf(lse[:, 6:]).all()


def test_cpu_half_precision_and_default_scale():
    q, k, v, cq, ck = packed([5, 11], [7, 11], 4, 2, 32, dtype=np.float16)
    o, lse = run(q, k, v, cq, ck)
    assert o.dtype == np.float16 and lse.dtype == np.float32
    want, want_lse = R.flash_attention_varlen(q, k, v, cq, ck, scale=1 / np.sqrt(32))
    np.testing.assert_allclose(o.astype(np.float64), want, atol=3e-3)
    np.testing.assert_allclose(lse, want_lse, atol=1e-3)


def test_cpu_rows_past_the_last_offset_are_not_written():
    q, k, v, _, _ = packed([10], [10], 2, 2, 8)
    cq = ck = np.array([0, 6], np.int32)
    o, lse = tessel.flash_attention_varlen(q, k, v, cq, ck, 6, 6, return_lse=True)
    want, want_lse = R.flash_attention_varlen(q, k, v, cq, ck)
    check(o[:6], lse[:, :6], want[:6], want_lse[:, :6])
    # The CPU path's outputs start as zeros; the op leaves these rows alone.
    np.testing.assert_array_equal(o[6:], 0)
    np.testing.assert_array_equal(lse[:, 6:], 0)


def test_cpu_one_compile_for_every_batch_composition():
    k1 = tessel.flash_attention_varlen.compile(*packed([3, 4], [3, 4], 2, 1, 8), 4, 4)
    q, k, v, cq, ck = packed([1, 9, 2], [5, 9, 1], 2, 1, 8, seed=5)
    # Same packed totals, other splits and bounds: the same kernel.
    o = k1(*packed([3, 4], [3, 4], 2, 1, 8, seed=1)[:3], offsets([7, 0]), offsets([2, 5]), 7, 5)
    want, _ = R.flash_attention_varlen(*packed([3, 4], [3, 4], 2, 1, 8, seed=1)[:3],
                                       offsets([7, 0]), offsets([2, 5]))
    np.testing.assert_allclose(o, want, atol=1e-5)
    assert q.shape != k1.signature.arg("q").spec.shape  # a different total is another kernel


def call(**overrides):
    q, k, v, cq, ck = packed([3, 4], [5, 2], 4, 2, 16)
    args = dict(q=q, k=k, v=v, cu_seqlens_q=cq, cu_seqlens_k=ck, max_seqlen_q=4,
                max_seqlen_k=5)
    args.update(overrides)
    return tessel.flash_attention_varlen(**args)


@pytest.mark.parametrize("overrides,message", [
    (dict(cu_seqlens_q=np.array([0, 3, 7], np.int64)),
     "argument 'cu_seqlens_q': dtype i64 is not supported; expected one of i32"),
    (dict(cu_seqlens_k=np.zeros((3, 1), np.int32)),
     "argument 'cu_seqlens_k': expected a [batch + 1] array (rank 1)"),
    (dict(cu_seqlens_q=np.array([0], np.int32), cu_seqlens_k=np.array([0], np.int32)),
     "argument 'cu_seqlens_q': has 1 offsets; it needs batch + 1 >= 2"),
    (dict(cu_seqlens_k=np.array([0, 7], np.int32)),
     "argument 'cu_seqlens_k': number of offsets is 2 but 'cu_seqlens_q' has 3"),
    (dict(max_seqlen_q=-1), "argument 'max_seqlen_q': is negative (-1)"),
    (dict(max_seqlen_k=2.5), "argument 'max_seqlen_k': expected a non-negative int"),
    (dict(max_seqlen_k=True), "argument 'max_seqlen_k': expected a non-negative int"),
    (dict(max_seqlen_q=2**31), "argument 'max_seqlen_q': 2147483648 is not below 2^31"),
    (dict(k=np.zeros((7, 3, 16), np.float32), v=np.zeros((7, 3, 16), np.float32)),
     "argument 'k': 3 key/value heads do not divide the 4 query heads of 'q'"),
    (dict(q=np.zeros((7, 4, 8), np.float32)),
     "argument 'k': head dimension (dimension 2) is 16 but 'q' has 8"),
    (dict(v=np.zeros((6, 2, 16), np.float32)),
     "argument 'v': packed key length (dimension 0) is 6 but 'k' has 7"),
    (dict(q=np.zeros((1, 7, 4, 16), np.float32)),
     "argument 'q': expected a [total_tokens, heads, head_dim] array (rank 3)"),
    (dict(v=np.zeros((7, 2, 16), np.float16)),
     "argument 'v': dtype f16 does not match 'q' (f32)"),
])
def test_signature_errors(overrides, message):
    with pytest.raises((ValueError, TypeError)) as info:
        call(**overrides)
    assert message in str(info.value)


@pytest.mark.parametrize("cq,ck,mq,mk,message", [
    ([1, 3, 7], [0, 5, 7], 4, 5, "argument 'cu_seqlens_q': entry [0] = 1; the first offset must be 0"),
    ([0, 5, 3], [0, 5, 7], 5, 5, "argument 'cu_seqlens_q': entry [2] = 3 is below entry [1] = 5"),
    ([0, 3, 8], [0, 5, 7], 5, 5, "argument 'cu_seqlens_q': the last offset 8 is beyond the 7 packed rows of 'q'"),
    ([0, 3, 7], [0, 5, 9], 4, 5, "argument 'cu_seqlens_k': the last offset 9 is beyond the 7 packed rows of 'k'"),
    ([0, 3, 7], [0, 5, 7], 3, 5, "argument 'max_seqlen_q': is 3, but sequence 1 of 'cu_seqlens_q' has length 4"),
    ([0, 3, 7], [0, 5, 7], 4, 4, "argument 'max_seqlen_k': is 4, but sequence 0 of 'cu_seqlens_k' has length 5"),
])
def test_offset_errors(cq, ck, mq, mk, message):
    with pytest.raises(ValueError) as info:
        call(cu_seqlens_q=np.array(cq, np.int32), cu_seqlens_k=np.array(ck, np.int32),
             max_seqlen_q=mq, max_seqlen_k=mk)
    assert message in str(info.value)


def test_score_overflow_is_refused():
    with pytest.raises(ValueError, match="argument 'scale'"):
        call(scale=3e38)


def test_empty_batch_writes_nothing():
    q, k, v, _, _ = packed([0], [0], 2, 1, 8)
    o, lse = tessel.flash_attention_varlen(q, k, v, offsets([0, 0]), offsets([0, 0]), 0, 0,
                                           return_lse=True)
    assert o.shape == (0, 2, 8) and lse.shape == (2, 0)


# ---------------------------------------------------------------------------
# The GPU path without a GPU.


def specs(d, dtype, hq=8, hkv=2):
    return (S((None, hq, d), dtype), S((None, hkv, d), dtype), S((None, hkv, d), dtype),
            S((None,), "i32"), S((None,), "i32"))




@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("d", [64, 128])
def test_ptxas_no_spills(d, dtype, causal, tmp_path, record_property):
    k = tessel.flash_attention_varlen.compile(*specs(d, dtype), 0, 0, causal=causal,
                                              return_lse=True, target="cuda")
    for piece in ("mma.sync.aligned.m16n8k16", "ldmatrix.sync.aligned.m8n8.x4.trans",
                  "cp.async", "shfl.sync.bfly", "ex2.approx"):
        assert piece in k.ptx, piece
    regs, stores, loads = ptxas(k.ptx, tmp_path)
    record_property("registers", regs)
    print(f"varlen D={d} {dtype} causal={causal}: {regs} registers, {stores} bytes spill "
          f"stores, {loads} bytes spill loads")
    assert stores == 0 and loads == 0


def test_launch_grid_is_a_function_of_run_time_sizes():
    k = tessel.flash_attention_varlen.compile(*specs(64, "f16"), 0, 0, causal=True,
                                              target="cuda")
    (kernel,) = k.kernels
    # Arguments: q k v cu_q cu_k max_q max_k out; a 1-D grid of
    # B x Hq x ceil(max_q / 128) blocks (query tiles fastest).
    assert kernel["grid"] == [["mul", ["mul", ["sub", ["dim", 3, 0], ["const", 1]], ["const", 8]],
                               ["ceildiv", ["arg", 5], ["const", 128]]], ["const", 1],
                              ["const", 1]]
    assert kernel["block"] == [128, 1, 1]
    assert k.launch_metadata["grid"] == [None, 1, 1]
    assert ["ptr", ["ptr", 3]] in kernel["params"] and ["ptr", ["ptr", 4]] in kernel["params"]


def test_functional_api_compiles_once_per_heads_and_flags():
    from tessel.compiler.cuda import attention

    sig = tessel.flash_attention_varlen._def.signature(
        *packed([3, 4], [5, 2], 4, 2, 64, dtype=np.float16), 4, 5, return_lse=True)
    general, _ = attention.varlen.generalize(sig)
    shapes = {a.name: a.spec.shape for a in general.args}
    assert shapes["q"] == (None, 4, 64) and shapes["cu_seqlens_q"] == (None,)
    assert shapes["lse"] == (4, None) and shapes["max_seqlen_q"] == ()


@pytest.mark.parametrize("options,message", [
    (dict(q=S((None, 8, 64), "f32"), k=S((None, 2, 64), "f32"), v=S((None, 2, 64), "f32")),
     "tessel.flash_attention_varlen on target='cuda' needs f16 or bf16"),
    (dict(config=dict(block_m=96)), "block_m (96) must be a multiple of 16 x warps"),
    (dict(strategy="wgmma"), "argument 'strategy': expected one of mma"),
])
def test_cuda_option_errors(options, message):
    q, k, v, cq, ck = specs(64, "f16")
    args = dict(q=q, k=k, v=v, cu_seqlens_q=cq, cu_seqlens_k=ck, max_seqlen_q=0,
                max_seqlen_k=0)
    args.update({n: options.pop(n) for n in list(options) if n in args})
    with pytest.raises(ValueError) as info:
        tessel.flash_attention_varlen.compile(**args, target="cuda", **options)
    assert message in str(info.value)


def test_size_arguments_reach_the_launcher_as_values():
    """Without a GPU: the grid evaluates from a call's shapes, where a size
    argument's entry is (value,), and the outputs' run-time shapes follow."""
    from tessel.runtime.kernel import compile_expr

    k = tessel.flash_attention_varlen.compile(*specs(128, "bf16", hq=4, hkv=1), 0, 0,
                                              return_lse=True, target="cuda")
    (kernel,) = k.kernels
    # total_q 300, total_k 500, B = 3, max_seqlen_q 260 (3 tiles of 128 rows).
    shapes = ((300, 4, 128), (500, 1, 128), (500, 1, 128), (4,), (4,), (260,), (400,),
              (300, 4, 128), (4, 300))
    assert [compile_expr(g)((), shapes) for g in kernel["grid"]] == [12 * 3, 1, 1]
    outs = k.output_shapes({"q": (300, 4, 128), "k": (500, 1, 128), "v": (500, 1, 128),
                            "cu_seqlens_q": (4,), "cu_seqlens_k": (4,),
                            "max_seqlen_q": (260,), "max_seqlen_k": (400,)})
    assert outs == {"out": (300, 4, 128), "lse": (4, 300)}
