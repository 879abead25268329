#!/usr/bin/env bash
# Installs dependencies, builds examples/ and runs the blog example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/example -DCMAKE_BUILD_TYPE=Release -DKITH_BUILD_TESTS=OFF -DKITH_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/example -j2 --target blog
./build/example/examples/blog
