#!/usr/bin/env bash
# An encrypted repository is authenticated: an attacker who can write to it but has no key can
# neither plant objects (a plaintext WAL segment, a forged backup record), nor move valid ones
# (a segment copied over the next, a backup's tar copied into another backup), nor make pitr read
# records written without the key. Key rotation: objects under an old key stay readable while it
# is listed in encryption_old_key_files, verify says how many remain, and upgrade moves the
# records to the current key.
source "$(dirname "$0")/lib.inc"

cp "$PITR_BIN_DIR/pitr-record-put" "$WORK/bin/"
RECORD_PUT="$WORK/bin/pitr-record-put"
REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
new_key "$WORK/key1"
new_key "$WORK/key2"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4" "encryption_key_file=$WORK/key1"
# the attacker's view of the same repository: write access, no key
PLAIN="$WORK/plain.conf"
write_config "$PLAIN" "repo=$REPO" "compression=lz4"

PGDATA_P="$WORK/primary"
PORT=$(free_port)
pg_init "$PGDATA_P" --wal-segsize=1
pg_configure "$PGDATA_P" "$PORT" "$ARCHIVE --config $CONF %p %f"
echo "max_wal_senders = 4" >>"$PGDATA_P/postgresql.conf"
pg_start "$PGDATA_P"
echo "pg_conninfo = 'host=$WORK port=$PORT user=postgres dbname=postgres'" >>"$CONF"
CLUSTER=$(as_pg "$PG_BIN/pg_controldata" "$PGDATA_P" | awk -F': *' '/Database system identifier/ {print $2}')
psql_at "$PORT" "create table t(n int primary key)"
psql_at "$PORT" "insert into t select generate_series(1, 100)"

expect_status "a backup under the first key" 0 as_pg "$BASEBACKUP" --config "$CONF" --quiet
ID1=$(as_pg "$CATALOG" --config "$CONF" --json list | python3 -c 'import json,sys; print(json.load(sys.stdin)["backups"][-1]["id"])')
sleep 1.1
psql_at "$PORT" "insert into t select generate_series(101, 200)"
check "WAL under the first key is archived" wait_archived "$PORT" "$(switch_wal "$PORT")"

# --- key rotation: key2 is current, key1 still reads ------------------------------------------
sed -i "s|^encryption_key_file = .*|encryption_key_file = '$WORK/key2'|" "$CONF"
echo "encryption_old_key_files = '$WORK/key1'" >>"$CONF"
psql_at "$PORT" "insert into t select generate_series(201, 300)"
check "WAL under the second key is archived" wait_archived "$PORT" "$(switch_wal "$PORT")"
expect_status "a second backup, under the second key" 0 as_pg "$BASEBACKUP" --config "$CONF" --quiet
ID2=$(as_pg "$CATALOG" --config "$CONF" --json list | python3 -c 'import json,sys; print(json.load(sys.stdin)["backups"][-1]["id"])')
psql_at "$PORT" "insert into t select generate_series(301, 400)"
LAST=$(switch_wal "$PORT")
check "and more WAL after it" wait_archived "$PORT" "$LAST"
ROWS=$(psql_at "$PORT" "select count(*) || ':' || sum(n) from t")

expect_status "verify reads everything under both keys" 0 as_pg "$CATALOG" --config "$CONF" verify --all --wal
check "and counts the objects under the old key" grep -Eq "^[1-9][0-9]* object\(s\) under key [0-9a-f]{16} \(an old key" "$WORK/last.out"
check "and under the current key" grep -Eq "^[1-9][0-9]* object\(s\) under key [0-9a-f]{16} \(the current key\)" "$WORK/last.out"

