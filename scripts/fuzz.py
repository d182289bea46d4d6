#!/usr/bin/env python3
"""Tessel's fuzzer: hostile inputs through tessel-opt and the Python API.

Two modes; every case is isolated, so that a crash is attributed to it:

- IR cases: structure-aware mutations (shapes, element types, ranks, forms,
  attributes, op names, SSA names, tokens, lines, splices) of the lit inputs
  (test/**/*.mlir, examples/ops.mlir), run through tessel-opt with one of
  the project's pipelines (or pass options of convert-tessel-to-gpu), one
  subprocess per case with a timeout.
- API cases: randomized Python calls (tiny arrays on target="cpu"; Specs,
  huge or not, through `.compile` on "cpu" and on "cuda", which builds PTX
  without a GPU; `tessel.parse` of mutated IR). A long-lived worker
  subprocess runs them one by one and reports each over a pipe; a worker
  that dies or overruns the per-case timeout is recorded as a crash or hang
  of that case and replaced.

Outcomes: crash (a signal, or a fatal LLVM error), hang (timeout), error (a
diagnostic / a clean exception: ValueError, TypeError, NotImplementedError,
MLIRError, CudaError), accepted. API errors of other exception types are
also counted as 'unclean' (a message from Python internals). Crashes that
match test/fuzz/known.json (known upstream MLIR bugs, and open issues owned
elsewhere) are reported as 'known' and do not fail the run.

Each case is generated from (mode, seed, index) alone:
`--replay ir:SEED:INDEX` re-runs one case and prints its input.

    scripts/fuzz.py --seed 1 --ir-cases 300 --api-cases 100      # CI: test/python/test_fuzz.py
    scripts/fuzz.py --seed $RANDOM --ir-cases 200000 --api-cases 40000 \\
        --out fuzz.json --save-dir fuzz-findings                  # hours
    scripts/fuzz.py --replay api:1:57

tessel-opt is $TESSEL_OPT, else the installed one; the API cases import the
`tessel` that this Python finds (PYTHONPATH=build/dev/python_packages for a
build tree). Exit status: 1 when any crash or hang is not a known one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import queue
import random
import re
import resource
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KNOWN_FILE = ROOT / "test" / "fuzz" / "known.json"
CLEAN_EXCEPTIONS = ("ValueError", "TypeError", "NotImplementedError", "MLIRError", "CudaError")
# Stack frames of the GPU lowering (lib/Conversion/TesselToGPU, lib/GPU): findings
# there belong to its owner.
# The NVVM conversion is where kernels' 32-bit index math overflows on shapes
# the GPU lowering let through.
GPU_FRAMES = re.compile(r"TesselGemmToGPU|GemmSimt|GemmMma|GemmWgmma|GemmTiles|KernelBuilder|"
                        r"MmaSync|SmemLayout|TileCopy|lib/GPU/|TesselToGPU|GpuOpsToNVVM|"
                        r"GPUToNVVM|NVVMTarget|SerializeToPTX|NVPTX")
GPU_PY = re.compile(r"tessel/(compiler/cuda\.py|compiler/cache\.py|runtime/)")
MEMORY_LIMIT = 6 << 30  # bytes of address space per tessel-opt case


def tessel_opt() -> str:
    """$TESSEL_OPT, else the installed tessel's binary (found without importing tessel)."""
    if os.environ.get("TESSEL_OPT"):
        return os.environ["TESSEL_OPT"]
    spec = importlib.util.find_spec("tessel")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("fuzz.py: tessel-opt not found: set TESSEL_OPT or install tessel")
    return str(Path(list(spec.submodule_search_locations)[0]) / "_bin" / "tessel-opt")


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    os.setsid()


# ---------------------------------------------------------------------------
# The corpus: lit inputs split like -split-input-file, with their RUN options.
# ---------------------------------------------------------------------------

def load_corpus() -> list[dict]:
    files = sorted(p for p in (ROOT / "test").rglob("*.mlir")
                   if "Output" not in p.parts and "fuzz" not in p.parts)
    files.append(ROOT / "examples" / "ops.mlir")
    chunks = []
    for path in files:
        text = path.read_text()
        runs = []
        for line in text.splitlines():
            m = re.match(r"\s*// RUN:\s*(?:%not\s+)?tessel-opt\s+%s\s*(.*)", line)
            if not m:
                continue
            cmd = re.split(r"\s\|\s|\s2>&1", m.group(1))[0]
            try:
                args = [a for a in shlex.split(cmd) if a not in ("-verify-diagnostics",
                                                                 "-split-input-file")]
            except ValueError:
                continue
            runs.append(args)
        for i, chunk in enumerate(re.split(r"(?m)^// -----\s*$", text)):
            if "tessel." in chunk or "func.func" in chunk:
                chunks.append({"file": str(path.relative_to(ROOT)), "chunk": i, "text": chunk,
                               "runs": runs})
    return chunks


# ---------------------------------------------------------------------------
# IR mutations. Each takes (rng, text, corpus) and returns new text or None.
# ---------------------------------------------------------------------------

INTERESTING_DIMS = [0, 1, 2, 3, 4, 7, 8, 9, 12, 15, 16, 17, 20, 24, 31, 32, 33, 63, 64, 65, 96,
                    127, 128, 129, 255, 256, 257, 264, 1023, 1024, 4096, 65535, 65536,
                    2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**40, 2**53 + 1, 2**61,
                    2**62, 2**63 - 1]
ODD_DIMS = ["?", "2**63", "18446744073709551616", "-1", "00", "0x10", "1e3", ""]
ELEMENT_TYPES = ["f16", "bf16", "f32", "f64", "f8E4M3FN", "i1", "i8", "i32", "i64", "index",
                 "complex<f32>", "vector<4xf32>", "tf32", "ui32", "none", "!llvm.ptr"]
TESSEL_OPS = ["tessel.gemm", "tessel.flash_attention", "tessel.paged_attention",
              "tessel.paged_kv_write", "tessel.copy_blocks"]
OTHER_OPS = ["linalg.transpose", "linalg.matmul", "linalg.fill", "tensor.empty", "func.call",
             "bufferization.materialize_in_destination", "tessel.bogus", "memref.copy"]
ATTR_VALUES = ["0x7F800000", "0xFF800000", "0x7FC00000", "1e39", "-1.0", "0.0", "-0.0",
               "3.4e38", "1.0e-45", "1", "2.0", "0x00000001", "1.7976931348623157e308"]
ATTR_TYPES = ["f32", "f64", "f16", "i32", "index", "bf16"]
ATTR_INSERTS = ["alpha = {v} : {t}", "beta = {v} : {t}", "scale = {v} : {t}", "transpose_a",
                "transpose_b", "causal", "transpose_a = 3 : i64", "alpha = \"x\"",
                "scale", "causal = false", "operandSegmentSizes = array<i32: 1, 1, 0, 1>",
                "permutation = [1, 0]"]


