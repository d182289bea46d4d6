#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md): GPU tests, compute-sanitizer
# (memcheck, racecheck, synccheck) on every rung, and the GEMM benchmark. Everything lands in $OUT (default ./gpu-out).
# Expects the MLIR bindings in /tmp/site and the build tree in build/dev.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=/tmp/site:$PWD/build/dev/python_packages PYTHONUNBUFFERED=1
export TESSEL_CACHE_DIR=${TESSEL_CACHE_DIR:-/tmp/tessel-cache}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/device.txt"
status=0
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  python3 -m pytest -q -rs -p no:cacheprovider test/python --ignore=test/python/test_fuzz.py \
    --ignore=test/python/test_install.py --junitxml="$OUT/pytest.xml" \
    2>&1 | tee "$OUT/pytest.log" | tail -25 || status=1
fi
if [ "${SKIP_SANITIZER:-0}" != 1 ]; then
  for kernel in gemm attention paged; do
    for tool in memcheck racecheck synccheck; do
      echo "== compute-sanitizer --tool $tool scripts/sanitize_$kernel.py"
      compute-sanitizer --tool "$tool" --error-exitcode 9 python3 "scripts/sanitize_$kernel.py" \
        > "$OUT/sanitizer-$kernel-$tool.log" 2>&1
      rc=$?
      tail -2 "$OUT/sanitizer-$kernel-$tool.log"
      echo "$kernel $tool exit code $rc"
      [ $rc -eq 0 ] || status=1
    done
  done
fi
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  python3 -m tessel.bench gemm ${BENCH_ARGS:-} --json "$OUT/bench-gemm.json" \
    2>&1 | tee "$OUT/bench-gemm.log" || status=1
  for what in attention paged startup; do
    python3 -m tessel.bench "$what" --json "$OUT/bench-$what.json" 2>&1 | tee "$OUT/bench-$what.log" \
      || status=1
  done
fi
exit $status
