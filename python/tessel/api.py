"""The public callables: `tessel.gemm(...)` validates, compiles once per
signature and runs; `tessel.gemm.compile(...)` compiles ahead of time (arrays
or Specs) and returns a callable kernel. The top layer: it joins the op
definitions (ops/) to the compilers (compiler/)."""

from __future__ import annotations

from .ops import flash_attention as _fa
from .ops import flash_attention_varlen as _fav
from .ops import gemm as _gemm
from .ops import paged as _paged
from .ops._base import OpDef
from .runtime.kernel import NOT_PREPARED
from .signature import check_target


class Operation:
    def __init__(self, opdef: OpDef, doc: str):
        self._def = opdef
        # (target, array types/shapes/dtypes, options) -> kernel: lets a repeated
        # call skip validation and signature building entirely.
        self._fast: dict = {}
        # The same keys -> the kernel's prepared launch for such arrays (see
        # CUDAKernel.prepared_call): a repeated call's whole host path.
        self._calls: dict = {}
        self.__doc__ = doc
        self.__name__ = opdef.name
        self.__qualname__ = opdef.name

    def compile(self, *args, target: str = "cpu", **kwargs):
        """A kernel for these arrays or Specs (a None dimension is a run-time
        size where the op supports one). Needs no GPU for target='cuda'."""
        return self._compile(args, target, kwargs, generalize=False)[0]

    def __call__(self, *args, target: str = "cpu", **kwargs):
        key = self._fast_key(args, target, kwargs)
        call = self._calls.get(key)
        if call is not None:
            result = call(args)
            if result is not NOT_PREPARED:
                return result
        kernel = self._fast.get(key) if key is not None else None
        if kernel is not None:
            fast = getattr(kernel, "call_positional", None)
            if fast is None:
                return kernel.run_checked_call(dict(zip(self._def.params, args)))
            result = fast(args)
            # Kernels with call_positional (CUDAKernel) prepare their calls.
            call = kernel.prepared_call(args)
            if call is not None and len(self._calls) < 4096:
                self._calls[key] = call
            return result
        kernel, arrays = self._compile(args, target, dict(kwargs), generalize=True)
        if key is not None and len(self._fast) < 4096:
            self._fast[key] = kernel
        return kernel(**arrays)

    def _fast_key(self, args, target, kwargs):
        """A cheap key for calls whose arrays are all positional; None when the
        call does not qualify (arrays passed by keyword, unhashable options)."""
        if len(args) > len(self._def.params):
            return None
        try:
            # torch.Size is a tuple: it hashes and compares like numpy's shapes.
            arrays = tuple([(type(a), a.shape, a.dtype) for a in args])
            if not kwargs:
                key = (target, arrays)
            elif any(hasattr(v, "shape") for v in kwargs.values()):
                return None
            else:
                # A config dict (or any dict option) keys by its sorted items,
                # so calls that pass one take the fast path too.
                key = (target, arrays, tuple(sorted(
                    (k, ("dict", tuple(sorted(v.items()))) if isinstance(v, dict) else v)
                    for k, v in kwargs.items())))
            hash(key)
            return key
        except (TypeError, AttributeError):
            return None

    def _compile(self, args, target, kwargs, generalize):
        from .compiler import compile_signature

        check_target(target)
        # Options of the GPU lowering, not of the op's semantics.
        lowering = {k: kwargs.pop(k) for k in ("strategy", "config") if k in kwargs}
        if target != "cuda" and any(v is not None for v in lowering.values()):
            name = next(k for k, v in lowering.items() if v is not None)
            raise ValueError(f"argument '{name}': only applies to target='cuda'")
        arrays, options = self._def.bind(args, kwargs)
        self._def.check_call(arrays, options)
        sig = self._def.signature(**arrays, **options)
        for a in sig.args:
            if not a.spec.is_static and (target != "cuda" or not self._def.run_time_sizes):
                raise ValueError(f"argument '{a.name}': run-time dimensions (None) are not "
                                 f"supported by tessel.{self._def.name} on target {target!r}")
        return compile_signature(self._def, sig, target, lowering, generalize, options), arrays

    def __repr__(self) -> str:
        return f"<tessel op {self.__name__}>"


def autotune(op: Operation, *args, force: bool = False, **kwargs):
    """Times `op`'s candidate GPU configurations for these arrays or Specs
    (static sizes) on the current GPU and stores the fastest correct one in
    the disk cache, where `strategy="auto"` finds it (`force`: tune again
    even if a choice is stored). Returns the autotune Result: `strategy`,
    `config`, `timings`, `dropped`, `cached`."""
    from .compiler.cuda.autotune import autotune as run

    if not isinstance(op, Operation):
        raise TypeError(f"argument 'op': expected a tessel op such as tessel.gemm, got "
                        f"{type(op).__name__}")
    for k in ("strategy", "config", "target"):
        if k in kwargs:
            raise ValueError(f"argument '{k}': autotune chooses it; leave it out")
    arrays, options = op._def.bind(args, kwargs)
    op._def.check_call(arrays, options)
    sig = op._def.signature(**arrays, **options)
    return run(op._def, sig, options, force=force)


gemm = Operation(_gemm.Gemm(), _gemm.DOC)
flash_attention = Operation(_fa.FlashAttention(), _fa.DOC)
flash_attention_varlen = Operation(_fav.FlashAttentionVarlen(), _fav.DOC)
paged_attention = Operation(_paged.PagedAttention(), _paged.PAGED_ATTENTION_DOC)
paged_kv_write = Operation(_paged.PagedKVWrite(), _paged.PAGED_KV_WRITE_DOC)
copy_blocks = Operation(_paged.CopyBlocks(), _paged.COPY_BLOCKS_DOC)
