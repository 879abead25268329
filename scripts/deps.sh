#!/usr/bin/env bash
# Installs what kith's build needs from Debian/Ubuntu packages (skips what is already there).
# `deps.sh bench` adds the benchmark's peers (SQLiteCpp, SOCI) and valgrind.
set -euo pipefail
# libclang-rt-dev: libFuzzer; nlohmann-json3-dev: kith/json.hpp; libcpp-httplib-dev: examples/api
packages=(cmake g++ clang libclang-rt-dev libsqlite3-dev libpq-dev libfmt-dev catch2 clang-format ccache nlohmann-json3-dev libcpp-httplib-dev)
[ "${1:-}" = bench ] && packages+=(libsqlitecpp-dev libsoci-dev libboost-dev valgrind)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
