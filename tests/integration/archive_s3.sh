#!/usr/bin/env bash
# pitr-archive and pitr-fetch against an S3 repository: a real S3-compatible server (moto) over
# TLS with a test CA, verifying SigV4 signatures, driven by a real PostgreSQL 15 cluster.
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/archive_suite.inc"

s3_credentials_file
REAL_SECRET=$S3_SECRET

PREFIX="pitr test/repo+1"
REPO_SETTINGS=("repo=s3://$PITR_S3_BUCKET/$PREFIX" "s3_endpoint=$PITR_S3_ENDPOINT"
    "s3_region=$PITR_S3_REGION" "s3_ca_file=$PITR_S3_CA_FILE" "s3_uri_style=path"
    "s3_credentials_file=$CREDS" "s3_max_attempts=2" "s3_retry_max_time=5")

# Corrupting an object in place: download, flip a byte, upload over it with the test tool.
TOOL="$PITR_BIN_DIR/pitr-storage-tool"
tool() {
    AWS_ACCESS_KEY_ID=$(awk -F' = ' '/aws_access_key_id/ {print $2}' "$CREDS") \
        AWS_SECRET_ACCESS_KEY=$REAL_SECRET PITR_S3_ENDPOINT=$PITR_S3_ENDPOINT \
        PITR_S3_CA_FILE=$PITR_S3_CA_FILE "$TOOL" "s3://$PITR_S3_BUCKET/$PREFIX" "$@"
}
corrupt_object() {
    local key cluster
    cluster=$(tool list "" | head -1 | cut -f1 | sed 's:/$::')
    key="$cluster/wal/${1:0:16}/$1"
    tool get "$key" "$WORK/obj"
    flip_byte "$WORK/obj" $(($(stat -c %s "$WORK/obj") / 2))
    tool rm "$key"
    tool put "$key" "$WORK/obj"
}

run_archive_suite

# --- a wrong secret key is rejected by the server, and the secret is never printed ------------
printf 'aws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$(awk -F' = ' '/aws_access_key_id/ {print $2}' "$CREDS")" "WRONG-secret-value-123" >"$WORK/bad-creds"
chmod 600 "$WORK/bad-creds"
expect_status "a wrong secret key: fetch fails with 255" 255 \
    env PITR_S3_CREDENTIALS_FILE="$WORK/bad-creds" "$FETCH" --config "$WORK/pitr.conf" \
    000000010000000000000002 "$WORK/x"
expect_in_err "the server's refusal is reported" "403|SignatureDoesNotMatch|InvalidAccessKeyId"
check "the secret never appears in the output" bash -c "! grep -q 'WRONG-secret-value-123' '$WORK/last.err'"
check "the real secret never appears either" bash -c "! grep -qF '$REAL_SECRET' '$WORK/last.err'"

# --- missing credentials ---------------------------------------------------------------------
expect_status "no credentials at all: a clear error" 255 \
    env PITR_S3_CREDENTIALS_FILE= "$FETCH" --config "$WORK/pitr.conf" 000000010000000000000002 "$WORK/x"
expect_in_err "naming what to set" "missing S3 credentials"

# --- an unreachable endpoint fails within a bounded time ---------------------------------------
dead_port=$(free_port)
start=$(date +%s)
expect_status "S3 unreachable: archive fails (exit 1) after bounded retries" 1 \
    as_pg bash -c "cd '$WORK/pgdata' && PITR_S3_ENDPOINT=https://127.0.0.1:$dead_port '$ARCHIVE' --config '$WORK/pitr.conf' pg_wal/$(first_segment "$WORK/pgdata") $(first_segment "$WORK/pgdata")"
elapsed=$(($(date +%s) - start))
check "and gives up within 30 s (took ${elapsed}s)" test "$elapsed" -le 30
expect_in_err "saying how often it tried" "attempt|tried"

# --- TLS is verified ---------------------------------------------------------------------------
expect_status "an untrusted server certificate is refused" 255 \
    env PITR_S3_CA_FILE=/etc/ssl/certs/ca-certificates.crt "$FETCH" --config "$WORK/pitr.conf" \
    000000010000000000000002 "$WORK/x"
expect_in_err "as a TLS problem" "SSL|TLS|certificate"

finish
