#!/usr/bin/env bash
# Base backup benchmark: backs up the same pgbench database (PostgreSQL 15, archive_mode on) with
# pitr-basebackup, pgbackrest backup --type=full and pg_basebackup -Ft, to a local repository and
# to the S3 test server; prints wall time, MB/s, stored size, peak RSS and pitr's ratios to the
# others. Not a test: run it by hand.
#   bench/basebackup_bench.sh                 (results go to stdout, progress to stderr)
# Environment: BENCH_SCALE (pgbench scale, default 100, about 1.5 GB), REPEAT (rounds, each
# running every configuration once; default 3; medians and best runs are reported),
# BENCH_S3=0 skips S3, BENCH_ONLY=REGEX runs only the configurations whose label matches,
# BENCH_WORK (work dir), PITR_BIN_DIR (use these binaries instead of building build-bench/).
#
# Fairness: every tool waits for the backup's WAL to reach its own repository through its own
# archive command (archive_command dispatches to pitr-archive or pgbackrest archive-push,
# whichever tool is being measured; pgBackRest keeps archive-check=y, pg_basebackup runs with
# --wal-method=none, so the server waits for its archiver, which pushes with pitr-archive into a
# scratch repository). A CHECKPOINT precedes every run, and every tool asks for a fast one.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
SCALE=${BENCH_SCALE:-100}
REPEAT=${REPEAT:-3}
WORKDIR=${BENCH_WORK:-$SRC/bench/work-basebackup}
ONLY=${BENCH_ONLY:-.}

PORT=55433
# shellcheck source=bench/lib.sh
source "$SRC/bench/lib.sh"
bench_deps
bench_init
# the data comes from the page cache for every run and every tool
tar -cf - -C "$PGDATA_B" base global | cat >/dev/null

# --- the runs ---------------------------------------------------------------------------------
# Configurations are registered with `config LABEL SETUP_FN RESET_FN BACKUP_FN SIZE_FN` and run in
# REPEAT rounds, each round running every configuration once, so that load from other work on
# the machine drifts over all of them alike. Before each run: SETUP_FN (writes the tool's
# configuration), RESET_FN (an empty repository), a CHECKPOINT and sync. BACKUP_FN runs the
# client under GNU time, whose peak RSS lands in $WORKDIR/rss.
CONFIGS=()
config() { [[ $1 =~ $ONLY ]] && CONFIGS+=("$1|$2|$3|$4|$5") || true; }
declare -A RUNS_OF SECONDS_OF BEST_OF
run_config() {
    local label setup reset backup size_fn t0 t1
    IFS='|' read -r label setup reset backup size_fn <<<"$1"
    "$setup"
    "$reset"
    psql_b "checkpoint"
    sync
    log "$label, round $2; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    t0=$(now)
    if ! "$backup" >"$WORKDIR/run.log" 2>&1; then
        cat "$WORKDIR/run.log" >&2
        log "$label failed"
        return 0
    fi
    t1=$(now)
    RUNS_OF[$label]+="$(echo "$t1 - $t0" | bc -l) $(tail -1 "$WORKDIR/rss") $("$size_fn")"$'\n'
}
# report LABEL: the median run by wall time (of two, the faster) with its own RSS and size, and
# the fastest run (the least disturbed by other work on the machine)
report() {
    local label=$1 secs rss stored n all best
    if [ -z "${RUNS_OF[$label]:-}" ]; then
        printf '| %-40s | failed |\n' "$label"
        return 0
    fi
    n=$(printf '%s' "${RUNS_OF[$label]}" | wc -l)
    read -r secs rss stored < <(printf '%s' "${RUNS_OF[$label]}" | sort -g | sed -n "$(((n + 1) / 2))p")
    all=$(printf '%s' "${RUNS_OF[$label]}" | awk '{printf "%.2f ", $1}')
    best=$(printf '%s' "${RUNS_OF[$label]}" | sort -g | head -1 | cut -d' ' -f1)
    SECONDS_OF[$label]=$secs
    BEST_OF[$label]=$best
    printf '| %-40s | %7.2f | %7.1f | %6.2f | %10.1f | %12.1f | %s|\n' "$label" "$secs" \
        "$(echo "$DB_MB / $secs" | bc -l)" "$best" "$(echo "$stored / 1048576" | bc -l)" \
        "$(echo "$rss / 1024" | bc -l)" "$all"
}

