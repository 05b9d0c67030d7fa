#!/usr/bin/env bash
# Archive benchmark: pushes the same 64 real 16 MiB WAL segments, one process per segment as
# PostgreSQL does, with pitr-archive and with pgbackrest archive-push, to a local repository and
# to the S3 test server, with lz4 and zstd; prints segments/s, MB/s, stored size, the peak RSS of
# one invocation, and pitr's ratio to pgBackRest. Not a test: run it by hand.
#   bench/archive_bench.sh [SEGMENTS]        (default 64; results go to stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
NSEG=${1:-64}
PG_BIN=/usr/lib/postgresql/15/bin
BIN=${PITR_BIN_DIR:-$SRC/build-bench/bin}
WORKDIR=${BENCH_WORK:-$SRC/bench/work}

PITR_NEED_S3_SERVER=0 scripts/install-deps.sh
for p in pgbackrest time bc stunnel4; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
# an optimised build without sanitizers, whatever ./build holds
BUILD_DIR=build-bench BUILD_TYPE=Release scripts/build.sh -DPITR_SANITIZE=OFF -DPITR_TESTS=OFF >/dev/null

if [ "$(id -u)" = 0 ]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
mkdir -p "$WORKDIR"
chown postgres "$WORKDIR" 2>/dev/null || true
PGDATA_B="$WORKDIR/pgdata"
PORT=55432
pg_down() { as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -m fast -w stop >/dev/null 2>&1 || true; }
CLEANUP="pg_down"
trap 'eval "$CLEANUP"' EXIT
pg_down # a run that was interrupted may have left it running

# --- 1. a cluster and NSEG real WAL segments (made once, then reused) --------------------------
if [ ! -f "$WORKDIR/segments.done" ] || [ "$(wc -l <"$WORKDIR/segments.done")" -lt "$NSEG" ]; then
    rm -rf "$PGDATA_B" "$WORKDIR/segments.done"
    as_pg "$PG_BIN/initdb" -D "$PGDATA_B" -A trust -U postgres --no-sync >/dev/null
    cat >>"$PGDATA_B/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORKDIR'
wal_level = replica
archive_mode = off
wal_keep_size = '4GB'
max_wal_size = '4GB'
fsync = off
CONF
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -l "$WORKDIR/pg.log" -w start >/dev/null
    # pgbench data is a realistic WAL mix (heap inserts, index builds, full-page images)
    scale=$((NSEG * 3 / 2 + 5)) # about 0.8 segments per unit of scale
    as_pg "$PG_BIN/pgbench" -h "$WORKDIR" -p $PORT -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
    as_pg "$PG_BIN/psql" -h "$WORKDIR" -p $PORT -U postgres -Atqc "select pg_switch_wal()" postgres >/dev/null
    as_pg "$PG_BIN/psql" -h "$WORKDIR" -p $PORT -U postgres -Atqc "checkpoint" postgres
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -m fast -w stop >/dev/null
    (cd "$PGDATA_B/pg_wal" && ls | grep -E '^[0-9A-F]{24}$' | sort | head -n "$NSEG") >"$WORKDIR/segments.done"
fi
mapfile -t SEGS <"$WORKDIR/segments.done"
[ "${#SEGS[@]}" -ge "$NSEG" ] || { echo "only ${#SEGS[@]} segments were generated" >&2; exit 1; }
SEGS=("${SEGS[@]:0:$NSEG}")
RAW_MB=$((NSEG * 16))

now() { date +%s.%N; }
# peak RSS (KiB) of one invocation on the middle segment, as measured by GNU time
peak_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

