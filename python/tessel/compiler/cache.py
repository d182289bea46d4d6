"""The on-disk compile cache: one JSON file per compiled kernel under
$TESSEL_CACHE_DIR (default ~/.cache/tessel). Writes are atomic (temp file +
rename), so concurrent processes at worst compile the same kernel twice; an
entry that does not parse or whose checksum is wrong is rebuilt."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

FORMAT = 1


def cache_dir() -> Path:
    return Path(os.environ.get("TESSEL_CACHE_DIR") or Path.home() / ".cache" / "tessel")


@functools.cache
def toolchain_version() -> str:
    """The MLIR bindings' version, from their dist-info directory's name
    (importlib.metadata alone costs more to import than a cached call)."""
    import importlib.util

    spec = importlib.util.find_spec("mlir")
    for root in (spec.submodule_search_locations or []) if spec else []:
        for info in Path(root).parent.glob("xtc_mlir_python_bindings-*.dist-info"):
            return info.name.removesuffix(".dist-info").split("-", 1)[1]
    return "unknown"


@functools.cache
def native_fingerprint() -> str:
    """Hash of the native library that holds the lowerings: a rebuilt
    tessel with an unchanged version string must not reuse stale kernels.
    The build writes it next to the library (hashing 100 MB per process
    would cost more than a cached call); without it, the library is hashed."""
    lib = Path(__file__).resolve().parent.parent / "_lib" / "libTesselCAPI.so"
    try:
        return (lib.parent / (lib.name + ".sha256")).read_text().strip()[:16]
    except OSError:
        pass
    try:
        return hashlib.sha256(lib.read_bytes()).hexdigest()[:16]
    except OSError:
        return "unknown"


def key(*parts: str) -> str:
    from .. import __version__

    h = hashlib.sha256()
    for p in (f"format={FORMAT}", f"tessel={__version__}", f"mlir={toolchain_version()}",
              f"native={native_fingerprint()}", *parts):
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _checksum(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def load(k: str) -> dict | None:
    path = cache_dir() / f"{k}.json"
    try:
        entry = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return None  # corrupt: rebuilt and overwritten by the caller
    if not isinstance(entry, dict) or entry.get("checksum") != _checksum(entry):
        return None
    return entry


def _atomic_write(path: Path, data: bytes) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:16]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store(k: str, entry: dict) -> None:
    entry = dict(entry, checksum=_checksum(entry))
    _atomic_write(cache_dir() / f"{k}.json", json.dumps(entry).encode())
