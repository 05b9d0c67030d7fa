# shellcheck shell=bash disable=SC2034
# Shared parts of the benchmarks that run a PostgreSQL 15 pgbench cluster against pitr and
# pgBackRest (basebackup_bench.sh, restore_bench.sh). Sourced, not run. The caller sets SRC (the
# source tree), WORKDIR, PORT and SCALE, then calls bench_init; it leaves behind:
#   BIN, PG_BIN, PGDATA_B, CONN, CLEANUP (run on exit), DB_BYTES, DB_MB
#   as_pg CMD...        runs CMD as the cluster's OS user
#   psql_b SQL          one query on the benchmark cluster, unaligned output
#   archive_to TOOL CONF [TOOL CONF...]  where archive_command pushes (every push must succeed)
#   timed CMD...        runs CMD as that user under GNU time; peak RSS (KiB) in $WORKDIR/rss
#   pgbr_conf PROCESS_MAX REPO_LINES...  writes $PGBR_CONF (stanza "bench", lz4 level 1)
#   bench_s3_start      starts moto behind stunnel; defines s3_cmd, pgbr_s3_lines, CLUSTER
PG_BIN=/usr/lib/postgresql/15/bin
BIN=${PITR_BIN_DIR:-$SRC/build-bench/bin}

log() { echo "# $*" >&2; }
now() { date +%s.%N; }

# PostgreSQL refuses to run as root, and the archive command runs as its user and writes into
# every repository: so every tool runs as that user too.
if [ "$(id -u)" = 0 ]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

bench_deps() {
    PITR_NEED_S3_SERVER=0 "$SRC/scripts/install-deps.sh"
    local p
    for p in pgbackrest time bc stunnel4; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
    done
    if [ -z "${PITR_BIN_DIR:-}" ]; then
        # an optimised build without sanitizers, whatever ./build holds
        (cd "$SRC" && BUILD_DIR=build-bench BUILD_TYPE=Release scripts/build.sh \
            -DPITR_SANITIZE=OFF -DPITR_TESTS=OFF >/dev/null)
    fi
}

psql_b() { as_pg "$PG_BIN/psql" -h "$WORKDIR" -p "$PORT" -U postgres -Atqc "$1" postgres; }
pg_down() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -m fast -w stop >/dev/null 2>&1 || true; }
timed() { as_pg /usr/bin/time -f %M -o "$WORKDIR/rss" "$@"; }

# --- the archive command: one script, told by a file which repositories to push to ---------
write_archive_script() {
    ARCHIVE_TO="$WORKDIR/archive-to" # lines of "pitr CONF" or "pgbackrest CONF"
    # (pgBackRest insists that archive_command names pgbackrest, hence the script's name)
    ARCHIVE_SH="$WORKDIR/archive-pitr-or-pgbackrest.sh"
    cat >"$ARCHIVE_SH" <<SH
#!/bin/sh
# archive_command of the benchmark cluster: %p %f. Pushes to every repository named in
# $ARCHIVE_TO and succeeds only if every push does.
# A restored copy of the cluster (started in another directory) archives nothing: the
# repositories keep the original's WAL only, the same for every round.
[ "\$(pwd -P)" = "$(realpath "$PGDATA_B")" ] || exit 0
while read -r tool conf; do
    case "\$tool" in
    pitr) "$BIN/pitr-archive" --config "\$conf" "\$1" "\$2" </dev/null || exit 1 ;;
    pgbackrest) pgbackrest --config="\$conf" --stanza=bench archive-push "\$1" </dev/null || exit 1 ;;
    *) exit 1 ;;
    esac
