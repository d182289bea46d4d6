#!/usr/bin/env bash
# Every test: the lit suite (FileCheck) and pytest. GPU tests skip cleanly on
# machines without an NVIDIA GPU.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root"
status=0
.venv/bin/lit -q test || status=1
.venv/bin/python -m pytest -q -rs test/python "$@" || status=1
exit $status
