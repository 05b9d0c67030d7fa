#!/usr/bin/env bash
# pitr-restore --drill against a local repository: a good repository passes (every table read and
# counted, the --check-sql queries run, the directory removed, nothing archived from the copy,
# the result recorded for pitr-catalog metrics); a failing query and a damaged base.tar fail and
# leave nothing behind; failures reach a webhook, and an unreachable webhook changes nothing.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO" "$WORK/drills" "$WORK/ts1"
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

# a tablespace still in use by the primary: the drill must restore it elsewhere
psql_at "$PORT" "create tablespace ts1 location '$WORK/ts1'"
as_pg "$PG_BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -i -q -s 1 --tablespace=ts1 postgres \
    >"$WORK/pgbench-init.log" 2>&1
psql_at "$PORT" "create database appdb"
as_pg "$PG_BIN/psql" -X -h "$WORK" -p "$PORT" -U postgres -d appdb -v ON_ERROR_STOP=1 -q -c \
    'create schema "Sales"; create table "Sales"."Order"(n int); insert into "Sales"."Order" select generate_series(1, 42)'
expect_status "pitr-basebackup succeeds" 0 as_pg "$BASEBACKUP" --config "$CONF" --quiet
psql_at "$PORT" "insert into pgbench_history(tid, bid, aid, delta) values (1, 1, 1, 5)"
LAST=$(switch_wal "$PORT")
check "the WAL after the backup is archived" wait_archived "$PORT" "$LAST"
history_files() { find "$REPO/$CLUSTER/wal" -name '*.history' -printf '%f\n' | sort | tr '\n' ' '; }
HISTORY_BEFORE=$(history_files)

cat >"$WORK/good.sql" <<'SQL'
-- the application's own checks
select count(*) from "Sales"."Order";

select 1
  where true;
SQL
cp "$WORK/good.sql" "$WORK/bad.sql"
echo 'select * from no_such_table;' >>"$WORK/bad.sql"
chmod 644 "$WORK/good.sql" "$WORK/bad.sql"

# --- a good repository passes ---------------------------------------------------------------
expect_status "a drill on a good repository passes" 0 as_pg "$RESTORE" --config "$CONF" --drill \
    --drill-dir "$WORK/drills" --check-sql "$WORK/good.sql" --check-db appdb
OUT=$(cat "$WORK/last.out")
check "it counts every table: pgbench_accounts" grep -q "postgres: public.pgbench_accounts 100000 rows" <<<"$OUT"
check "pgbench_history, with the row written after the backup" grep -q "postgres: public.pgbench_history 1 rows" <<<"$OUT"
check "a quoted schema and table in another database" grep -q 'appdb: "Sales"."Order" 42 rows' <<<"$OUT"
check "each --check-sql query ran (by its first line)" grep -q "good.sql:2: ok" <<<"$OUT"
check "including one over two lines" grep -q "good.sql:4: ok" <<<"$OUT"
check "and it reports pass with timings" grep -Eq "^drill passed: backup [0-9TZ]+, restore [0-9.]+ s, recovery [0-9.]+ s, checks [0-9.]+ s; 3 databases, [0-9]+ tables, [0-9]+ rows, 2 check queries$" <<<"$OUT"
check "the drill directory is removed" test -z "$(ls -A "$WORK/drills")"
check "no new timeline was archived into the repository" \
    test "$(history_files)" = "$HISTORY_BEFORE"
check "the tablespace's own directory was not touched" test -z "$(find "$WORK/ts1" -newer "$WORK/good.sql" -print -quit)"
check "the primary still runs" test "$(psql_at "$PORT" "select 1")" = 1
as_pg "$OBJCAT" --config "$CONF" "$CLUSTER/drill/last" >"$WORK/drill-last" 2>&1 || true
check "the result is recorded in <cluster>/drill/last" grep -q "^result = pass$" "$WORK/drill-last"
as_pg "$CATALOG" --config "$CONF" metrics >"$WORK/metrics" 2>&1 || true
check "pitr-catalog metrics exports it" grep -q "^pitr_drill_last_success 1$" "$WORK/metrics"
check "with its time" grep -Eq "^pitr_drill_last_timestamp_seconds [0-9]{10}$" "$WORK/metrics"
check "in valid exposition format" python3 "$PITR_SOURCE_DIR/tests/support/prom_check.py" "$WORK/metrics"

# --- a failing check query fails the drill ---------------------------------------------------
expect_status "a failing --check-sql query fails the drill" 1 as_pg "$RESTORE" --config "$CONF" \
    --drill --drill-dir "$WORK/drills" --check-sql "$WORK/bad.sql" --check-db appdb --quiet
expect_in_err "naming the query's line and the error" "bad.sql:6: .*no_such_table.* does not exist"
check "the passing queries still ran" grep -q "drill FAILED: .*3 check queries" "$WORK/last.out"
check "the directory is removed after a failure too" test -z "$(ls -A "$WORK/drills")"
as_pg "$CATALOG" --config "$CONF" metrics >"$WORK/metrics" 2>&1 || true
check "and the metric says the last drill failed" grep -q "^pitr_drill_last_success 0$" "$WORK/metrics"

expect_status "--keep keeps the directory (the server stopped)" 0 as_pg "$RESTORE" --config "$CONF" \
    --drill --drill-dir "$WORK/drills" --keep --quiet
