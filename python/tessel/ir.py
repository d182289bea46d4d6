"""MLIR contexts with tessel loaded."""

from mlir import ir

from . import _native


def context() -> ir.Context:
    """A new `mlir.ir.Context` with tessel and the upstream dialects loaded and
    tessel's passes and pipelines registered."""
    _native.register()
    ctx = ir.Context()
    ctx.load_all_available_dialects()
    ctx.get_dialect_descriptor("tessel")  # fails loudly if registration broke
    return ctx


def parse(text: str, ctx: ir.Context | None = None) -> ir.Module:
    """Parses and verifies a module; raises `mlir.ir.MLIRError` with the
    diagnostics on malformed input."""
    ctx = ctx or context()
    with ctx:
        return ir.Module.parse(text)
