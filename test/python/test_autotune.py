"""strategy="auto" without a GPU: a fake backend stands in for the device
(inputs, results, timings), so the selection logic, the stored entries and
their robustness are tested here; candidates compile for real (+ ptxas)."""

import json
import multiprocessing
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import tessel
from tessel.api import gemm as gemm_op
from tessel.compiler import cache
from tessel.compiler.cuda import autotune as at
from tessel.compiler.cuda import gemm as recipe

S = tessel.Spec


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TESSEL_AUTOTUNE", raising=False)
    at.clear()
    yield
    at.clear()


class FakeBackend:
    """Results and timings per candidate label: `wrong` labels return
    garbage, `broken` ones raise, `times` (label -> seconds) else 1 s."""

    def __init__(self, times=None, wrong=(), broken=(), gpu="Fake H200"):
        self.times, self.wrong, self.broken, self.gpu = times or {}, set(wrong), set(broken), gpu
        self.timed = []

    def gpu_name(self):
        return self.gpu

    def inputs(self, sig):
        return {}

    def _label(self, kernel):
        return at.label(kernel.recipe.strategy, dict(kernel.recipe.config))

    def run(self, kernel, inputs):
        name = self._label(kernel)
        if name in self.broken:
            raise RuntimeError("launch failed")
        shape = kernel.signature.outputs[0].spec.shape
        return np.full([d or 1 for d in shape], 1e3 if name in self.wrong else 1.0, np.float32)

    def time(self, fn):
        # The timed callable closes over the candidate kernel.
        kernel = next(c.cell_contents for c in fn.__closure__
                      if hasattr(c.cell_contents, "recipe"))
        name = self._label(kernel)
        self.timed.append(name)
        return self.times.get(name, 1.0)


def sig_of(m=64, n=4096, k=4096, dtype="f16"):
    return gemm_op._def.signature(a=S((m, k), dtype), b=S((k, n), dtype))


def labels(sig):
    return [at.label(s, c) for s, c in recipe.candidates(sig)]


def test_candidates_are_few_table_first_and_split_for_skinny():
    skinny = recipe.candidates(sig_of(m=1))
    assert 8 <= len(skinny) <= recipe.MAX_CANDIDATES
    table = recipe.recipe(sig_of(m=1), {}, None)
    first = dict(table.config)
    if table.strategy in recipe.SPLIT_K_RUNGS:
        first.setdefault("split_k", 1)  # spelled out, so the label says it
    assert skinny[0] == (table.strategy, first)
    assert any(c.get("split_k", 1) > 1 for _, c in skinny)
    square = recipe.candidates(sig_of(m=4096))
    assert all(c.get("split_k", 1) == 1 for _, c in square)  # 1024 tiles fill the SMs
    f32 = recipe.candidates(sig_of(m=256, n=256, k=256, dtype="f32"))
    assert {s for s, _ in f32} == {"pipelined"}


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
@pytest.mark.parametrize("m,n,k,dtype", [(1, 4096, 4096, "f16"), (512, 14336, 4096, "bf16"),
                                         (300, 200, 1000, "f32")])
def test_candidate_lists_compile_without_spills(m, n, k, dtype, tmp_path):
    sig = sig_of(m, n, k, dtype)
    for strategy, config in recipe.candidates(sig):
        kernel = tessel.gemm.compile(S((m, k), dtype), S((k, n), dtype), target="cuda",
                                     strategy=strategy, config=config)
        for i, ptx in enumerate(kernel.ptx_modules.values()):
            (tmp_path / "k.ptx").write_text(ptx)
            proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(tmp_path / "k.ptx"), "-o",
                                   str(tmp_path / "k.cubin")], capture_output=True, text=True,
                                  timeout=300)
            assert proc.returncode == 0, (strategy, config, proc.stderr)
            assert "C7514" not in proc.stderr, (strategy, config, proc.stderr)  # serialized
            spills = [int(x) for x in re.findall(r"(\d+) bytes spill (?:stores|loads)",
                                                  proc.stderr)]
            assert spills and not any(spills), (strategy, config, proc.stderr)