def type_spans(text: str) -> list[tuple[int, int, str, list[str], str]]:
    """(start, end, kind, dims, rest) of each tensor/memref/vector type:
    `kind<dims x ... x rest>`; rest is the element type (and layout)."""
    spans = []
    for m in re.finditer(r"\b(tensor|memref|vector)<", text):
        i, depth = m.end(), 1
        while i < len(text) and depth:
            c = text[i]
            if c == "<":
                depth += 1
            elif c == ">" and text[i - 1] != "-":
                depth -= 1
            elif c == "\n":
                break
            i += 1
        if depth:
            continue
        body = text[m.end():i - 1]
        dm = re.match(r"((?:(?:\d+|\?)x)*)", body)
        dims = [d for d in dm.group(1).split("x") if d]
        spans.append((m.start(), i, m.group(1), dims, body[dm.end():]))
    return spans


def render_type(kind: str, dims: list[str], rest: str) -> str:
    return f"{kind}<{''.join(d + 'x' for d in dims)}{rest}>"


def replace_spans(text: str, spans, new: dict) -> str:
    out, last = [], 0
    for idx, (s, e, *_rest) in enumerate(spans):
        if idx in new:
            out.append(text[last:s])
            out.append(new[idx])
            last = e
    out.append(text[last:])
    return "".join(out)


