#!/usr/bin/env bash
# Restore benchmark: point-in-time restore of the same pgbench cluster (PostgreSQL 15) with
# pitr-restore and with pgbackrest restore, from a local repository and from the S3 test server,
# end to end (from the command to a started, promoted cluster) and up to the start of recovery;
# prints wall times, restored MB/s, peak RSS and pitr's ratios to pgBackRest. Not a test: run it
# by hand.
#   bench/restore_bench.sh                    (results go to stdout, progress to stderr)
# Environment: BENCH_SCALE (pgbench scale, default 100, about 1.5 GB), REPEAT (rounds, each
# running every configuration once; default 3; medians and best runs are reported),
# BENCH_LOAD_SECONDS (pgbench load after the backups, default 30, the target time in its
# middle), BENCH_S3=0 skips S3, BENCH_ONLY=REGEX runs only the configurations whose label
# matches, BENCH_WORK (work dir), PITR_BIN_DIR (use these binaries instead of building
# build-bench/).
#
# Setup, once per run: the cluster archives into all repositories at once (archive_command is one
# script that runs pitr-archive for pitr's local and S3 repositories and pgbackrest archive-push
# for pgBackRest's two, and fails unless every push succeeded); then pitr-basebackup (server lz4)
# and pgbackrest backup --type=full (lz4 level 1) into each repository, back to back; then pgbench
# load with the target time T in its middle, a row committed a second before T and one a second
# after; then a WAL switch, and the wait until everything is archived everywhere. Every restore
# recovers to T, and must find the first row and not the second.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
SCALE=${BENCH_SCALE:-100}
REPEAT=${REPEAT:-3}
LOAD_SECONDS=${BENCH_LOAD_SECONDS:-30}
WORKDIR=${BENCH_WORK:-$SRC/bench/work-restore}
ONLY=${BENCH_ONLY:-.}
PORT=55443
RPORT=55444 # the restored copy's
# shellcheck source=bench/lib.sh
source "$SRC/bench/lib.sh"
bench_deps
bench_init
S3=0
if [ "${BENCH_S3:-1}" = 1 ] && command -v moto_server >/dev/null; then
    S3=1
    bench_s3_start
fi

# --- the repositories: pitr's and pgBackRest's, local and S3, all archived into at once ------
PITR_REPO="$WORKDIR/pitr-repo"
PGBR_REPO="$WORKDIR/pgbr-repo"
# pitr_conf FILE LINES...: lz4, compressed by the server, as "pitr local lz4 server" in the
# base backup benchmark
pitr_conf() {
    local file=$1
    shift
    {
        printf "pg_conninfo = '%s'\nlog_level = warn\ncompression = lz4\n" "$CONN"
        printf "backup_compress_on = server\n"
        printf '%s\n' "$@"
    } | as_pg tee "$file" >/dev/null
}
rm -rf "$PITR_REPO" "$PGBR_REPO" "$WORKDIR/pgbr-log" "$WORKDIR/pgbr-lock"
as_pg mkdir -p "$PITR_REPO" "$PGBR_REPO" "$WORKDIR/pgbr-log" "$WORKDIR/pgbr-lock"
pitr_conf "$WORKDIR/pitr-local.conf" "repo = '$PITR_REPO'"
# restores read one repository each, so that pgBackRest's restore_command (archive-get) fetches
# from the repository being measured; archiving and backups use both
pgbr_conf 1 "repo1-path=$PGBR_REPO"
as_pg cp "$PGBR_CONF" "$WORKDIR/pgbr-local.conf"
ARCHIVE=(pitr "$WORKDIR/pitr-local.conf")
PGBR_REPOS=("repo1-path=$PGBR_REPO")
if [ "$S3" = 1 ]; then
    mapfile -t lines < <(pitr_s3_lines)
    pitr_conf "$WORKDIR/pitr-s3.conf" "${lines[@]}"
    mapfile -t lines < <(pgbr_s3_lines 1)
    pgbr_conf 1 "${lines[@]}"
    as_pg cp "$PGBR_CONF" "$WORKDIR/pgbr-s3.conf"
    mapfile -t lines < <(pgbr_s3_lines 2)
    PGBR_REPOS+=("${lines[@]}" repo2-retention-full=9999)
    ARCHIVE+=(pitr "$WORKDIR/pitr-s3.conf")
    s3_cmd rm pitr/
    s3_cmd rm pgbr/
