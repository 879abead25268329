#!/usr/bin/env bash
# Compile time (seconds) and compiler peak memory (KiB) of kith translation units against a raw
# sqlite3 one, each compiled three times with g++ -O2; prints the median of each.
set -euo pipefail
cd "$(dirname "$0")/../.."
compiler=${CXX:-g++}
measure() {
  local file=$1 runs=()
  for _ in 1 2 3; do
    runs+=("$( { /usr/bin/time -f "%e %M" "$compiler" -std=c++20 -O2 -Iinclude -c "$file" -o /dev/null; } 2>&1 | tail -n 1)")
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}
raw=$(measure bench/compile/raw_two_models.cpp)
echo "raw sqlite3 TU:        $raw   (seconds, KiB)"
for f in bench/compile/four_models.cpp examples/blog.cpp; do
  kith=$(measure "$f")
  ratio=$(awk -v a="${kith% *}" -v b="${raw% *}" 'BEGIN { printf "%.2f", a / b }')
  echo "$(basename "$f"): $kith   (seconds, KiB)  time ratio kith/raw=$ratio"
done
