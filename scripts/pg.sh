#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, from Debian's postgresql
# package (installed when missing).
#
#   scripts/pg.sh start DIR   # initdb into DIR, start on a free loopback port,
#                             # print the database URL
#   scripts/pg.sh stop DIR    # stop it (DIR can then be removed)
#
# The cluster trusts loopback connections and listens on 127.0.0.1 only.
# It also accepts TLS, with a certificate for 127.0.0.1 and localhost
# signed by a throwaway authority whose certificate is DIR/ca.pem.
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$d"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    bin=$(bindir)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    # TLS: a throwaway authority and a server certificate it signs.
    if ! command -v openssl >/dev/null; then
      if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
      $sudo apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssl >/dev/null
    fi
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$dir/san.cnf"
    as_owner openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 \
      -subj "/CN=Qamqor test authority" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    as_owner openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
      -keyout "$dir/data/server.key" -out "$dir/server.csr" 2>/dev/null
    as_owner openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
      -days 3 -extfile "$dir/san.cnf" -out "$dir/data/server.crt" 2>/dev/null
    as_owner chmod 600 "$dir/data/server.key"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/log" -w \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c max_connections=200 -c fsync=on -c ssl=on" \
      start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    bin=$(bindir)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
