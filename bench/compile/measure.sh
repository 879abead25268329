#!/usr/bin/env bash
# Compile time and compiler peak memory of kith translation units against the same work written
# with the raw sqlite3 API: each file compiled three times with $CXX (default g++) -O2, median shown.
# The targets (issue 15): kith_w1_w3.cpp <= 2.5x raw_w1_w3.cpp's time and <= 250 MiB; minimal.cpp
# (open a database, one query) <= 2x raw_minimal.cpp. Prints the `compile ...` lines of RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
compiler=${CXX:-g++}
measure() {  # prints "seconds MiB" for the median run
  local file=$1 runs=()
  for _ in 1 2 3; do
    runs+=("$( { /usr/bin/time -f "%e %M" "$compiler" -std=c++20 -O2 -Iinclude -c "$file" -o /dev/null; } 2>&1 | tail -n 1)")
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p | awk '{ printf "%.2f %.0f", $1, $2 / 1024 }'
}
echo "compiler: $("$compiler" --version | head -n 1)"
rawMinimal=$(measure bench/compile/raw_minimal.cpp)
printf '%-22s %6s s %5s MiB\n' raw_minimal.cpp $rawMinimal
minimal=$(measure bench/compile/minimal.cpp)
printf '%-22s %6s s %5s MiB   time ratio kith/raw=%s\n' minimal.cpp $minimal "$(awk -v a="${minimal% *}" -v b="${rawMinimal% *}" 'BEGIN { printf "%.2f", a / b }')"
raw=$(measure bench/compile/raw_w1_w3.cpp)
printf '%-22s %6s s %5s MiB\n' raw_w1_w3.cpp $raw
for f in bench/compile/kith_w1_w3.cpp bench/compile/four_models.cpp bench/compile/three_kinds.cpp examples/blog.cpp; do
  kith=$(measure "$f")
  [ "$f" = bench/compile/kith_w1_w3.cpp ] && kithW1W3=$kith
  printf '%-22s %6s s %5s MiB   time ratio kith/raw=%s\n' "$(basename "$f")" $kith "$(awk -v a="${kith% *}" -v b="${raw% *}" 'BEGIN { printf "%.2f", a / b }')"
done
echo "compile minimal/raw_minimal time=$(awk -v a="${minimal% *}" -v b="${rawMinimal% *}" 'BEGIN { printf "%.2f", a / b }') mib=${minimal#* }"
echo "compile kith_w1_w3/raw_w1_w3 time=$(awk -v a="${kithW1W3% *}" -v b="${raw% *}" 'BEGIN { printf "%.2f", a / b }') mib=${kithW1W3#* }"
