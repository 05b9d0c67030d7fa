#!/usr/bin/env bash
# pitr-catalog verify and metrics on a local, encrypted repository with a tablespace: a clean
# repository verifies (newest backup, one by id, --all, --wal); each kind of damage, made in its
# own copy of the repository, is reported naming the object (a flipped byte in base.tar, in
# backup_manifest, in a tablespace tar and in a WAL segment, another backup's tar, a missing
# object, a missing WAL segment). metrics is checked with promtool when installed, else with a strict parser, and its
# values against what the test did; the example alert rules parse.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
head -c 48 /dev/urandom | base64 >"$WORK/key"
chmod 600 "$WORK/key" && chown "$PG_USER" "$WORK/key" 2>/dev/null || true
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4" "encryption_key_file=$WORK/key"
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
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

psql_at "$PORT" "create tablespace ts1 location '$TS_DIR'"
psql_at "$PORT" "create table t(n int) tablespace ts1; insert into t select generate_series(1, 20000)"
psql_at "$PORT" "create table b(n int); insert into b select generate_series(1, 20000)"
check "a daily backup" as_pg "$BASEBACKUP" --config "$CONF" --quiet --type daily
sleep 1.1 # its window starts at its stop time, rounded up to the second
psql_at "$PORT" "insert into t select generate_series(1, 5000)"
switch_wal "$PORT" >/dev/null
check "a weekly backup" as_pg "$BASEBACKUP" --config "$CONF" --quiet --type weekly
psql_at "$PORT" "insert into t select generate_series(1, 5000)"
switch_wal "$PORT" >/dev/null
psql_at "$PORT" "insert into t select generate_series(1, 5000)"
LAST=$(switch_wal "$PORT")
check "the WAL is archived" wait_archived "$PORT" "$LAST"
ARCHIVED_AT=$(date +%s)
FIRST=$(ls "$REPO/$CLUSTER/backup" | head -1)
NEWEST=$(ls "$REPO/$CLUSTER/backup" | tail -1)
OID=$(psql_at "$PORT" "select oid from pg_tablespace where spcname = 'ts1'")

# The newest backup's first WAL segment, and the last segment archived (after its stop).
as_pg "$CATALOG" --config "$CONF" --json show "$NEWEST" >"$WORK/show.json"
START_SEG=$(psql_at "$PORT" "select pg_walfile_name('$(json 'd["start_lsn"]' <"$WORK/show.json")')")

cat_as() { as_pg "$CATALOG" --config "$1" "${@:2}"; }

# --- a clean repository ---------------------------------------------------------------------
expect_status "verify (the newest backup)" 0 cat_as "$CONF" verify
check "summarizes one backup, no problems" grep -Eq "^verified 1 backup\(s\) $NEWEST: [0-9]+ objects, .* read, [0-9]+ WAL segments present \([0-9]+ read\) in [0-9.]+ s: no problems$" "$WORK/last.out"
check "and the objects read under the key" grep -Eq "^[0-9]+ object\(s\) under key [0-9a-f]{16} \(the current key\)$" "$WORK/last.out"
check "and prints nothing else" test "$(wc -l <"$WORK/last.out")" = 2
expect_status "verify ID (the older backup)" 0 cat_as "$CONF" verify "$FIRST"
expect_status "verify --all" 0 cat_as "$CONF" verify --all
check "covers both backups" grep -q "^verified 2 backup(s): " "$WORK/last.out"
expect_status "verify --all --wal" 0 cat_as "$CONF" verify --all --wal
READ_ALL=$(sed -E 's/.*present \(([0-9]+) read\).*/\1/' "$WORK/last.out")
PRESENT=$(sed -E 's/.* ([0-9]+) WAL segments present.*/\1/' "$WORK/last.out")
check "--wal reads every segment it checks ($READ_ALL of $PRESENT)" test "$READ_ALL" = "$PRESENT"
expect_status "verify of an unknown backup fails" 1 cat_as "$CONF" verify 20000101T000000Z
expect_in_err "naming it" "backup 20000101T000000Z does not exist or is not complete"
expect_status "an id and --all together are refused" 1 cat_as "$CONF" verify --all "$FIRST"

