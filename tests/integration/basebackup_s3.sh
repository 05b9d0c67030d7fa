#!/usr/bin/env bash
# pitr-basebackup into an S3 repository (moto over TLS, verifying signatures), encrypted, with
# 5 MiB multipart parts: the shared scenario (backup under load, unpack, pg_verifybackup, recovery
# with pitr-fetch, equal counts); then the repository becomes unreachable mid-stream (a proxy in
# front of S3 is killed): the backup fails within bounded time and is never complete.
source "$(dirname "$0")/lib.inc"

s3_credentials_file
new_key "$WORK/key"

CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=s3://$PITR_S3_BUCKET/backups" "s3_endpoint=$PITR_S3_ENDPOINT" \
    "s3_region=$PITR_S3_REGION" "s3_ca_file=$PITR_S3_CA_FILE" "s3_uri_style=path" \
    "s3_credentials_file=$CREDS" "s3_part_size=5MB" "compression=lz4" \
    "encryption_key_file=$WORK/key"
source "$(dirname "$0")/basebackup_suite.inc"

check "the record names the encryption key" \
    grep -Eq "^encryption_key_id = [0-9a-f]{16}$" "$WORK/backup.info"
expect_status "the stored backup cannot be read without the key" 1 \
    as_pg env PITR_ENCRYPTION_KEY_FILE= "$OBJCAT" --config "$CONF" "$CLUSTER/backup/$ID/base.tar"
expect_in_err "and says so" "encrypted"

# --- S3 unreachable mid-stream ---------------------------------------------------------------
hostport=${PITR_S3_ENDPOINT#https://}
python3 "$PITR_SOURCE_DIR/tests/support/tcp_proxy.py" "$hostport" >"$WORK/proxy.port" &
PROXY=$!
on_exit "kill $PROXY"
for ((i = 0; i < 50; i++)); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
PROXIED="https://${hostport%:*}:$(cat "$WORK/proxy.port")"
as_pg env PITR_S3_ENDPOINT="$PROXIED" PITR_S3_MAX_ATTEMPTS=2 PITR_S3_RETRY_MAX_TIME=3 \
    PITR_S3_CONNECT_TIMEOUT=2 "$BASEBACKUP" --config "$CONF" --max-rate 2MB \
    >"$WORK/cut.out" 2>"$WORK/cut.err" &
BB=$!
# the proxy goes once the first multipart part is up: mid-stream
sleep 4
kill "$PROXY"
started=$SECONDS
rc=0
wait "$BB" || rc=$?
check "pitr-basebackup fails when S3 goes away mid-stream (exit $rc)" test "$rc" = 1
check "within bounded time ($((SECONDS - started)) s)" test $((SECONDS - started)) -lt 60
LAST_ERR=$(cat "$WORK/cut.err")
expect_in_err "naming the S3 request that failed and how often it was tried" "(attempt|tried)"
CUT_ID=$(grep -o 'backup [0-9]\{8\}T[0-9]\{6\}Z[-0-9]*' "$WORK/cut.err" | head -1 | cut -d' ' -f2)
check "the log names the interrupted backup" test -n "$CUT_ID"
rc=0
obj_cat "$CLUSTER/backup/$CUT_ID/backup.info" >/dev/null 2>&1 || rc=$?
check "it has no record: never complete (objcat exit $rc)" test "$rc" = 2
expect_status "pitr-basebackup --cleanup removes what is left" 0 \
    as_pg "$BASEBACKUP" --config "$CONF" --cleanup
check "naming it" grep -q "removed incomplete backup $CUT_ID" "$WORK/last.out"
check "the complete backup is untouched" obj_cat "$CLUSTER/backup/$ID/backup.info" >/dev/null

finish