fi
pgbr_conf 1 "${PGBR_REPOS[@]}"
as_pg pgbackrest --config="$PGBR_CONF" --stanza=bench stanza-create >/dev/null
ARCHIVE+=(pgbackrest "$PGBR_CONF")
archive_to "${ARCHIVE[@]}"
psql_b "select pg_switch_wal()" >/dev/null
wait_archived

log "base backups"
(cd "$PGDATA_B" && as_pg "$BIN/pitr-basebackup" --config "$WORKDIR/pitr-local.conf" --quiet)
as_pg pgbackrest --config="$PGBR_CONF" --stanza=bench --repo=1 --type=full backup
if [ "$S3" = 1 ]; then
    (cd "$PGDATA_B" && as_pg "$BIN/pitr-basebackup" --config "$WORKDIR/pitr-s3.conf" --quiet)
    as_pg pgbackrest --config="$PGBR_CONF" --stanza=bench --repo=2 --type=full backup
fi

log "pgbench load for $LOAD_SECONDS s"
psql_b "drop table if exists marker; create table marker (v text)"
as_pg "$PG_BIN/pgbench" -h "$WORKDIR" -p "$PORT" -U postgres -c 2 -j 2 -T "$LOAD_SECONDS" \
    postgres >"$WORKDIR/pgbench.log" 2>&1 &
