"""Limits checked up front (issue 12): Spec dimensions, element counts and byte
sizes, float32 attributes, option names. Every reproducer raises a ValueError
or TypeError naming the argument, before any MLIR is built; none may abort
the process (a crash here kills pytest)."""

import math
import subprocess

import ml_dtypes
import numpy as np
import pytest

import tessel
from tessel import reference as R

S = tessel.Spec
BIG = 2**62


# ---------------------------------------------------------------- Spec


@pytest.mark.parametrize("dims,exc,words", [
    ((1.5, 8), TypeError, "dimension 0 of shape (1.5, 8) must be a non-negative int or None, got 1.5 (float)"),
    ((8, True), TypeError, "dimension 1 of shape (8, True) must be a non-negative int or None, got True (bool)"),
    ((np.bool_(True),), TypeError, "(bool)"),
    ((8, "8"), TypeError, "got '8' (str)"),
    ((8, 8.0), TypeError, "got 8.0 (float)"),
    ((-1, 8), ValueError, "dimension 0 of shape (-1, 8) is negative (-1)"),
    ((np.int32(-3),), ValueError, "is negative (-3)"),
    ((2**63, 8), ValueError, "above the int64 limit 9223372036854775807"),
    ((np.uint64(2**63),), ValueError, "above the int64 limit"),
])
def test_spec_rejects_bad_dimensions(dims, exc, words):
    with pytest.raises(exc) as e:
        S(dims, "f16")
    assert words in str(e.value)


def test_spec_rejects_a_shape_that_is_not_a_sequence():
    for shape in (5, "ab", None):
        with pytest.raises(TypeError, match="shape must be a sequence"):
            S(shape, "f16")


def test_spec_accepts_numpy_ints_and_dynamic_dimensions():
    s = S((np.int64(3), np.uint8(4), None, 2**63 - 1), "f16")
    assert s.shape == (3, 4, None, 2**63 - 1)
    assert all(type(d) is int for d in s.shape if d is not None)
    assert s.mlir == "tensor<3x4x?x9223372036854775807xf16>"
    assert S((None,), "f32") == S([None], "f32")


def test_ops_refuse_dynamic_dimensions_naming_the_argument():
    with pytest.raises(ValueError, match=r"arguments 'a', 'b': K and N must be static"):
        tessel.gemm.compile(S((4, 8), "f16"), S((8, None), "f16"), target="cuda")
    # A run-time M is a GPU feature; the CPU path takes exact shapes.
    with pytest.raises(ValueError, match=r"argument 'a': run-time dimensions \(None\) are not "
                                         r"supported by tessel.gemm on target 'cpu'"):
        tessel.gemm.compile(S((None, 8), "f16"), S((8, 4), "f16"))


@pytest.mark.parametrize("dtype", [5, None, 1.5, "nonsense"])
def test_spec_dtype_errors_name_the_argument(dtype):
    with pytest.raises(TypeError, match="argument 'dtype': expected a dtype"):
        S((4,), dtype)


# ------------------------------------------------------- sizes within int64


def test_issue_cpu_gemm_result_too_large():
    """Issue 12.4: this used to abort in MLIR's strided-layout code."""
    with pytest.raises(ValueError, match=r"result 'out': Spec\(\(1099511627776, 2147483647\), "
                                         r"f32\) is too large: .*int64 limit of "
                                         r"9223372036854775807 bytes"):
        tessel.gemm.compile(S((2**40, 8), "f32"), S((8, 2**31 - 1), "f32"))


@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_gemm_argument_too_large(target):
    with pytest.raises(ValueError, match=r"argument 'a': Spec\(\(4611686018427387904, 8\), f16\) "
                                         r"is too large: it has 36893488147419103232 elements"):
        tessel.gemm.compile(S((BIG, 8), "f16"), S((8, 8), "f16"), target=target)


def test_bytes_overflow_even_when_elements_fit():
    # 2**61 elements fit int64; 2**61 f32 are 2**63 bytes, which do not.
    with pytest.raises(ValueError, match="argument 'a'.* 2305843009213693952 elements of 4 bytes"):
        tessel.gemm.compile(S((2**61, 1), "f32"), S((1, 1), "f32"))
    tessel.gemm.compile(S((2**60, 1), "f16"), S((1, 1), "f16"))  # 2**61 bytes: accepted


