#!/usr/bin/env bash
# test_all.sh — build and run every test that can run on this machine:
#   1. Release build (CUDA backend compiled when nvcc + cuDNN exist; GPU tests
#      skip with a message when no GPU is usable) and the whole CTest suite;
#   2. the CPU suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage: tools/test_all.sh   (after ./setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
echo "== release build =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
# (label `experimental`: kernels under development that are known to fail; run them with ctest -L experimental)
ctest --test-dir build --output-on-failure -j"$JOBS" -LE experimental
echo "== AddressSanitizer + UBSan build (CPU) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSPADIT_SANITIZE=ON -DSPADIT_CUDA=OFF >/dev/null
cmake --build build-asan -j"$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j"$JOBS" -LE "slow|experimental"
