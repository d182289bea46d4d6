"""Loads the native plugin (libTesselCAPI.so) into the process through ctypes.

The library resolves MLIR from the `mlir` Python package that is already
loaded (libMLIRPythonCAPI.so), so the process holds exactly one MLIR. It adds
the tessel dialect to the registry every new `mlir.ir.Context` is created from
and registers our passes and pipelines with the global pass registry.
"""

import ctypes
import functools
from pathlib import Path

import mlir.ir  # noqa: F401  (loads libMLIRPythonCAPI.so before our library)
from mlir import _mlir_libs

_LIB_PATH = Path(__file__).resolve().parent / "_lib" / "libTesselCAPI.so"


class _MlirDialectRegistry(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p)]


class _MlirOperation(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p)]


class PipelineError(ValueError):
    """A pass pipeline failed; the message holds every diagnostic."""


def run_pass_pipeline(operation, pipeline: str) -> None:
    """Runs `pipeline` (anchored on the operation) through the C API, raising
    PipelineError with the diagnostics on failure."""
    lib = library()
    result = lib.tesselRunPassPipeline(_MlirOperation(_capsule_pointer(operation)),
                                       pipeline.encode())
    if result:
        message = ctypes.string_at(result).decode(errors="replace")
        lib.tesselFreeString(result)
        raise PipelineError(message.strip())


def _capsule_pointer(obj) -> int:
    capsule = obj._CAPIPtr
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return get_pointer(capsule, get_name(capsule))


@functools.lru_cache(maxsize=None)
def library() -> ctypes.CDLL:
    if not _LIB_PATH.exists():
        raise ImportError(f"tessel native library missing at {_LIB_PATH}; reinstall tessel")
    lib = ctypes.CDLL(str(_LIB_PATH))
    lib.tesselRegisterDialects.argtypes = [_MlirDialectRegistry]
    lib.tesselRegisterDialects.restype = None
    lib.tesselRegisterPasses.argtypes = []
    lib.tesselRegisterPasses.restype = None
    lib.tesselRunPassPipeline.argtypes = [_MlirOperation, ctypes.c_char_p]
    lib.tesselRunPassPipeline.restype = ctypes.c_void_p
    lib.tesselFreeString.argtypes = [ctypes.c_void_p]
    lib.tesselFreeString.restype = None
    lib.tesselVersion.argtypes = []
    lib.tesselVersion.restype = ctypes.c_char_p
    return lib


@functools.lru_cache(maxsize=None)
def register() -> None:
    """Idempotent: tessel dialect into the global registry, passes, op classes."""
    lib = library()
    registry = _mlir_libs.get_dialect_registry()
    lib.tesselRegisterDialects(_MlirDialectRegistry(_capsule_pointer(registry)))
    lib.tesselRegisterPasses()
    # Parsed tessel ops come back as the generated OpView classes.
    _mlir_libs._mlir.globals.append_dialect_search_prefix("tessel.dialects")


def native_version() -> str:
    return library().tesselVersion().decode()