# --- damage, each in its own copy of the repository -------------------------------------------
# damaged: a new copy of the repository and a configuration for it; prints the config path.
damaged() {
    local copy conf
    copy=$(mktemp -u "$WORK/repo-XXXXXX")
    conf="$copy.conf"
    as_pg cp -a "$REPO" "$copy"
    sed "s|^repo = .*|repo = '$copy'|" "$CONF" >"$conf"
    chmod 644 "$conf"
    echo "$conf"
}
flip_middle() { flip_byte "$1" $(($(stat -c %s "$1") / 2)); }
copy_of() { sed -n "s/^repo = '\(.*\)'$/\1/p" "$1"; }

# expect_problem DESCRIPTION CONF PATTERN [verify options...]
expect_problem() {
    local what=$1 conf=$2 pattern=$3
    shift 3
    expect_status "$what is found" 1 cat_as "$conf" verify "$@"
    check "  and reported naming the object ($pattern)" grep -Eq -- "$pattern" "$WORK/last.out"
    check "  and summarized" grep -q "PROBLEMS FOUND" "$WORK/last.out"
    expect_in_err "  exit message counts them" "verify found [0-9]+ problem"
    sed 's/^/    # /' "$WORK/last.out"
}

C=$(damaged)
flip_middle "$(copy_of "$C")/$CLUSTER/backup/$NEWEST/base.tar"
expect_problem "a flipped byte in base.tar" "$C" "backup/$NEWEST/base.tar"

C=$(damaged)
flip_middle "$(copy_of "$C")/$CLUSTER/backup/$NEWEST/backup_manifest"
expect_problem "a flipped byte in backup_manifest" "$C" "backup/$NEWEST/backup_manifest"

C=$(damaged)
flip_middle "$(copy_of "$C")/$CLUSTER/backup/$NEWEST/$OID.tar"
expect_problem "a flipped byte in the tablespace's tar" "$C" "backup/$NEWEST/$OID.tar"
expect_status "the older backup in the same copy still verifies" 0 cat_as "$C" verify "$FIRST"

C=$(damaged)
cp "$(copy_of "$C")/$CLUSTER/backup/$FIRST/$OID.tar" "$(copy_of "$C")/$CLUSTER/backup/$NEWEST/$OID.tar"
expect_problem "the older backup's tablespace tar in place of the newest's" "$C" \
    "backup/$NEWEST/$OID.tar\" failed authentication: it was written under another name"
check "  before any of its content is used" bash -c "! grep -q 'backup/$NEWEST/$OID.tar: \"pg_tblspc' '$WORK/last.out'"

C=$(damaged)
flip_middle "$(copy_of "$C")/$CLUSTER/wal/${START_SEG:0:16}/$START_SEG"
expect_problem "a flipped byte in the backup's first WAL segment" "$C" "wal/${START_SEG:0:16}/$START_SEG"

C=$(damaged)
flip_middle "$(copy_of "$C")/$CLUSTER/wal/${LAST:0:16}/$LAST"
expect_status "a flipped byte in a later WAL segment passes without --wal (it is only present)" 0 \
    cat_as "$C" verify
expect_problem "with --wal it" "$C" "wal/${LAST:0:16}/$LAST" --wal

C=$(damaged)
rm "$(copy_of "$C")/$CLUSTER/backup/$NEWEST/$OID.tar"
expect_problem "a missing tablespace tar" "$C" "backup/$NEWEST/$OID.tar is missing from the repository"

C=$(damaged)
rm "$(copy_of "$C")/$CLUSTER/wal/${LAST:0:16}/$LAST"
expect_problem "a missing WAL segment in the window" "$C" "WAL segment $LAST is missing from the repository"

C=$(damaged)
rm "$(copy_of "$C")/$CLUSTER/wal/${START_SEG:0:16}/$START_SEG"
expect_problem "a missing WAL segment of the backup itself (--all)" "$C" "WAL segment $START_SEG is missing from the repository" --all