# restore_latest NAME ARGS...: restores to the end into $WORK/NAME, starts it, waits for promotion
restore_latest() {
    local name=$1
    shift
    expect_status "pitr-restore --to latest $* succeeds" 0 as_pg "$RESTORE" --config "$CONF" \
        --target-dir "$WORK/$name" --to latest "$@"
    RPORT=$(free_port)
    printf "port = %s\narchive_mode = off\n" "$RPORT" | as_pg tee -a "$WORK/$name/postgresql.auto.conf" >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$WORK/$name" -l "$WORK/$name.log" -w -t 120 start >/dev/null || true
    on_exit "as_pg '$PG_BIN/pg_ctl' -D '$WORK/$name' -m immediate stop"
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(psql_at "$RPORT" "select pg_is_in_recovery()" 2>/dev/null)" = f ] && break
        sleep 0.1
    done
    check "the restore ($*) promotes with every row" \
        test "$(psql_at "$RPORT" "select count(*) || ':' || sum(n) from t" 2>&1)" = "$ROWS"
    as_pg "$PG_BIN/pg_ctl" -D "$WORK/$name" -m fast -w stop >/dev/null
}
restore_latest rotated --backup "$ID1"

key_id_of() { od -An -tx1 -j8 -N8 "$1" | tr -d ' \n'; }
OBJ1="$REPO/$CLUSTER/backup/$ID1/base.tar"
OBJ2="$REPO/$CLUSTER/backup/$ID2/base.tar"
check "the two backups are under different keys" test "$(key_id_of "$OBJ1")" != "$(key_id_of "$OBJ2")"
write_config "$WORK/nokey1.conf" "repo=$REPO" "encryption_key_file=$WORK/key2"
expect_status "without the old key, its objects are refused (fetch: 255)" 255 \
    as_pg "$FETCH" --config "$WORK/nokey1.conf" "$(ls "$REPO/$CLUSTER/wal/"*/ | grep -v history | sort | head -1)" "$WORK/nokey.out"
expect_in_err "naming the key it needs" "different key \(key id [0-9a-f]{16}\): check encryption_key_file and encryption_old_key_files"

# --- a passphrase is not a key -------------------------------------------------------------------
as_pg bash -c "printf 'correct horse battery staple and more words\n' >'$WORK/pass'; chmod 600 '$WORK/pass'"
write_config "$WORK/pass.conf" "repo=$REPO" "encryption_key_file=$WORK/pass"
expect_status "a typed passphrase as key file is refused" 255 as_pg "$FETCH" --config "$WORK/pass.conf" "$LAST" "$WORK/x"
expect_in_err "saying how to make a key" "typed passphrase.*openssl rand -base64 48"

# --- attacks by someone who can write to the repository but has no key -----------------------
SEGDIR="$REPO/$CLUSTER/wal/${LAST:0:16}"
PREV=$(ls "$SEGDIR" | grep -E '^[0-9A-F]{24}$' | sort | tail -2 | head -1)
cp -p "$SEGDIR/$LAST" "$WORK/last.saved"

# 1. a segment swapped for another valid one of the same repository
cp -p "$SEGDIR/$PREV" "$SEGDIR/$LAST"
expect_status "a swapped segment: fetch stops recovery (255)" 255 as_pg "$FETCH" --config "$CONF" "$LAST" "$WORK/swapped"
expect_in_err "saying it belongs under another name" "\"$CLUSTER/wal/${LAST:0:16}/$LAST\" failed authentication: it was written under another name"
check "and writes no file" test ! -e "$WORK/swapped"
expect_status "the plan refuses it" 1 as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/swapplan" --to latest --dry-run
expect_in_err "naming the segment" "$LAST.*failed authentication"
expect_status "pitr-catalog check reports it" 1 as_pg "$CATALOG" --config "$CONF" check
check "naming the segment" grep -q "$LAST.*failed authentication" "$WORK/last.out"
cp -p "$WORK/last.saved" "$SEGDIR/$LAST"

# 2. a plaintext object planted as a segment (the header says "not encrypted")
printf 'forged WAL\n' | as_pg "$RECORD_PUT" --config "$PLAIN" "$CLUSTER/wal/${LAST:0:16}/$LAST"
expect_status "a plaintext segment under a key: fetch stops recovery (255)" 255 as_pg "$FETCH" --config "$CONF" "$LAST" "$WORK/plain"
expect_in_err "as unauthenticated" "is not encrypted, but an encryption key is configured"
check "and writes no file" test ! -e "$WORK/plain"
cp -p "$WORK/last.saved" "$SEGDIR/$LAST"
expect_status "the original segment fetches again" 0 as_pg "$FETCH" --config "$CONF" "$LAST" "$WORK/orig"
check "byte for byte" cmp -s "$WORK/orig" "$PGDATA_P/pg_wal/$LAST"

