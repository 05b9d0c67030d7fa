#!/usr/bin/env bash
# The end-to-end demo on a local repository: a throw-away PostgreSQL 15 cluster archives its WAL
# through pitr-archive, a base backup is taken, rows are written at known times, and the cluster
# is restored to a moment between them with pitr-restore (pitr-fetch replays the WAL). Everything
# lives in one temp directory, removed at the end (DEMO_KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
PITR_NEED_S3_SERVER=0 scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh >/dev/null
BIN=$PWD/${BUILD_DIR:-build}/bin
PG_BIN=/usr/lib/postgresql/15/bin

DEMO=$(mktemp -d /tmp/pitr-demo.XXXXXX)
chmod 755 "$DEMO"
if [ "$(id -u)" = 0 ]; then
    chown postgres "$DEMO"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
# PostgreSQL runs archive_command and restore_command as its own user, who may not be able to
# reach this checkout (a clone under /root, say): the demo runs copies from its own directory.
mkdir -p "$DEMO/bin"
cp "$BIN/pitr-archive" "$BIN/pitr-fetch" "$BIN/pitr-basebackup" "$BIN/pitr-restore" "$BIN/pitr-catalog" "$DEMO/bin/"
chmod 755 "$DEMO/bin" "$DEMO/bin/"*
BIN=$DEMO/bin
PORT=${DEMO_PORT:-54329}
RPORT=$((PORT + 1))
stop_all() {
    as_pg "$PG_BIN/pg_ctl" -D "$DEMO/pgdata" -m immediate stop >/dev/null 2>&1 || true
    as_pg "$PG_BIN/pg_ctl" -D "$DEMO/restored" -m immediate stop >/dev/null 2>&1 || true
    if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "kept $DEMO"; else rm -rf "$DEMO"; fi
}
trap stop_all EXIT
say() { printf '\n== %s\n' "$*"; }
sql() { as_pg "$PG_BIN/psql" -X -h "$DEMO" -p "$1" -U postgres -d postgres -Atq -c "$2"; }

say "1. a PostgreSQL 15 cluster whose archive_command is pitr-archive (repository: $DEMO/repo)"
as_pg mkdir "$DEMO/repo"
as_pg tee "$DEMO/pitr.conf" >/dev/null <<CONF
repo = '$DEMO/repo'
compression = lz4
pg_conninfo = 'host=$DEMO port=$PORT user=postgres dbname=postgres'
CONF
as_pg "$PG_BIN/initdb" -D "$DEMO/pgdata" -A trust -U postgres --no-sync >/dev/null
as_pg tee -a "$DEMO/pgdata/postgresql.conf" >/dev/null <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DEMO'
wal_level = replica
archive_mode = on
archive_command = '$BIN/pitr-archive --config $DEMO/pitr.conf %p %f'
archive_timeout = 5min
CONF
as_pg "$PG_BIN/pg_ctl" -D "$DEMO/pgdata" -l "$DEMO/pgdata.log" -w start >/dev/null
sql "$PORT" "create table orders(id int, placed_at timestamptz default clock_timestamp())"

say "2. a base backup with pitr-basebackup"
as_pg "$BIN/pitr-basebackup" --config "$DEMO/pitr.conf" --type daily --label demo --progress

say "3. changes at known times"
sql "$PORT" "insert into orders(id) select generate_series(1, 1000)"
sleep 1.1
TARGET=$(sql "$PORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')")
sleep 1.1
sql "$PORT" "insert into orders(id) select generate_series(1001, 2000)"
sql "$PORT" "select pg_switch_wal()" >/dev/null
echo "batch 1: 1000 rows, then the target time $TARGET, then batch 2: 1000 more rows"
LAST=$(sql "$PORT" "select pg_walfile_name(pg_current_wal_lsn())")
for _ in $(seq 100); do
    ARCHIVED=$(sql "$PORT" "select coalesce(last_archived_wal, '') from pg_stat_archiver")
    [[ "$ARCHIVED" < "$LAST" ]] || break
    sleep 0.1
done
sql "$PORT" "select 'archived by pitr-archive: ' || archived_count || ' files, failures: ' || failed_count from pg_stat_archiver"
echo "the backups and the recoverable windows (pitr-catalog list; pitr-catalog windows):"
as_pg "$BIN/pitr-catalog" --config "$DEMO/pitr.conf" list
as_pg "$BIN/pitr-catalog" --config "$DEMO/pitr.conf" windows

say "4. restore to $TARGET with pitr-restore"
as_pg "$BIN/pitr-restore" --config "$DEMO/pitr.conf" --target-dir "$DEMO/restored" --to "$TARGET"
# the restored copy runs beside the original: its own port, and it must not archive into the
# original's repository
printf "port = %s\narchive_mode = off\n" "$RPORT" | as_pg tee -a "$DEMO/restored/postgresql.auto.conf" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$DEMO/restored" -l "$DEMO/restored.log" -w -t 120 start >/dev/null
for _ in $(seq 300); do
    [ "$(sql "$RPORT" "select pg_is_in_recovery()")" = f ] && break
    sleep 0.1
done
ROWS=$(sql "$RPORT" "select count(*) from orders")
echo "restored cluster has $ROWS rows (expected 1000: batch 1 only)"
grep -c 'pitr-fetch.*restored' "$DEMO/restored.log" | sed 's/^/WAL files restored by pitr-fetch: /'
if [ "$ROWS" != 1000 ]; then
    echo "DEMO FAILED: expected 1000 rows" >&2
    exit 1
fi

say "5. the gauges for monitoring (pitr-catalog metrics, for node_exporter's textfile collector)"
as_pg "$BIN/pitr-catalog" --config "$DEMO/pitr.conf" metrics
say "demo passed"
