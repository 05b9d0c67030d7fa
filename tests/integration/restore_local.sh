#!/usr/bin/env bash
# pitr-restore against a local repository: a primary with a second tablespace archives with
# pitr-archive and is backed up with pitr-basebackup; marked rows are committed before and after
# a remembered time and a restore point. Restores to that time, to the restore point and to the
# end of the archive must each start, promote and hold exactly the rows committed by then. Then
# what a DBA must be stopped from doing: targets outside the recoverable window, a non-empty or
# running data directory, a damaged backup object, missing WAL.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4"

PGDATA_P="$WORK/primary"
PORT=$(free_port)
TS_DIR="$WORK/ts1"
as_pg mkdir -p "$TS_DIR"
pg_init "$PGDATA_P" --wal-segsize=1
pg_configure "$PGDATA_P" "$PORT" "$ARCHIVE --config $CONF %p %f"
echo "max_wal_senders = 4" >>"$PGDATA_P/postgresql.conf"
pg_start "$PGDATA_P"
echo "pg_conninfo = 'host=$WORK port=$PORT user=postgres dbname=postgres'" >>"$CONF"
CLUSTER=$(as_pg "$PG_BIN/pg_controldata" "$PGDATA_P" | awk -F': *' '/Database system identifier/ {print $2}')

psql_at "$PORT" "create tablespace ts1 location '$TS_DIR'"
as_pg "$PG_BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -i -q -s 1 --tablespace=ts1 postgres \
    >"$WORK/pgbench-init.log" 2>&1
psql_at "$PORT" "create table marks(n int primary key, at timestamptz default clock_timestamp()) tablespace ts1"

expect_status "before any backup, a restore says there is none" 1 \
    as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/none" --to latest
expect_in_err "and how to take one" "no complete backup .* pitr-basebackup"

expect_status "pitr-basebackup succeeds" 0 as_pg "$BASEBACKUP" --config "$CONF" --quiet
ID=$(ls "$REPO/$CLUSTER/backup" | tail -1)

