#!/usr/bin/env bash
# pitr-catalog expire on a local repository: five real backups of every type whose records are
# aged (their stop times rewritten through the record format); --dry-run lists what would go and
# changes nothing; after an expire interrupted by hand (a record and a catalog entry already
# gone) and a real run, exactly the backups past their retention are gone, with the WAL before
# the oldest kept backup's start; check and verify --all pass, and a point-in-time restore inside
# the remaining window still reaches its target.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4"
PGDATA_P="$WORK/primary"
PORT=$(free_port)
pg_init "$PGDATA_P" --wal-segsize=1
pg_configure "$PGDATA_P" "$PORT" "$ARCHIVE --config $CONF %p %f"
echo "max_wal_senders = 4" >>"$PGDATA_P/postgresql.conf"
pg_start "$PGDATA_P"
echo "pg_conninfo = 'host=$WORK port=$PORT user=postgres dbname=postgres'" >>"$CONF"
CLUSTER=$(as_pg "$PG_BIN/pg_controldata" "$PGDATA_P" | awk -F': *' '/Database system identifier/ {print $2}')
BACKUPS="$REPO/$CLUSTER/backup"
cp "$PITR_BIN_DIR/pitr-record-put" "$WORK/bin/" && chmod 755 "$WORK/bin/pitr-record-put"
cat_as() { as_pg "$CATALOG" --config "$CONF" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# every file of the repository with its size, for before/after comparisons
files() { (cd "$REPO" && find . -type f -printf '%p %s\n' | sort); }

psql_at "$PORT" "create table marks(n int primary key, at timestamptz default clock_timestamp())"
# one backup of each type, oldest first, with a mark and a finished segment between them
for type in monthly weekly pre-migration daily daily; do
    psql_at "$PORT" "insert into marks(n) select coalesce(max(n), 0) + 1 from marks"
    switch_wal "$PORT" >/dev/null
    check "a $type backup" as_pg "$BASEBACKUP" --config "$CONF" --quiet --type "$type"
done
mapfile -t IDS < <(ls "$BACKUPS")
check "five backups" test "${#IDS[@]}" = 5
sleep 1.1 # the newest window starts at the last backup's stop time, rounded up
psql_at "$PORT" "insert into marks(n) values (100)"
T1=$(psql_at "$PORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
sleep 1.1
psql_at "$PORT" "insert into marks(n) values (101)"
LAST=$(switch_wal "$PORT")
check "the WAL is archived" wait_archived "$PORT" "$LAST"

# age ID DAYS: moves the backup's start and stop times DAYS days back, through the real format
age() {
    obj_cat() { as_pg "$OBJCAT" --config "$CONF" "$@"; }
    obj_cat "$CLUSTER/backup/$1/backup.info" | python3 -c '
import sys, re, time
days = int(sys.argv[1])
out = []
for line in sys.stdin:
    m = re.match(r"(start|stop)_epoch = (\d+)$", line.strip())
    if m:
        line = "%s_epoch = %d\n" % (m.group(1), int(m.group(2)) - days * 86400)
    out.append(line)
sys.stdout.write("".join(out))' "$2" | as_pg "$WORK/bin/pitr-record-put" --config "$CONF" "$CLUSTER/backup/$1/backup.info"
}
# monthly 400 days (> 365), weekly 100 (> 90), pre-migration 8 (> 7): expire; daily 10 stays
age "${IDS[0]}" 400
age "${IDS[1]}" 100
age "${IDS[2]}" 8
age "${IDS[3]}" 10
expect_status "the aged records still read" 0 cat_as --json list
check "with their new stop times" test "$(json 'd["backups"][0]["stop_time"][:4]' <"$WORK/last.out")" -lt "$(date -u +%Y)"

KEEP_START=$(psql_at "$PORT" "select pg_walfile_name('$(cat_as --json show "${IDS[3]}" | json 'd["start_lsn"]')')")
FIRST_SEG=$(ls "$REPO/$CLUSTER/wal/0000000100000000/" | grep -E '^[0-9A-F]{24}$' | sort | head -1)

# --- --dry-run --------------------------------------------------------------------------------
files >"$WORK/before"
expect_status "expire --dry-run" 0 cat_as expire --dry-run
DRY=$(cat "$WORK/last.out")
files >"$WORK/after-dry"
check "changes nothing" cmp -s "$WORK/before" "$WORK/after-dry"
check "lists the monthly backup with its age" grep -Eq "^expire backup ${IDS[0]} \(monthly, 400\.[0-9] days old, stopped .*\): [0-9.]+ [kMG]?B$" <<<"$DRY"
check "the weekly one" grep -q "^expire backup ${IDS[1]} (weekly, 100\." <<<"$DRY"
check "the pre-migration one" grep -q "^expire backup ${IDS[2]} (pre-migration, 8\." <<<"$DRY"
check "and no other backup" test "$(grep -c '^expire backup' <<<"$DRY")" = 3
check "the WAL before the kept daily backup's start ($KEEP_START)" \
    grep -Eq "^expire WAL timeline 1: $FIRST_SEG \.\. [0-9A-F]{24} \([0-9]+ segments, [0-9]+ other files\): " <<<"$DRY"
LAST_GONE=$(sed -nE 's/^expire WAL timeline 1: [0-9A-F]{24} \.\. ([0-9A-F]{24}) .*/\1/p' <<<"$DRY")
check "ending right before it ($LAST_GONE)" test "$(printf '%024X' $((16#${KEEP_START:8} - 1)) | sed 's/^0\{8\}/00000001/')" = "$LAST_GONE"
check "and a summary" grep -Eq "^dry run, nothing removed: would expire 3 backup\(s\), [0-9]+ WAL segment\(s\) and [0-9]+ other WAL file\(s\): [0-9.]+ [kMG]?B; kept 2 backup\(s\), WAL from $KEEP_START on$" <<<"$DRY"

# --- an interrupted expire, then a real one ------------------------------------------------------
# as if an expire had stopped right after its first removals: the monthly backup's record and the
# first segment's catalog entry
rm "$BACKUPS/${IDS[0]}/backup.info"
rm "$REPO/$CLUSTER/catalog/wal/0000000100000000/$FIRST_SEG"
expect_status "check sees the half-removed WAL" 1 cat_as check
expect_status "expire" 0 cat_as expire
OUT=$(cat "$WORK/last.out")
check "expires the weekly and pre-migration backups" test "$(grep -c '^expire backup' <<<"$OUT")" = 2
check "leaves the half-removed one to --cleanup" grep -q "^incomplete backup ${IDS[0]} .*: left to pitr-basebackup --cleanup" <<<"$OUT"
check "summarizes" grep -Eq "^expired 2 backup\(s\), [0-9]+ WAL segment\(s\) .*; kept 2 backup\(s\), WAL from $KEEP_START on$" <<<"$OUT"
check "the expired backups' directories are gone" test ! -e "$BACKUPS/${IDS[1]}" -a ! -e "$BACKUPS/${IDS[2]}"
check "the kept ones are whole" test -e "$BACKUPS/${IDS[3]}/backup.info" -a -e "$BACKUPS/${IDS[4]}/backup.info"
check "the first segment is gone" test ! -e "$REPO/$CLUSTER/wal/0000000100000000/$FIRST_SEG"
check "the segment before the kept backup's start is gone" test ! -e "$REPO/$CLUSTER/wal/0000000100000000/$LAST_GONE"
check "its start segment stays" test -e "$REPO/$CLUSTER/wal/0000000100000000/$KEEP_START"
check "and its .backup file" bash -c "ls '$REPO/$CLUSTER/wal/0000000100000000/' | grep -q '^${KEEP_START}\..*\.backup$'"
check "no .backup file before it remains" test -z "$(ls "$REPO/$CLUSTER/wal/0000000100000000/" | grep '\.backup$' | awk -v k="$KEEP_START" '$0 < k')"
check "no catalog entry before it remains" test -z "$(ls "$REPO/$CLUSTER/catalog/wal/0000000100000000/" | awk -v k="$KEEP_START" '$0 < k')"
expect_status "pitr-basebackup --cleanup removes the half-removed backup" 0 as_pg "$BASEBACKUP" --config "$CONF" --cleanup
check "its directory is gone" test ! -e "$BACKUPS/${IDS[0]}"
expect_status "check passes" 0 cat_as check
expect_status "verify --all passes" 0 cat_as verify --all --wal
check "over the two kept backups" grep -q "^verified 2 backup(s): .*no problems$" "$WORK/last.out"
expect_status "a second expire removes nothing" 0 cat_as expire
check "saying so" grep -Eq "^expired 0 backup\(s\), 0 WAL segment\(s\) and 0 other WAL file\(s\): 0 B; kept 2 backup\(s\)" "$WORK/last.out"
expect_status "windows" 0 cat_as windows
check "start at the oldest kept backup" grep -q "^timeline 1: .*(from backup ${IDS[3]}; WAL " "$WORK/last.out"

# --- a point-in-time restore inside the remaining window ---------------------------------------
RPORT=$(free_port)
expect_status "pitr-restore from the oldest kept backup --to a time in its window --start" 0 \
    as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/restored" --to "$T1" \
    --backup "${IDS[3]}" --start --port "$RPORT"
check "the plan replays the WAL from that backup's start on" grep -q "WAL needed: *$KEEP_START \.\. " "$WORK/last.out"
on_exit "as_pg '$PG_BIN/pg_ctl' -D '$WORK/restored' -m immediate stop"
check "recovery reached the target: every mark up to 100, none after ($(psql_at "$RPORT" "select string_agg(n::text, ',' order by n) from marks"))" \
    test "$(psql_at "$RPORT" "select string_agg(n::text, ',' order by n) from marks")" = "1,2,3,4,5,100"

finish
