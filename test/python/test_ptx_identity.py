"""The kernel-layer refactor kept every GEMM rung's PTX byte-identical: the
hashes recorded before it (scripts/gemm_ptx_hashes.py) still match, less the
one griddepcontrol.wait line every kernel has begun with since."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gemm_ptx_hashes.py"


def test_gemm_ptx_is_byte_identical_to_the_recorded_hashes():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "43 of 43 PTX hashes identical" in proc.stdout
