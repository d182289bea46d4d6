"""The functional API on the host, checked against numpy references."""

import itertools

import ml_dtypes
import numpy as np
import pytest

import tessel
from tessel import reference as R

BF16 = ml_dtypes.bfloat16
# Tolerances for results rounded to the dtype (f32 accumulation everywhere).
TOL = {np.float32: 2e-5, np.float16: 2e-3, BF16: 1.6e-2}


def rand(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def close(got, want, dtype, what=""):
    tol = TOL[dtype]
    got = np.asarray(got).astype(np.float64)
    err = np.abs(got - want) / (1 + np.abs(want))
    assert err.max() <= tol, f"{what}: max rel error {err.max():.3g} > {tol}"


# --------------------------------------------------------------------------- gemm

GEMM_SHAPES = [(1, 1, 1), (3, 17, 33), (17, 33, 65), (100, 3, 1), (33, 100, 17)]


@pytest.mark.parametrize("dtype", [np.float32, np.float16, BF16], ids=["f32", "f16", "bf16"])
@pytest.mark.parametrize("m,n,k", GEMM_SHAPES)
def test_gemm_shapes(dtype, m, n, k):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    close(tessel.gemm(a, b), R.gemm(a, b), dtype)


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("dtype", [np.float32, BF16], ids=["f32", "bf16"])
def test_gemm_transposes_alpha_beta(ta, tb, dtype):
    rng = np.random.default_rng(7)
    m, n, k = 17, 9, 33
    a = rand(rng, (k, m) if ta else (m, k), dtype)
    b = rand(rng, (n, k) if tb else (k, n), dtype)
    c = rand(rng, (m, n), np.float16)
    got = tessel.gemm(a, b, c, alpha=0.5, beta=-2.0, transpose_a=ta, transpose_b=tb,
                      out_dtype=np.float32)
    assert got.dtype == np.float32
    close(got, R.gemm(a, b, c, alpha=0.5, beta=-2.0, transpose_a=ta, transpose_b=tb), np.float32)


def test_gemm_batched_and_out_dtype():
    rng = np.random.default_rng(1)
    a, b = rand(rng, (3, 17, 8), np.float16), rand(rng, (3, 17, 5), np.float16)
    got = tessel.gemm(a, b, transpose_a=True, out_dtype="bfloat16")
    assert got.dtype == BF16 and got.shape == (3, 8, 5)
    close(got, R.gemm(a, b, transpose_a=True), BF16)


def test_gemm_alpha_zero_ignores_nan_inputs():
    a = np.full((4, 4), np.nan, np.float32)
    c = np.ones((4, 4), np.float32)
    np.testing.assert_array_equal(tessel.gemm(a, a, c, alpha=0.0, beta=3.0), 3 * c)


def test_gemm_non_contiguous_inputs_are_copied():
    rng = np.random.default_rng(2)
    a = rand(rng, (16, 40), np.float32)[:, ::2]
    b = rand(rng, (20, 8), np.float32)
    close(tessel.gemm(a, b), R.gemm(a, b), np.float32)


# ---------------------------------------------------------------- flash attention

FA_CASES = [
    # b, hq, hkv, sq, skv, d, dv
    (1, 1, 1, 1, 1, 8, 8),
    (2, 4, 4, 3, 17, 16, 16),
    (1, 8, 2, 17, 33, 32, 64),
    (1, 8, 1, 33, 100, 64, 64),
    (2, 8, 8, 100, 17, 8, 24),
]


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("case", FA_CASES, ids=lambda c: "x".join(map(str, c)))
def test_flash_attention(case, causal):
    b, hq, hkv, sq, skv, d, dv = case
    rng = np.random.default_rng(sum(case))
    q, k = rand(rng, (b, hq, sq, d), np.float32), rand(rng, (b, hkv, skv, d), np.float32)
    v = rand(rng, (b, hkv, skv, dv), np.float32)
    o, lse = tessel.flash_attention(q, k, v, causal=causal, return_lse=True)
    ro, rlse = R.flash_attention(q, k, v, causal=causal)
    close(o, ro, np.float32)
    assert np.array_equal(np.isinf(lse), np.isinf(rlse))
    fin = np.isfinite(rlse)
    close(lse[fin], rlse[fin], np.float32)


@pytest.mark.parametrize("group", [1, 2, 4, 8])
@pytest.mark.parametrize("dtype", [np.float16, BF16], ids=["f16", "bf16"])
def test_flash_attention_gqa_dtypes(group, dtype):
    rng = np.random.default_rng(group)
    q = rand(rng, (1, 8, 33, 64), dtype)
    k, v = rand(rng, (1, 8 // group, 65, 64), dtype), rand(rng, (1, 8 // group, 65, 64), dtype)
    o = tessel.flash_attention(q, k, v, causal=True, scale=0.3)
    assert o.dtype == np.dtype(dtype)
    close(o, R.flash_attention(q, k, v, causal=True, scale=0.3)[0], dtype)


def test_flash_attention_causal_sq_greater_than_skv_has_empty_rows():
    rng = np.random.default_rng(3)
    q, kv = rand(rng, (1, 2, 10, 16), np.float32), rand(rng, (1, 2, 4, 16), np.float32)
    o, lse = tessel.flash_attention(q, kv, kv, causal=True, return_lse=True)
    assert np.all(o[:, :, :6] == 0) and np.all(np.isneginf(lse[:, :, :6]))
    close(o, R.flash_attention(q, kv, kv, causal=True)[0], np.float32)


# ----------------------------------------------------------------- paged KV cache

def make_cache(rng, num_blocks, block_size, hkv, d, dtype):
    return (rand(rng, (num_blocks, block_size, hkv, d), dtype),
            rand(rng, (num_blocks, block_size, hkv, d), dtype))


@pytest.mark.parametrize("block_size", [8, 16, 32])
@pytest.mark.parametrize("group", [1, 2, 4, 8])
def test_paged_attention(block_size, group):
    rng = np.random.default_rng(block_size + group)
    seqs, hkv, d, num_blocks, max_blocks = 4, 2, 64, 40, 6
    kc, vc = make_cache(rng, num_blocks, block_size, hkv, d, np.float16)
    q = rand(rng, (seqs, hkv * group, d), np.float16)
    tables = rng.permutation(num_blocks)[: seqs * max_blocks].reshape(seqs, max_blocks)
    tables[1, 0] = tables[0, 0]  # two sequences share a prefix block
    tables = tables.astype(np.int32)
    lens = np.array([1, block_size + 3, 0, max_blocks * block_size], np.int32)
    got = tessel.paged_attention(q, kc, vc, tables, lens)
    close(got, R.paged_attention(q, kc, vc, tables, lens), np.float16)
    assert np.all(got[2] == 0)


def test_paged_attention_ignores_table_entries_past_the_context():
    rng = np.random.default_rng(11)
    kc, vc = make_cache(rng, 4, 8, 1, 16, np.float32)
    q = rand(rng, (1, 2, 16), np.float32)
    tables = np.array([[2, -7, 999]], np.int32)  # vLLM pads tables with junk
    lens = np.array([5], np.int32)
    close(tessel.paged_attention(q, kc, vc, tables, lens),
          R.paged_attention(q, kc, vc, tables, lens), np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, BF16], ids=["f32", "f16", "bf16"])
@pytest.mark.parametrize("block_size", [8, 16, 32])
def test_paged_kv_write(dtype, block_size):
    rng = np.random.default_rng(block_size)
    kc, vc = make_cache(rng, 6, block_size, 2, 32, dtype)
    t = 17
    key, value = rand(rng, (t, 2, 32), dtype), rand(rng, (t, 2, 32), dtype)
    slots = rng.permutation(6 * block_size)[:t].astype(np.int64)
    slots[[2, 9]] = -1
    want_k, want_v = R.paged_kv_write(key, value, kc, vc, slots)
    assert tessel.paged_kv_write(key, value, kc, vc, slots) is None
    np.testing.assert_array_equal(kc, want_k)
    np.testing.assert_array_equal(vc, want_v)


def test_copy_blocks():
    rng = np.random.default_rng(5)
    kc, vc = make_cache(rng, 10, 16, 2, 64, BF16)
    mapping = np.array([[0, 7], [3, 4], [0, 9]], np.int64)
    want_k, want_v = R.copy_blocks(kc, vc, mapping)
    tessel.copy_blocks(kc, vc, mapping)
    np.testing.assert_array_equal(kc, want_k)
    np.testing.assert_array_equal(vc, want_v)


# ------------------------------------------------------------- compile and caching

def test_compile_with_specs_and_ir_stages():
    kernel = tessel.gemm.compile(tessel.Spec((8, 16), "f16"), tessel.Spec((16, 4), "f16"),
                                 alpha=2.0)
    assert "tessel.gemm" in kernel.ir("tessel")
    assert "memref<8x16xf16>" in kernel.ir("bufferized")
    assert "scf.for" in kernel.ir("loops")
    assert "llvm.func" in kernel.ir("llvm")
    with pytest.raises(ValueError, match="stage"):
        kernel.ir("ptx")
    a = np.ones((8, 16), np.float16)
    b = np.ones((16, 4), np.float16)
    np.testing.assert_array_equal(kernel(a, b), np.full((8, 4), 32, np.float16))
    with pytest.raises(ValueError, match=r"argument 'a': got Spec\(\(8, 8\), f16\)"):
        kernel(np.ones((8, 8), np.float16), b)


def test_signature_compiles_once():
    a = np.ones((5, 3), np.float32)
    k1 = tessel.gemm.compile(a, a.T.copy())
    k2 = tessel.gemm.compile(tessel.Spec((5, 3), np.float32), tessel.Spec((3, 5), "float32"))
    assert k1 is k2


# -------------------------------------------------------------------- bad input

def test_gemm_errors_name_the_argument():
    f16 = np.ones((4, 8), np.float16)
    with pytest.raises(ValueError, match="argument 'b': contraction dimension K is 4 but 'a' has 8"):
        tessel.gemm(f16, f16)
    with pytest.raises(ValueError, match="argument 'b': dtype f32 does not match 'a' \\(f16\\)"):
        tessel.gemm(f16, np.ones((8, 4), np.float32))
    with pytest.raises(ValueError, match="argument 'a': dtype i32 is not supported"):
        tessel.gemm(np.ones((4, 8), np.int32), np.ones((8, 4), np.int32))
    with pytest.raises(ValueError, match="argument 'a': expected a .* \\(rank 2 or 3\\), got shape \\(8,\\)"):
        tessel.gemm(np.ones(8, np.float16), f16)
    with pytest.raises(ValueError, match="argument 'c': shape \\(4, 5\\) does not match"):
        tessel.gemm(f16, f16.T, np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match="argument 'alpha': must be finite"):
        tessel.gemm(f16, f16.T, alpha=float("inf"))
    with pytest.raises(ValueError, match="argument 'target'"):
        tessel.gemm(f16, f16.T, target="tpu")
    with pytest.raises(TypeError, match="argument 'a': expected a numpy array"):
        tessel.gemm([[1.0]], f16)


def test_attention_errors_name_the_argument():
    q = np.ones((1, 6, 4, 16), np.float32)
    with pytest.raises(ValueError, match="argument 'k': 4 key/value heads do not divide the 6 query heads"):
        tessel.flash_attention(q, np.ones((1, 4, 4, 16), np.float32), np.ones((1, 4, 4, 16), np.float32))
    with pytest.raises(ValueError, match="argument 'q': head dimension 12 is not supported"):
        x = np.ones((1, 1, 4, 12), np.float32)
        tessel.flash_attention(x, x, x)
    with pytest.raises(ValueError, match="argument 'scale': must be finite and positive"):
        tessel.flash_attention(q, q, q, scale=-1)


def paged_setup():
    rng = np.random.default_rng(0)
    kc, vc = make_cache(rng, 4, 8, 2, 16, np.float32)
    return rng, kc, vc


def test_paged_attention_bad_tables():
    rng, kc, vc = paged_setup()
    q = rand(rng, (2, 4, 16), np.float32)
    tables = np.array([[0, 1], [2, 3]], np.int32)
    with pytest.raises(ValueError, match=r"argument 'block_tables': entry \[1, 1\] = 4 is outside \[0, 4\)"):
        tessel.paged_attention(q, kc, vc, np.array([[0, 1], [2, 4]], np.int32), np.array([9, 16], np.int32))
    with pytest.raises(ValueError, match=r"argument 'context_lens': entry \[0\] = 17 is outside \[0, 16\]"):
        tessel.paged_attention(q, kc, vc, tables, np.array([17, 1], np.int32))
    with pytest.raises(ValueError, match=r"argument 'context_lens': entry \[1\] = -1"):
        tessel.paged_attention(q, kc, vc, tables, np.array([1, -1], np.int32))
    with pytest.raises(ValueError, match="argument 'block_tables': dtype i64 is not supported; expected one of i32"):
        tessel.paged_attention(q, kc, vc, tables.astype(np.int64), np.array([1, 1], np.int32))
    with pytest.raises(ValueError, match="argument 'key_cache': block size \\(dimension 1\\) is 12"):
        big = np.zeros((4, 12, 2, 16), np.float32)
        tessel.paged_attention(q, big, big, tables, np.array([1, 1], np.int32))


def test_paged_kv_write_bad_slots_write_nothing():
    rng, kc, vc = paged_setup()
    before = kc.copy(), vc.copy()
    key = rand(rng, (3, 2, 16), np.float32)
    with pytest.raises(ValueError, match=r"argument 'slot_mapping': entry \[2\] = 32 is beyond the cache"):
        tessel.paged_kv_write(key, key, kc, vc, np.array([0, 1, 32], np.int64))
    with pytest.raises(ValueError, match="argument 'slot_mapping': slot 5 is written by tokens 0 and 2"):
        tessel.paged_kv_write(key, key, kc, vc, np.array([5, -1, 5], np.int64))
    with pytest.raises(ValueError, match="argument 'key_cache': updated in place"):
        tessel.paged_kv_write(key, key, np.asfortranarray(kc), vc, np.array([0, 1, 2], np.int64))
    with pytest.raises(ValueError, match="argument 'key_cache': overlaps argument 'value_cache'"):
        tessel.paged_kv_write(key, key, kc, kc, np.array([0, 1, 2], np.int64))
    np.testing.assert_array_equal(kc, before[0])
    np.testing.assert_array_equal(vc, before[1])


def test_copy_blocks_bad_mapping():
    _, kc, vc = paged_setup()
    before = kc.copy()
    for mapping, msg in [([[0, 4]], r"entry \[0, 1\] = 4 is outside \[0, 4\)"),
                         ([[0, 1], [2, 1]], "block 1 is the destination of more than one pair"),
                         ([[0, 1], [1, 2]], "block 1 is both a source and a destination")]:
        with pytest.raises(ValueError, match=f"argument 'block_mapping': {msg}"):
            tessel.copy_blocks(kc, vc, np.array(mapping, np.int64))
    np.testing.assert_array_equal(kc, before)
