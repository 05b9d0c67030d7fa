#!/usr/bin/env bash
# pitr-fetch as restore_command in real archive recovery: a base backup (pg_basebackup -X none,
# so every WAL byte comes from pitr's archive), batches committed at recorded times, then
# recovery to a time between batches must show exactly the batches before it; recovery to the end
# of the archive must show all of them. A corrupt segment must stop recovery, never promote.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
mkdir -p "$REPO" && chown "$PG_USER" "$REPO" 2>/dev/null || true
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=zstd"
PGDATA_P="$WORK/primary"
PORT=$(free_port)
pg_init "$PGDATA_P" --wal-segsize=1
pg_configure "$PGDATA_P" "$PORT" "$ARCHIVE --config $CONF %p %f"
pg_start "$PGDATA_P"
psql_at "$PORT" "create table batch(n int, at timestamptz default clock_timestamp())"
as_pg "$PG_BIN/pg_basebackup" -h "$WORK" -p "$PORT" -U postgres -D "$WORK/base" -X none -c fast

declare -a AFTER
for b in 1 2 3; do
    psql_at "$PORT" "insert into batch(n) select $b from generate_series(1, 500)"
    sleep 0.3
    AFTER[$b]=$(psql_at "$PORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')")
    sleep 0.3
done
last=$(switch_wal "$PORT")
check "all WAL archived" wait_archived "$PORT" "$last"

# restore_to NAME TARGET_SETTINGS...: a copy of the base backup recovering with pitr-fetch.
restore_to() {
    local dir="$WORK/$1" port
    shift
    port=$(free_port)
    as_pg cp -a "$WORK/base" "$dir"
    {
        echo "port = $port"
        echo "archive_mode = off"
        echo "restore_command = '$FETCH --config $CONF %f %p'"
        for s in "$@"; do echo "$s"; done
    } | as_pg tee -a "$dir/postgresql.auto.conf" >/dev/null
    as_pg touch "$dir/recovery.signal"
    as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir.log" -w -t 120 start >/dev/null || true
    on_exit "as_pg '$PG_BIN/pg_ctl' -D '$dir' -m immediate stop"
    RPORT=$port
}
wait_promoted() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(psql_at "$1" "select pg_is_in_recovery()" 2>/dev/null)" = f ] && return 0
        sleep 0.1
    done
    return 1
}

restore_to mid "recovery_target_time = '${AFTER[2]}'" "recovery_target_action = 'promote'"
check "recovery to a time between batches 2 and 3 promotes" wait_promoted "$RPORT"
check "exactly batches 1 and 2 are present" \
    test "$(psql_at "$RPORT" "select string_agg(distinct n::text, ',' order by n::text) from batch")" = "1,2"
check "with all their rows" test "$(psql_at "$RPORT" "select count(*) from batch")" = 1000
check "the WAL came through pitr-fetch" grep -q "pitr-fetch.*restored" "$WORK/mid.log"

restore_to first "recovery_target_time = '${AFTER[1]}'" "recovery_target_action = 'promote'"
check "recovery to just after batch 1 promotes" wait_promoted "$RPORT"
check "only batch 1 is present" test "$(psql_at "$RPORT" "select count(*) from batch")" = 500

restore_to latest "recovery_target_action = 'promote'"
check "recovery to the end of the archive promotes (pitr-fetch exit 1 ends it)" wait_promoted "$RPORT"
check "all three batches are present" test "$(psql_at "$RPORT" "select count(*) from batch")" = 1500

# A corrupt segment in the middle: recovery must stop with an error, not promote early.
cluster=$(ls "$REPO")
mid_seg=$(ls "$REPO/$cluster/wal/"*/ | grep -E '^[0-9A-F]{24}$' | sort | sed -n 3p)
obj=$(ls "$REPO/$cluster/wal/"*/"$mid_seg")
flip_byte "$obj" $(($(stat -c %s "$obj") / 2))
restore_to broken "recovery_target_action = 'promote'"
stopped=0
for ((i = 0; i < 300; i++)); do
    if ! as_pg "$PG_BIN/pg_ctl" -D "$WORK/broken" status >/dev/null 2>&1; then
        stopped=1
        break
    fi
    sleep 0.1
done
check "recovery stopped at the corrupt segment $mid_seg instead of promoting" test "$stopped" = 1
check "PostgreSQL logged the fatal restore_command failure" \
    grep -Eq "pitr-fetch.*(corrupt|checksum)" "$WORK/broken.log"
check "and it never opened for writes" bash -c "! grep -q 'database system is ready to accept connections' '$WORK/broken.log'"

finish
