import os
import shutil
import sysconfig
from pathlib import Path

import pytest


def tessel_opt() -> str:
    """The tessel-opt under test: $TESSEL_OPT, else the installed one."""
    if os.environ.get("TESSEL_OPT"):
        return os.environ["TESSEL_OPT"]
    import tessel._cli

    return str(tessel._cli.binary())


@pytest.fixture(scope="session")
def opt_path():
    path = tessel_opt()
    assert Path(path).exists(), f"tessel-opt not found at {path}"
    return path


def _has_gpu() -> bool:
    try:
        from tessel.runtime import driver

        return driver.available()
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if _has_gpu():
        return
    skip = pytest.mark.skip(reason="no NVIDIA GPU/driver available")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    # Also when pytest runs without the project's pyproject.toml as its ini
    # file (e.g. from another directory on the GPU machine).
    config.addinivalue_line("markers", "gpu: needs an NVIDIA GPU and driver (skipped otherwise)")
