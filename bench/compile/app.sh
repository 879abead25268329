#!/usr/bin/env bash
# The compile time of an application laid out as applications are: examples/api (app.hpp with the
# models; users.cpp and posts.cpp with each model's routes; http.cpp; server.cpp), built -O2 -j1
# from clean, then again after touching one model's file (users.cpp), as a developer's edit-build
# loop does. CPU seconds (user + system) of the whole build, and the largest compiler process's
# peak memory. With g++ and clang++ (CXX_LIST to choose). Prints lines
#   compile app header-only|compiled <compiler> clean time=<s> rebuild time=<s> mib=<MiB>
# (compiled: KITH_COMPILED_LIB=ON; its clean build includes compiling the kith library once).
# time= is CPU seconds here, not a ratio: there is no raw twin of the service to divide by.
# Needs cpp-httplib, nlohmann-json and libpq (scripts/deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for compiler in ${CXX_LIST:-g++ clang++}; do
  for mode in header-only compiled; do
    build="$work/$compiler-$mode"
    option=OFF
    [ "$mode" = compiled ] && option=ON
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_CXX_COMPILER="$compiler" \
      -DKITH_BUILD_TESTS=OFF -DKITH_BUILD_BENCHMARKS=OFF -DKITH_BUILD_EXAMPLES=ON -DKITH_COMPILED_LIB=$option >/dev/null
    measure() {  # prints "cpu-seconds MiB" of building kith_api (in compiled mode, the kith library too)
      { /usr/bin/time -f "%U %S %M" cmake --build "$build" -j1 --target kith_api >/dev/null; } 2>&1 | tail -n 1 |
        awk '{ printf "%.1f %d\n", $1 + $2, $3 / 1024 }'
    }
    read -r clean mib < <(measure)
    touch examples/api/users.cpp
    read -r rebuild _ < <(measure)
    echo "compile app $mode $compiler clean time=${clean}s rebuild time=${rebuild}s mib=$mib"
  done
done
