#!/usr/bin/env bash
# The PostgreSQL benchmark in one command: builds kith_bench_pg with g++ -O2, starts a throwaway
# server on a Unix socket (scripts/postgres.sh), runs every workload (median of --repeats runs,
# default 7) and stops the server. Extra arguments go to kith_bench_pg.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${BENCH_BUILD:-build/bench-release}
. bench/release.sh
build_release kith_bench_pg
server=$(mktemp -u /tmp/kith-pg-bench.XXXXXX)
trap 'scripts/postgres.sh stop "$server"' EXIT
conninfo=$(scripts/postgres.sh start "$server" | tail -n 1)
"$build/bench/kith_bench_pg" "$conninfo" "$@"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1); compiler: $("${CXX:-g++}" --version | head -n 1);" \
  "server: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1) over a Unix socket, fsync off"
