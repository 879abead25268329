#!/usr/bin/env bash
# examples/api under load, in one command: requests per second and p50/p99 latency of a
# read-mostly mix (45 % show a user, 25 % list users, 20 % list posts, 10 % rename) with 1, 4 and
# 16 clients, for the server with its pool and with --single (one connection, one request at a
# time: the example before it had a pool), on SQLite and on a throwaway PostgreSQL server, reached
# directly (a Unix socket) and through a proxy that adds a 2 ms round trip (bench/delay_proxy.cpp). Builds
# with g++ -O2. Both servers run at once and are measured alternately (--pairs runs of --seconds
# each, medians; the ratio is the median of adjacent runs' ratios). Prints each run and the
# `throughput APIn pool/single` lines of RESULTS.md.
#   bench/api.sh [--seconds S] [--pairs P] [--clients 1,4,16] [--connections N] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${BENCH_BUILD:-build/api-release}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_CXX_COMPILER="${CXX:-g++}" \
  -DKITH_BUILD_TESTS=OFF -DKITH_BUILD_BENCHMARKS=ON -DKITH_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j2 --target kith_api kith_api_load kith_delay_proxy >/dev/null
server=$(mktemp -u /tmp/kith-pg-api.XXXXXX)
trap 'scripts/postgres.sh stop "$server"' EXIT
export KITH_TEST_POSTGRES=$(scripts/postgres.sh start "$server" | tail -n 1)
out=$(mktemp)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/examples/kith_api_load" "$build/examples/kith_api" --bench "$@" | tee "$out"
"$build/examples/kith_api_load" "$build/examples/kith_api" --postgres --bench "$@" | tee -a "$out"
# PostgreSQL "on another host": every byte held 1 ms each way (a 2 ms round trip) by bench's proxy.
socket=$(echo "$KITH_TEST_POSTGRES" | sed -E 's/.*host=([^ ]*) port=([0-9]*).*/\1\/.s.PGSQL.\2/')
"$build/bench/kith_delay_proxy" --delay-ms 1 --to "$socket" >"$out.proxy" &
proxy=$!
trap 'kill $proxy 2>/dev/null; scripts/postgres.sh stop "$server"' EXIT
sleep 0.5
port=$(sed -E 's/.*127.0.0.1:([0-9]+).*/\1/' "$out.proxy")
KITH_TEST_POSTGRES="host=127.0.0.1 port=$port user=$(echo "$KITH_TEST_POSTGRES" | sed -E 's/.*user=([^ ]*).*/\1/') dbname=postgres" \
  "$build/examples/kith_api_load" "$build/examples/kith_api" --postgres --bench "$@" | sed 's/^api pg /api pg-rtt2ms /' | tee -a "$out"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" <<'PY'
import re, sys
ratio = {}
for line in open(sys.argv[1]):
    m = re.match(r"api ([\w-]+) pool/single clients=(\d+) ratio=([\d.]+)", line)
    if m: ratio[(m[1], int(m[2]))] = m[3]
for n in sorted({k[1] for k in ratio}):
    print(f"throughput API{n} pool/single " + " ".join(f"{db}={ratio[(db, n)]}" for db in ("pg", "sqlite") if (db, n) in ratio))
    if ("pg-rtt2ms", n) in ratio: print(f"throughput API{n}-rtt2ms pool/single pg={ratio[('pg-rtt2ms', n)]}")
PY
rm -f "$out" "$out.proxy"
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1); compiler: $("${CXX:-g++}" --version | head -n 1)"