# run_one LABEL PUSH_FN REPO_SIZE_FN [RESET_FN]: pushes every segment, one process each, and
# reports; with RESET_FN, REPEAT runs into a fresh repository each and the median time counts.
REPEAT=${REPEAT:-3}
declare -A SECONDS_OF
run_one() {
    local label=$1 push=$2 size_fn=$3 reset=${4:-} t0 t1 secs segs_s mbs stored rss runs=() n=1
    [ -n "$reset" ] && n=$REPEAT
    for ((r = 0; r < n; r++)); do
        [ -n "$reset" ] && "$reset"
        sync
        t0=$(now)
        for s in "${SEGS[@]}"; do
            "$push" "$s"
        done
        t1=$(now)
        runs+=("$(echo "$t1 - $t0" | bc -l)")
    done
    secs=$(printf '%s\n' "${runs[@]}" | sort -g | sed -n "$(((n + 1) / 2))p")
    stored=$("$size_fn")
    rss=$(RSS_PROBE=1 "$push" "${SEGS[$((NSEG / 2))]}")
    SECONDS_OF[$label]=$secs
    segs_s=$(echo "$NSEG / $secs" | bc -l)
    mbs=$(echo "$RAW_MB / $secs" | bc -l)
    printf '| %-36s | %7.2f | %8.1f | %7.1f | %9.1f | %8.1f |\n' "$label" "$secs" "$segs_s" "$mbs" \
        "$(echo "$stored / 1048576" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

# --- pitr ----------------------------------------------------------------------------------------
pitr_push() {
    local s=$1
    if [ "${RSS_PROBE:-0}" = 1 ]; then
        # a second push of an archived segment takes the verify path; probe a fresh repo instead
        rm -rf "$WORKDIR/rss-repo"
        (cd "$PGDATA_B" && PITR_REPO="$WORKDIR/rss-repo" peak_rss "$BIN/pitr-archive" --config "$PITR_CONF" "pg_wal/$s" "$s")
        return
    fi
    (cd "$PGDATA_B" && "$BIN/pitr-archive" --config "$PITR_CONF" "pg_wal/$s" "$s" 2>/dev/null)
}
pitr_size() { du -sb "$PITR_REPO_DIR" | cut -f1; }
pitr_reset() { rm -rf "$PITR_REPO_DIR"; }

# --- pgBackRest ----------------------------------------------------------------------------------
pgbr_push() {
    local s=$1
    if [ "${RSS_PROBE:-0}" = 1 ]; then
        peak_rss pgbackrest --config="$PGBR_CONF" --stanza=bench archive-push "$PGDATA_B/pg_wal/$s"
        return
    fi
    pgbackrest --config="$PGBR_CONF" --stanza=bench archive-push "$PGDATA_B/pg_wal/$s" >/dev/null
}
pgbr_size() { du -sb "$PGBR_REPO_DIR/archive" | cut -f1; }
pgbr_reset() { pgbr_setup "$PGBR_COMPRESS" 1; }

# pgbr_conf FILE COMPRESS_TYPE LEVEL REPO_LINES...: pgBackRest's configuration for this bench.
pgbr_conf() {
    local file=$1 type=$2 level=$3
    shift 3
    {
        echo "[global]"
        printf '%s\n' "$@"
        cat <<CONF
compress-type=$type
compress-level=$level
process-max=1
log-level-console=warn
log-level-file=off
log-path=$WORKDIR/pgbr-log
lock-path=$WORKDIR/pgbr-lock
archive-async=n
start-fast=y

[bench]
pg1-path=$PGDATA_B
pg1-socket-path=$WORKDIR
pg1-port=$PORT
pg1-user=postgres
CONF
    } >"$file"
    chmod 600 "$file"
}

pgbr_setup() { # COMPRESS_TYPE
    rm -rf "$PGBR_REPO_DIR" "$WORKDIR/pgbr-log" "$WORKDIR/pgbr-lock"
    mkdir -p "$PGBR_REPO_DIR" "$WORKDIR/pgbr-log" "$WORKDIR/pgbr-lock"
    pgbr_conf "$PGBR_CONF" "$1" "${2:-1}" "repo1-path=$PGBR_REPO_DIR"
    # stanza-create needs the server running; archive-push itself does not
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -l "$WORKDIR/pg.log" -o "-c archive_mode=off" -w start >/dev/null
    pgbackrest --config="$PGBR_CONF" --stanza=bench --no-online stanza-create >/dev/null 2>&1 ||
        pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -m fast -w stop >/dev/null
}

PITR_CONF="$WORKDIR/pitr.conf"
PITR_REPO_DIR="$WORKDIR/pitr-repo"
PGBR_CONF="$WORKDIR/pgbackrest.conf"
PGBR_REPO_DIR="$WORKDIR/pgbr-repo"

echo "# archive benchmark: $NSEG x 16 MiB real WAL segments (pgbench), one process per segment"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(pgbackrest version), pitr $(git -C "$SRC" rev-parse --short HEAD)"
echo
echo "| run                                | seconds | segments/s | MB/s | stored MiB | peak RSS MiB |"
echo "| ---------------------------------- | ------- | ---------- | ---- | ---------- | ------------ |"
# the segments come from the page cache for every run, as they do for PostgreSQL
for s in "${SEGS[@]}"; do cat "$PGDATA_B/pg_wal/$s"; done >/dev/null
for comp in lz4 zstd; do
    printf "repo = '%s'\ncompression = %s\nlog_level = warn\n" "$PITR_REPO_DIR" "$comp" >"$PITR_CONF"
    run_one "pitr-archive local $comp" pitr_push pitr_size pitr_reset
    PGBR_COMPRESS=$([ "$comp" = zstd ] && echo zst || echo lz4)
    run_one "pgbackrest archive-push local $comp" pgbr_push pgbr_size pgbr_reset
done
if [ -n "${BENCH_ENCRYPT:-1}" ]; then
    rm -rf "$PITR_REPO_DIR"
    head -c 48 /dev/urandom | base64 >"$WORKDIR/key"
    chmod 600 "$WORKDIR/key"
    printf "repo = '%s'\ncompression = lz4\nencryption_key_file = '%s'\nlog_level = warn\n" \
        "$PITR_REPO_DIR" "$WORKDIR/key" >"$PITR_CONF"
    run_one "pitr-archive local lz4 + AES-256-GCM" pitr_push pitr_size pitr_reset
fi

# --- S3 (the moto test server over TLS on loopback; it is slow Python, so both tools share its
# cost and the ratio, not the absolute rate, is the comparable number) ----------------------------
if [ "${BENCH_S3:-1}" = 1 ] && command -v moto_server >/dev/null; then
    S3DIR="$WORKDIR/s3"
    rm -rf "$S3DIR"
    S3SERVER_TLS=stunnel bash "$SRC/tests/support/s3server.sh" start "$S3DIR" >/dev/null
    CLEANUP="$CLEANUP; bash '$SRC/tests/support/s3server.sh' stop '$S3DIR'"
    # shellcheck disable=SC1091
    source "$S3DIR/env"
    S3_PORT=${PITR_S3_ENDPOINT##*:}
    printf "repo = 's3://%s/pitr'\ncompression = lz4\ns3_endpoint = '%s'\ns3_ca_file = '%s'\nlog_level = warn\n" \
        "$PITR_S3_BUCKET" "$PITR_S3_ENDPOINT" "$PITR_S3_CA_FILE" >"$PITR_CONF"
    s3_size() {
        python3 - "$PITR_S3_ENDPOINT" "$PITR_S3_CA_FILE" "$PITR_S3_BUCKET" "$1" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], verify=sys.argv[2], region_name="us-east-1")
total = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[3], Prefix=sys.argv[4]):
    total += sum(o["Size"] for o in page.get("Contents", []))
