#!/usr/bin/env bash
# Installs dependencies and runs every check: formatting, the suite under AddressSanitizer +
# UBSan (with 90 s of fuzzing), the suite built with Clang, then with GCC (compile-fail and
# packaging tests included).
# Ends with ctest's summary of the GCC run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench  # the benchmark smoke test compares kith with SQLiteCpp and SOCI too
jobs=2
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

echo "== clang-format"
git ls-files '*.hpp' '*.cpp' | xargs clang-format --dry-run -Werror

run() {  # name, compiler, extra flags, seconds of fuzzing (0: replay the fuzz corpus only)
  local name=$1 compiler=$2 flags=$3 fuzz=${4:-0}
  echo "== $name"
  cmake -S . -B "build/$name" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$compiler" "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS="$flags" -DKITH_BUILD_BENCHMARKS=ON -DKITH_FUZZ_SECONDS="$fuzz" >/dev/null
  cmake --build "build/$name" -j"$jobs"
  (cd "build/$name" && ctest -j"$jobs" --output-on-failure) | tee "build/$name.log" | tail -n 3
}

run asan clang++ "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" 90
run clang clang++ ""
run gcc g++ ""

echo "== summary"
echo "fuzzing (asan): $(grep -ho 'stat::number_of_executed_units: *[0-9]*' build/asan/Testing/Temporary/LastTest.log | tr -s ' ')"
for name in asan clang gcc; do echo "$name: $(grep -E 'tests passed|tests failed' "build/$name.log")"; done
grep -E 'tests passed|tests failed' build/gcc.log
