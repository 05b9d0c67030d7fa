#!/usr/bin/env bash
# What a key costs a restore plan: two PostgreSQL 15 clusters with 1 MiB segments archive N
# segments each (default 300) into local repositories, one encrypted, one not; then
# `pitr-restore --dry-run --to latest` runs 3 times on each, with its wall time and peak RSS.
# With a key the plan authenticates every WAL object it walks (a 64-byte ranged read each).
# Not a test: run it by hand as root.   bench/plan_auth_bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300}
BUILD=${BENCH_BUILD_DIR:-build-rel}
BUILD_DIR=$BUILD BUILD_TYPE=Release scripts/build.sh -DPITR_SANITIZE=OFF -DPITR_TESTS=OFF >/dev/null
PG=/usr/lib/postgresql/15/bin
W=$(mktemp -d /tmp/pitr-planbench.XXXXXX)
trap 'for d in "$W"/*/data; do runuser -u postgres -- $PG/pg_ctl -D "$d" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$W"' EXIT
mkdir -p "$W/bin"
cp "$BUILD"/bin/pitr-* "$W/bin/"
chmod -R 755 "$W"
chown -R postgres "$W"
head -c 48 /dev/urandom | base64 >"$W/keyfile"
chmod 600 "$W/keyfile"
chown postgres "$W/keyfile"
for mode in key nokey; do
    D=$W/$mode
    mkdir -p "$D/repo"
    chown -R postgres "$D"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    {
        echo "repo = '$D/repo'"
        echo "log_level = warn"
        [ "$mode" = key ] && echo "encryption_key_file = '$W/keyfile'"
        echo "pg_conninfo = 'host=$W port=$port user=postgres dbname=postgres'"
    } >"$D/pitr.conf"
    chmod 644 "$D/pitr.conf"
    runuser -u postgres -- $PG/initdb -D "$D/data" -A trust -U postgres --wal-segsize=1 >/dev/null
    cat >>"$D/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$W'
archive_mode = on
archive_command = '$W/bin/pitr-archive --config $D/pitr.conf %p %f'
max_wal_senders = 4
fsync = off
CONF
    runuser -u postgres -- $PG/pg_ctl -D "$D/data" -l "$D/log" -w start >/dev/null
    runuser -u postgres -- "$W/bin/pitr-basebackup" --config "$D/pitr.conf" --quiet
    for _ in $(seq 1 "$N"); do
        runuser -u postgres -- $PG/psql -h "$W" -p "$port" -U postgres -Atqc \
            "select txid_current(); select pg_switch_wal()" >/dev/null
    done
    last=$(runuser -u postgres -- $PG/psql -h "$W" -p "$port" -U postgres -Atqc \
        "select pg_walfile_name(pg_current_wal_lsn())")
    for _ in $(seq 1 600); do
        done_wal=$(runuser -u postgres -- $PG/psql -h "$W" -p "$port" -U postgres -Atqc \
            "select coalesce(last_archived_wal, '') from pg_stat_archiver")
        [[ "$done_wal" < "$last" ]] || break
        sleep 0.1
    done
    for _ in 1 2 3; do
        /usr/bin/time -f "$mode: --dry-run --to latest %e s, %M KB" runuser -u postgres -- \
            "$W/bin/pitr-restore" --config "$D/pitr.conf" --target-dir "$D/r" --to latest \
            --dry-run 2>&1 >/dev/null | tail -1
    done
done
