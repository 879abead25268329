#!/usr/bin/env bash
# The PostgreSQL benchmark in one command: builds kith_bench_pg with g++ -O2, starts a throwaway
# server on a Unix socket (scripts/postgres.sh) and a 1 ms-each-way proxy to it (for P3), runs
# every workload (median of --repeats runs, default 7) and stops both. Extra arguments go to
# kith_bench_pg.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${BENCH_BUILD:-build/bench-release}
. bench/release.sh
build_release kith_bench_pg kith_delay_proxy
server=$(mktemp -u /tmp/kith-pg-bench.XXXXXX)
trap 'scripts/postgres.sh stop "$server"' EXIT
conninfo=$(scripts/postgres.sh start "$server" | tail -n 1)
# P3 reaches the same server "on another host": every byte held 1 ms each way (a 2 ms round trip)
# by bench's proxy, on 127.0.0.1 only.
socket=$(echo "$conninfo" | sed -E 's/.*host=([^ ]*) port=([0-9]*).*/\1\/.s.PGSQL.\2/')
proxy_out=$(mktemp)
"$build/bench/kith_delay_proxy" --delay-ms 1 --to "$socket" >"$proxy_out" &
proxy=$!
trap 'kill $proxy 2>/dev/null; rm -f "$proxy_out"; scripts/postgres.sh stop "$server"' EXIT
for _ in $(seq 50); do grep -q listening "$proxy_out" && break; sleep 0.1; done
port=$(sed -E 's/.*127.0.0.1:([0-9]+).*/\1/' "$proxy_out")
delayed="host=127.0.0.1 port=$port user=$(echo "$conninfo" | sed -E 's/.*user=([^ ]*).*/\1/') dbname=postgres"
"$build/bench/kith_bench_pg" "$conninfo" --delayed "$delayed" "$@"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1); compiler: $("${CXX:-g++}" --version | head -n 1);" \
  "server: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1) over a Unix socket, fsync off"