def pick_dim(rng: random.Random, old: str) -> str:
    r = rng.random()
    if r < 0.55:
        return str(rng.choice(INTERESTING_DIMS))
    if r < 0.8 and old.isdigit():
        v = int(old)
        return str(max(0, rng.choice([v - 1, v + 1, v * 2, v // 2, v * 8, v * 2**20])))
    if r < 0.9:
        return str(rng.randint(0, 300))
    return rng.choice(ODD_DIMS)


def m_dim(rng, text, corpus):
    spans = type_spans(text)
    cands = [(i, j) for i, sp in enumerate(spans) for j in range(len(sp[3]))]
    if not cands:
        return None
    i, j = rng.choice(cands)
    old = spans[i][3][j]
    new_val = pick_dim(rng, old)
    coherent = rng.random() < 0.6
    new = {}
    for k, (s, e, kind, dims, rest) in enumerate(spans):
        if k == i or (coherent and old in dims):
            nd = [new_val if (d == old and (coherent or (k == i and n == j))) else d
                  for n, d in enumerate(dims)]
            new[k] = render_type(kind, nd, rest)
    return replace_spans(text, spans, new)


def m_rank(rng, text, corpus):
    spans = type_spans(text)
    if not spans:
        return None
    i = rng.randrange(len(spans))
    s, e, kind, dims, rest = spans[i]
    coherent = rng.random() < 0.5
    if dims and rng.random() < 0.5:
        j = rng.randrange(len(dims))
        op = lambda d: d[:j] + d[j + 1:]  # noqa: E731
    else:
        j = rng.randint(0, len(dims))
        v = pick_dim(rng, "1")
        op = lambda d: d[:j] + [v] + d[j:]  # noqa: E731
    new = {k: render_type(sp[2], op(sp[3]), sp[4]) for k, sp in enumerate(spans)
           if k == i or (coherent and sp[3] == dims and sp[4] == rest)}
    return replace_spans(text, spans, new)


def m_element(rng, text, corpus):
    spans = type_spans(text)
    if not spans:
        return None
    i = rng.randrange(len(spans))
    s, e, kind, dims, rest = spans[i]
    elt = re.match(r"[\w<>.!]+?(?=,|$)", rest)
    old = elt.group(0) if elt else rest
    t = rng.choice(ELEMENT_TYPES)
    coherent = rng.random() < 0.5
    new = {k: render_type(sp[2], sp[3], sp[4].replace(old, t, 1)) for k, sp in enumerate(spans)
           if k == i or (coherent and sp[4].startswith(old))}
    return replace_spans(text, spans, new)


def m_form(rng, text, corpus):
    spans = [sp for sp in type_spans(text) if sp[2] in ("tensor", "memref")]
    if not spans:
        return None
    if rng.random() < 0.5:
        a, b = ("tensor<", "memref<") if rng.random() < 0.5 else ("memref<", "tensor<")
        return text.replace(a, b)
    s, e, kind, dims, rest = rng.choice(spans)
    other = "memref" if kind == "tensor" else "tensor"
    if rng.random() < 0.3 and other == "memref":
        rest = rest + rng.choice([", strided<[?, 1], offset: ?>", ", strided<[4611686018427387904, 1]>",
                                  ", affine_map<(d0, d1) -> (d1, d0)>", ", 3"])
    return text[:s] + render_type(other, dims, rest) + text[e:]


def m_attr(rng, text, corpus):
    attrs = list(re.finditer(r"\b(alpha|beta|scale)\s*=\s*([^\s,}]+)\s*:\s*(\w+)", text))
    if attrs and rng.random() < 0.6:
        m = rng.choice(attrs)
        v = rng.choice(ATTR_VALUES) if rng.random() < 0.8 else m.group(2)
        t = rng.choice(ATTR_TYPES) if rng.random() < 0.3 else m.group(3)
        return text[:m.start()] + f"{m.group(1)} = {v} : {t}" + text[m.end():]
    sites = list(re.finditer(r"into\s+%[\w#]+(?:\s*,\s*%[\w#]+)*", text))
    if not sites:
        return None
    m = rng.choice(sites)
    attr = rng.choice(ATTR_INSERTS).format(v=rng.choice(ATTR_VALUES), t=rng.choice(ATTR_TYPES))
    after = text[m.end():]
    if after.lstrip().startswith("{"):
        k = m.end() + after.index("{") + 1
        return text[:k] + attr + ", " + text[k:]
    return text[:m.end()] + " {" + attr + "}" + text[m.end():]


def m_opname(rng, text, corpus):
    ops = list(re.finditer(r"\b(tessel|linalg|tensor|bufferization|func)\.\w+", text))
    if not ops:
        return None
    m = rng.choice(ops)
    new = rng.choice(TESSEL_OPS if rng.random() < 0.7 else OTHER_OPS)
    return text[:m.start()] + new + text[m.end():]


def m_ssa(rng, text, corpus):
    names = list(re.finditer(r"%[\w]+(?:#\d+)?", text))
    if len(names) < 2:
        return None
    m, other = rng.choice(names), rng.choice(names)
    return text[:m.start()] + other.group(0) + text[m.end():]


def m_int(rng, text, corpus):
    ints = list(re.finditer(r"(?<![\w.%#])\d+(?![\w.])", text))
    if not ints:
        return None
    m = rng.choice(ints)
    return text[:m.start()] + pick_dim(rng, m.group(0)) + text[m.end():]


TOKEN_RE = re.compile(r"%[\w#]+|@\w+|\^\w+|#\w+|!\w+|\w+(?:\.\w+)*|\"[^\"\n]*\"|->|\S")


def m_token(rng, text, corpus):
    toks = list(TOKEN_RE.finditer(text))
    if not toks:
        return None
    m = rng.choice(toks)
    r = rng.random()
    if r < 0.4:  # delete
        return text[:m.start()] + text[m.end():]
    if r < 0.6:  # duplicate
        return text[:m.end()] + " " + m.group(0) + text[m.end():]
    if r < 0.8:  # replace by another token
        return text[:m.start()] + rng.choice(toks).group(0) + text[m.end():]
    junk = rng.choice(list("()[]{}<>:,=%@#^!?x-*\"") + ["->", "into", "ins", "outs", "\x00",
                                                          "\u00e9", "permutation ="])
    return text[:m.start()] + junk + text[m.start():]


def m_line(rng, text, corpus):
    lines = text.split("\n")
    if len(lines) < 2:
        return None
    i = rng.randrange(len(lines))
    r = rng.random()
    if r < 0.4:
        del lines[i]
    elif r < 0.6:
        lines.insert(i, lines[i])
    elif r < 0.8:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i] = lines[i][: rng.randint(0, len(lines[i]))]
    return "\n".join(lines)


def m_truncate(rng, text, corpus):
    return text[: rng.randint(0, len(text))] if text else None


def m_splice(rng, text, corpus):
    other = rng.choice(corpus)["text"].split("\n")
    a = rng.randrange(len(other))
    piece = other[a:a + rng.randint(1, 6)]
    lines = text.split("\n")
    i = rng.randint(0, len(lines))
    return "\n".join(lines[:i] + piece + lines[i:])


MUTATORS = [(m_dim, 6), (m_rank, 2), (m_element, 2), (m_form, 1), (m_attr, 2), (m_opname, 1),
            (m_ssa, 1), (m_int, 2), (m_token, 2), (m_line, 2), (m_truncate, 0.5),
            (m_splice, 1)]

GPU_OPTIONS = ["block-m", "block-n", "block-k", "warps-m", "warps-n", "stages", "group-m",
               "thread-m", "thread-n", "warpgroups"]
STRATEGIES = ["naive", "smem", "regtile", "pipelined", "mma", "wgmma"]
OPTION_VALUES = [0, 1, 2, 3, 4, 6, 8, 16, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 4096,
                 65536, 2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, -1, -2**63]


# The options each rung reads (others are rejected or ignored).
RUNG_OPTIONS = {"naive": ["block-m", "block-n"],
                "smem": ["block-m", "block-n", "block-k"],
                "regtile": ["block-m", "block-n", "block-k", "thread-m", "thread-n"],
                "pipelined": ["block-m", "block-n", "block-k", "thread-m", "thread-n"],
                "mma": ["block-m", "block-n", "block-k", "warps-m", "warps-n", "stages", "group-m"],
                "wgmma": ["block-m", "block-n", "block-k", "stages", "group-m", "warpgroups"]}
SANE_OPTION_VALUES = [1, 2, 4, 8, 16, 32, 64, 128, 256]


def gpu_options(rng: random.Random, mutate: bool) -> str:
    strategy = rng.choice(STRATEGIES) if rng.random() < 0.95 else rng.choice(["fast", ""])
    opts = [f"strategy={strategy}"]
    if mutate:
        names = RUNG_OPTIONS.get(strategy, GPU_OPTIONS) if rng.random() < 0.8 else GPU_OPTIONS
        for name in rng.sample(names, rng.randint(1, min(3, len(names)))):
            values = OPTION_VALUES if rng.random() < 0.5 else SANE_OPTION_VALUES
            opts.append(f"{name}={rng.choice(values)}")
    return " ".join(opts)


def pick_pipeline(rng: random.Random, chunk: dict) -> list[str]:
    r = rng.random()
    if r < 0.15 and chunk["runs"]:
        return list(rng.choice(chunk["runs"]))
    fixed = [
        [], ["--mlir-print-op-generic"], ["--canonicalize"], ["--tessel-bufferize"],
        ["--convert-tessel-to-linalg"], ["--tessel-bufferize", "--convert-tessel-to-linalg"],
        ["--tessel-bufferize", "--tessel-cpu-lower"], ["--tessel-cpu-pipeline"],
        ["--tessel-bufferize", "--tessel-cpu-lower", "--tessel-cpu-to-llvm"],
        ["--canonicalize", "--tessel-cpu-pipeline"],
        ["--one-shot-bufferize=bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map"],
        ["--tessel-bufferize", "--tessel-gpu-lower"],
    ]
    if r < 0.7:
        return list(rng.choice(fixed))
    if r < 0.97:
        # The GPU lowering, with the strategy's defaults or mutated tile options.
        opts = gpu_options(rng, mutate=rng.random() < 0.5)
        return ["--tessel-bufferize", f"--convert-tessel-to-gpu={opts}"]
    # What tessel.gemm.compile(target="cuda") runs, down to PTX (slow: rare).
    return [gpu_binary_pipeline(gpu_options(rng, mutate=rng.random() < 0.3))]


def gpu_binary_pipeline(opts: str) -> str:
    """The stages of compiler/cuda.py, from the tensor form to PTX."""
    return ("--pass-pipeline=builtin.module(tessel-bufferize,convert-tessel-to-gpu{" + opts + "},"
            "gpu-kernel-outlining,canonicalize,tessel-gpu-to-nvvm,"
            "nvvm-attach-target{chip=sm_90a features=+ptx80 O=3},"
            "gpu-module-to-binary{format=isa})")


def mutate_ir(rng: random.Random, text: str, corpus: list[dict], count: int) -> tuple[str, list]:
    fns, weights = zip(*MUTATORS)
    applied = []
    for _ in range(count * 4):
        if len(applied) == count:
            break
        fn = rng.choices(fns, weights)[0]
        out = fn(rng, text, corpus)
        if out is not None and out != text:
            text = out
            applied.append(fn.__name__[2:])
    return text, applied


def gen_ir_case(seed: int, index: int, corpus: list[dict]) -> dict:
    rng = random.Random(f"ir:{seed}:{index}")
    if rng.random() < 0.25:
        # The GPU lowering's options on inputs it accepts: a valid gemm, few
        # mutations (else the verifiers stop most cases before the pass).
        gemms = [c for c in corpus if "tessel.gemm" in c["text"] and "invalid" not in c["file"]]
        chunk = rng.choice(gemms)
        count = rng.choice([0, 0, 1, 1, 2])
        text, applied = mutate_ir(rng, chunk["text"], corpus, count)
        opts = gpu_options(rng, mutate=rng.random() < 0.8)
        if rng.random() < 0.9:
            args = ["--tessel-bufferize", f"--convert-tessel-to-gpu={opts}"]
        else:
            args = [gpu_binary_pipeline(opts)]
    else:
        # Valid inputs reach the passes; the -verify-diagnostics files mostly the verifiers.
        chunk = rng.choices(corpus, [1 if "invalid" in c["file"] else 4 for c in corpus])[0]
        r = rng.random()
        count = 0 if r < 0.05 else 1 if r < 0.45 else 2 if r < 0.75 else rng.randint(3, 6)
        text, applied = mutate_ir(rng, chunk["text"], corpus, count)
        args = pick_pipeline(rng, chunk)
    return {"mode": "ir", "id": f"ir:{seed}:{index}", "source": f"{chunk['file']}#{chunk['chunk']}",
            "mutations": applied, "args": args, "input": text}


# ---------------------------------------------------------------------------
# Running IR cases and classifying outcomes.
# ---------------------------------------------------------------------------

def crash_signature(stderr: str) -> str:
    """The assertion / fatal message, else the first stack frame past the signal
    handler: what identifies 'the same crash' across inputs."""
    for line in stderr.splitlines():
        m = re.search(r"Assertion `.*' failed|LLVM ERROR: .*|UNREACHABLE executed.*", line)
        if m:
            return m.group(0)[:300]
    for line in stderr.splitlines():
        m = re.match(r"\s*#\d+ 0x[0-9a-f]+ (.*)", line)
        if m and not re.search(r"PrintStackTrace|SignalHandler|libc\.so|abort|__assert|raise|"
                               r"pthread_kill|gsignal|CrashRecovery|Signals\.cpp", m.group(1)):
            return re.sub(r"\s*\(/.*|\s+\S+\.cpp:\d+:\d+$", "", m.group(1))[:300]
    return ""


def known_match(known: list[dict], finding: dict) -> dict | None:
    """The entry of test/fuzz/known.json this crash or hang is: every regex of
    its "match" is found in the finding's field and none of "unless"."""
    fields = {"stderr": finding.get("stderr", ""), "args": " ".join(finding.get("args", [])),
              "code": finding.get("code", ""), "input": finding.get("input", ""),
              "exception": finding.get("exception", "")}
    for k in known:
        if finding["mode"] not in k.get("modes", ["ir", "api"]):
            continue
        if k.get("outcome", finding["outcome"]) != finding["outcome"]:
            continue
        if all(re.search(rx, fields[f], re.S) for f, rxs in k["match"].items() for rx in rxs) \
                and not any(re.search(rx, fields[f], re.S)
                            for f, rxs in k.get("unless", {}).items() for rx in rxs):
            return k
    return None


def clip(text: str) -> str:
    """Head and tail of a crash's stderr: the message and the innermost frames
    come first, the command line and the pass stack last."""
    return text if len(text) <= 12000 else text[:9000] + "\n[...]\n" + text[-3000:]


HUGE_GPU_OPTION = re.compile(r"convert-tessel-to-gpu.*[= ]-?\d{10,}")


def area_of(finding: dict) -> str:
    """'gpu-lowering' for findings of the GPU path: stack frames of the GPU
    lowering or of the NVVM conversion its kernels go through, tile options
    too large for it, a CUDA compile that crashed past bufferization, or an
    exception from the Python CUDA path (compiler/cuda.py, runtime/);
    'tessel' otherwise."""
    stderr = finding.get("stderr", "")
    if GPU_FRAMES.search(stderr) or GPU_PY.search(finding.get("where", "")):
        return "gpu-lowering"
    if finding["mode"] == "api" and GPU_PY.search(stderr):  # faulthandler's Python stack
        return "gpu-lowering"
    if finding["mode"] == "ir" and HUGE_GPU_OPTION.search(" ".join(finding.get("args", []))):
        return "gpu-lowering"
    if finding["mode"] == "api" and "target='cuda'" in finding.get("code", "") and \
            "OpToOpPassAdaptor" in stderr and not re.search(r"Bufferiz|TesselCheckTypes", stderr):
        return "gpu-lowering"
    return "tessel"


def run_tessel_opt(opt: str, text: str, args: list[str], timeout: float, workdir: str) -> dict:
    fd, path = tempfile.mkstemp(suffix=".mlir", dir=workdir)
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode("utf-8", "surrogateescape"))
    t0 = time.monotonic()
    proc = subprocess.Popen([opt, path, *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=_limit_memory)
    try:
        _, err = proc.communicate(timeout=timeout)
        outcome = None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        outcome = "hang"
    finally:
        os.unlink(path)
    stderr = err.decode("utf-8", "replace")
    rc = proc.returncode
    res = {"seconds": round(time.monotonic() - t0, 3), "returncode": rc}
    if outcome == "hang":
        res["outcome"] = "hang"
    elif rc < 0 or "LLVM ERROR:" in stderr or "PLEASE submit a bug report" in stderr:
        res["outcome"] = "crash"
        res["signal"] = signal.Signals(-rc).name if rc < 0 and -rc in signal.valid_signals() \
            else f"exit {rc}"
    elif rc > 0:
        res["outcome"] = "error"
    else:
        res["outcome"] = "accepted"
    if res["outcome"] in ("crash", "hang"):
        res["stderr"] = clip(stderr)
        res["signature"] = crash_signature(stderr)
    return res


def minimize_ir(opt: str, case: dict, result: dict, timeout: float, workdir: str,
                budget: int = 400) -> str:
    """Greedy line then token deletion keeping the same outcome and signature."""
    want = (result["outcome"], result.get("signature", ""))

    def same(text):
        r = run_tessel_opt(opt, text, case["args"], timeout, workdir)
        return (r["outcome"], r.get("signature", "")) == want

    text, runs = case["input"], 0
    for splitter, joiner in ((lambda t: t.split("\n"), "\n"),
                             (lambda t: [m.group(0) for m in re.finditer(r"\s+|\S+", t)], "")):
        parts = splitter(text)
        chunk = max(1, len(parts) // 2)
        while chunk >= 1 and runs < budget:
            i, changed = 0, False
            while i < len(parts) and runs < budget:
                trial = parts[:i] + parts[i + chunk:]
                runs += 1
                if trial and same(joiner.join(trial)):
                    parts, changed = trial, True
                else:
                    i += chunk
            if not changed:
                chunk //= 2
        text = joiner.join(parts)
    return text


# ---------------------------------------------------------------------------
# API cases: Python code strings run by a worker.
# ---------------------------------------------------------------------------

FLOATS = ["'f16'", "'bf16'", "'f32'"]
ODD_DTYPES = ["'f64'", "'i32'", "'i64'", "'int8'", "'bool'", "'complex64'", "'nonsense'", "5",
              "None", "np.float16", "bf16", "np.dtype('f4')", "'float'", "'half'", "object",
              "'U4'", "[('x', 'f4')]"]
WEIRD_DIMS = ["0", "1", "-1", "2**31 - 1", "2**31", "2**32", "2**40", "2**62", "2**63 - 1",
              "2**63", "2**64", "1.5", "True", "None", "np.int64(8)", "'8'", "8.0", "np.int32(-3)",
              "np.uint64(2**63)", "10**30", "np.bool_(True)", "[8]"]
WEIRD_SCALARS = ["1e39", "-1e39", "10**400", "10**5000", "float('nan')", "float('inf')",
                 "-float('inf')", "0", "-0.0", "-1", "1e-50", "3.4e38", "3.4028235e38", "'2'",
                 "None", "[1.0]", "1+1j", "np.float16(2)", "True", "np.float64(1e300)",
                 "np.array([2.0])", "object()", "2**64", "1e-45"]
GOOD_SCALARS = ["1.0", "2.0", "0.5", "0.0", "-1.0", "0.125"]
CONFIG_KEYS = ["block_m", "block_n", "block_k", "warps_m", "warps_n", "stages", "group_m",
               "thread_m", "thread_n", "warpgroups"]
CONFIG_SANE = ["1", "2", "4", "8", "16", "32", "64", "128", "256"]
CONFIG_VALUES = ["3", "48", "96", "192", "512", "1024", "4096", "65536", "2**31 - 1", "2**31",
                 "2**32", "2**40", "2**62", "2**63 - 1", "2**63", "0", "-1", "'64'", "64.0",
                 "True", "None", "np.int64(64)"]
FLAGS = ["True", "False", "1", "0", "'yes'", "None", "2", "np.bool_(True)", "[]"]
TARGETS = ["'cpu'", "'cuda'", "'gpu'", "None", "5", "'CPU'", "['cpu']"]


class ApiGen:
    """Builds one API case as code. `self.lines` hold setup statements."""

    def __init__(self, rng: random.Random, corpus: list[dict]):
        self.rng, self.corpus, self.lines, self.n = rng, corpus, [], 0
        # How hostile this case is: a third are well-formed calls (they reach
        # the compilers), the rest scale every mutation's probability.
        self.intensity = rng.choice([0.0, 0.5, 1.0, 1.5])

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def mut(self, p: float) -> bool:
        """A mutation with probability p at intensity 1."""
        return self.rng.random() < p * self.intensity

    def var(self, expr: str) -> str:
        self.n += 1
        name = f"x{self.n}"
        self.lines.append(f"{name} = {expr}")
        return name

    def dtype(self, base: str) -> str:
        return self.rng.choice(ODD_DTYPES + FLOATS) if self.mut(0.06) else base

    def dims(self, dims: list, huge: bool) -> list[str]:
        out = [str(d) for d in dims]
        if huge and self.mut(0.25):
            i = self.rng.randrange(len(out)) if out else 0
            if out:
                out[i] = self.rng.choice(WEIRD_DIMS[:14] if self.chance(0.7) else WEIRD_DIMS)
        if self.mut(0.03):
            if out and self.chance(0.5):
                del out[self.rng.randrange(len(out))]
            else:
                out.insert(self.rng.randint(0, len(out)), self.rng.choice(["1", "2", "8"]))
        return out

    def array(self, dims: list, dtype: str, call: bool, kind: str = "randn",
              huge: bool = False, lo: int = 0, hi: int = 4) -> str:
        """A Spec (compile) or a tiny numpy array (call); sometimes something odd."""
        ds = self.dims(dims, huge and not call)
        dt = self.dtype(dtype)
        shape = "(" + "".join(d + ", " for d in ds) + ")"
        plain = all(re.fullmatch(r"\d+", d) and int(d) <= 64 for d in ds)
        if call and plain and (dt in FLOATS + ["'i32'", "'i64'", "'f64'", "'int8'", "'bool'",
                                               "'complex64'", "np.float16", "bf16"]):
            n = 1
            for d in ds:
                n *= int(d)
            if n <= 1 << 14:
                r = self.rng.random()
                if kind == "int":
                    expr = f"ints({shape}, {dt}, {lo}, {hi}, seed={self.rng.randrange(99)})"
                else:
                    fill = self.rng.choice(["'randn'"] * 8 + ["'big'", "'nan'", "'inf'", "'huge'"])
                    expr = f"arr({shape}, {dt}, {fill}, seed={self.rng.randrange(99)})"
                r /= max(self.intensity, 1e-9)
                if r < 0.03:
                    return f"{expr}.tolist()"
                if r < 0.07 and ds:
                    return f"np.repeat({expr}, 2, axis=-1)[..., ::2]"  # not contiguous
                if r < 0.09:
                    return f"ro({expr})"
                return expr
        if self.mut(0.015):
            return self.rng.choice(["None", "3", "'a'", "[1, 2]", "object()", "np.float32(1)"])
        return f"Spec({shape}, {dt})"

    def scalar(self, good: list[str] | None = None, p_weird: float = 0.15) -> str:
        return self.rng.choice(WEIRD_SCALARS) if self.mut(p_weird) else \
            self.rng.choice(good or GOOD_SCALARS)

    def flag(self) -> str:
        return self.rng.choice(FLAGS) if self.mut(0.06) else self.rng.choice(["True", "False"])

    def sizes(self, huge: bool, small=(0, 1, 2, 3, 5, 8, 13, 16, 17, 33)) -> int:
        if huge and self.chance(0.3):
            return self.rng.choice([64, 100, 128, 255, 256, 1000, 4096, 65537, 2**20])
        return self.rng.choice(small)

    def options(self, opts: dict) -> str:
        if self.mut(0.03):
            opts[self.rng.choice(["foo", "alpha_", "scale", "strategy", "causal", "c"])] = "1"
        return "".join(f", {k}={v}" for k, v in opts.items())

    def config(self) -> str:
        if self.mut(0.2):
            return self.rng.choice(["'block_m=64'", "64", "[('block_m', 64)]", "{'bogus': 1}",
                                    "{1: 2}", "{'block_m': 64, 'block_m ': 1}", "set()"])
        keys = self.rng.sample(CONFIG_KEYS, self.rng.randint(1, 3))
        return "{" + ", ".join(f"'{k}': " + self.rng.choice(
            CONFIG_VALUES if self.chance(0.5) else CONFIG_SANE) for k in keys) + "}"

    # -- per-op cases ------------------------------------------------------

    def mode(self) -> str:
        return self.rng.choices(["call", "compile_cpu", "compile_cuda", "compile_call"],
                                [0.35, 0.2, 0.35, 0.1])[0]

    def finish(self, op: str, arrays: list[str], opts: dict, mode: str) -> str:
        args = ", ".join(arrays)
        if mode == "compile_cuda":
            opts["target"] = "'cuda'"
            if self.chance(0.6):
                opts["strategy"] = self.rng.choice([f"'{s}'" for s in STRATEGIES] +
                                                   (["'bogus'", "None", "5"] if self.mut(0.3) else []))
            if self.chance(0.7):
                opts["config"] = self.config()
        elif self.mut(0.04):
            opts["target"] = self.rng.choice(TARGETS)
            if opts["target"] in ("'cuda'",):
                mode = "compile_cuda"
        elif self.mut(0.02):
            opts[self.rng.choice(["strategy", "config"])] = "'smem'"
        optstr = self.options(opts)
        if mode == "call":
            return f"tessel.{op}({args}{optstr})"
        k = self.var(f"tessel.{op}.compile({args}{optstr})")
        if mode == "compile_cuda":
            return self.rng.choice([f"{k}.ptx", f"{k}.launch_metadata", f"{k}.ir('gpu')",
                                    f"{k}.ir('bogus')", f"{k}.stages"])
        if mode == "compile_call":
            return f"{k}({', '.join(self.call_arrays)})"
        return self.rng.choice([f"{k}.ir('llvm')", f"{k}.ir('tessel')", f"{k}.stages",
                                f"{k}.ir(None)"])

    def gemm(self) -> str:
        mode = self.mode()
        call = mode == "call"
        huge = mode in ("compile_cpu", "compile_cuda")
        ta, tb = self.chance(0.3), self.chance(0.3)
        m, n, k = (self.sizes(huge) for _ in range(3))
        batch = [self.rng.choice([1, 2, 3])] if self.chance(0.2) else []
        dt = self.rng.choice(FLOATS)
        a_dims = batch + ([k, m] if ta else [m, k])
        b_dims = batch + ([n, k] if tb else [k, n])
        a = self.array(a_dims, dt, call, huge=huge)
        b = self.array(b_dims, self.rng.choice(FLOATS) if self.mut(0.05) else dt, call, huge=huge)
        arrays = [a, b]
        opts = {}
        out_dt = self.rng.choice(FLOATS) if self.chance(0.3) else None
        if self.chance(0.3):
            arrays.append(self.array(batch + [m, n], out_dt or dt, call, huge=huge))
            opts["beta"] = self.scalar()
        if self.chance(0.5):
            opts["alpha"] = self.scalar()
        if ta or self.chance(0.05):
            opts["transpose_a"] = self.flag() if self.chance(0.1) else str(ta)
        if tb or self.chance(0.05):
            opts["transpose_b"] = self.flag() if self.chance(0.1) else str(tb)
        if out_dt or self.chance(0.05):
            opts["out_dtype"] = out_dt if out_dt and self.chance(0.9) else self.rng.choice(ODD_DTYPES)
        if self.mut(0.02):
            arrays = arrays[:1] if self.chance(0.5) else arrays + arrays[:1] * 2
        if mode == "compile_call":
            self.call_arrays = [self.array(d, dt, True) for d in (a_dims, b_dims)]
        return self.finish("gemm", arrays, opts, mode)

    def flash_attention(self) -> str:
        mode = self.rng.choice(["call", "call", "compile_cpu", "compile_cuda", "compile_call"])
        call = mode == "call"
        huge = mode in ("compile_cpu", "compile_cuda")
        b = self.rng.choice([1, 1, 2, 0])
        hkv = self.rng.choice([1, 2, 3])
        hq = hkv * self.rng.choice([1, 2]) if self.chance(0.9) else self.rng.choice([1, 3, 5])
        sq, skv = self.sizes(huge, (0, 1, 3, 8, 17)), self.sizes(huge, (0, 1, 4, 8, 19))
        d = self.rng.choice([8, 16, 32]) if self.chance(0.9) else self.rng.choice([0, 12, 264, 256])
        dv = d if self.chance(0.8) else self.rng.choice([8, 16, 24])
        dt = self.rng.choice(FLOATS)
        q_dims, k_dims, v_dims = [b, hq, sq, d], [b, hkv, skv, d], [b, hkv, skv, dv]
        arrays = [self.array(q_dims, dt, call, huge=huge), self.array(k_dims, dt, call, huge=huge),
                  self.array(v_dims, dt, call, huge=huge)]
        opts = {}
        if self.chance(0.5):
            opts["causal"] = self.flag()
        if self.chance(0.5):
            opts["scale"] = self.scalar(["0.125", "1.0", "0.3", "1e30", "3.4e38", "1e-30"], 0.3)
        if self.chance(0.4):
            opts["return_lse"] = self.flag()
        if mode == "compile_call":
            self.call_arrays = [self.array(x, dt, True) for x in (q_dims, k_dims, v_dims)]
        return self.finish("flash_attention", arrays, opts, mode)

    def paged_attention(self) -> str:
        mode = self.rng.choice(["call", "call", "call", "compile_cpu", "compile_cuda"])
        call = mode == "call"
        huge = mode != "call"
        s = self.rng.choice([0, 1, 2, 3])
        hkv = self.rng.choice([1, 2])
        hq = hkv * self.rng.choice([1, 2, 4]) if self.chance(0.9) else 3
        d = self.rng.choice([8, 16]) if self.chance(0.9) else self.rng.choice([0, 12, 264])
        nb = self.sizes(huge, (1, 2, 4, 6))
        bs = self.rng.choice([8, 16, 32]) if self.chance(0.9) else self.rng.choice([0, 4, 12, 64])
        mb = self.sizes(huge, (0, 1, 2, 3))
        dt = self.rng.choice(FLOATS)
        kc = self.array([nb, bs, hkv, d], dt, call, huge=huge)
        vc = kc if self.chance(0.1) else self.array([nb, bs, hkv, d], dt, call, huge=huge)
        tables = self.array([s, mb], "'i32'", call, kind="int", huge=huge,
                            lo=-1 if self.chance(0.1) else 0, hi=nb + (2 if self.chance(0.1) else 0))
        lens = self.array([s], "'i32'", call, kind="int", huge=huge,
                          lo=-1 if self.chance(0.1) else 0,
                          hi=mb * bs + (3 if self.chance(0.1) else 1))
        arrays = [self.array([s, hq, d], dt, call, huge=huge), kc, vc, tables, lens]
        opts = {}
        if self.chance(0.4):
            opts["scale"] = self.scalar(["0.125", "1.0", "1e30", "3.4e38"], 0.3)
        return self.finish("paged_attention", arrays, opts, mode)

    def kv_write(self) -> str:
        mode = self.rng.choice(["call", "call", "call", "compile_cpu", "compile_cuda"])
        call = mode == "call"
        huge = mode != "call"
        t = self.rng.choice([0, 1, 3, 5])
        hkv, d = self.rng.choice([1, 2]), self.rng.choice([8, 16]) if self.chance(0.9) else 12
        nb, bs = self.sizes(huge, (1, 2, 4)), self.rng.choice([8, 16, 32]) if self.chance(0.9) else 5
        dt = self.rng.choice(FLOATS)
        kc = self.var(self.array([nb, bs, hkv, d], dt, call, huge=huge))
        vc = kc if self.chance(0.08) else self.var(self.array([nb, bs, hkv, d], dt, call, huge=huge))
        key = self.array([t, hkv, d], dt, call, huge=huge)
        if call and self.chance(0.05):
            key = f"{kc}[0, :{t}]" if t <= bs else key  # aliases the cache
        slots = self.array([t], "'i64'", call, kind="int", huge=huge,
                           lo=-2 if self.chance(0.3) else 0,
                           hi=nb * bs + (3 if self.chance(0.1) else 0))
        arrays = [key, self.array([t, hkv, d], dt, call, huge=huge), kc, vc, slots]
        return self.finish("paged_kv_write", arrays, {}, mode)

    def copy_blocks(self) -> str:
        mode = self.rng.choice(["call", "call", "call", "compile_cpu", "compile_cuda"])
        call = mode == "call"
        huge = mode != "call"
        n, nb = self.rng.choice([0, 1, 2, 3]), self.sizes(huge, (1, 2, 4, 8))
        bs, hkv, d = self.rng.choice([8, 16, 32]), self.rng.choice([1, 2]), self.rng.choice([8, 16])
        dt = self.rng.choice(FLOATS)
        kc = self.var(self.array([nb, bs, hkv, d], dt, call, huge=huge))
        vc = kc if self.chance(0.08) else self.var(self.array([nb, bs, hkv, d], dt, call, huge=huge))
        mapping = self.array([n, 2 if self.chance(0.95) else 3], "'i64'", call, kind="int",
                             huge=huge, lo=-1 if self.chance(0.1) else 0,
                             hi=nb + (2 if self.chance(0.1) else 0))
        return self.finish("copy_blocks", [kc, vc, mapping], {}, mode)

    def spec(self) -> str:
        n = self.rng.randint(0, 5)
        dims = [self.rng.choice(WEIRD_DIMS) if self.chance(0.4) else str(self.rng.randint(0, 64))
                for _ in range(n)]
        shape = self.rng.choice(["(" + "".join(d + ", " for d in dims) + ")", "5", "'ab'",
                                 "np.array([2, 3])", "[2, None]", "range(3)"]) \
            if self.chance(0.1) else "(" + "".join(d + ", " for d in dims) + ")"
        s = f"Spec({shape}, {self.dtype(self.rng.choice(FLOATS))})"
        return self.rng.choice([s, f"{s}.mlir", f"repr({s})", f"hash({s})",
                                f"{s} == Spec((1,), 'f32')"])

    def parse(self) -> str:
        rng = self.rng
        chunk = rng.choice(self.corpus)
        text, _ = mutate_ir(rng, chunk["text"], self.corpus, rng.randint(0, 3))
        return f"str(tessel.parse({text!r}))"

    def generate(self) -> str:
        kind = self.rng.choices(["gemm", "flash_attention", "paged_attention", "kv_write",
                                 "copy_blocks", "spec", "parse"],
                                [0.4, 0.15, 0.12, 0.1, 0.08, 0.08, 0.07])[0]
        last = getattr(self, kind)()
        return "\n".join(self.lines + [last])


def gen_api_case(seed: int, index: int, corpus: list[dict]) -> dict:
    rng = random.Random(f"api:{seed}:{index}")
    return {"mode": "api", "id": f"api:{seed}:{index}", "code": ApiGen(rng, corpus).generate()}


# The worker: runs each case's code and reports the outcome as one JSON line.
WORKER_PRELUDE = '''
import numpy as np, ml_dtypes, tessel
from tessel import Spec
bf16 = ml_dtypes.bfloat16
_DT = {"f16": np.float16, "bf16": bf16, "f32": np.float32, "f64": np.float64, "i32": np.int32,
       "i64": np.int64}

def arr(shape, dtype, fill="randn", seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if fill == "big": x = x * 1e30
    elif fill == "huge": x = x * 6e4
    elif fill == "nan": x.flat[:1] = np.nan
    elif fill == "inf": x.flat[:1] = np.inf
    return x.astype(_DT.get(dtype, dtype))

def ints(shape, dtype, lo, hi, seed=0):
    return np.random.default_rng(seed).integers(lo, max(hi, lo + 1), shape).astype(_DT.get(dtype, dtype))

def ro(x):
    x.flags.writeable = False
    return x
'''


def worker_main(fd: int) -> None:
    """`fuzz.py --worker FD`: reads cases (JSON lines) on stdin, writes one
    result line per case to FD."""
    import faulthandler
    import traceback

    # A fatal signal prints the Python stack: it says which path crashed.
    faulthandler.enable(file=sys.stderr, all_threads=False)
    out = os.fdopen(fd, "w", buffering=1)
    ns: dict = {}
    exec(WORKER_PRELUDE, ns)
    from mlir.ir import MLIRError  # noqa: F401
    clean = set(CLEAN_EXCEPTIONS)
    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        case = json.loads(line)
        t0 = time.monotonic()
        res = {"id": case["id"]}
        try:
            exec(compile(case["code"], f"<{case['id']}>", "exec"), dict(ns))
            res["outcome"] = "accepted"
        except Exception as e:  # noqa: BLE001 - the point is to classify them
            names = {c.__name__ for c in type(e).__mro__}
            res["outcome"] = "error"
            res["exception"] = f"{type(e).__name__}: {str(e)[:600]}"
            res["clean"] = bool(names & clean)
            # A message that names no argument, option or location is a poor one
            # even when its type is clean (e.g. from Python's dict()).
            res["named"] = bool(re.search(r"argument|option|tessel\.|Spec:|error:|config|"
                                          r"strategy|stage", str(e)))
            frames = [f for f in traceback.extract_tb(e.__traceback__) if "/tessel/" in f.filename]
            res["where"] = (f"tessel/{frames[-1].filename.split('/tessel/')[-1]}:"
                            f"{frames[-1].lineno}" if frames else "")
            if not res["clean"]:
                res["traceback"] = "".join(traceback.format_exception(e))[-3000:]
        res["seconds"] = round(time.monotonic() - t0, 3)
        out.write(json.dumps(res) + "\n")


class Worker:
    """One worker subprocess; `run` sends a case and waits for its result."""

    def __init__(self, env: dict, workdir: str):
        self.err = tempfile.NamedTemporaryFile(dir=workdir, prefix="worker-", suffix=".err",
                                               delete=False)
        rfd, wfd = os.pipe()
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", str(wfd)],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=self.err, pass_fds=(wfd,), env=env,
                                     start_new_session=True)
        os.close(wfd)
        self.rfd, self.buf, self.cases = rfd, b"", 0
        ready = self._read_line(120)
        if ready is None or not ready.get("ready"):
            self.close()
            raise RuntimeError("fuzz worker failed to start:\n" + self._stderr_since(0))

    def _read_line(self, timeout: float):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.rfd], [], [], left)
            if not r:
                return None
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                return {"eof": True}
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def _stderr_since(self, offset: int) -> str:
        self.err.flush()
        with open(self.err.name, "rb") as f:
            f.seek(offset)
            return clip(f.read().decode("utf-8", "replace"))

    def run(self, case: dict, timeout: float) -> dict:
        offset = os.path.getsize(self.err.name)
        self.cases += 1
        t0 = time.monotonic()
        try:
            self.proc.stdin.write((json.dumps({"id": case["id"], "code": case["code"]}) + "\n").encode())
            self.proc.stdin.flush()
            res = self._read_line(timeout)
        except (BrokenPipeError, OSError):
            res = {"eof": True}
        if res is None:
            self.kill()
            return {"outcome": "hang", "seconds": round(time.monotonic() - t0, 3),
                    "stderr": self._stderr_since(offset)}
        if res.get("eof"):
            rc = self.proc.wait()
            stderr = self._stderr_since(offset)
            sig = signal.Signals(-rc).name if rc < 0 and -rc in signal.valid_signals() else f"exit {rc}"
            return {"outcome": "crash", "signal": sig, "stderr": stderr,
                    "signature": crash_signature(stderr) or sig,
                    "seconds": round(time.monotonic() - t0, 3)}
        res.pop("id", None)
        return res

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self):
        if self.alive:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                self.kill()
        os.close(self.rfd)
        self.err.close()
        os.unlink(self.err.name)


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------