PGBENCH=$!
sleep "$(echo "$LOAD_SECONDS / 2 - 1" | bc -l)"
psql_b "insert into marker values ('before')"
sleep 1
TARGET=$(psql_b "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1
psql_b "insert into marker values ('after')"
wait "$PGBENCH"
psql_b "select pg_switch_wal()" >/dev/null
log "target $TARGET; waiting for the archives"
wait_archived
WAL_MB=$(du -sm "$PITR_REPO"/*/wal | cut -f1)

# --- the runs ---------------------------------------------------------------------------------
# Every run restores into the empty directory $RESTORED and is timed from the command on: to the
# start of recovery (the restore command alone), and end to end, until the restored server runs
# and pg_is_in_recovery() is false. The restored copy runs on its own port; it does not archive
# (pgBackRest's gets archive_mode = off; pitr-restore --start keeps the original's
# archive_command, which archives nothing outside the original's data directory). After each run
# the copy is checked (the row before T present, the one after absent), stopped and removed.
RESTORED="$WORKDIR/restored"
restored_down() {
    [ -f "$RESTORED/postmaster.pid" ] &&
        as_pg "$PG_BIN/pg_ctl" -D "$RESTORED" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$RESTORED"
}
CLEANUP="restored_down; $CLEANUP"
psql_r() { as_pg "$PG_BIN/psql" -h "$WORKDIR" -p "$RPORT" -U postgres -Atqc "$1" postgres; }
# check_restored: the restored copy stopped at T
check_restored() {
    local got
    got=$(psql_r "select count(*) filter (where v = 'before') || ' ' || count(*) filter (where v = 'after') from marker")
    [ "$got" = "1 0" ] || {
        echo "restored copy has rows before/after T: $got (expected 1 0)"
        return 1
    }
}

# Each configuration: LABEL|KIND|CONF|PROCESS_MAX. KIND pitr-start (end to end, with --start),
# pitr (to recovery start), pgbr (both from one run: restore, then pg_ctl start).
CONFIGS=()
config() { if [[ $1 =~ $ONLY ]]; then CONFIGS+=("$1|$2|$3|$4"); fi; }
declare -A RESTORE_OF E2E_OF
# run_config CONFIG ROUND: appends "seconds rss bytes" to RESTORE_OF[label] (to recovery start)
# and "seconds" to E2E_OF[label] (end to end)
run_config() {
    local label kind conf pmax t0 t1='' t2='' rss bytes i
    IFS='|' read -r label kind conf pmax <<<"$1"
    restored_down
    sync
    log "$label ($kind), round $2; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    t0=$(now)
    case "$kind" in
    pitr-start)
        if ! timed "$BIN/pitr-restore" --config "$conf" --target-dir "$RESTORED" --to "$TARGET" \
            --start --port "$RPORT" >"$WORKDIR/run.log" 2>&1 || ! check_restored >>"$WORKDIR/run.log"; then
            cat "$WORKDIR/run.log" >&2
            log "$label failed"
            return 0
        fi
        t2=$(now)
        E2E_OF[$label]+="$(echo "$t2 - $t0" | bc -l)"$'\n'
        ;;
    pitr)
        if ! timed "$BIN/pitr-restore" --config "$conf" --target-dir "$RESTORED" --to "$TARGET" \
            --quiet >"$WORKDIR/run.log" 2>&1; then
            cat "$WORKDIR/run.log" >&2
            log "$label failed"
            return 0
        fi
        t1=$(now)
        RESTORE_OF[$label]+="$(echo "$t1 - $t0" | bc -l) $(tail -1 "$WORKDIR/rss") $(du -sb "$RESTORED" | cut -f1)"$'\n'
        ;;
    pgbr)
        if ! timed pgbackrest --config="$conf" --stanza=bench --process-max="$pmax" \
            --pg1-path="$RESTORED" --type=time "--target=$TARGET" --target-action=promote \
            restore >"$WORKDIR/run.log" 2>&1; then
            cat "$WORKDIR/run.log" >&2
            log "$label failed"
            return 0
        fi
        t1=$(now)
        rss=$(tail -1 "$WORKDIR/rss")
        bytes=$(du -sb "$RESTORED" | cut -f1)
        printf 'port = %s\narchive_mode = off\n' "$RPORT" | as_pg tee -a "$RESTORED/postgresql.auto.conf" >/dev/null
        as_pg "$PG_BIN/pg_ctl" -D "$RESTORED" -l "$WORKDIR/restored.log" -w -t 3600 start >/dev/null
        for ((i = 0; ; i++)); do
            [ "$(psql_r "select pg_is_in_recovery()" 2>/dev/null)" = f ] && break
            if [ "$i" -ge 36000 ] || [ ! -f "$RESTORED/postmaster.pid" ]; then
                log "$label: the restored server did not promote"
                tail -5 "$WORKDIR/restored.log" >&2
                return 0
            fi
            sleep 0.1
        done
        t2=$(now)
        if ! check_restored >&2; then
            log "$label failed"
            return 0
        fi
        RESTORE_OF[$label]+="$(echo "$t1 - $t0" | bc -l) $rss $bytes"$'\n'
        E2E_OF[$label]+="$(echo "$t2 - $t0" | bc -l)"$'\n'
        ;;
    esac
    log "  to recovery start: ${t1:+$(echo "$t1 - $t0" | bc -l | cut -c1-5) s}, end to end: ${t2:+$(echo "$t2 - $t0" | bc -l | cut -c1-5) s}"
    restored_down
}
config "pitr local" pitr-start "$WORKDIR/pitr-local.conf" 1
config "pitr local" pitr "$WORKDIR/pitr-local.conf" 1
config "pgbackrest local p1" pgbr "$WORKDIR/pgbr-local.conf" 1
config "pgbackrest local p2" pgbr "$WORKDIR/pgbr-local.conf" 2
if [ "$S3" = 1 ]; then
    config "pitr S3" pitr-start "$WORKDIR/pitr-s3.conf" 1
    config "pitr S3" pitr "$WORKDIR/pitr-s3.conf" 1
    config "pgbackrest S3 p1" pgbr "$WORKDIR/pgbr-s3.conf" 1
    config "pgbackrest S3 p2" pgbr "$WORKDIR/pgbr-s3.conf" 2
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= REPEAT; round++)); do
    for c in "${CONFIGS[@]}"; do
        run_config "$c" "$round"
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# median LIST: the median line of LIST sorted by its first field (of two, the faster)
median() {
    local n
    n=$(printf '%s' "$1" | wc -l)
    printf '%s' "$1" | sort -g | sed -n "$(((n + 1) / 2))p"
}
best() { printf '%s' "$1" | sort -g | head -1 | cut -d' ' -f1; }
runs() { printf '%s' "$1" | awk '{printf "%.2f ", $1}'; }
declare -A E2E_S E2E_BEST RESTORE_S RESTORE_BEST
# report LABEL: medians and best runs, to recovery start and end to end
report() {
    local label=$1 secs rss bytes e2e
    if [ -n "${RESTORE_OF[$label]:-}" ]; then
        read -r secs rss bytes < <(median "${RESTORE_OF[$label]}")
        RESTORE_S[$label]=$secs
        RESTORE_BEST[$label]=$(best "${RESTORE_OF[$label]}")
    fi
    if [ -n "${E2E_OF[$label]:-}" ]; then
        e2e=$(median "${E2E_OF[$label]}")
        E2E_S[$label]=$e2e
        E2E_BEST[$label]=$(best "${E2E_OF[$label]}")
    fi
    printf '| %-20s | %16s | %6s | %6s | %12s | %12s | %6s | %12s | %s| %s|\n' "$label" \
        "$(printf '%.2f' "${RESTORE_S[$label]:-nan}")" "$(printf '%.2f' "${RESTORE_BEST[$label]:-nan}")" \
        "$(printf '%.1f' "$(echo "${bytes:-0} / 1000000 / ${secs:-1}" | bc -l)")" \
        "$(printf '%.1f' "$(echo "${rss:-0} / 1024" | bc -l)")" \
        "$(printf '%.2f' "${E2E_S[$label]:-nan}")" "$(printf '%.2f' "${E2E_BEST[$label]:-nan}")" \
        "$(printf '%.0f' "$(echo "${bytes:-0} / 1048576" | bc -l)")" \
        "$(runs "${RESTORE_OF[$label]:-}")" "$(runs "${E2E_OF[$label]:-}")"
}

echo "# restore benchmark: pgbench -i -s $SCALE, $(printf '%.0f' "$DB_MB") MB (sum of pg_database_size), ${LOAD_SECONDS} s of pgbench -c 2 after the backups, target in its middle; ${WAL_MB} MiB of WAL archived (pitr, lz4)"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(pgbackrest version), $("$PG_BIN/postgres" --version), pitr $(git -C "$SRC" rev-parse --short HEAD)"
echo "# load average before: $LOAD_BEFORE, after: $LOAD_AFTER; median of $REPEAT rounds; target $TARGET"
echo
echo "| run                  | recovery start s | best s |   MB/s | peak RSS MiB | end to end s | best s | restored MiB | runs, recovery start (s) | runs, end to end (s) |"
echo "| -------------------- | ---------------- | ------ | ------ | ------------ | ------------ | ------ | ------------ | ------------------------ | -------------------- |"
declare -A SEEN
for c in "${CONFIGS[@]}"; do
    label=${c%%|*}
    [ -n "${SEEN[$label]:-}" ] && continue
    SEEN[$label]=1
    report "$label"
done
echo
# ratio A B TEXT: how many times faster A is than B (B's seconds over A's), medians and best runs
ratio() {
    local -n s=$4 b=$5
    if [ -n "${s[$1]:-}" ] && [ -n "${s[$2]:-}" ]; then
        printf '%-66s %.2fx (best runs: %.2fx)\n' "$3" "$(echo "${s[$2]} / ${s[$1]}" | bc -l)" \
            "$(echo "${b[$2]} / ${b[$1]}" | bc -l)"
    fi
}
for repo in local S3; do
    for p in 1 2; do
        ratio "pitr $repo" "pgbackrest $repo p$p" "end to end, pitr / pgBackRest p$p, $repo (target 1.5x):" E2E_S E2E_BEST
        ratio "pitr $repo" "pgbackrest $repo p$p" "to recovery start, pitr / pgBackRest p$p, $repo:" RESTORE_S RESTORE_BEST
    done
done
