#!/usr/bin/env bash
# Creates .venv (once), installs the pinned MLIR/LLVM wheels and the other
# dependencies (once), then builds and installs tessel into it (incremental:
# the CMake build tree lives in build/). Sourced by run.sh and test.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=$root/.venv/bin/python
stamp=.venv/.tessel-deps
deps_hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$deps_hash" ]; then
  # The build runs without isolation against these (see pyproject.toml).
  "$VPY" -m pip install -q --upgrade pip
  "$VPY" - <<'PYEOF' > .venv/requirements.txt
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))
reqs = p["build-system"]["requires"] + p["project"]["dependencies"]
reqs += p["project"]["optional-dependencies"]["test"]
print("\n".join(reqs))
PYEOF
  "$VPY" -m pip install -q -r .venv/requirements.txt
  echo "$deps_hash" > "$stamp"
fi
"$VPY" -m pip install -q --no-build-isolation --no-deps .