# --- metrics ---------------------------------------------------------------------------------
prom_parse() { python3 "$PITR_SOURCE_DIR/tests/support/prom_check.py" <"$1" >"$WORK/prom.json"; }
expect_status "metrics" 0 cat_as "$CONF" metrics
cp "$WORK/last.out" "$WORK/metrics.txt"
if command -v promtool >/dev/null; then
    check "promtool accepts the metrics" promtool check metrics <"$WORK/metrics.txt"
fi
check "the strict parser accepts the metrics" prom_parse "$WORK/metrics.txt"
val() { json "$1" <"$WORK/prom.json"; }
S='d["samples"]'
check "pitr_up 1" test "$(val "$S['pitr_up'][0]['value']")" = 1.0
check "two complete backups" test "$(val "$S['pitr_backups_complete'][0]['value']")" = 2.0
check "a last-success time per type (daily, weekly)" test \
    "$(val "sorted(x['labels']['type'] for x in $S['pitr_backup_last_success_timestamp_seconds'])")" = "['daily', 'weekly']"
check "every metric is a gauge with a help text" test \
    "$(val "all(d['types'].get(n) == 'gauge' and d['help'].get(n) for n in $S)")" = True
check "every name starts with pitr_ and has its unit" test \
    "$(val "all(n.startswith('pitr_') and (n.endswith(('_seconds', '_bytes')) or n in ('pitr_up', 'pitr_backups_complete', 'pitr_wal_gaps')) for n in $S)")" = True
NOW=$(date +%s)
check "the last archive time is when the test archived (within 30 s)" test \
    "$(val "abs($S['pitr_wal_last_archive_timestamp_seconds'][0]['value'] - $ARCHIVED_AT) < 30")" = True
check "its age is small and not negative" test \
    "$(val "0 <= $S['pitr_wal_last_archive_age_seconds'][0]['value'] < 30 + $NOW - $ARCHIVED_AT")" = True
check "the weekly backup finished after the daily one, before now" test \
    "$(val "[x['value'] for x in $S['pitr_backup_last_success_timestamp_seconds'] if x['labels']['type'] == 'daily'][0] <= [x['value'] for x in $S['pitr_backup_last_success_timestamp_seconds'] if x['labels']['type'] == 'weekly'][0] <= $NOW")" = True
check "sizes are positive" test \
    "$(val "all(x['value'] > 0 for x in $S['pitr_backup_last_size_bytes'] + $S['pitr_backup_last_stored_size_bytes'])")" = True
check "a window on timeline 1 that starts before it ends" test \
    "$(val "$S['pitr_recovery_window_start_timestamp_seconds'][0]['labels'] == {'timeline': '1'} and $S['pitr_recovery_window_start_timestamp_seconds'][0]['value'] < $S['pitr_recovery_window_end_timestamp_seconds'][0]['value']")" = True
check "no gap in the WAL of timeline 1" test "$(val "$S['pitr_wal_gaps']")" = "[{'labels': {'timeline': '1'}, 'value': 0.0}]"

write_config "$WORK/empty.conf" "repo=$WORK/empty-repo"
as_pg mkdir -p "$WORK/empty-repo"
expect_status "metrics of an unreadable repository fail" 1 cat_as "$WORK/empty.conf" metrics
check "but still print valid text saying pitr_up 0" prom_parse "$WORK/last.out"
check "  (pitr_up is 0)" test "$(val "$S['pitr_up'][0]['value']")" = 0.0

# --- the example alert rules -----------------------------------------------------------------
RULES="$PITR_SOURCE_DIR/packaging/prometheus/pitr-alerts.yml"
if command -v promtool >/dev/null; then
    check "promtool accepts the alert rules" promtool check rules "$RULES"
fi
check "the alert rules are YAML with the five alerts, each on pitr_ metrics" python3 - "$RULES" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
rules = [r for g in doc["groups"] for r in g["rules"]]
names = {r["alert"] for r in rules}
want = {"BackupFailed", "BackupTooLarge", "WALArchiveStale", "RecoveryWindowShort", "WALGap"}
assert want <= names, names
assert all("pitr_" in r["expr"] and r["annotations"]["summary"] for r in rules if r["alert"] in want)
PY

finish
