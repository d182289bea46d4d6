"""Benchmarks: python -m tessel.bench gemm [--plot FILE.png] [--json FILE]."""
