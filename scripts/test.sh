#!/usr/bin/env bash
# Installs dependencies and runs every check: formatting, the suite under AddressSanitizer +
# UBSan (with 90 s of fuzzing), the suite built with Clang in compiled mode (KITH_COMPILED_LIB; and
# its threaded tests again under ThreadSanitizer), then with GCC header-only (compile-fail and
# packaging tests included): both modes are tested on every run; the portable tests run on SQLite
# and on a PostgreSQL server started for the run.
# Ends with ctest's summary of the GCC run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench  # the benchmark smoke test compares kith with SQLiteCpp and SOCI too
jobs=2
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

# The portable tests also run on a throwaway PostgreSQL server (scripts/postgres.sh). Without one
# they are skipped, unless KITH_REQUIRE_POSTGRES=1 (CI) makes that a failure.
# The replica tests read from a streaming standby of that server (scripts/postgres.sh standby).
pg_dir=$(mktemp -u /tmp/kith-pg.XXXXXX)
standby_dir=$(mktemp -u /tmp/kith-pg-standby.XXXXXX)
trap 'scripts/postgres.sh stop "$standby_dir"; scripts/postgres.sh stop "$pg_dir"' EXIT
echo "== postgres"
if conninfo=$(scripts/postgres.sh start "$pg_dir" | tail -n 1); then
  export KITH_TEST_POSTGRES="$conninfo"
  echo "server: $conninfo"
  standby=$(scripts/postgres.sh standby "$pg_dir" "$standby_dir" | tail -n 1)
  export KITH_TEST_POSTGRES_STANDBY="$standby"
  echo "standby: $standby"
elif [ "${KITH_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "could not start a PostgreSQL server, and KITH_REQUIRE_POSTGRES=1" >&2
  exit 1
else
  echo "could not start a PostgreSQL server: the PostgreSQL tests will be skipped"
fi

echo "== clang-format"
git ls-files '*.hpp' '*.cpp' | xargs clang-format --dry-run -Werror

run() {  # name, compiler, extra flags, seconds of fuzzing (0: replay the fuzz corpus only), extra CMake options, ctest arguments
  local name=$1 compiler=$2 flags=$3 fuzz=${4:-0} options=${5:-}
  shift 5 || shift $#
  echo "== $name"
  # shellcheck disable=SC2086
  cmake -S . -B "build/$name" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$compiler" "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS="$flags" -DKITH_BUILD_BENCHMARKS=ON -DKITH_FUZZ_SECONDS="$fuzz" $options >/dev/null
  cmake --build "build/$name" -j"$jobs"
  if ! (cd "build/$name" && ctest -j"$jobs" --output-on-failure "$@") >"build/$name.log" 2>&1; then
    # The failing tests' own output, and any input the fuzzer kept, so that a CI log alone can be reproduced.
    tail -n 200 "build/$name.log"
    for artifact in "build/$name/tests/fuzz-work/artifacts/"*; do
      [ -f "$artifact" ] && echo "fuzz input $artifact (base64): $(base64 -w0 "$artifact")"
    done
    exit 1
  fi
  tail -n 3 "build/$name.log"
}

# The compile-fail and packaging tests run the compiler themselves, without the build's flags:
# under ASan they would repeat the Clang run's exactly (4-5 minutes of test time), so they run in
# the clang and gcc stages only.
# The Clang stage builds kith in compiled mode, and the threaded tests (the pool's) again under
# ThreadSanitizer: "tsan: " tests.
run asan clang++ "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" 90 "" -E "^(compile|package): "
# -gdwarf-4: valgrind 3.19 cannot read Clang 14's DWARF 5 across compile units (the valgrind test).
run clang clang++ "-gdwarf-4" 0 "-DKITH_TSAN_TESTS=ON -DKITH_COMPILED_LIB=ON"
run gcc g++ "" 0

if [ "${KITH_REQUIRE_POSTGRES:-0}" = 1 ] && grep -qE ' pg:.*Skipped' build/asan.log build/clang.log build/gcc.log; then
  echo "PostgreSQL tests were skipped, and KITH_REQUIRE_POSTGRES=1" >&2
  exit 1
fi

echo "== summary"
echo "fuzzing (asan): $(grep -ho 'stat::number_of_executed_units: *[0-9]*' build/asan/Testing/Temporary/LastTest.log | tr -s ' ')"
for name in asan clang gcc; do
  echo "$name: $(grep -E 'tests passed|tests failed' "build/$name.log");" \
    "PostgreSQL: $(grep -cE ' pg:.* Passed' "build/$name.log") passed, $(grep -cE ' pg:.*Skipped' "build/$name.log") skipped;" \
    "SQLite and the rest: $(grep -E ' Test +#' "build/$name.log" | grep -v ' pg:' | grep -c ' Passed') passed"
done
echo "ThreadSanitizer (in the clang build): $(grep -cE ' tsan.* Passed' build/clang.log) passed, $(grep -cE ' tsan.*Skipped' build/clang.log) skipped"
grep -E 'tests passed|tests failed' build/gcc.log
