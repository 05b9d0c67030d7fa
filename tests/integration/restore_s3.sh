#!/usr/bin/env bash
# pitr-restore from an S3 repository (moto over TLS, verifying signatures), encrypted: the shared
# point-in-time scenario (restore_suite.inc, with WAL objects deleted and truncated in the
# bucket), then the key: a restore without it, or with another one, is refused before anything
# is written.
source "$(dirname "$0")/lib.inc"

s3_credentials_file
new_key "$WORK/key"
new_key "$WORK/other-key"

CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=s3://$PITR_S3_BUCKET/pitr" "s3_endpoint=$PITR_S3_ENDPOINT" \
    "s3_region=$PITR_S3_REGION" "s3_ca_file=$PITR_S3_CA_FILE" "s3_uri_style=path" \
    "s3_credentials_file=$CREDS" "s3_part_size=5MB" "compression=zstd" \
    "encryption_key_file=$WORK/key"

# what restore_suite.inc does to WAL objects behind pitr's back, through the test's S3 tool
REAL_SECRET=$S3_SECRET
tool() {
    AWS_ACCESS_KEY_ID=$(awk -F' = ' '/aws_access_key_id/ {print $2}' "$CREDS") \
        AWS_SECRET_ACCESS_KEY=$REAL_SECRET PITR_S3_ENDPOINT=$PITR_S3_ENDPOINT \
        PITR_S3_CA_FILE=$PITR_S3_CA_FILE "$PITR_BIN_DIR/pitr-storage-tool" "s3://$PITR_S3_BUCKET/pitr" "$@"
}
wal_key() { echo "$CLUSTER/wal/${1:0:16}/$1"; }
wal_object_remove() { tool get "$(wal_key "$1")" "$WORK/saved-$1" && tool rm "$(wal_key "$1")"; }
wal_object_shorten() { # the first half of the object in its place (its authenticated header
    # stays valid: only the size shows it); prints the new size
    tool get "$(wal_key "$1")" "$WORK/saved-$1"
    head -c $(($(stat -c %s "$WORK/saved-$1") / 2)) "$WORK/saved-$1" >"$WORK/short-$1"
    tool put "$(wal_key "$1")" "$WORK/short-$1" && stat -c %s "$WORK/short-$1"
}
wal_object_put_back() { tool put "$(wal_key "$1")" "$WORK/saved-$1"; }
catalog_entry() { tool get "$CLUSTER/catalog/wal/${1:0:16}/$1" "$WORK/entry" && cat "$WORK/entry"; }

source "$(dirname "$0")/restore_suite.inc"

expect_status "a restore without the key is refused" 1 as_pg env PITR_ENCRYPTION_KEY_FILE= \
    "$RESTORE" --config "$CONF" --target-dir "$WORK/nokey" --to latest
expect_in_err "naming the key the repository needs" "is encrypted \(key id [0-9a-f]{16}\): set encryption_key_file"
expect_status "a restore with another key is refused" 1 as_pg env \
    PITR_ENCRYPTION_KEY_FILE="$WORK/other-key" "$RESTORE" --config "$CONF" --target-dir "$WORK/otherkey" --to latest
expect_in_err "saying the key differs" "encrypted with a different key \(key id [0-9a-f]{16}\)"
check "neither wrote anything" test ! -e "$WORK/nokey" -a ! -e "$WORK/otherkey"
expect_status "pitr-catalog check passes on S3" 0 as_pg "$CATALOG" --config "$CONF" check

# --- someone with write access to the bucket but no key swaps two valid segments ------------------
TOOL="$PITR_BIN_DIR/pitr-storage-tool"
tool() {
    AWS_ACCESS_KEY_ID=$(awk -F' = ' '/aws_access_key_id/ {print $2}' "$CREDS") \
        AWS_SECRET_ACCESS_KEY=$S3_SECRET PITR_S3_ENDPOINT=$PITR_S3_ENDPOINT \
        PITR_S3_CA_FILE=$PITR_S3_CA_FILE "$TOOL" "s3://$PITR_S3_BUCKET/pitr" "$@"
}
FOLDER="$CLUSTER/wal/${LAST:0:16}"
PREV=$(tool list "$FOLDER" | cut -f1 | grep -E "/[0-9A-F]{24}\$" | sort | grep -B1 "/$LAST\$" | head -1)
tool get "$FOLDER/$LAST" "$WORK/last.obj"
tool get "$PREV" "$WORK/prev.obj"
tool rm "$FOLDER/$LAST"
tool put "$FOLDER/$LAST" "$WORK/prev.obj"
expect_status "a swapped segment on S3: fetch stops recovery (255)" 255 \
    as_pg "$FETCH" --config "$CONF" "$LAST" "$WORK/swapped"
expect_in_err "as written under another name" "$LAST\" failed authentication: it was written under another name"
expect_status "the plan refuses it before writing anything (a ranged read per segment)" 1 \
    as_pg "$RESTORE" --config "$CONF" --target-dir "$WORK/swapplan" --tablespace-map "$TS_DIR=$WORK/swapplan.ts1" --to latest --timeline 1
expect_in_err "naming it" "WAL segment $LAST cannot be used: .*failed authentication"
check "nothing was written" test ! -e "$WORK/swapplan" -a ! -e "$WORK/swapplan.ts1"
expect_status "pitr-catalog check reports it" 1 as_pg "$CATALOG" --config "$CONF" check
check "naming it" grep -q "$LAST\" failed authentication" "$WORK/last.out"
tool rm "$FOLDER/$LAST"
tool put "$FOLDER/$LAST" "$WORK/last.obj"
expect_status "the original segment fetches again" 0 as_pg "$FETCH" --config "$CONF" "$LAST" "$WORK/orig"

finish
