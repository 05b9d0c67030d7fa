#!/usr/bin/env bash
# pitr-catalog on a local repository: list, show and windows (text and JSON) after real
# archiving and a backup; the catalog survives concurrent archiving, backups, reads and a rebuild
# without losing an entry; a rebuild from the WAL objects alone gives the same windows; a segment
# deleted or truncated behind pitr's back is a gap for windows --verify and metrics --verify (not
# for the catalog alone), and after a rebuild for everything; a damaged catalog line is detected.
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
cat_as() { as_pg "$CATALOG" --config "$CONF" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

expect_status "pitr-catalog list before anything is archived fails clearly" 1 cat_as list
expect_in_err "saying the repository is empty" "holds no cluster yet"

psql_at "$PORT" "create table t(n int)"
expect_status "a backup" 0 as_pg "$BASEBACKUP" --config "$CONF" --quiet --type weekly --label "cat test"
ID=$(ls "$REPO/$CLUSTER/backup" | tail -1)
sleep 1.1 # a window starts at the backup's stop time, rounded up to the second
psql_at "$PORT" "insert into t values (1)"
psql_at "$PORT" "select pg_create_restore_point('rp one')" >/dev/null
psql_at "$PORT" "insert into t values (2)"
LAST=$(switch_wal "$PORT")
check "the WAL is archived" wait_archived "$PORT" "$LAST"

expect_status "list" 0 cat_as list
check "shows the backup with its type and label" grep -Eq "^$ID +weekly .* cat test\$" "$WORK/last.out"
expect_status "list --json" 0 cat_as --json list
check "is JSON naming the backup" test "$(json 'd["backups"][0]["id"]' <"$WORK/last.out")" = "$ID"
expect_status "show" 0 cat_as show "$ID"
check "prints the whole record" grep -q "^stop_lsn = " "$WORK/last.out"
expect_status "show --json" 0 cat_as --json show "$ID"
check "lists its objects" test "$(json 'len(d["objects"])' <"$WORK/last.out")" = 2
expect_status "show of an unknown id fails" 1 cat_as show 20000101T000000Z
expect_in_err "naming it" "backup 20000101T000000Z does not exist"

expect_status "windows" 0 cat_as windows
check "one window on timeline 1 from the backup" grep -Eq "^timeline 1: .* \(from backup $ID; WAL" "$WORK/last.out"
check "with the restore point (name with a space)" grep -q 'restore point "rp one" at' "$WORK/last.out"
expect_status "windows --json" 0 cat_as --json windows
WINDOWS=$(cat "$WORK/last.out")
check "ending at a commit time after the backup" test "$(json 'd["windows"][0]["to"] > d["windows"][0]["from"]' <<<"$WINDOWS")" = True
expect_status "check passes on a consistent catalog" 0 cat_as check

# --- concurrency: archiving, a backup, readers and a rebuild at once lose nothing ------------
as_pg "$PG_BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -i -q -s 2 postgres >/dev/null 2>&1
(for _ in $(seq 30); do psql_at "$PORT" "insert into t select generate_series(1,2000); select pg_switch_wal()" >/dev/null; done) &
WRITER=$!
(for _ in $(seq 20); do cat_as windows >/dev/null 2>"$WORK/reader.err" || echo fail >>"$WORK/reader.fail"; done) &
READER=$!
as_pg "$BASEBACKUP" --config "$CONF" --quiet >"$WORK/bb2.log" 2>&1 &
BB=$!
cat_as rebuild >"$WORK/rebuild1.log" 2>&1 || echo fail >>"$WORK/rebuild.fail"
wait "$WRITER"; wait "$READER"
check "a backup taken meanwhile succeeds" wait "$BB"
LAST=$(switch_wal "$PORT")
check "everything is archived" wait_archived "$PORT" "$LAST"
check "readers never failed" test ! -e "$WORK/reader.fail"
check "the concurrent rebuild succeeded" test ! -e "$WORK/rebuild.fail"
expect_status "after all that, the catalog matches the WAL objects exactly" 0 cat_as check
expect_status "windows" 0 cat_as --json windows
BEFORE=$(cat "$WORK/last.out")
check "the window reaches the last segment ($LAST)" test "$(json 'd["windows"][-1]["last_segment"]' <<<"$BEFORE")" = "$LAST"

# --- derived data: rebuild from the objects alone ------------------------------------------------
rm -rf "$REPO/$CLUSTER/catalog"
expect_status "check reports every entry missing" 1 cat_as check
expect_in_err "and says what to do" "run pitr-catalog rebuild"
check "naming segments" grep -q "has no catalog entry" "$WORK/last.out"
expect_status "rebuild" 0 cat_as rebuild
expect_status "check passes after the rebuild" 0 cat_as check
check "rebuilt entries record each object's stored size" \
    grep -q " stored=$(stat -c %s "$REPO/$CLUSTER/wal/${LAST:0:16}/$LAST") ~" "$REPO/$CLUSTER/catalog/wal/${LAST:0:16}/$LAST"
expect_status "windows after the rebuild" 0 cat_as --json windows
check "the rebuilt catalog gives the same windows" test "$(cat "$WORK/last.out")" = "$BEFORE"

# --- a missing segment is a gap -----------------------------------------------------------------
# metrics_gaps [ARGS...]: pitr_wal_gaps of timeline 1 as pitr-catalog metrics ARGS prints it
metrics_gaps() {
    cat_as metrics "$@" | python3 "$PITR_SOURCE_DIR/tests/support/prom_check.py" |
        json '[x["value"] for x in d["samples"]["pitr_wal_gaps"] if x["labels"] == {"timeline": "1"}]'
}
check "the metrics count no gap" test "$(metrics_gaps --verify)" = "[0.0]"
GAP=$(ls "$REPO/$CLUSTER/wal/0000000100000000/" | grep -E '^[0-9A-F]{24}$' | sort | tail -5 | head -1)
SHORT=$(ls "$REPO/$CLUSTER/wal/0000000100000000/" | grep -E '^[0-9A-F]{24}$' | sort | tail -2 | head -1)
# deleted behind pitr's back: the catalog still lists it
rm -f "$REPO/$CLUSTER/wal/${GAP:0:16}/$GAP"
expect_status "windows from the catalog alone" 0 cat_as windows
check "do not see a hole made outside pitr" bash -c "! grep -q 'gap:' '$WORK/last.out'"
check "and the metrics neither" test "$(metrics_gaps)" = "[0.0]"
expect_status "windows --verify" 0 cat_as windows --verify
check "shows the deleted segment as a gap, and where recovery stops" \
    grep -q "gap: $GAP is missing from the repository (the catalog lists it): recovery through it stops at" "$WORK/last.out"
check "and counts it" grep -q "^(the catalog checked against a listing of the WAL objects: 1 gap(s) after the oldest backup)$" "$WORK/last.out"
expect_status "windows --verify --json" 0 cat_as --json windows --verify
check "gives the gap, its reason and the count per timeline" test \
    "$(json '[(w["gap"], w["gap_reason"]) for w in d["windows"] if w["gap"]], d["verified"], d["timelines"]' <"$WORK/last.out")" = \
    "[('$GAP', 'missing')] True [{'timeline': 1, 'gaps': 1}]"
check "metrics --verify counts the gap" test "$(metrics_gaps --verify)" = "[1.0]"
# truncated behind pitr's back: there, but not the size archived
as_pg truncate -s 100 "$REPO/$CLUSTER/wal/${SHORT:0:16}/$SHORT"
expect_status "windows --verify with a truncated segment too" 0 cat_as windows --verify
check "still ends the window at the first gap" grep -q "gap: $GAP is missing from the repository" "$WORK/last.out"
check "and counts both" grep -q "^(the catalog checked against a listing of the WAL objects: 2 gap(s) after the oldest backup)$" "$WORK/last.out"
check "metrics --verify counts both" test "$(metrics_gaps --verify)" = "[2.0]"
expect_status "check reports the entry without its segment" 1 cat_as check
check "naming it" grep -q "catalog entry $GAP has no WAL object" "$WORK/last.out"
as_pg rm "$REPO/$CLUSTER/wal/${SHORT:0:16}/$SHORT"
expect_status "rebuild drops their entries" 0 cat_as rebuild
expect_status "windows with a gap" 0 cat_as windows
check "shows the gap and where it cuts off" grep -q "gap: $GAP is missing: recovery through it stops at" "$WORK/last.out"
check "the catalog's gaps count without --verify" test "$(metrics_gaps)" = "[2.0]"

# --- damage ------------------------------------------------------------------------------------
ENTRY=$(ls "$REPO/$CLUSTER/catalog/wal/0000000100000000/" | head -1)
sed -i '2s/xacts=/xacts=9/' "$REPO/$CLUSTER/catalog/wal/0000000100000000/$ENTRY"
expect_status "a damaged line in an entry fails check" 1 cat_as check
check "naming the file and line" grep -q "$ENTRY line 2 is damaged" "$WORK/last.out"
sed -i '3s/archived=/archived=1/' "$REPO/$CLUSTER/catalog/wal/0000000100000000.cat"
expect_status "a damaged line in a merged file fails check" 1 cat_as check
check "naming it too" grep -q "0000000100000000.cat line 3 is damaged" "$WORK/last.out"
expect_status "and a restore plan, which must not trust it" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/x" --to latest --dry-run
expect_in_err "saying to rebuild" "line 3 is damaged .* run pitr-catalog rebuild"

finish