KEPT=$(ls -d "$WORK"/drills/pitr-drill-* 2>/dev/null | head -1)
check "kept: $KEPT" test -f "$KEPT/data/PG_VERSION" -a ! -e "$KEPT/data/postmaster.pid"
check "its postgresql.auto.conf never archives" grep -q "^archive_mode = off$" "$KEPT/data/postgresql.auto.conf"
rm -rf "$KEPT"
if [ "$(id -u)" = 0 ]; then
    expect_status "a drill as root is refused" 1 "$RESTORE" --config "$CONF" --drill --drill-dir "$WORK/drills"
    expect_in_err "saying which user to run as" "must not run as root"
    check "before making anything" test -z "$(ls -A "$WORK/drills")"
fi
expect_status "--drill with --target-dir is refused" 1 as_pg "$RESTORE" --config "$CONF" --drill \
    --target-dir "$WORK/x"
expect_status "--check-sql without --drill is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/x" --to latest --check-sql "$WORK/good.sql"

# --- a damaged backup fails, and the webhook hears of it -------------------------------------
as_pg touch "$WORK/hooks.jsonl"
python3 "$PITR_SOURCE_DIR/tests/support/webhook_server.py" "$WORK/hooks.jsonl" "$WORK/hook.port" &
HOOK_PID=$!
on_exit "kill $HOOK_PID"
for ((i = 0; i < 100; i++)); do [ -s "$WORK/hook.port" ] && break; sleep 0.1; done
HOOK_PORT=$(cat "$WORK/hook.port")

rm -rf "$WORK/repo_bad"
cp -a "$REPO" "$WORK/repo_bad"
rm -f "$WORK/repo_bad/$CLUSTER/drill/last"
ID=$(ls "$WORK/repo_bad/$CLUSTER/backup" | tail -1)
SIZE=$(stat -c %s "$WORK/repo_bad/$CLUSTER/backup/$ID/base.tar")
flip_byte "$WORK/repo_bad/$CLUSTER/backup/$ID/base.tar" $((SIZE / 2))
write_config "$WORK/bad.conf" "repo=$WORK/repo_bad" \
    "notify_webhook_url=http://127.0.0.1:$HOOK_PORT/services/T000/B000/SECRETTOKEN"
expect_status "a drill on a damaged base.tar fails" 1 as_pg "$RESTORE" --config "$WORK/bad.conf" \
    --drill --drill-dir "$WORK/drills"
expect_in_err "saying the backup is damaged" "does not match .* the backup is damaged"
check "and leaves nothing behind" test -z "$(ls -A "$WORK/drills")"
check "the webhook received one message" test "$(wc -l <"$WORK/hooks.jsonl")" = 1
check "whose text says the drill failed, where, and why" python3 - "$WORK/hooks.jsonl" "$CLUSTER" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1]).readline())
assert m["status"] == "failure" and m["tool"] == "pitr-restore --drill", m
assert m["cluster"] == sys.argv[2] and m["host"], m
assert m["text"].startswith("pitr-restore --drill FAILED on %s (cluster %s): drill FAILED: backup " % (m["host"], sys.argv[2])), m["text"]
assert "damaged" in m["details"], m
PY
check "the webhook's token is never logged" bash -c "! grep -q SECRETTOKEN '$WORK/last.err' '$WORK/last.out'"
as_pg "$OBJCAT" --config "$WORK/bad.conf" "$CLUSTER/drill/last" >"$WORK/drill-last" 2>&1 || true
check "the failure is recorded" grep -q "^result = fail$" "$WORK/drill-last"

write_config "$WORK/always.conf" "repo=$REPO" "notify_on=always" \
    "notify_webhook_url=http://127.0.0.1:$HOOK_PORT/hook"
expect_status "verify notifies success with notify_on = always" 0 as_pg "$CATALOG" --config "$WORK/always.conf" verify
check "the webhook received it" grep -q '"tool":"pitr-catalog verify","status":"success"' "$WORK/hooks.jsonl"
expect_status "expire notifies too (it removes nothing here: one backup)" 0 as_pg "$CATALOG" \
    --config "$WORK/always.conf" expire
check "the webhook received its summary" \
    grep -q '"tool":"pitr-catalog expire","status":"success".*expired 0 backup' "$WORK/hooks.jsonl"

# --- an unreachable webhook changes nothing ----------------------------------------------------
DEAD_PORT=$(free_port)
write_config "$WORK/dead.conf" "repo=$REPO" "notify_on=always" \
    "notify_webhook_url=http://127.0.0.1:$DEAD_PORT/services/T000/B000/SECRETTOKEN"
expect_status "a drill with an unreachable webhook still passes" 0 as_pg "$RESTORE" \
    --config "$WORK/dead.conf" --drill --drill-dir "$WORK/drills" --quiet
expect_in_err "warning with the webhook's host only" "could not send the notification to 127.0.0.1:$DEAD_PORT"
check "never its token" bash -c "! grep -q SECRETTOKEN '$WORK/last.err'"
expect_status "a failed drill with an unreachable webhook exits 1, not otherwise" 1 as_pg "$RESTORE" \
    --config "$WORK/dead.conf" --drill --drill-dir "$WORK/drills" --quiet --check-sql "$WORK/bad.sql" --check-db appdb

finish
