#!/usr/bin/env bash
# The main job: set up and build if needed, then run tessel-opt on the
# example file and the Python demo (every op on the CPU, checked against numpy).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root"
echo "== tessel-opt examples/ops.mlir --canonicalize"
.venv/bin/tessel-opt examples/ops.mlir --canonicalize
echo "== python examples/demo.py"
.venv/bin/python examples/demo.py "$@"