class Report:
    def __init__(self, known: list[dict], log=None):
        self.known, self.log = known, log
        self.counts = {"ir": {}, "api": {}}
        self.unclean: dict[str, int] = {}  # exceptions of unexpected types
        self.unnamed: dict[str, int] = {}  # clean types, messages naming nothing
        self.findings: list[dict] = []
        self.lock = threading.Lock()

    def add(self, case: dict, res: dict) -> dict:
        finding = {**case, **res}
        outcome = res["outcome"]
        with self.lock:
            if self.log:
                self.log.write(json.dumps(finding) + "\n")
            if outcome in ("crash", "hang"):
                k = known_match(self.known, finding)
                finding["area"] = area_of(finding)
                if k:
                    finding["known"] = k["id"]
                    outcome = "known"
                self.findings.append(finding)
            elif outcome == "error" and case["mode"] == "api" and not (
                    res.get("clean", True) and res.get("named", True)):
                name = res["exception"].split(":")[0]
                kind = "unclean" if not res.get("clean", True) else "unnamed"
                counts = self.unclean if kind == "unclean" else self.unnamed
                counts[name] = counts.get(name, 0) + 1
                finding["area"] = area_of(finding)
                self.findings.append({**finding, "outcome": kind})
            c = self.counts[case["mode"]]
            c[outcome] = c.get(outcome, 0) + 1
        return finding

    @property
    def failures(self) -> list[dict]:
        return [f for f in self.findings if f["outcome"] in ("crash", "hang") and "known" not in f]


