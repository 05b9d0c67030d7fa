#!/usr/bin/env bash
# pitr-archive and pitr-fetch against a local-directory repository, driven by a real
# PostgreSQL 15 cluster; plus encryption and a 16 MiB-segment cluster.
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/archive_suite.inc"

REPO="$WORK/repo"
mkdir -p "$REPO"
chown "$PG_USER" "$REPO" 2>/dev/null || true
REPO_SETTINGS=("repo=$REPO")

object_path() { echo "$REPO/$(cluster_of)/wal/${1:0:16}/$1"; }
cluster_of() { ls "$REPO" | head -1; }
corrupt_object() {
    local path size
    path=$(object_path "$1")
    size=$(stat -c %s "$path")
    flip_byte "$path" $((size / 2))
}

run_archive_suite

# --- encryption: round trip, and a wrong key is named as such ----------------------------------
EREPO="$WORK/erepo"
mkdir -p "$EREPO" && chown "$PG_USER" "$EREPO" 2>/dev/null || true
head -c 48 /dev/urandom | base64 >"$WORK/key"
chmod 600 "$WORK/key" && chown "$PG_USER" "$WORK/key" 2>/dev/null || true
# no compression here, so only the encryption can hide the plain text
write_config "$WORK/enc.conf" "repo=$EREPO" "compression=none" "encryption_key_file=$WORK/key"
epg="$WORK/epg"
eport=$(free_port)
pg_init "$epg" --wal-segsize=1
pg_configure "$epg" "$eport" "$ARCHIVE --config $WORK/enc.conf %p %f"
pg_start "$epg"
psql_at "$eport" "create table e as select 'PITR_PLAINTEXT_MARK' || g as v from generate_series(1, 50000) g"
eseg=$(switch_wal "$eport")
check "an encrypting cluster archives" wait_archived "$eport" "$eseg"
"$FETCH" --config "$WORK/enc.conf" "$eseg" "$WORK/e.out"
check "and the encrypted segment fetches back identical" cmp -s "$WORK/e.out" "$epg/pg_wal/$eseg"
check "the WAL segment itself holds the marker text" grep -q PITR_PLAINTEXT_MARK "$epg/pg_wal/$eseg"
check "the stored object does not" bash -c "! grep -q PITR_PLAINTEXT_MARK $EREPO/*/wal/*/$eseg"
head -c 48 /dev/urandom | base64 >"$WORK/key2"
chmod 600 "$WORK/key2"
expect_status "fetch with a wrong key: exit 255" 255 \
    env PITR_ENCRYPTION_KEY_FILE="$WORK/key2" "$FETCH" --config "$WORK/enc.conf" "$eseg" "$WORK/e2.out"
expect_in_err "and the error says the key differs" "different key"
chmod 644 "$WORK/key2"
expect_status "a key file readable by others is refused" 255 \
    env PITR_ENCRYPTION_KEY_FILE="$WORK/key2" "$FETCH" --config "$WORK/enc.conf" "$eseg" "$WORK/e2.out"
expect_in_err "with the fix in the message" "chmod 600"
pg_stop "$epg"

# --- 16 MiB segments (the default size) --------------------------------------------------------
BREPO="$WORK/brepo"
mkdir -p "$BREPO" && chown "$PG_USER" "$BREPO" 2>/dev/null || true
write_config "$WORK/big.conf" "repo=$BREPO"
bpg="$WORK/bpg"
bport=$(free_port)
pg_init "$bpg"
pg_configure "$bpg" "$bport" "$ARCHIVE --config $WORK/big.conf %p %f"
pg_start "$bpg"
psql_at "$bport" "create table b as select g, md5(g::text) from generate_series(1, 200000) g"
bseg=$(switch_wal "$bport")
check "a 16 MiB-segment cluster archives" wait_archived "$bport" "$bseg"
"$FETCH" --config "$WORK/big.conf" "$bseg" "$WORK/b.out"
check "and its 16 MiB segment fetches back identical" cmp -s "$WORK/b.out" "$bpg/pg_wal/$bseg"
check "the repository holds no temp files" bash -c "! find '$BREPO' -name '.*tmp*' | grep -q ."
pg_stop "$bpg"

finish
