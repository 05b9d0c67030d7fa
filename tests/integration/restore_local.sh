#!/usr/bin/env bash
# pitr-restore against a local repository: the shared scenario (restore_suite.inc: to a time, an
# LSN, a restore point, the end, and onto a second timeline), then what a DBA must be stopped
# from doing: targets outside the recoverable window, a non-empty or running data directory, a
# damaged backup object, missing WAL (also WAL deleted or truncated behind pitr's back, in the
# shared scenario).
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4"

# what restore_suite.inc does to WAL objects behind pitr's back, on a directory
wal_object() { echo "$REPO/$CLUSTER/wal/${1:0:16}/$1"; }
wal_object_remove() { as_pg mv "$(wal_object "$1")" "$WORK/saved-$1"; }
wal_object_shorten() { # prints the new size
    as_pg cp -p "$(wal_object "$1")" "$WORK/saved-$1"
    as_pg truncate -s $(($(stat -c %s "$(wal_object "$1")") / 2)) "$(wal_object "$1")"
    stat -c %s "$(wal_object "$1")"
}
wal_object_put_back() { as_pg mv -f "$WORK/saved-$1" "$(wal_object "$1")"; }
catalog_entry() { cat "$REPO/$CLUSTER/catalog/wal/${1:0:16}/$1"; }

source "$(dirname "$0")/restore_suite.inc"

# --- the plan and the window --------------------------------------------------------------
expect_status "--dry-run plans" 0 as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/dry" \
    --tablespace-map "$TS_DIR=$WORK/dry.ts1" --to "$T1" --dry-run
check "and writes nothing" test ! -e "$WORK/dry" -a ! -e "$WORK/dry.ts1"
check "it prints the WAL range up to where recovery reaches the target" grep -Eq "WAL needed: +[0-9A-F]{24} .. [0-9A-F]{24}, all archived: recovery reaches the target in the last one" "$WORK/last.out"
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
check "the catalog has an entry per archived segment, with commit times and the object's size" \
    grep -q "^seg $LAST size=1048576 archived=[0-9T:.-]*Z xacts=[1-9][0-9]* first=.* last=.* stored=$(stat -c %s "$REPO/$CLUSTER/wal/${LAST:0:16}/$LAST") ~[0-9a-f]\{16\}\$" \
    "$REPO/$CLUSTER/catalog/wal/${LAST:0:16}/$LAST"
check "and the restore point" grep -rq "^rp .* name=after_two ~" "$REPO/$CLUSTER/catalog/wal/"
expect_status "--backup with a target before it is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/x" --to '2001-02-03 04:05:06' --backup "$ID"
expect_in_err "saying when it became consistent" "backup $ID became consistent at .*, after the target"
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
    --config "$CONF" --target-dir "$WORK/tsbusy" --to latest --force
expect_in_err "even with --force, suggesting --tablespace-map" "tablespace [0-9]+: its location in the backup record, \"$TS_DIR\", is not empty, .* even with --force; restore it elsewhere with --tablespace-map OLD=NEW"
check "and nothing is written or moved aside" test ! -e "$WORK/tsbusy" -a -z "$(ls -d "$TS_DIR".pitr-saved-* 2>/dev/null)"
as_pg mkdir "$WORK/ov"
expect_status "a tablespace mapped inside the data directory is refused" 1 as_pg "$RESTORE" \
    --config "$CONF" --target-dir "$WORK/ov" --tablespace-map "$TS_DIR=$WORK/ov/ts" --to latest
expect_in_err "naming both" "\"$WORK/ov\" and \"$WORK/ov/ts\" overlap"
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
