#!/usr/bin/env bash
# A PostgreSQL server for the tests at the URL given ($1): left as it is when something
# already answers there; otherwise installed from the distribution's packages (Debian,
# Ubuntu), started, given trust authentication for 127.0.0.1 and the URL's database.
# Needs root (CI runs as root).
set -euo pipefail
url="${1:-postgresql://postgres@127.0.0.1:5432/test}"
rest="${url#*://}"; rest="${rest#*@}"
hostport="${rest%%/*}"; database="${rest#*/}"; database="${database%%\?*}"
host="${hostport%%:*}"; port=5432
[[ "$hostport" == *:* ]] && port="${hostport##*:}"

if command -v pg_isready >/dev/null && pg_isready -q -h "$host" -p "$port"; then
    echo "postgres: $host:$port answers"
    exit 0
fi
echo "postgres: nothing answers at $host:$port; installing and starting a server"
if ! command -v pg_ctlcluster >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi
version="$(ls /etc/postgresql | sort -V | tail -1)"
if [ -z "$version" ]; then
    echo "postgres: no cluster after installing postgresql" >&2
    exit 1
fi
conf="/etc/postgresql/$version/main"
# trust for loopback TCP (tests connect as postgres without a password), first match wins
if ! grep -q "^host all all 127.0.0.1/32 trust" "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf/pg_hba.conf"
fi
sed -i "s/^#\?port = .*/port = $port/" "$conf/postgresql.conf"
pg_ctlcluster "$version" main start || service postgresql start
for _ in $(seq 1 30); do
    pg_isready -q -h "$host" -p "$port" && break
    sleep 1
done
pg_isready -h "$host" -p "$port"
if [ -n "$database" ]; then
    psql -h "$host" -p "$port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 \
        || psql -h "$host" -p "$port" -U postgres -c "CREATE DATABASE \"$database\""
fi