def test_fastest_correct_candidate_wins_and_is_stored():
    sig = sig_of(m=1)
    names = labels(sig)
    fast_wrong, fast_broken, best = names[1], names[2], names[3]
    backend = FakeBackend(times={fast_wrong: 1e-6, fast_broken: 1e-6, best: 2e-6},
                          wrong=[fast_wrong], broken=[fast_broken])
    result = at.autotune(gemm_op._def, sig, {}, backend=backend)
    assert at.label(result.strategy, result.config) == best
    assert not result.cached
    dropped = dict(result.dropped)
    assert "wrong result" in dropped[fast_wrong] and "run: launch failed" in dropped[fast_broken]
    assert fast_wrong not in backend.timed and fast_broken not in backend.timed
    assert result.timings[0] == (best, 2e-6)
    entry = json.loads((cache.cache_dir() / f"{result.key}.json").read_text())
    assert entry["strategy"] == result.strategy and entry["config"] == result.config
    assert entry["gpu"] == "Fake H200" and entry["signature_class"] == recipe.tune_class(sig)
    for field in ("tessel", "mlir", "native", "format", "checksum"):
        assert field in entry
    # Another process (a fresh memo) reads it without timing.
    at.clear()
    again = FakeBackend()
    result2 = at.autotune(gemm_op._def, sig, {}, backend=again)
    assert result2.cached and again.timed == []
    assert at.resolve(gemm_op._def, sig, {"strategy": "auto"}, {}, backend=again) == \
        result.options


def test_a_config_that_does_not_compile_is_dropped(monkeypatch):
    sig = sig_of(m=1)
    bad = ("wgmma", dict(block_m=64, block_n=128, block_k=64, warpgroups=1, split_k=1000))
    monkeypatch.setattr(recipe, "candidates", lambda s: [bad])
    result = at.tune(gemm_op._def, sig, {}, FakeBackend())
    assert result.timings == [] and "compile" in result.dropped[0][1]
    assert "split-k (1000) exceeds the K tiles" in result.dropped[0][1]


def test_the_key_names_gpu_class_and_toolchain(monkeypatch):
    k = at.entry_key("NVIDIA H200", recipe.tune_class(sig_of(m=1)))
    assert k != at.entry_key("NVIDIA H100", recipe.tune_class(sig_of(m=1)))
    assert k != at.entry_key("NVIDIA H200", recipe.tune_class(sig_of(m=100)))
    # Same class: M up to the same power of two, N and K equal.
    assert recipe.tune_class(sig_of(m=33)) == recipe.tune_class(sig_of(m=64))
    assert recipe.tune_class(sig_of(m=64)) != recipe.tune_class(sig_of(m=64, n=14336))
    monkeypatch.setattr(cache, "native_fingerprint", lambda: "rebuilt")
    assert k != at.entry_key("NVIDIA H200", recipe.tune_class(sig_of(m=1)))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "checksum", "version"])
def test_a_damaged_entry_is_ignored_with_one_warning_and_retuned(damage):
    sig = sig_of(m=1)
    result = at.autotune(gemm_op._def, sig, {}, backend=FakeBackend())
    path = cache.cache_dir() / f"{result.key}.json"
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\xff\x00not json")
    elif damage == "checksum":
        won = json.loads(text)["strategy"]
        other = "mma" if won != "mma" else "wgmma"
        damaged = text.replace(f'"strategy": "{won}"', f'"strategy": "{other}"')
        assert damaged != text
        path.write_text(damaged)
    else:
        entry = json.loads(text)
        entry["format"] = at.FORMAT + 1
        cache.store(result.key, {k: v for k, v in entry.items() if k != "checksum"})
    at.clear()
    backend = FakeBackend()
    with pytest.warns(RuntimeWarning, match="ignoring the stored entry"):
        again = at.autotune(gemm_op._def, sig, {}, backend=backend)
    assert not again.cached and backend.timed
    assert json.loads(path.read_text())["format"] == at.FORMAT  # rewritten whole
    # Read back fine now; and a second damaged read in this process warns no more.
    at.clear()
    assert at.autotune(gemm_op._def, sig, {}, backend=FakeBackend()).cached


def test_autotune_off_means_the_table(monkeypatch):
    monkeypatch.setenv("TESSEL_AUTOTUNE", "0")
    backend = FakeBackend()
    assert at.resolve(gemm_op._def, sig_of(m=1), {"strategy": "auto"}, {}, backend=backend) == {}
    assert backend.timed == []


def test_auto_without_a_gpu_compiles_the_table(monkeypatch):
    monkeypatch.setattr(at, "default_backend", lambda: None)
    k = tessel.gemm.compile(S((1, 4096), "f16"), S((4096, 4096), "f16"), target="cuda",
                            strategy="auto")
    want = tessel.gemm.compile(S((1, 4096), "f16"), S((4096, 4096), "f16"), target="cuda")
    assert k.ptx == want.ptx