psql_at "$PORT" "insert into marks(n) values (1)"
T1=$(psql_at "$PORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
sleep 1.1
psql_at "$PORT" "insert into marks(n) values (2)"
LSN2=$(psql_at "$PORT" "select pg_current_wal_lsn()")
psql_at "$PORT" "select pg_create_restore_point('after_two')" >/dev/null
psql_at "$PORT" "insert into marks(n) values (3)"
as_pg "$PG_BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -t 200 postgres >/dev/null 2>&1
ACCOUNTS=$(psql_at "$PORT" "select sum(abalance) from pgbench_accounts")
LAST=$(switch_wal "$PORT")
check "the WAL after the changes is archived" wait_archived "$PORT" "$LAST"

# restore_to NAME ARGS...: restores into $WORK/NAME (tablespace into $WORK/NAME.ts1), starts it
# on its own port without archiving, and waits until it promoted.
restore_to() {
    local name=$1
    shift
    expect_status "pitr-restore $* succeeds" 0 as_pg "$RESTORE" --config "$CONF" \
        --target-dir "$WORK/$name" --tablespace-map "$TS_DIR=$WORK/$name.ts1" "$@"
    check "pg_verifybackup accepts the directory restored to $*" \
        as_pg "$PG_BIN/pg_verifybackup" -n -q "$WORK/$name"
    RPORT=$(free_port)
    printf "port = %s\narchive_mode = off\n" "$RPORT" | as_pg tee -a "$WORK/$name/postgresql.auto.conf" >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$WORK/$name" -l "$WORK/$name.log" -w -t 120 start >/dev/null || true
    on_exit "as_pg '$PG_BIN/pg_ctl' -D '$WORK/$name' -m immediate stop"
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(psql_at "$RPORT" "select pg_is_in_recovery()" 2>/dev/null)" = f ] && break
        sleep 0.1
    done
    check "the cluster restored to $* recovers and promotes" \
        test "$(psql_at "$RPORT" "select pg_is_in_recovery()" 2>&1)" = f
}
marks() { psql_at "$RPORT" "select coalesce(string_agg(n::text, ',' order by n), '') from marks"; }
stop_restored() { as_pg "$PG_BIN/pg_ctl" -D "$WORK/$1" -m fast -w stop >/dev/null; }

# --- to a time: exactly the rows committed by then ----------------------------------------
restore_to r_time --to "$T1"
PLAN=$(cat "$WORK/last.out")
check "the plan names the backup" grep -q "backup: *$ID" <<<"$PLAN"
check "the plan prints the target in UTC" grep -q "target: *time ${T1:0:10} ${T1:11:8}.*+00 (UTC)" <<<"$PLAN"
check "recovery stopped at the time: only row 1 ($(marks))" test "$(marks)" = 1
check "the tablespace was restored where --tablespace-map said" \
    test "$(readlink "$WORK/r_time/pg_tblspc/$(psql_at "$RPORT" "select oid from pg_tablespace where spcname='ts1'")")" = "$WORK/r_time.ts1"
check "restore_command is pitr-fetch with the absolute config" \
    grep -q "^restore_command = ''.*/pitr-fetch'' --config ''$CONF'' %f %p'" "$WORK/r_time/postgresql.auto.conf"
stop_restored r_time

# --- to a restore point, and to the end -------------------------------------------------------
restore_to r_name --to-name after_two
check "recovery stopped at the restore point: rows 1,2 ($(marks))" test "$(marks)" = 1,2
stop_restored r_name
restore_to r_lsn --to-lsn "$LSN2"
check "recovery stopped at the LSN: rows 1,2 ($(marks))" test "$(marks)" = 1,2
stop_restored r_lsn
restore_to r_latest --to latest
check "recovery to latest has every row: 1,2,3 ($(marks))" test "$(marks)" = 1,2,3
check "and every pgbench change" test "$(psql_at "$RPORT" "select sum(abalance) from pgbench_accounts")" = "$ACCOUNTS"
stop_restored r_latest

# --- --start, and a second timeline ------------------------------------------------------------
# The restored copy keeps archiving into the same repository: after it promotes, its history
# file and its new timeline's WAL arrive there, and a later restore follows them.
TPORT=$(free_port)
expect_status "pitr-restore --start restores, starts and follows recovery" 0 as_pg "$RESTORE" \
    --config "$CONF" --target-dir "$WORK/r_tl" --tablespace-map "$TS_DIR=$WORK/r_tl.ts1" \
    --to "$T1" --start --port "$TPORT"
on_exit "as_pg '$PG_BIN/pg_ctl' -D '$WORK/r_tl' -m immediate stop"
check "it reports the point reached, before the target" \
    grep -Eq "recovery ended: last replayed transaction ${T1:0:10} [0-9:.]+\+00, LSN [0-9A-F]+/[0-9A-F]+, now on timeline 2" "$WORK/last.out"
RPORT=$TPORT
check "the started copy runs on --port with row 1 only ($(marks))" test "$(marks)" = 1
psql_at "$TPORT" "insert into marks(n) values (10)"
T2=$(psql_at "$TPORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
sleep 1.1
psql_at "$TPORT" "insert into marks(n) values (11)"
LAST2=$(switch_wal "$TPORT")
check "timeline 2's WAL is archived" wait_archived "$TPORT" "$LAST2"
check "with its history file" test -f "$REPO/$CLUSTER/wal/history/00000002.history"
stop_restored r_tl
restore_to r_tl2 --to "$T2"
check "the plan follows timeline 2" grep -q "recovery ends on timeline 2" "$WORK/last.out"
check "a restore on timeline 2 has rows 1,10 ($(marks))" test "$(marks)" = 1,10
stop_restored r_tl2
restore_to r_tl1 --to latest --timeline 1
check "--timeline 1 stays on the first timeline: rows 1,2,3 ($(marks))" test "$(marks)" = 1,2,3
stop_restored r_tl1
expect_status "--start with --target-action shutdown is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/x" --to latest --start --target-action shutdown
expect_in_err "--start needs a running server" "use --target-action promote or pause"

# --- the plan and the window --------------------------------------------------------------
expect_status "--dry-run plans" 0 as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/dry" \
    --tablespace-map "$TS_DIR=$WORK/dry.ts1" --to "$T1" --dry-run
check "and writes nothing" test ! -e "$WORK/dry" -a ! -e "$WORK/dry.ts1"
check "it prints the WAL range" grep -Eq "WAL archived: [0-9A-F]{24} .. [0-9A-F]{24}" "$WORK/last.out"
expect_status "a time before the oldest backup is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/early" --to '2001-02-03 04:05:06'
expect_in_err "naming the earliest recoverable time" "2001-02-03 04:05:06\+00 is before the oldest backup .* earliest recoverable time is 20[0-9-]+ [0-9:]+\+00 \(backup $ID\)"
expect_status "a time after the archived WAL is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/late" --to "$(date -u -d '+1 hour' '+%Y-%m-%d %H:%M:%S')"
expect_in_err "naming the latest recoverable time, the last commit" "after the end of the archived WAL: the latest recoverable time is 20[0-9-]+ [0-9:.]+\+00, the last commit archived"
check "refused restores write nothing" test ! -e "$WORK/early" -a ! -e "$WORK/late"
expect_status "a junk time is refused" 1 as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/x" --to "yesterday-ish"
expect_status "no target is refused" 1 as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/x"
expect_in_err "asking for exactly one" "exactly one target"
expect_status "an unknown restore point is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/x" --to-name no_such_point
expect_in_err "naming it" "restore point \"no_such_point\" is not in the archived WAL after backup $ID"
check "the catalog has an entry per archived segment, with commit times" \
    grep -q "^seg $LAST size=1048576 archived=[0-9T:.-]*Z xacts=[1-9][0-9]* first=.* last=.* ~[0-9a-f]\{16\}\$" \
    "$REPO/$CLUSTER/catalog/wal/${LAST:0:16}/$LAST"
check "and the restore point" grep -rq "^rp .* name=after_two ~" "$REPO/$CLUSTER/catalog/wal/"
expect_status "an unknown backup id is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/x" --to latest --backup 20010101T000000Z
expect_in_err "naming it" "backup 20010101T000000Z does not exist"

# --- destinations ---------------------------------------------------------------------------
as_pg mkdir -p "$WORK/busy"
as_pg touch "$WORK/busy/precious"
expect_status "a non-empty target directory is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/busy" --tablespace-map "$TS_DIR=$WORK/busy.ts1" --to latest
expect_in_err "suggesting --force" "is not empty: .* --force"
check "and left alone" test -f "$WORK/busy/precious"
expect_status "the tablespace's original location, in use, is refused" 1 as_pg "$RESTORE" \
    --config "$CONF" --target-dir "$WORK/tsbusy" --to latest
expect_in_err "suggesting --tablespace-map" "tablespace [0-9]+ .*--tablespace-map"
expect_status "the running primary's directory is refused even with --force" 1 as_pg "$RESTORE" \
    --config "$CONF" --target-dir "$PGDATA_P" --tablespace-map "$TS_DIR=$WORK/p.ts1" --to latest --force
expect_in_err "because a server runs there" "running PostgreSQL server"
check "which keeps running" test "$(psql_at "$PORT" "select 1")" = 1
expect_status "--force moves the old contents aside" 0 as_pg "$RESTORE" --config "$CONF" --quiet \
    --target-dir "$WORK/busy" --tablespace-map "$TS_DIR=$WORK/busy.ts1" --to latest --force
check "--quiet prints nothing" test ! -s "$WORK/last.out"
check "the old file is kept in DIR.pitr-saved-*" test -f "$(ls -d "$WORK"/busy.pitr-saved-*)/precious"
check "and the restore is configured" test -f "$WORK/busy/recovery.signal"
if [ "$(id -u)" = 0 ]; then
    expect_status "running as root is refused" 1 "$RESTORE" --config "$CONF" --target-dir "$WORK/root" --to latest
    expect_in_err "saying which user to run as" "must not run as root"
fi

# --- damage in the repository -------------------------------------------------------------
copy_repo() { rm -rf "$WORK/$1"; cp -a "$REPO" "$WORK/$1"; write_config "$WORK/$1.conf" "repo=$WORK/$1"; }
copy_repo repo_bad
SIZE=$(stat -c %s "$WORK/repo_bad/$CLUSTER/backup/$ID/base.tar")
flip_byte "$WORK/repo_bad/$CLUSTER/backup/$ID/base.tar" $((SIZE / 2))
expect_status "a damaged base.tar fails the restore" 1 as_pg "$RESTORE" --config "$WORK/repo_bad.conf" \
    --target-dir "$WORK/bad" --tablespace-map "$TS_DIR=$WORK/bad.ts1" --to latest
expect_in_err "saying the backup is damaged" "(base.tar|backup manifest).*damaged"
check "and the directory is never configured for recovery" test ! -e "$WORK/bad/recovery.signal"

copy_repo repo_nostart
START_SEG=$(sed -n 's/^start_lsn = //p' <(as_pg "$OBJCAT" --config "$CONF" "$CLUSTER/backup/$ID/backup.info"))
START_NAME=$(psql_at "$PORT" "select pg_walfile_name('$START_SEG'::pg_lsn - 1 + 1)")
rm -f "$WORK/repo_nostart/$CLUSTER/wal/${START_NAME:0:16}/$START_NAME"
expect_status "a backup whose own WAL is missing is refused before anything is written" 1 \
    as_pg "$RESTORE" --config "$WORK/repo_nostart.conf" --target-dir "$WORK/nostart" --to latest \
    --tablespace-map "$TS_DIR=$WORK/nostart.ts1"
expect_in_err "naming the segment" "WAL segment $START_NAME, needed to make it consistent, is not in the repository"
check "nothing was written" test ! -e "$WORK/nostart"

copy_repo repo_gap
GAP_NAME=$(ls "$WORK/repo_gap/$CLUSTER/wal/0000000100000000/" | grep -E '^[0-9A-F]{24}$' | sort | tail -3 | head -1)
# a segment that never reached the repository: neither the WAL object nor its catalog entry
rm -f "$WORK/repo_gap/$CLUSTER/wal/${GAP_NAME:0:16}/$GAP_NAME" "$WORK/repo_gap/$CLUSTER/catalog/wal/${GAP_NAME:0:16}/$GAP_NAME"
expect_status "a time past a missing segment is refused" 1 as_pg "$RESTORE" --config "$WORK/repo_gap.conf" \
    --target-dir "$WORK/gap" --to "$(date -u '+%Y-%m-%d %H:%M:%S')" --timeline 1
expect_in_err "naming the gap" "WAL segment $GAP_NAME is missing, so recovery cannot pass"
expect_status "--to latest over a gap plans, showing the gap" 0 as_pg "$RESTORE" \
    --config "$WORK/repo_gap.conf" --target-dir "$WORK/gap" --to latest --dry-run --timeline 1 \
    --tablespace-map "$TS_DIR=$WORK/gap.ts1"
check "the plan shows the gap" grep -q "gap: *$GAP_NAME is missing" "$WORK/last.out"

finish