def test_zero_dimension_still_counts_the_others():
    """MLIR's strides multiply the non-zero dimensions: this array is empty but
    its strides overflow."""
    with pytest.raises(ValueError, match="argument 'a'.*the product of its non-zero dimensions"):
        tessel.gemm.compile(S((0, BIG, 4), "f16"), S((0, 4, 2), "f16"), transpose_a=True)


def test_batched_result_too_large():
    with pytest.raises(ValueError, match="result 'out'"):
        tessel.gemm.compile(S((2**20, 2**22, 1), "f16"), S((2**20, 1, 2**22), "f16"))


def test_attention_and_cache_arguments_too_large():
    with pytest.raises(ValueError, match="argument 'k': .* is too large"):
        tessel.flash_attention.compile(S((1, 1, 8, 8), "f16"), S((1, 1, BIG, 8), "f16"),
                                       S((1, 1, BIG, 8), "f16"))
    with pytest.raises(ValueError, match="argument 'key_cache': .* is too large"):
        tessel.copy_blocks.compile(S((BIG, 16, 2, 8), "f16"), S((BIG, 16, 2, 8), "f16"),
                                   S((1, 2), "i64"))
    with pytest.raises(ValueError, match="argument 'block_tables': .* is too large"):
        tessel.paged_attention.compile(S((1, 2, 8), "f16"), S((4, 16, 2, 8), "f16"),
                                       S((4, 16, 2, 8), "f16"), S((1, BIG), "i32"),
                                       S((1,), "i32"))


# ------------------------------------------------- float32 attributes


@pytest.mark.parametrize("name", ["alpha", "beta"])
@pytest.mark.parametrize("value,exc,words", [
    (1e39, ValueError, "1e+39 is outside the float32 range (magnitude at most 3.4028235e+38)"),
    (-1e39, ValueError, "outside the float32 range"),
    pytest.param(10**400, ValueError, "outside the float32 range", id="10**400"),
    # Too long even for repr().
    pytest.param(10**5000, ValueError, "outside the float32 range", id="10**5000"),
    (float("nan"), ValueError, "must be finite, got nan"),
    (float("inf"), ValueError, "must be finite, got inf"),
    ("2", TypeError, "expected a number, got '2'"),
    (1 + 1j, TypeError, "expected a number"),
])
def test_gemm_scalars_must_be_finite_in_float32(name, value, exc, words):
    with pytest.raises(exc) as e:
        tessel.gemm.compile(S((4, 4), "f32"), S((4, 4), "f32"), **{name: value})
    assert f"argument '{name}'" in str(e.value) and words in str(e.value)


def test_gemm_scalars_are_rounded_to_float32():
    k = tessel.gemm.compile(S((2, 2), "f32"), S((2, 2), "f32"), alpha=3.4028235e38, beta=1e-50)
    assert k.signature.attr("alpha") == float(np.finfo(np.float32).max)
    assert k.signature.attr("beta") == 0.0


@pytest.mark.parametrize("value,words", [
    (1e39, "outside the float32 range"),
    pytest.param(10**400, "outside the float32 range", id="10**400"),
    (1e-50, "1e-50 rounds to 0 in float32; must be positive"),
    (-1.0, "must be finite and positive, got -1.0"),
    (float("nan"), "must be finite"),
])
def test_attention_scale_must_be_positive_in_float32(value, words):
    qkv = [S((1, 1, 4, 8), "f32")] * 3
    with pytest.raises(ValueError) as e:
        tessel.flash_attention.compile(*qkv, scale=value)
    assert "argument 'scale'" in str(e.value) and words in str(e.value)


# ------------------------------------ scores that would overflow float32


def test_flash_attention_refuses_a_scale_that_overflows_the_scores():
    """Issue 12.6: scale=3.4e38 made every row NaN (inf - inf in the softmax).
    Refused before the call, naming the argument."""
    x = np.ones((1, 1, 4, 8), np.float32)
    with pytest.raises(ValueError, match=r"argument 'scale': scale 3.4e\+38 times the largest "
                                         r"\|q\| \|k\| \(8\) may exceed the float32 range"):
        tessel.flash_attention(x, x, x, scale=3.4e38)


def test_flash_attention_large_scale_that_fits_is_computed():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 2, 5, 8)).astype(np.float32) for _ in range(3))
    got = tessel.flash_attention(q, k, v, scale=1e30)  # |q| |k| * 1e30 < 3.4e38
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, R.flash_attention(q, k, v, scale=1e30)[0], atol=1e-5)


