"""The in-project fuzzer (scripts/fuzz.py): a fixed seed in CI, which fails on
any crash or hang that is not listed in test/fuzz/known.json, and checks of
the isolation and classification it relies on."""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "scripts" / "fuzz.py"
CI_SEED, CI_IR_CASES, CI_API_CASES = 12, 800, 300


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("tessel_fuzz", FUZZ)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixed_seed_finds_no_crash_or_hang(opt_path, tmp_path):
    out = tmp_path / "report.json"
    env = dict(os.environ, TESSEL_OPT=opt_path)
    proc = subprocess.run(
        [sys.executable, str(FUZZ), "--seed", str(CI_SEED), "--ir-cases", str(CI_IR_CASES),
         "--api-cases", str(CI_API_CASES), "--jobs", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=900, env=env)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    failures = [f"{f['outcome']} {f['id']} ({f.get('signature') or f.get('signal', '')}): "
                f"replay with scripts/fuzz.py --replay {f['id']}"
                for f in report["findings"]
                if f["outcome"] in ("crash", "hang") and "known" not in f]
    assert not failures and proc.returncode == 0, "\n".join(failures) or proc.stderr[-3000:]
    for mode, cases in (("ir", CI_IR_CASES), ("api", CI_API_CASES)):
        counts = report[mode]
        assert counts["cases"] == cases
        # A fuzzer whose inputs are all rejected (or all accepted) tests little.
        assert counts.get("accepted", 0) > cases // 10 and counts.get("error", 0) > cases // 4, counts


def test_cases_are_reproducible(fuzz):
    corpus = fuzz.load_corpus()
    assert len(corpus) > 40
    assert fuzz.gen_ir_case(3, 17, corpus) == fuzz.gen_ir_case(3, 17, corpus)
    assert fuzz.gen_api_case(3, 17, corpus) == fuzz.gen_api_case(3, 17, corpus)
    assert fuzz.gen_ir_case(3, 17, corpus) != fuzz.gen_ir_case(3, 18, corpus)


KNOWN = json.loads((ROOT / "test" / "fuzz" / "known.json").read_text())


@pytest.mark.parametrize("entry", [k for k in KNOWN if "reproducer" in k], ids=lambda k: k["id"])
def test_known_reproducers_are_classified_as_known(fuzz, opt_path, tmp_path, entry):
    """Each known.json entry matches its own minimal reproducer (issue 12.5:
    the linalg.transpose parser abort is upstream MLIR's, counted as known,
    not as a tessel crash). Once a reproducer stops crashing, its entry (and
    its note in docs/architecture.md) can go."""
    rep = entry["reproducer"]
    res = fuzz.run_tessel_opt(opt_path, rep["input"], rep["args"], 60, str(tmp_path))
    report = fuzz.Report(KNOWN)
    finding = report.add({"mode": "ir", "id": "ir:x:0", "args": rep["args"],
                          "input": rep["input"]}, res)
    if res["outcome"] in ("crash", "hang"):
        assert finding.get("known") == entry["id"], finding.get("signature")
        assert not report.failures
    else:
        pytest.xfail(f"{entry['id']} no longer reproduces ({res['outcome']}): drop the entry")


def test_ir_outcomes(fuzz, opt_path, tmp_path):
    run = lambda text, args=(): fuzz.run_tessel_opt(opt_path, text, list(args), 60, str(tmp_path))  # noqa: E731
    assert run("func.func @f() { return }")["outcome"] == "accepted"
    assert run("func.func @f( {")["outcome"] == "error"
    # The harness around any binary: /bin/sh runs the "input" as a script.
    hang = fuzz.run_tessel_opt("/bin/sh", "sleep 30", [], 1, str(tmp_path))
    assert hang["outcome"] == "hang"
    crash = fuzz.run_tessel_opt("/bin/sh", "kill -SEGV $$", [], 10, str(tmp_path))
    assert crash["outcome"] == "crash" and crash["signal"] == "SIGSEGV"


def test_worker_isolates_crashes_and_hangs(fuzz):
    with tempfile.TemporaryDirectory() as workdir:
        w = fuzz.Worker(dict(os.environ), workdir)
        try:
            ok = w.run({"id": "t:0", "code": "Spec((2, 3), 'f16').mlir"}, 60)
            assert ok["outcome"] == "accepted"
            err = w.run({"id": "t:1", "code": "Spec((-1,), 'f16')"}, 60)
            assert err["outcome"] == "error" and err["clean"] and "negative" in err["exception"]
            unclean = w.run({"id": "t:2", "code": "1 / 0"}, 60)
            assert unclean["outcome"] == "error" and not unclean["clean"]
            crash = w.run({"id": "t:3", "code": "import os; os.abort()"}, 60)
            assert crash["outcome"] == "crash" and crash["signal"] == "SIGABRT"
        finally:
            w.close()
        w = fuzz.Worker(dict(os.environ), workdir)
        try:
            hang = w.run({"id": "t:4", "code": "import time; time.sleep(60)"}, 2)
            assert hang["outcome"] == "hang" and not w.alive
        finally:
            w.close()
