"""Tessel: an MLIR toolchain for GEMM and attention kernels.

Functional ops build tessel IR for their signature, compile it once per
signature and run it: on the host through MLIR's ExecutionEngine
(`target="cpu"`, the reference semantics) or on an NVIDIA GPU
(`target="cuda"`). Each op also has `.compile(...)` for ahead-of-time use.
"""

from ._native import register as _register
from .ir import context, parse
from .ops._base import Spec
from .ops.flash_attention import flash_attention
from .ops.gemm import gemm
from .ops.paged import copy_blocks, paged_attention, paged_kv_write
from .kvcache import PagedKVCache  # noqa: F401  (and tessel.kvcache)

__version__ = "0.1.0"

_register()

__all__ = ["Spec", "context", "copy_blocks", "flash_attention", "gemm", "paged_attention",
           "paged_kv_write", "parse", "__version__"]