def test_flash_attention_inputs_whose_dot_products_overflow_are_refused():
    # The f32 dot products overflow before the (default, < 1) scale applies.
    x = np.full((1, 1, 2, 8), 1e19, np.float32)
    with pytest.raises(ValueError, match="arguments 'q' and 'k': their dot products may reach "
                                         "8e\\+38"):
        tessel.flash_attention(x, x, x)


def test_flash_attention_non_finite_inputs_propagate():
    x = np.ones((1, 1, 2, 8), np.float32)
    y = x.copy()
    y[0, 0, 0, 0] = np.inf
    assert np.isnan(tessel.flash_attention(y, x, x, scale=1e38)).any()


def test_paged_attention_refuses_overflowing_scores_over_used_blocks_only():
    q = np.full((1, 1, 8), 1e20, np.float32)
    cache = np.ones((2, 8, 1, 8), np.float32)
    cache[1] = 1e20  # never read while block 1 is not in the table
    lens = np.array([8], np.int32)
    out = tessel.paged_attention(q, cache, cache, np.zeros((1, 1), np.int32), lens)
    np.testing.assert_allclose(out, np.ones((1, 1, 8)), rtol=1e-6)
    with pytest.raises(ValueError, match="arguments 'q' and 'key_cache'"):
        tessel.paged_attention(q, cache, cache, np.ones((1, 1), np.int32), lens)
    with pytest.raises(ValueError, match="argument 'scale'"):
        tessel.paged_attention(q, cache, cache, np.zeros((1, 1), np.int32), lens, scale=1e18)


# ------------------------------------------------------------ options


def test_out_dtype_errors_name_the_argument():
    with pytest.raises(TypeError, match="argument 'out_dtype': expected a dtype .* got 5"):
        tessel.gemm.compile(S((4, 4), "f32"), S((4, 4), "f32"), out_dtype=5)
    with pytest.raises(ValueError, match="argument 'out_dtype': dtype i32 is not supported"):
        tessel.gemm.compile(S((4, 4), "f32"), S((4, 4), "f32"), out_dtype="i32")


@pytest.mark.parametrize("name,op,specs", [
    ("transpose_a", tessel.gemm, [S((4, 4), "f32")] * 2),
    ("causal", tessel.flash_attention, [S((1, 1, 4, 8), "f32")] * 3),
    ("return_lse", tessel.flash_attention, [S((1, 1, 4, 8), "f32")] * 3),
])
@pytest.mark.parametrize("value", ["yes", 2, None, []])
def test_flags_must_be_booleans(name, op, specs, value):
    with pytest.raises(TypeError, match=f"argument '{name}': expected True or False"):
        op.compile(*specs, **{name: value})


def test_unknown_options_and_missing_arrays_are_named():
    with pytest.raises(TypeError, match="tessel.gemm: unexpected argument 'scale'; options are "
                                        "alpha, beta, transpose_a, transpose_b, out_dtype, target"):
        tessel.gemm.compile(S((4, 4), "f32"), S((4, 4), "f32"), scale=1.0)
    with pytest.raises(TypeError, match="tessel.gemm: missing array argument 'b'"):
        tessel.gemm.compile(S((4, 4), "f32"))
    with pytest.raises(ValueError, match="argument 'target'"):
        tessel.gemm.compile(S((4, 4), "f32"), S((4, 4), "f32"), target=["cpu"])


def test_arrays_like_objects_with_bad_shapes_name_the_argument():
    class Fake:
        shape, dtype = (-1, 4), np.float32

    with pytest.raises(TypeError, match="argument 'a': not an array"):
        tessel.gemm.compile(Fake(), S((4, 4), "f32"))


# ----------------------------------------- known upstream abort (documented)


@pytest.mark.xfail(strict=True, reason="upstream MLIR: linalg.transpose's parser sets a null "
                   "attribute when `permutation =` has no value (docs/architecture.md, Known "
                   "upstream issues); when this passes, drop the note and test/fuzz/known.json")
def test_upstream_linalg_transpose_without_permutation(opt_path, tmp_path):
    path = tmp_path / "t.mlir"
    path.write_text("func.func @t(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) {\n"
                    "  %0 = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>)"
                    " permutation =\n  return\n}\n")
    proc = subprocess.run([opt_path, str(path)], capture_output=True, timeout=60)
    assert proc.returncode > 0, proc.returncode
