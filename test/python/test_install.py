"""The installed native pieces: one MLIR per process, relocatable RUNPATHs."""

import shutil
import subprocess
from pathlib import Path

import pytest

import tessel
import tessel._native

SYSTEM = {"libstdc++.so.6", "libm.so.6", "libc.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"}


def dynamic_section(path: Path) -> str:
    if shutil.which("readelf") is None:
        pytest.skip("readelf not available")
    return subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True,
                          check=True).stdout


def needed(text: str) -> set[str]:
    return {line.split("[")[1].split("]")[0] for line in text.splitlines() if "(NEEDED)" in line}


def test_python_library_links_only_the_bindings_mlir():
    text = dynamic_section(tessel._native._LIB_PATH)
    assert needed(text) - SYSTEM == {"libMLIRPythonCAPI.so", "libLLVM.so"}
    if "site-packages" in str(tessel._native._LIB_PATH):  # installed, not the build tree
        assert "(RUNPATH)" in text and "$ORIGIN/../../mlir/_mlir_libs" in text


def test_tessel_opt_links_the_shared_mlir(opt_path):
    text = dynamic_section(Path(opt_path))
    assert needed(text) - SYSTEM == {"libMLIR.so", "libLLVM.so"}


def test_native_version_matches_package():
    assert tessel._native.native_version() == tessel.__version__
