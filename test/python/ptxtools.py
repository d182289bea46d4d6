"""ptxas over one PTX module, shared by the tests that check registers and
spills (CI assembles every shipped kernel for sm_90a)."""

import re
import subprocess


def ptxas(ptx: str, tmp_path):
    """(registers, spill-store bytes, spill-load bytes) of the module's kernel;
    fails on an assembler error or when ptxas serialized the wgmmas (C7514)."""
    (tmp_path / "k.ptx").write_text(ptx)
    proc = subprocess.run(["ptxas", "-arch=sm_90a", "-v", str(tmp_path / "k.ptx"), "-o",
                           str(tmp_path / "k.cubin")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "C7514" not in proc.stderr, proc.stderr
    regs = re.search(r"Used (\d+) registers", proc.stderr)
    spills = re.search(r"(\d+) bytes spill stores", proc.stderr)
    loads = re.search(r"(\d+) bytes spill loads", proc.stderr)
    assert regs, proc.stderr
    return int(regs.group(1)), int(spills.group(1)) if spills else 0, \
        int(loads.group(1)) if loads else 0
