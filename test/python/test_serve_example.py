"""examples/serve.py end to end with tiny sizes: prefill, fork, copy-on-write,
decode, every step's logits against the dense reference."""

import importlib.util
import sys
from pathlib import Path

import pytest

SERVE = Path(__file__).resolve().parents[2] / "examples" / "serve.py"


def load_serve():
    spec = importlib.util.spec_from_file_location("tessel_serve_example", SERVE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_serve_cpu(dtype, capsys):
    serve = load_serve()
    result = serve.main(["--layers", "1", "--prompts", "2", "--samples", "3", "--steps", "3",
                         "--min-prompt", "9", "--block-size", "8", "--dtype", dtype,
                         "--reference", "numpy"])
    assert result["max_error"] <= result["tolerance"]
    assert len(result["errors"]) == 1 + 3  # prefill + each decode step
    calls = {name: n for (_, name), n in result["op_calls"].items()}
    # one copy_blocks per layer in the first decode step: the samples share
    # each prompt's partially filled last block
    assert {"gemm", "flash_attention_varlen", "paged_kv_write", "paged_attention",
            "copy_blocks"} <= set(calls)
    # one packed call per layer for all prompts
    assert result["op_calls"][("prefill", "flash_attention_varlen")] == 1
    assert result["op_calls"][("decode 1", "copy_blocks")] == 1
    assert ("decode", "copy_blocks") not in result["op_calls"]
    assert all(len(t) == 4 for t in result["tokens"])  # first token + 3 decode steps
    # different samples of one prompt draw different tokens (seeded per sample)
    assert len({tuple(t) for t in result["tokens"][:3]}) > 1
    out = capsys.readouterr().out
    assert "tokens/s" in out and "paged_attention" in out and "OK: max |logits error|" in out


def test_serve_fails_loudly_on_a_wrong_result():
    serve = load_serve()
    with pytest.raises(SystemExit, match="exceeds"):
        serve.main(["--quiet", "--layers", "1", "--prompts", "1", "--samples", "2", "--steps", "1",
                    "--min-prompt", "9", "--block-size", "8", "--tol", "0", "--reference", "numpy"])


@pytest.mark.gpu
def test_serve_cuda():
    pytest.importorskip("torch")
    serve = load_serve()
    try:
        result = serve.main(["--quiet", "--device", "cuda", "--dtype", "bf16", "--prompts", "3",
                             "--samples", "2", "--steps", "4"])
    except NotImplementedError as e:
        pytest.skip(f"an op has no CUDA lowering yet: {e}")
    assert result["max_error"] <= result["tolerance"]