# --- pitr-basebackup --------------------------------------------------------------------------
PITR_CONF="$WORKDIR/pitr.conf"
PITR_REPO="$WORKDIR/pitr-repo"
head -c 48 /dev/urandom | base64 | as_pg tee "$WORKDIR/key" >/dev/null
chmod 600 "$WORKDIR/key"
# pitr_conf LINES...: the configuration both pitr-archive and pitr-basebackup read
pitr_conf() {
    {
        printf "pg_conninfo = '%s'\nlog_level = warn\n" "$CONN"
        printf '%s\n' "$@"
    } | as_pg tee "$PITR_CONF" >/dev/null
}
pitr_reset() {
    rm -rf "$PITR_REPO"
    as_pg mkdir -p "$PITR_REPO"
    archive_to pitr "$PITR_CONF"
}
pitr_backup() { (cd "$PGDATA_B" && timed "$BIN/pitr-basebackup" --config "$PITR_CONF" --quiet); }
pitr_size() { du -sb "$PITR_REPO"/*/backup | cut -f1; }

# --- pgBackRest -------------------------------------------------------------------------------
PGBR_REPO="$WORKDIR/pgbr-repo"
pgbr_reset() {
    rm -rf "$PGBR_REPO" "$WORKDIR/pgbr-log" "$WORKDIR/pgbr-lock"
    as_pg mkdir -p "$PGBR_REPO" "$WORKDIR/pgbr-log" "$WORKDIR/pgbr-lock"
    [ -n "${PGBR_S3_RESET:-}" ] && "$PGBR_S3_RESET"
    as_pg pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create >/dev/null
    archive_to pgbackrest "$PGBR_CONF"
}
pgbr_backup() { timed pgbackrest --config="$PGBR_CONF" --stanza=bench --type=full backup; }
pgbr_size() { du -sb "$PGBR_REPO/backup" | cut -f1; }

# --- pg_basebackup ----------------------------------------------------------------------------
PGBB_DIR="$WORKDIR/pgbb"
PGBB_COMPRESS=
pgbb_reset() {
    rm -rf "$PGBB_DIR" "$WORKDIR/scratch-repo"
    as_pg mkdir -p "$WORKDIR/scratch-repo"
    archive_to pitr "$WORKDIR/scratch.conf"
}
pgbb_backup() {
    timed "$PG_BIN/pg_basebackup" -h "$WORKDIR" -p $PORT -U postgres -D "$PGBB_DIR" -Ft \
        --wal-method=none --checkpoint=fast "--compress=$PGBB_COMPRESS"
}
pgbb_size() { du -sb "$PGBB_DIR" | cut -f1; }

# --- the configurations ----------------------------------------------------------------------
pitr_server_lz4() { pitr_conf "repo = '$PITR_REPO'" "compression = lz4" "backup_compress_on = server"; }
pitr_client_lz4() { pitr_conf "repo = '$PITR_REPO'" "compression = lz4" "backup_compress_on = client"; }
pitr_client_zstd() { pitr_conf "repo = '$PITR_REPO'" "compression = zstd" "backup_compress_on = client"; }
pitr_client_zstd1() { pitr_conf "repo = '$PITR_REPO'" "compression = zstd:1" "backup_compress_on = client"; }
pitr_server_lz4_aes() {
    pitr_conf "repo = '$PITR_REPO'" "compression = lz4" "backup_compress_on = server" \
        "encryption_key_file = '$WORKDIR/key'"
}
pgbr_local1() { pgbr_conf 1 "repo1-path=$PGBR_REPO"; }
pgbr_local2() { pgbr_conf 2 "repo1-path=$PGBR_REPO"; }
pgbb_server_lz4() { PGBB_COMPRESS=server-lz4; }
pgbb_client_zstd1() { PGBB_COMPRESS=client-zstd:1; }
config "pitr local lz4 server" pitr_server_lz4 pitr_reset pitr_backup pitr_size
config "pitr local lz4 client" pitr_client_lz4 pitr_reset pitr_backup pitr_size
config "pitr local zstd client" pitr_client_zstd pitr_reset pitr_backup pitr_size
config "pitr local zstd:1 client" pitr_client_zstd1 pitr_reset pitr_backup pitr_size
config "pitr local lz4 server + AES-256-GCM" pitr_server_lz4_aes pitr_reset pitr_backup pitr_size
config "pgbackrest local lz4 p1" pgbr_local1 pgbr_reset pgbr_backup pgbr_size
config "pgbackrest local lz4 p2" pgbr_local2 pgbr_reset pgbr_backup pgbr_size
config "pg_basebackup -Ft server-lz4" pgbb_server_lz4 pgbb_reset pgbb_backup pgbb_size
config "pg_basebackup -Ft client-zstd:1" pgbb_client_zstd1 pgbb_reset pgbb_backup pgbb_size

# S3: moto behind stunnel on loopback (slow Python: both tools share its cost, so the ratio, not
# the absolute rate, is the comparable number)
if [ "${BENCH_S3:-1}" = 1 ] && command -v moto_server >/dev/null; then
    bench_s3_start
    pitr_s3() {
        local lines
        mapfile -t lines < <(pitr_s3_lines)
        pitr_conf "${lines[@]}" "compression = lz4" "backup_compress_on = server"
    }
    pitr_s3_reset() {
        s3_cmd rm pitr/
        archive_to pitr "$PITR_CONF"
    }
    pitr_s3_size() { s3_cmd size "pitr/$CLUSTER/backup/"; } # the backup, not the archived WAL
    pgbr_s3_conf() {
        local lines
        mapfile -t lines < <(pgbr_s3_lines 1)
        pgbr_conf "$1" "${lines[@]}"
        PGBR_S3_RESET=pgbr_s3_rm
    }
    pgbr_s3_1() { pgbr_s3_conf 1; }
    pgbr_s3_2() { pgbr_s3_conf 2; }
    pgbr_s3_rm() { s3_cmd rm pgbr/; }
    pgbr_s3_size() { s3_cmd size pgbr/backup/; }
    config "pitr S3 lz4 server" pitr_s3 pitr_s3_reset pitr_backup pitr_s3_size
    config "pgbackrest S3 lz4 p1" pgbr_s3_1 pgbr_reset pgbr_backup pgbr_s3_size
    config "pgbackrest S3 lz4 p2" pgbr_s3_2 pgbr_reset pgbr_backup pgbr_s3_size
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= REPEAT; round++)); do
    for c in "${CONFIGS[@]}"; do
        PGBR_S3_RESET=
        run_config "$c" "$round"
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo "# base backup benchmark: pgbench -i -s $SCALE, $(printf '%.0f' "$DB_MB") MB (sum of pg_database_size)"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(pgbackrest version), $("$PG_BIN/postgres" --version), pitr $(git -C "$SRC" rev-parse --short HEAD)"
echo "# load average before: $LOAD_BEFORE, after: $LOAD_AFTER; median of $REPEAT rounds"
echo
echo "| run                                      | seconds |    MB/s | best s | stored MiB | peak RSS MiB | runs (s) |"
echo "| ---------------------------------------- | ------- | ------- | ------ | ---------- | ------------ | -------- |"
for c in "${CONFIGS[@]}"; do
    report "${c%%|*}"
done
echo
# ratio A B TEXT: how many times faster A is than B (B's seconds over A's), medians and best runs
ratio() {
    if [ -n "${SECONDS_OF[$1]:-}" ] && [ -n "${SECONDS_OF[$2]:-}" ]; then
        printf '%-72s %.2fx (best runs: %.2fx)\n' "$3" \
            "$(echo "${SECONDS_OF[$2]} / ${SECONDS_OF[$1]}" | bc -l)" \
            "$(echo "${BEST_OF[$2]} / ${BEST_OF[$1]}" | bc -l)"
    fi
}
ratio "pitr local lz4 server" "pgbackrest local lz4 p1" "throughput, pitr lz4 server / pgBackRest lz4 p1, local (target 2x):"
ratio "pitr local lz4 client" "pgbackrest local lz4 p1" "throughput, pitr lz4 client / pgBackRest lz4 p1, local (target 2x):"
ratio "pitr local lz4 server" "pgbackrest local lz4 p2" "throughput, pitr lz4 server / pgBackRest lz4 p2, local:"
ratio "pitr S3 lz4 server" "pgbackrest S3 lz4 p1" "throughput, pitr lz4 / pgBackRest lz4 p1, S3 (target 2x):"
ratio "pitr S3 lz4 server" "pgbackrest S3 lz4 p2" "throughput, pitr lz4 / pgBackRest lz4 p2, S3:"
ratio "pg_basebackup -Ft server-lz4" "pitr local lz4 server" "wall time, pitr lz4 server / pg_basebackup server-lz4 (target <= 1.2x):"
ratio "pg_basebackup -Ft client-zstd:1" "pitr local zstd:1 client" "wall time, pitr zstd:1 client / pg_basebackup client-zstd:1:"