def test_auto_with_a_config_is_refused():
    with pytest.raises(ValueError, match="argument 'config': strategy='auto' chooses"):
        tessel.gemm.compile(S((1, 64), "f16"), S((64, 64), "f16"), target="cuda",
                            strategy="auto", config={"block_m": 64})


def test_progress_is_one_line_when_not_a_tty(capsys):
    import io

    out = io.StringIO()
    at.tune(gemm_op._def, sig_of(m=1), {}, FakeBackend(), stream=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tessel autotune: gemm 1x4096 f16 on Fake")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    at.tune(gemm_op._def, sig_of(m=1), {}, FakeBackend(), stream=tty)
    assert "\r" in tty.getvalue() and "[" in tty.getvalue()


def _write_entries(args):
    cache_dir, key, n, worker = args
    import os

    os.environ["TESSEL_CACHE_DIR"] = cache_dir
    from tessel.compiler import cache as c

    for i in range(n):
        c.store(key, dict(format=at.FORMAT, kind="autotune", strategy="wgmma",
                          config={"block_m": 64, "stages": 3 + (worker + i) % 3},
                          timings=[["x" * 2000, float(i)]] * 20, dropped=[]))
    return True


def test_concurrent_writers_never_leave_a_torn_entry():
    key = at.entry_key("Fake H200", "concurrent")
    ctx = multiprocessing.get_context("spawn")
    d = str(cache.cache_dir())
    # A torn file read while the others write would warn: here an error.
    with warnings.catch_warnings(), ctx.Pool(4) as pool:
        warnings.simplefilter("error")
        pending = pool.map_async(_write_entries, [(d, key, 50, w) for w in range(4)])
        while not pending.ready():
            at.read_entry(key, recipe.STRATEGIES)
        assert all(pending.get())
        entry = at.read_entry(key, recipe.STRATEGIES)
    assert entry is not None and entry["config"]["block_m"] == 64
    assert not list(cache.cache_dir().glob("*.tmp"))


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas not on PATH")
def test_serving_shapes_table_kernels_assemble_without_spills(tmp_path):
    """What the functional call compiles for the serving shapes (run-time M,
    the skinny classes' tiles and splits): every kernel through ptxas."""
    from tessel.bench.__main__ import SERVING_M, SERVING_NK
    from tessel.compiler.cuda import compile_cuda

    seen = set()
    for n, k in SERVING_NK:
        for m in SERVING_M:
            sig = sig_of(m, n, k)
            kernel = compile_cuda(gemm_op._def, sig, {}, generalize=True)
            if kernel.cache_key in seen:
                continue
            seen.add(kernel.cache_key)
            config = dict(kernel.recipe.config)
            if m <= 64 and n < 65536:
                assert config["block_m"] == 64, config
            if m <= 64 and n == 4096:  # 32 tiles: split-K where K is long enough
                assert (config.get("split_k", 1) > 1) == (k >= 14336), config
            for ptx in kernel.ptx_modules.values():
                (tmp_path / "k.ptx").write_text(ptx)
                proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(tmp_path / "k.ptx"),
                                       "-o", str(tmp_path / "k.cubin")], capture_output=True,
                                      text=True, timeout=300)
                assert proc.returncode == 0, (m, n, k, config, proc.stderr)
                assert "C7514" not in proc.stderr, (m, n, k, config, proc.stderr)
                spills = [int(x) for x in re.findall(r"(\d+) bytes spill (?:stores|loads)",
                                                      proc.stderr)]
                assert spills and not any(spills), (m, n, k, config, proc.stderr)
    assert len(seen) >= 8


def test_auto_is_for_gemm_and_autotune_needs_a_gpu(monkeypatch):
    with pytest.raises(ValueError,
                       match="'auto' applies to tessel.gemm, not tessel.flash_attention"):
        tessel.flash_attention.compile(S((1, 8, 128, 64), "f16"), S((1, 8, 128, 64), "f16"),
                                       S((1, 8, 128, 64), "f16"), target="cuda",
                                       strategy="auto")
    monkeypatch.setattr(at, "default_backend", lambda: None)
    with pytest.raises(RuntimeError, match="autotune needs a CUDA GPU"):
        tessel.autotune(tessel.gemm, S((16, 64), "f16"), S((64, 64), "f16"))
    with pytest.raises(ValueError, match="argument 'strategy': autotune chooses it"):
        tessel.autotune(tessel.gemm, S((16, 64), "f16"), S((64, 64), "f16"), strategy="mma")
    with pytest.raises(ValueError, match="autotune needs static sizes"):
        tessel.autotune(tessel.gemm, S((None, 64), "f16"), S((64, 64), "f16"))


