"""Running registered pass pipelines on a module, through the C API (the
bindings' PassManager aborts the process on a pass that reports an error
but succeeds; see docs/architecture.md)."""

from __future__ import annotations


def run_pipeline(module, pipeline: str) -> None:
    from .._native import run_pass_pipeline

    run_pass_pipeline(module.operation, pipeline)
