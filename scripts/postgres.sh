#!/usr/bin/env bash
# A throwaway PostgreSQL server for kith's tests and benchmarks, from the server binaries on the
# machine (Debian: apt-get install postgresql; installed when missing).
#
#   scripts/postgres.sh start DIR   initdb into DIR (which must not exist) as an unprivileged user,
#                                   start the server on a Unix socket in DIR only (no TCP), on a
#                                   random port; prints the libpq conninfo on the last line
#   scripts/postgres.sh standby PRIMARY DIR
#                                   a streaming replica of the server started in PRIMARY
#                                   (pg_basebackup -R), on its own socket in DIR (which must not
#                                   exist) and port; prints its conninfo on the last line
#   scripts/postgres.sh stop DIR    stop that server and remove DIR
#
# As root the server runs as the "postgres" user (created by the package); otherwise as you.
set -euo pipefail

command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR, or $0 standby PRIMARY DIR" >&2; exit 2; }

bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$found" ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$found"
}

as_owner() {  # runs a command as the user who owns the cluster
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
  start)
    [ ! -e "$dir" ] || { echo "$0: $dir exists; give a new directory" >&2; exit 2; }
    bin=$(bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    user=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
      chown postgres: "$dir"
      user=postgres
    fi
    as_owner "$bin/initdb" --pgdata="$dir/data" --username="$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    for _ in 1 2 3 4 5; do  # a random port; another try when it is taken
      port=$((20000 + RANDOM % 20000))
      if as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
        --options="-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=off -c max_connections=200" start >/dev/null; then
        echo "host=$dir port=$port user=$user dbname=postgres"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  standby)
    primary=$(cd "$dir" && pwd)
    dir=${3:-}
    [ -n "$dir" ] && [ ! -e "$dir" ] || { echo "$0: give a new directory for the standby" >&2; exit 2; }
    [ -f "$primary/data/postmaster.pid" ] || { echo "$0: no server runs in $primary" >&2; exit 2; }
    bin=$(bindir)
    primary_port=$(sed -n 4p "$primary/data/postmaster.pid")
    owner=$(stat -c %U "$primary/data")
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    as_owner "$bin/pg_basebackup" --host="$primary" --port="$primary_port" --username="$owner" --pgdata="$dir/data" \
      --write-recovery-conf --wal-method=stream --checkpoint=fast >"$dir/basebackup.log" 2>&1 ||
      { cat "$dir/basebackup.log" >&2; exit 1; }
    for _ in 1 2 3 4 5; do
      port=$((20000 + RANDOM % 20000))
      if as_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
        --options="-c listen_addresses='' -c unix_socket_directories='$dir' -p $port -c fsync=off -c max_connections=200 -c hot_standby=on" \
        start >/dev/null; then
        echo "host=$dir port=$port user=$owner dbname=postgres"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    [ -d "$dir/data" ] || exit 0
    bin=$(bindir)
    as_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
