#!/usr/bin/env bash
# Installs dependencies and runs every check: formatting, the suite under AddressSanitizer +
# UBSan, the suite built with Clang, then with GCC (compile-fail and packaging tests included).
# Ends with ctest's summary of the GCC run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench  # the benchmark smoke test compares kith with SQLiteCpp and SOCI too
jobs=2
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

echo "== clang-format"
git ls-files '*.hpp' '*.cpp' | xargs clang-format --dry-run -Werror

run() {  # name, compiler, extra flags
  local name=$1 compiler=$2 flags=$3
  echo "== $name"
  cmake -S . -B "build/$name" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$compiler" "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS="$flags" -DKITH_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "build/$name" -j"$jobs"
  (cd "build/$name" && ctest -j"$jobs" --output-on-failure) | tee "build/$name.log" | tail -n 3
}

run asan clang++ "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
run clang clang++ ""
run gcc g++ ""

echo "== summary"
for name in asan clang gcc; do echo "$name: $(grep -E 'tests passed|tests failed' "build/$name.log")"; done
grep -E 'tests passed|tests failed' build/gcc.log
