"""Tessel: an MLIR toolchain for GEMM and attention kernels.

Functional ops build tessel IR for their signature, compile it once per
signature and run it: on the host through MLIR's ExecutionEngine
(`target="cpu"`, the reference semantics) or on an NVIDIA GPU
(`target="cuda"`). Each op also has `.compile(...)` for ahead-of-time use.

Importing tessel loads neither MLIR nor the native library: they are loaded
the first time something has to be compiled (a call whose kernel is in the
disk cache never loads them).
"""

from .api import (autotune, copy_blocks, flash_attention, flash_attention_varlen, gemm,
                  paged_attention, paged_kv_write)
from .kvcache import PagedKVCache
from .signature import Spec

__version__ = "0.1.0"


def context():
    """A new `mlir.ir.Context` with tessel loaded and its passes registered."""
    from .ir import context as make

    return make()


def parse(text: str, ctx=None):
    """Parses and verifies a module; raises `mlir.ir.MLIRError` on malformed input."""
    from .ir import parse as parse_module

    return parse_module(text, ctx)


__all__ = ["PagedKVCache", "Spec", "autotune", "context", "copy_blocks", "flash_attention",
           "flash_attention_varlen", "gemm", "paged_attention",
           "paged_kv_write", "parse", "__version__"]
