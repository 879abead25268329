# Sourced by bench/run.sh and bench/postgres.sh: configures $build as an -O2 Release build of the
# benchmarks only and builds the targets given.
build_release() {
  local configure=(cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
    -DCMAKE_CXX_COMPILER="${CXX:-g++}" -DKITH_BUILD_TESTS=OFF -DKITH_BUILD_EXAMPLES=OFF -DKITH_BUILD_BENCHMARKS=ON)
  command -v ccache >/dev/null && configure+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  "${configure[@]}" >/dev/null
  # When the compiler differs from the cached one, CMake deletes its cache and configures without
  # this command's other -D options: an unoptimised build, silently. Configure again in that case.
  grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" || "${configure[@]}" >/dev/null
  grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" || { echo "$build is not a Release build" >&2; return 1; }
  local target
  for target in "$@"; do cmake --build "$build" -j2 --target "$target" >/dev/null; done
}
