#!/usr/bin/env bash
# Runs every benchmark in one command and prints the table and the ratio lines:
#   1. builds kith_bench with g++ -O2 (the peers' packages and valgrind are installed if missing);
#   2. counts each workload's instructions under callgrind, collection limited to the workload;
#   3. measures each W2 and W6 run's peak heap (operator new and SQLite's allocator, counted in-process);
#   4. times every workload: each implementation next to each baseline (raw, raw_row), the order
#      alternating, the time ratio taken within each pair and its median printed (--repeats pairs,
#      default 61), with median ms and minor page faults per call; glibc malloc as configured by
#      default (no tunables).
# Set CXX to use another compiler; BENCH_BUILD for the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
build=${BENCH_BUILD:-build/bench-release}
. bench/release.sh
build_release kith_bench
bin="$build/bench/kith_bench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== instructions (valgrind --tool=callgrind, one run per workload and implementation)"
valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$work/cg.out" "$bin" --count >"$work/count.log" 2>"$work/valgrind.log" ||
  { cat "$work/count.log" "$work/valgrind.log"; exit 1; }
for f in "$work"/cg.out.*; do
  label=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
  [ -n "$label" ] && echo "$label $(sed -n 's/^summary: //p' "$f")"
done >"$work/ir.txt"
echo "== peak heap of W2"
"$bin" --heap >"$work/heap.txt"
echo "== times (and the table)"
"$bin" --ir "$work/ir.txt" --heap-in "$work/heap.txt" "$@"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1); compiler: $("${CXX:-g++}" --version | head -n 1); SQLite $(sqlite3_version=$(grep -m1 '#define SQLITE_VERSION ' /usr/include/sqlite3.h | cut -d'"' -f2); echo "$sqlite3_version")"