print(total)
PY
    }
    pitr_s3_size() { s3_size pitr/; }
    pitr_s3_push() {
        local s=$1
        if [ "${RSS_PROBE:-0}" = 1 ]; then
            (cd "$PGDATA_B" && PITR_REPO="s3://$PITR_S3_BUCKET/rss-probe-$RANDOM" peak_rss "$BIN/pitr-archive" --config "$PITR_CONF" "pg_wal/$s" "$s")
            return
        fi
        (cd "$PGDATA_B" && "$BIN/pitr-archive" --config "$PITR_CONF" "pg_wal/$s" "$s" 2>/dev/null)
    }
    run_one "pitr-archive S3 lz4" pitr_s3_push pitr_s3_size
    pgbr_setup lz4 1
    pgbr_conf "$PGBR_CONF.s3" lz4 1 repo1-type=s3 repo1-path=/pgbr \
        "repo1-s3-bucket=$PITR_S3_BUCKET" repo1-s3-endpoint=localhost "repo1-storage-port=$S3_PORT" \
        repo1-s3-region=us-east-1 repo1-s3-uri-style=path "repo1-storage-ca-file=$PITR_S3_CA_FILE" \
        "repo1-s3-key=$AWS_ACCESS_KEY_ID" "repo1-s3-key-secret=$AWS_SECRET_ACCESS_KEY"
    PGBR_CONF_LOCAL=$PGBR_CONF
    PGBR_CONF="$PGBR_CONF.s3"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -l "$WORKDIR/pg.log" -o "-c archive_mode=off" -w start >/dev/null
    pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_B" -m fast -w stop >/dev/null
    pgbr_s3_size() { s3_size pgbr/archive/; }
    run_one "pgbackrest archive-push S3 lz4" pgbr_push pgbr_s3_size
    PGBR_CONF=$PGBR_CONF_LOCAL
fi

echo
for comp in lz4 zstd; do
    printf 'ratio (segments/s, pitr / pgBackRest), local %s: %.2fx\n' "$comp" \
        "$(echo "${SECONDS_OF["pgbackrest archive-push local $comp"]} / ${SECONDS_OF["pitr-archive local $comp"]}" | bc -l)"
done
if [ -n "${SECONDS_OF["pitr-archive S3 lz4"]:-}" ]; then
    printf 'ratio (segments/s, pitr / pgBackRest), S3 lz4: %.2fx\n' \
        "$(echo "${SECONDS_OF["pgbackrest archive-push S3 lz4"]} / ${SECONDS_OF["pitr-archive S3 lz4"]}" | bc -l)"
fi