# 3. a forged backup record (plaintext, rewritten by the attacker)
INFO="$REPO/$CLUSTER/backup/$ID2/backup.info"
cp -p "$INFO" "$WORK/info.saved"
as_pg "$OBJCAT" --config "$CONF" "$CLUSTER/backup/$ID2/backup.info" >"$WORK/info.txt"
sed -i "s/^label = .*/label = 'forged'/" "$WORK/info.txt"
as_pg "$RECORD_PUT" --config "$PLAIN" "$CLUSTER/backup/$ID2/backup.info" <"$WORK/info.txt"
expect_status "a forged backup record: the restore is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/forged" --to latest --backup "$ID2"
expect_in_err "as unauthenticated" "backup.info\" is not encrypted, but an encryption key is configured"
check "and nothing is written" test ! -e "$WORK/forged"
cp -p "$WORK/info.saved" "$INFO"

# 4. one backup's tar copied into another backup
cp -p "$OBJ2" "$WORK/tar.saved"
cp -p "$OBJ1" "$OBJ2"
expect_status "a backup object from another backup: the restore is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/mixed" --to latest --backup "$ID2"
expect_in_err "naming it" "backup $ID2 cannot be restored: object \"$CLUSTER/backup/$ID2/base.tar\" failed authentication"
check "before anything is written" test ! -e "$WORK/mixed"
cp -p "$WORK/tar.saved" "$OBJ2"

# 5. the cluster record replaced by a plaintext one
CINFO="$REPO/$CLUSTER/cluster.info"
cp -p "$CINFO" "$WORK/cinfo.saved"
as_pg "$OBJCAT" --config "$CONF" "$CLUSTER/cluster.info" >"$WORK/cinfo.txt"
as_pg "$RECORD_PUT" --config "$PLAIN" "$CLUSTER/cluster.info" <"$WORK/cinfo.txt"
expect_status "a plaintext cluster record: fetch stops recovery (255)" 255 as_pg "$FETCH" --config "$CONF" "$LAST" "$WORK/ci"
expect_in_err "saying what to do" "written without authentication .*pitr-catalog upgrade"
expect_status "pitr-catalog list refuses it too" 1 as_pg "$CATALOG" --config "$CONF" list
expect_status "pitr-catalog upgrade authenticates the records under the current key" 0 \
    as_pg "$CATALOG" --config "$CONF" upgrade
check "including the backup records still under the old key" grep -Eq "cluster $CLUSTER: [3-9] record\(s\) rewritten under key" "$WORK/last.out"
check "the cluster record is under the current key now" test "$(key_id_of "$CINFO")" = "$(key_id_of "$OBJ2")"
check "and so is the first backup's record" test "$(key_id_of "$REPO/$CLUSTER/backup/$ID1/backup.info")" = "$(key_id_of "$OBJ2")"
check "the catalog lines carry MACs" grep -q " ~h[0-9a-f]\{32\}\$" "$REPO/$CLUSTER/catalog/wal/${LAST:0:16}/$LAST"
expect_status "and everything reads again" 0 as_pg "$CATALOG" --config "$CONF" list
restore_latest after-upgrade --backup "$ID2"

# 6. a catalog line changed without the key
ENTRY="$REPO/$CLUSTER/catalog/wal/${LAST:0:16}.cat"
cp -p "$ENTRY" "$WORK/entry.saved"
sed -i "/^seg $LAST /s/xacts=[0-9]*/xacts=999/" "$ENTRY"
check "(the merged catalog file had the line)" grep -q "^seg $LAST .*xacts=999" "$ENTRY"
expect_status "a catalog line changed without the key is refused" 1 as_pg "$CATALOG" --config "$CONF" windows
expect_in_err "as damaged" "line [0-9]+ is damaged"
cp -p "$WORK/entry.saved" "$ENTRY"

pg_stop "$PGDATA_P"
finish
