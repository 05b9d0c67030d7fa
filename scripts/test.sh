#!/usr/bin/env bash
# The test command: installs dependencies, builds with AddressSanitizer and UBSan, and runs
# every unit and integration test under ctest (real PostgreSQL 15 and a real S3 server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build-test} BUILD_TYPE=Debug scripts/build.sh -DPITR_SANITIZE=ON
cd "${BUILD_DIR:-build-test}"
# Sanitizer reports fail the tests; PostgreSQL's own processes are not instrumented.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --output-on-failure -j"$(nproc)" --timeout 900 "$@"
