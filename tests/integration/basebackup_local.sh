#!/usr/bin/env bash
# pitr-basebackup into a local repository: the shared scenario (backup under load, unpack,
# pg_verifybackup, recovery with pitr-fetch, equal counts), encryption, and the failures a DBA
# meets: wrong password, a role without REPLICATION, a killed backup (never complete, removed by
# --cleanup), and another cluster under the same name.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4"
source "$(dirname "$0")/basebackup_suite.inc"
BACKUPS="$REPO/$CLUSTER/backup"

# --- compressed by pitr instead of the server (the path 13 and 14 take), quiet for cron ------
expect_status "a backup compressed by pitr with zstd succeeds" 0 \
    as_pg env PITR_BACKUP_COMPRESS_ON=client PITR_COMPRESSION=zstd:3 "$BASEBACKUP" --config "$CONF" --quiet
check "--quiet prints nothing on success" test ! -s "$WORK/last.out"
ID2=$(ls "$BACKUPS" | grep -v "^$ID\$" | tail -1)
obj_cat "$CLUSTER/backup/$ID2/backup.info" >"$WORK/backup2.info"
check "its record says zstd:3, compressed by the client" \
    grep -q "^compression = zstd:3" "$WORK/backup2.info"
check "compressed by the client" \
    grep -q "^compressed_by = client" "$WORK/backup2.info"
restore_backup "$ID2" "$WORK/restored2"
expect_status "pg_verifybackup accepts it too" 0 as_pg "$PG_BIN/pg_verifybackup" -n "$WORK/restored2"

# --- connection failures: clear, naming host, port and user, never the password -------------
sed -i '1i local all pwuser scram-sha-256\nlocal replication pwuser scram-sha-256' "$PGDATA_P/pg_hba.conf"
psql_at "$PORT" "create role pwuser login replication password 'Right-Pa55'; create role norepl login"
psql_at "$PORT" "select pg_reload_conf()" >/dev/null
expect_status "a wrong password fails" 1 as_pg env \
    PITR_PG_CONNINFO="host=$WORK port=$PORT user=pwuser dbname=postgres password=Wr0ng-Secret-77" \
    "$BASEBACKUP" --config "$CONF"
expect_in_err "the error names host, port and user" "host=$WORK port=$PORT user=pwuser"
expect_in_err "and says authentication failed" "password authentication failed"
check "but never shows the password" test "$(grep -c Wr0ng-Secret-77 <<<"$LAST_ERR")" = 0
expect_status "a role without REPLICATION is refused" 1 as_pg env \
    PITR_PG_CONNINFO="host=$WORK port=$PORT user=norepl dbname=postgres" "$BASEBACKUP" --config "$CONF"
expect_in_err "with the fix in the message" "needs the REPLICATION attribute"
expect_status "an unreachable server fails" 1 as_pg env \
    PITR_PG_CONNINFO="host=$WORK port=1 user=postgres" "$BASEBACKUP" --config "$CONF"
expect_in_err "naming where it tried" "could not connect to PostgreSQL \(host=$WORK port=1 user=postgres\)"
check "failed connections leave no backup behind" test "$(ls "$BACKUPS" | wc -l)" = 2

# --- WAL that never reaches this repository: the backup times out and is removed ------------
CONF_T="$WORK/pitr-t.conf"
write_config "$CONF_T" "repo=$WORK/repo_t" "backup_wal_timeout=4" \
    "pg_conninfo=host=$WORK port=$PORT user=postgres dbname=postgres"
as_pg mkdir -p "$WORK/repo_t"
expect_status "a backup whose WAL is not archived into its repository fails" 1 \
    as_pg "$BASEBACKUP" --config "$CONF_T"
expect_in_err "saying which segment is missing and what to check" \
    "WAL segment [0-9A-F]{24} .* did not reach the repository within backup_wal_timeout = 4 s"
check "and its objects are removed" test -z "$(find "$WORK/repo_t/$CLUSTER/backup" -type f)"

# --- a backup killed mid-stream is never complete, and --cleanup removes it ------------------
as_pg "$BASEBACKUP" --config "$CONF" --max-rate 1MB --quiet >"$WORK/killed.log" 2>&1 &
streaming() { find "$BACKUPS" -name '.base.tar.tmp.*' -size +100k | grep -q .; }
for ((i = 0; i < 300; i++)); do streaming && break; sleep 0.1; done
check "the throttled backup is streaming base.tar" streaming
pkill -9 -f "$BASEBACKUP --config $CONF --max-rate" || true
wait || true
ID3=$(ls "$BACKUPS" | grep -v -e "^$ID\$" -e "^$ID2\$" | tail -1)
check "the killed backup has no record" test ! -e "$BACKUPS/$ID3/backup.info"
check "but its backup.start says who took it" test -e "$BACKUPS/$ID3/backup.start"
ended() { test "$(psql_at "$PORT" "select count(*) from pg_stat_progress_basebackup")" = 0; }
for ((i = 0; i < 100; i++)); do ended && break; sleep 0.1; done
check "the server ended its backup" ended
sleep 6 # a dead writer's temp file counts as abandoned once idle for 5 s
expect_status "pitr-basebackup --cleanup succeeds" 0 as_pg "$BASEBACKUP" --config "$CONF" --cleanup
check "it names the backup it removed" grep -q "removed incomplete backup $ID3" "$WORK/last.out"
check "nothing of it is left, not even the partial temp file" \
    test -z "$(find "$BACKUPS/$ID3" -type f 2>/dev/null)"
check "the complete backups are untouched" test -e "$BACKUPS/$ID/backup.info" -a -e "$BACKUPS/$ID2/backup.info"

# --- another database system under the same cluster name is refused --------------------------
OTHER="$WORK/other"
OPORT=$(free_port)
pg_init "$OTHER"
pg_configure "$OTHER" "$OPORT" "/bin/true"
pg_start "$OTHER"
expect_status "backing up another cluster into the same name is refused" 1 as_pg env \
    PITR_CLUSTER="$CLUSTER" PITR_PG_CONNINFO="host=$WORK port=$OPORT user=postgres" \
    "$BASEBACKUP" --config "$CONF"
expect_in_err "naming both system identifiers" "belongs to the database system [0-9]+, but this one is [0-9]+"

# --- no free walsender ---------------------------------------------------------------------
pg_stop "$OTHER"
echo "max_wal_senders = 0" >>"$OTHER/postgresql.conf"
as_pg "$PG_BIN/pg_ctl" -D "$OTHER" -l "$OTHER.log" -w -t 60 start >/dev/null
expect_status "a server without a free walsender is reported" 1 as_pg env \
    PITR_CLUSTER=other PITR_PG_CONNINFO="host=$WORK port=$OPORT user=postgres" \
    "$BASEBACKUP" --config "$CONF"
expect_in_err "with what to do about it" "max_wal_senders.*raise max_wal_senders"

finish
