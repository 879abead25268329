#!/usr/bin/env bash
# Compile time and compiler peak memory of kith translation units against the same work written
# with the raw sqlite3 API, with $CXX (default g++) -O2. Paired, like the runtime benchmarks: each
# kith file and its raw twin are compiled alternately $PAIRS times (default 5), and the ratio is
# the median of the ratios of adjacent compiles; a median of single-file times is bimodal on a
# shared 2-core machine (the same file measured 0.66 s and 0.94 s an hour apart). Times are CPU
# seconds (user + system) of the compiler; memory is its peak resident size.
# INSTRUCTIONS=1 counts the instructions the compiler proper (cc1plus) executes under callgrind
# instead, once per file (they repeat exactly; about 50x slower): for telling apart changes of a
# few percent, which the times on this machine cannot. FILES="minimal kith_w1_w3" measures only those.
# The targets (issue 15): kith_w1_w3.cpp <= 2.5x raw_w1_w3.cpp's time and <= 250 MiB; minimal.cpp
# (open a database, one query) <= 2x raw_minimal.cpp. Prints the `compile ...` lines of RESULTS.md.
# PCH=1 compiles the kith files with a precompiled <kith/kith.hpp> (what CMake's
# target_precompile_headers(app PRIVATE <kith/kith.hpp>) does; the README's recipe), built once
# before the pairs, and prints its lines as `compile pch ...`.
set -euo pipefail
cd "$(dirname "$0")/../.."
compiler=${CXX:-g++}
pairs=${PAIRS:-5}
[ "${INSTRUCTIONS:-0}" = 1 ] && pairs=1
flags=(-std=c++20 -O2 -Iinclude)
pchFlags=()
prefix="compile"
# COMPILED=1: the kith files as a program built with kith's compiled mode compiles them
# (-DKITH_COMPILED_LIB: the adapter and query core declared, not defined); the library itself is
# compiled once per build and not counted. Prints `compile compiled ...` lines.
if [ "${COMPILED:-0}" = 1 ]; then
  flags+=(-DKITH_COMPILED_LIB)  # the raw twins do not include kith: the define changes nothing for them
  prefix="compile compiled"
fi
if [ "${PCH:-0}" = 1 ]; then
  pchDir=$(mktemp -d)
  trap 'rm -rf "$pchDir"' EXIT
  echo '#include <kith/kith.hpp>' >"$pchDir/kith_pch.hpp"
  case $compiler in
    *clang*) "$compiler" "${flags[@]}" -x c++-header "$pchDir/kith_pch.hpp" -o "$pchDir/kith_pch.hpp.pch"
      pchFlags=(-include-pch "$pchDir/kith_pch.hpp.pch") ;;
    *) "$compiler" "${flags[@]}" -x c++-header "$pchDir/kith_pch.hpp" -o "$pchDir/kith_pch.hpp.gch"
      pchFlags=(-include "$pchDir/kith_pch.hpp" -Winvalid-pch) ;;
  esac
  prefix="$prefix pch"
fi
once() {  # prints "cpu-seconds KiB" (or "giga-instructions KiB") for one compile of $1
  local kib extra=()
  case $1 in bench/compile/raw_*) ;; *) extra=("${pchFlags[@]}") ;; esac
  kib=$({ /usr/bin/time -f "%U %S %M" "$compiler" "${flags[@]}" "${extra[@]}" -c "$1" -o /dev/null; } 2>&1 | tail -n 1 |
    awk '{ printf "%.3f %d", $1 + $2, $3 }')
  if [ "${INSTRUCTIONS:-0}" = 1 ]; then
    local dir
    dir=$(mktemp -d)
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$dir/cg.%p" "$compiler" "${flags[@]}" "${extra[@]}" -c "$1" \
      -o /dev/null 2>&1 | awk '/Collected/ { if ($4 > max) max = $4 } END { printf "%.3f ", max / 1e9 }'
    rm -rf "$dir"
    echo "${kib#* }"
  else
    echo "$kib"
  fi
}
# prints "kithSeconds kithMiB rawSeconds rawMiB pairedRatio" (medians)
paired() {
  local kith=$1 raw=$2
  for _ in $(seq "$pairs"); do echo "$(once "$kith") $(once "$raw")"; done | python3 -c '
import sys, statistics as st
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
m = lambda i: st.median(r[i] for r in rows)
print("%.2f %.0f %.2f %.0f %.2f" % (m(0), m(1) / 1024, m(2), m(3) / 1024, st.median(r[0] / r[2] for r in rows)))'
}
unit="CPU s"
[ "${INSTRUCTIONS:-0}" = 1 ] && unit="G instr"
echo "compiler: $("$compiler" --version | head -n 1), $pairs pairs"
printf '%-18s %8s %8s   %-14s %8s %8s   %s\n' "kith file" "$unit" "MiB" "raw twin" "$unit" "MiB" "paired ratio"
for f in ${FILES:-minimal kith_w1_w3 four_models three_kinds blog}; do
  case $f in
    minimal) file=bench/compile/minimal.cpp raw=bench/compile/raw_minimal.cpp ;;
    blog) file=examples/blog.cpp raw=bench/compile/raw_w1_w3.cpp ;;
    *) file=bench/compile/$f.cpp raw=bench/compile/raw_w1_w3.cpp ;;
  esac
  read -r ks km rs rm ratio < <(paired "$file" "$raw")
  printf '%-18s %8s %8s   %-14s %8s %8s   %s\n' "$(basename "$file")" "$ks" "$km" "$(basename "$raw")" "$rs" "$rm" "$ratio"
  case $f in
    minimal) minimalLine="$prefix minimal/raw_minimal time=$ratio mib=$km" ;;
    kith_w1_w3) w1w3Line="$prefix kith_w1_w3/raw_w1_w3 time=$ratio mib=$km" ;;
  esac
done
if [ -n "${minimalLine:-}" ]; then echo "$minimalLine"; fi
if [ -n "${w1w3Line:-}" ]; then echo "$w1w3Line"; fi
