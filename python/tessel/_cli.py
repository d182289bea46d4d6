"""`tessel-opt` on the environment's PATH: runs the native driver shipped in the package."""

import os
import sys
from pathlib import Path


def binary() -> Path:
    return Path(__file__).resolve().parent / "_bin" / "tessel-opt"


def main() -> None:
    exe = binary()
    if not exe.exists():
        sys.exit(f"tessel-opt: native driver missing at {exe}; reinstall tessel")
    os.execv(exe, [str(exe), *sys.argv[1:]])


if __name__ == "__main__":
    main()
