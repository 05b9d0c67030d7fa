#!/usr/bin/env bash
# pitr-restore from an S3 repository (moto over TLS, verifying signatures), encrypted: the shared
# point-in-time scenario (restore_suite.inc), then the key: a restore without it, or with another
# one, is refused before anything is written.
source "$(dirname "$0")/lib.inc"

s3_credentials_file
new_key "$WORK/key"
new_key "$WORK/other-key"

CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=s3://$PITR_S3_BUCKET/pitr" "s3_endpoint=$PITR_S3_ENDPOINT" \
    "s3_region=$PITR_S3_REGION" "s3_ca_file=$PITR_S3_CA_FILE" "s3_uri_style=path" \
    "s3_credentials_file=$CREDS" "s3_part_size=5MB" "compression=zstd" \
    "encryption_key_file=$WORK/key"
source "$(dirname "$0")/restore_suite.inc"

expect_status "a restore without the key is refused" 1 as_pg env PITR_ENCRYPTION_KEY_FILE= \
    "$RESTORE" --config "$CONF" --target-dir "$WORK/nokey" --to latest
expect_in_err "naming the key the repository needs" "is encrypted \(key id [0-9a-f]{16}\): set encryption_key_file"
expect_status "a restore with another key is refused" 1 as_pg env \
    PITR_ENCRYPTION_KEY_FILE="$WORK/other-key" "$RESTORE" --config "$CONF" --target-dir "$WORK/otherkey" --to latest
expect_in_err "saying the key differs" "encrypted with a different key \(key id [0-9a-f]{16}\)"
check "neither wrote anything" test ! -e "$WORK/nokey" -a ! -e "$WORK/otherkey"
expect_status "pitr-catalog check passes on S3" 0 as_pg "$CATALOG" --config "$CONF" check

finish