done <"$ARCHIVE_TO"
SH
    chmod 755 "$ARCHIVE_SH"
}
archive_to() {
    while [ $# -ge 2 ]; do
        echo "$1 $2"
        shift 2
    done | as_pg tee "$ARCHIVE_TO" >/dev/null
}
# wait_archived: every WAL segment the cluster has finished is archived (by every push)
wait_archived() {
    local i
    for ((i = 0; i < 1200; i++)); do
        [ -z "$(find "$PGDATA_B/pg_wal/archive_status" -name '*.ready')" ] && return 0
        sleep 0.5
    done
    log "WAL still not archived after 600 s"
    return 1
}

# --- the cluster and its pgbench database (made once per scale and work dir, then reused) ---
start_pg() {
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -l "$WORKDIR/pg.log" -w start >/dev/null
    psql_b "alter system set archive_command = '$ARCHIVE_SH %p %f'" >/dev/null
    psql_b "select pg_reload_conf()" >/dev/null
}
bench_init() {
    mkdir -p "$WORKDIR"
    chown postgres "$WORKDIR" 2>/dev/null || true
    PGDATA_B="$WORKDIR/pgdata"
    CONN="host=$WORKDIR port=$PORT user=postgres dbname=postgres"
    CLEANUP="pg_down"
    trap 'eval "$CLEANUP"' EXIT
    pg_down # a run that was interrupted may have left it running
    write_archive_script
    if [ ! -f "$WORKDIR/scale.$SCALE" ]; then
        rm -rf "$PGDATA_B" "$WORKDIR"/scale.*
        as_pg "$PG_BIN/initdb" -D "$PGDATA_B" -A trust -U postgres --no-sync >/dev/null
        cat >>"$PGDATA_B/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORKDIR'
wal_level = replica
max_wal_senders = 10
archive_mode = on
max_wal_size = '4GB'
shared_buffers = '256MB'
CONF
        rm -rf "$WORKDIR/scratch-repo"
        printf "repo = '%s'\nlog_level = warn\n" "$WORKDIR/scratch-repo" | as_pg tee "$WORKDIR/scratch.conf" >/dev/null
        archive_to pitr "$WORKDIR/scratch.conf"
        start_pg
        log "pgbench -i -s $SCALE"
        as_pg "$PG_BIN/pgbench" -h "$WORKDIR" -p "$PORT" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
        psql_b "vacuum analyze" >/dev/null
        touch "$WORKDIR/scale.$SCALE"
    else
        archive_to pitr "$WORKDIR/scratch.conf"
        start_pg
    fi
    # no WAL is left to archive: it would be pushed during the first run
    wait_archived
    DB_BYTES=$(psql_b "select sum(pg_database_size(oid)) from pg_database")
    DB_MB=$(echo "$DB_BYTES / 1000000" | bc -l)
}

# --- pgBackRest -------------------------------------------------------------------------------
PGBR_CONF="$WORKDIR/pgbackrest.conf"
# pgbr_conf PROCESS_MAX REPO_LINES...: lz4 level 1 (pgBackRest's default level for lz4)
pgbr_conf() {
    local pmax=$1
    shift
    {
        echo "[global]"
        printf '%s\n' "$@"
        cat <<CONF
compress-type=lz4
compress-level=1
process-max=$pmax
log-level-console=warn
log-level-file=off
log-path=$WORKDIR/pgbr-log
lock-path=$WORKDIR/pgbr-lock
archive-async=n
archive-check=y
start-fast=y
repo1-retention-full=9999

[bench]
pg1-path=$PGDATA_B
pg1-socket-path=$WORKDIR
pg1-port=$PORT
pg1-user=postgres
CONF
    } | as_pg tee "$PGBR_CONF" >/dev/null
    chmod 600 "$PGBR_CONF"
}

# --- S3: moto behind stunnel on loopback ------------------------------------------------------
# (slow Python: both tools share its cost, so the ratio, not the absolute rate, is comparable)
bench_s3_start() {
    S3DIR="$WORKDIR/s3"
    rm -rf "$S3DIR"
    S3SERVER_TLS=stunnel bash "$SRC/tests/support/s3server.sh" start "$S3DIR" >/dev/null
    CLEANUP="$CLEANUP; bash '$SRC/tests/support/s3server.sh' stop '$S3DIR'"
    chmod 644 "$S3DIR/ca.pem"
    # shellcheck disable=SC1091
    source "$S3DIR/env"
    S3_PORT=${PITR_S3_ENDPOINT##*:}
    # credentials for the tools, readable by the postgres user only
    printf 'aws_access_key_id = %s\naws_secret_access_key = %s\n' "$AWS_ACCESS_KEY_ID" \
        "$AWS_SECRET_ACCESS_KEY" | as_pg tee "$WORKDIR/s3-credentials" >/dev/null
    chmod 600 "$WORKDIR/s3-credentials"
    CLUSTER=$(as_pg "$PG_BIN/pg_controldata" "$PGDATA_B" | awk -F': *' '/Database system identifier/ {print $2}')
}
# pitr_s3_lines: pitr configuration lines for the test bucket, prefix "pitr"
pitr_s3_lines() {
    printf '%s\n' "repo = 's3://$PITR_S3_BUCKET/pitr'" "s3_endpoint = '$PITR_S3_ENDPOINT'" \
        "s3_ca_file = '$PITR_S3_CA_FILE'" "s3_credentials_file = '$WORKDIR/s3-credentials'"
}
# pgbr_s3_lines N: pgBackRest configuration lines for repository N in the test bucket, path /pgbr
pgbr_s3_lines() {
    printf '%s\n' "repo$1-type=s3" "repo$1-path=/pgbr" "repo$1-s3-bucket=$PITR_S3_BUCKET" \
        "repo$1-s3-endpoint=localhost" "repo$1-storage-port=$S3_PORT" "repo$1-s3-region=us-east-1" \
        "repo$1-s3-uri-style=path" "repo$1-storage-ca-file=$PITR_S3_CA_FILE" \
        "repo$1-s3-key=$AWS_ACCESS_KEY_ID" "repo$1-s3-key-secret=$AWS_SECRET_ACCESS_KEY"
}
# s3_cmd size|rm PREFIX: total bytes under PREFIX, or removes everything under it
s3_cmd() {
    python3 - "$PITR_S3_ENDPOINT" "$PITR_S3_CA_FILE" "$PITR_S3_BUCKET" "$1" "$2" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], verify=sys.argv[2], region_name="us-east-1")
total, keys = 0, []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[3], Prefix=sys.argv[5]):
    for o in page.get("Contents", []):
        total += o["Size"]
        keys.append({"Key": o["Key"]})
if sys.argv[4] == "size":
    print(total)
else:
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=sys.argv[3], Delete={"Objects": keys[i:i + 1000]})
PY
}