def run_ir(args, corpus, report, opt, workdir):
    def one(i):
        case = gen_ir_case(args.seed, i, corpus)
        res = run_tessel_opt(opt, case["input"], case["args"], args.timeout, workdir)
        finding = report.add(case, res)
        if args.minimize and res["outcome"] in ("crash", "hang") and "known" not in finding:
            finding["minimized"] = minimize_ir(opt, case, res, args.timeout, workdir)
        return res["outcome"]

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for n, _ in enumerate(pool.map(one, range(args.ir_cases)), 1):
            if args.progress and n % args.progress == 0:
                print(f"  ir {n}/{args.ir_cases} {report.counts['ir']}", flush=True)


def run_api(args, corpus, report, workdir):
    env = dict(os.environ)
    env.setdefault("TESSEL_CACHE_DIR", os.path.join(workdir, "cache"))
    cases: queue.Queue = queue.Queue()
    for i in range(args.api_cases):
        cases.put(i)
    done = [0]

    def loop():
        worker = None
        try:
            while True:
                try:
                    i = cases.get_nowait()
                except queue.Empty:
                    return
                case = gen_api_case(args.seed, i, corpus)
                if worker is None or not worker.alive or worker.cases >= args.recycle:
                    if worker is not None:
                        worker.close()
                    worker = Worker(env, workdir)
                res = report.add(case, worker.run(case, args.api_timeout))
                if res["outcome"] in ("crash", "hang"):
                    worker.close()
                    worker = None
                with report.lock:
                    done[0] += 1
                    if args.progress and done[0] % max(1, args.progress // 5) == 0:
                        print(f"  api {done[0]}/{args.api_cases} {report.counts['api']}", flush=True)
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=loop) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def replay(spec: str, args, corpus, opt, workdir) -> int:
    mode, seed, index = spec.split(":")
    if mode == "ir":
        case = gen_ir_case(int(seed), int(index), corpus)
        print(f"# {case['id']} from {case['source']}, mutations {case['mutations']}")
        print(f"# {shlex.join([opt, 'INPUT.mlir', *case['args']])}")
        print(case["input"])
        res = run_tessel_opt(opt, case["input"], case["args"], args.timeout, workdir)
    else:
        case = gen_api_case(int(seed), int(index), corpus)
        print(f"# {case['id']}\n{case['code']}")
        env = dict(os.environ)
        env.setdefault("TESSEL_CACHE_DIR", os.path.join(workdir, "cache"))
        w = Worker(env, workdir)
        try:
            res = w.run(case, args.api_timeout)
        finally:
            w.close()
    print(json.dumps({k: v for k, v in res.items()}, indent=1))
    return 1 if res["outcome"] in ("crash", "hang") else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ir-cases", type=int, default=1000)
    p.add_argument("--api-cases", type=int, default=200)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per IR case")
    p.add_argument("--api-timeout", type=float, default=120.0, help="seconds per API case")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--recycle", type=int, default=300, help="API cases per worker process")
    p.add_argument("--out", help="write the JSON report here")
    p.add_argument("--save-dir", help="write each crash/hang input here")
    p.add_argument("--log", help="write every case and its outcome here (JSON lines)")
    p.add_argument("--minimize", action="store_true", help="shrink unknown IR crashes")
    p.add_argument("--progress", type=int, default=0, help="print counts every N IR cases")
    p.add_argument("--replay", metavar="MODE:SEED:INDEX")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker is not None:
        worker_main(args.worker)
        return 0

    opt = tessel_opt()
    if not Path(opt).exists():
        sys.exit(f"fuzz.py: tessel-opt not found at {opt}")
    corpus = load_corpus()
    known = json.loads(KNOWN_FILE.read_text()) if KNOWN_FILE.exists() else []
    with tempfile.TemporaryDirectory(prefix="tessel-fuzz-") as workdir:
        if args.replay:
            return replay(args.replay, args, corpus, opt, workdir)
        report = Report(known, open(args.log, "w") if args.log else None)
        t0 = time.monotonic()
        run_ir(args, corpus, report, opt, workdir)
        t_ir = time.monotonic() - t0
        run_api(args, corpus, report, workdir)
        wall = time.monotonic() - t0

    summary = {"seed": args.seed, "tessel_opt": opt, "wall_s": round(wall, 1),
               "ir": {"cases": args.ir_cases, "wall_s": round(t_ir, 1), **report.counts["ir"]},
               "api": {"cases": args.api_cases, "wall_s": round(wall - t_ir, 1),
                       **report.counts["api"], "unclean_by_type": report.unclean,
                       "unnamed_by_type": report.unnamed}}
    print(json.dumps(summary))
    for f in report.findings:
        if f["outcome"] in ("unclean", "unnamed"):
            print(f"{f['outcome'].upper()} {f['id']} (area {f['area']}) {f['exception'][:120]!r} "
                  f"at {f.get('where') or '?'}")
            continue
        tag = f"known {f['known']}" if "known" in f else f"area {f['area']}"
        what = f.get("signature") or f.get("signal", "")
        print(f"{f['outcome'].upper()} {f['id']} ({tag}) {what}")
    if args.save_dir:
        d = Path(args.save_dir)
        d.mkdir(parents=True, exist_ok=True)
        for f in report.findings:
            if f["outcome"] in ("crash", "hang"):
                name = f["id"].replace(":", "_")
                if f["mode"] == "ir":
                    (d / f"{name}.mlir").write_text(f"// {shlex.join(f['args'])}\n" + f["input"])
                else:
                    (d / f"{name}.py").write_text(f["code"] + "\n")
    if args.out:
        Path(args.out).write_text(json.dumps({**summary, "findings": report.findings}, indent=1))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