def test_serving_table_picks_the_measured_tiles():
    """The skinny classes' picks that docs/benchmarks.md measured (H200,
    2026-12-02): wgmma_tma with the wave model's tile and split (the decode
    class's wide tiles: scripts/skinny_sweep.py), wgmma for
    the LM head's decode step."""
    def pick(m, n, k):
        r = recipe.recipe(sig_of(m, n, k), {}, None)
        c = dict(r.config)
        return r.strategy, c["block_m"], c["block_n"], c.get("split_k", 1)

    assert pick(256, 4096, 4096) == ("wgmma_tma", 64, 128, 1)     # 128 blocks, not 64
    assert pick(512, 4096, 4096) == ("wgmma_tma", 128, 128, 1)
    assert pick(512, 14336, 4096) == ("wgmma_tma", 128, 256, 1)
    # Decode steps stream the weights through 64 x 256 tiles, split where K
    # is long, unless too few blocks would be left (N = K = 4096).
    assert pick(1, 4096, 14336) == ("wgmma_tma", 64, 256, 4)
    assert pick(16, 14336, 4096) == ("wgmma_tma", 64, 256, 1)
    assert pick(16, 4096, 4096) == ("wgmma_tma", 64, 128, 1)
    assert pick(64, 4096, 14336) == ("wgmma_tma", 64, 128, 4)
    assert pick(256, 4096, 14336) == ("wgmma_tma", 128, 256, 4)
    assert pick(16, 128256, 4096)[0] == "wgmma"
    assert pick(64, 128256, 4096) == ("wgmma_tma", 64, 256, 1)
    # Rows TMA cannot load (not a multiple of 8 elements) stay on wgmma.
    assert recipe.recipe(sig_of(256, 4100, 4096), {}, None).strategy == "wgmma"


def test_large_table_walks_persistent_tiles_where_measured():
    """with_persistent (docs/benchmarks.md, H200, 2026-12-02): 4096^3 and
    K = 4096 products persistent on 128 x 256 tiles with 3 stages, 2048^3 on
    128 x 128 tiles with 5, and so are products with K beyond
    PERSISTENT_MAX_K over many waves (8192^3, the power-limited steady
    state); split or 64-row skinny tiles not."""
    def cfg(m, n, k):
        return dict(recipe.recipe(sig_of(m, n, k), {}, None).config)

    big = cfg(4096, 4096, 4096)
    assert (big["block_n"], big["stages"], big["persistent"]) == (256, 3, recipe.SMS)
    small = cfg(2048, 2048, 2048)
    assert (small["block_n"], small["stages"], small["persistent"]) == (128, 5, recipe.SMS)
    huge = cfg(8192, 8192, 8192)
    assert (huge["block_n"], huge["stages"], huge["persistent"]) == (128, 5, recipe.SMS)
    assert cfg(512, 14336, 4096)["persistent"] == recipe.SMS
    assert "persistent" not in cfg(256, 4096, 14336)  # split in 4
    assert "persistent" not in cfg(64, 4096, 4096)    # 64-row tiles
    # A run-time M of the large class: one choice for the class, by K.
    big_m = recipe.with_persistent(dict(block_m=128, block_n=256, stages=3), None, 4096, 4096,
                                   "bf16")
    assert big_m["persistent"] == recipe.SMS and big_m["block_n"] == 256
    deep_k = recipe.with_persistent(dict(block_m=128, block_n=256, stages=3), None, 4096, 8192,
                                    "bf16")
    assert (deep_k["block_n"], deep_k["stages"], deep_k["persistent"]) == (128, 5, recipe.SMS)
    assert "persistent" not in recipe.with_persistent(dict(block_m=128, block_n=256, stages=3),
                                                      4096, 4096, 4096, "f32")
    # A config of the caller's own is taken as given.
    r = recipe.recipe(sig_of(4096, 4096, 4096), dict(config=dict(stages=4)), None)
    assert "persistent" not in dict(r.config)
