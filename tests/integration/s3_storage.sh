#!/usr/bin/env bash
# The S3 driver against a real S3-compatible server (moto over TLS, verifying SigV4 signatures):
# round trips with awkward keys, multipart uploads, paged listings, create-only writes, and the
# failures a DBA will meet (wrong secret, untrusted certificate, unreachable endpoint).
source "$(dirname "$0")/lib.inc"

start_s3_server
export PITR_S3_ENDPOINT PITR_S3_CA_FILE PITR_S3_REGION
TOOL="$PITR_BIN_DIR/pitr-storage-tool"
URL="s3://$PITR_S3_BUCKET/pitr repo/p+q=r"
tool() { "$TOOL" "$URL" "$@"; }

# --- round trips with keys S3 signing gets wrong most often ---------------------------------
head -c 300000 /dev/urandom >"$WORK/small"
for key in "plain" "with space/x" "plus+sign" "equals=sign" "amp&ersand" "tilde~dot.dash-_" \
    "caf$(printf '\xc3\xa9')"; do
    tool put "$key" "$WORK/small" && tool get "$key" "$WORK/small.out" &&
        cmp -s "$WORK/small" "$WORK/small.out" && pass "put/get round trip of key \"$key\"" ||
        fail "put/get round trip of key \"$key\""
done
check "stat reports the size" test "$(tool stat "plus+sign")" = 300000

# --- multipart: 23 MiB in 5 MiB parts, streamed --------------------------------------------
head -c $((23 * 1024 * 1024 + 123)) /dev/urandom >"$WORK/big"
check "a 23 MiB object uploads in 5 MiB parts" env PITR_S3_PART_SIZE=5242880 "$TOOL" "$URL" put "big obj+1" "$WORK/big"
tool get "big obj+1" "$WORK/big.out"
check "and downloads identical" cmp -s "$WORK/big" "$WORK/big.out"
expect_status "create-only over an existing multipart object is refused" 3 \
    env PITR_S3_PART_SIZE=5242880 "$TOOL" "$URL" put "big obj+1" "$WORK/small" --no-overwrite
tool get "big obj+1" "$WORK/big.out2"
check "and the object is unchanged" cmp -s "$WORK/big" "$WORK/big.out2"
# no_uploads_left: the bucket lists no unfinished multipart upload (and so no stored part)
no_uploads_left() {
    python3 - "$PITR_S3_ENDPOINT" "$PITR_S3_CA_FILE" "$PITR_S3_BUCKET" <<'PY'
import sys, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1], verify=sys.argv[2], region_name='us-east-1')
sys.exit(1 if s3.list_multipart_uploads(Bucket=sys.argv[3]).get('Uploads') else 0)
PY
}
check "no unfinished multipart upload is left behind" no_uploads_left

# --- ranged reads: exact bytes, cut short at the end, 416 as empty, one request each -------------
printf 'abcdefghijklmnopqrstuvwxyz' >"$WORK/abc"
tool put "range/abc" "$WORK/abc"
: >"$WORK/empty"
tool put "range/empty" "$WORK/empty"
# range_is KEY OFFSET LEN EXPECTED: read-range writes exactly EXPECTED (and nothing on stderr)
range_is() {
    tool read-range "$1" "$2" "$3" >"$WORK/range.out" 2>"$WORK/range.err" &&
        [ "$(cat "$WORK/range.out")" = "$4" ] && [ "$(wc -c <"$WORK/range.out")" = "${#4}" ] &&
        [ ! -s "$WORK/range.err" ]
}
check "a range at the start" range_is range/abc 0 5 abcde
check "a range in the middle" range_is range/abc 10 4 klmn
check "a range ending exactly at the end" range_is range/abc 20 6 uvwxyz
check "the last byte" range_is range/abc 25 1 z
check "a range running past the end yields what exists" range_is range/abc 23 10 xyz
check "a range starting at the end is empty (416)" range_is range/abc 26 1 ""
check "a range starting past the end is empty (416)" range_is range/abc 1000 64 ""
check "a zero-length range is empty" range_is range/abc 13 0 ""
check "a range past 2^64 reads to the end" range_is range/abc 3 18446744073709551615 \
    defghijklmnopqrstuvwxyz
check "any range of an empty object is empty (416)" range_is range/empty 0 64 ""
expect_status "a ranged read of a missing key is not found (2)" 2 tool read-range range/none 0 64
check "and writes nothing" test ! -s "$WORK/last.out"
expect_in_err "naming the object" "\"s3://$PITR_S3_BUCKET/pitr repo/p\\+q=r/range/none\" does not exist"
expect_status "a zero-length ranged read of a missing key is not found too" 2 \
    tool read-range range/none 0 0
tool read-range "big obj+1" 5242850 64 >"$WORK/big.range"
check "64 bytes across a multipart part boundary are byte-exact" \
    cmp -s "$WORK/big.range" <(tail -c +5242851 "$WORK/big" | head -c 64)
tool read-range "caf$(printf '\xc3\xa9')" 299990 64 >"$WORK/small.range"
check "the tail of an awkward key, cut short at its end" \
    cmp -s "$WORK/small.range" <(tail -c 10 "$WORK/small")
expect_status "a ranged read with a wrong secret is rejected (the Range header is signed)" 1 \
    env AWS_SECRET_ACCESS_KEY=not-the-secret-ZZZ "$TOOL" "$URL" read-range plain 0 64
expect_in_err "as a signature mismatch" "HTTP 403 SignatureDoesNotMatch"

# --- concurrent parts: 32 MiB in 5 MiB parts (7), through a proxy counting parts in flight -----
HOSTPORT=${PITR_S3_ENDPOINT#https://}
# start_proxy LOG [--cut-after BYTES]: tcp_proxy.py in front of S3, logging to LOG how many parts
# are in flight at once; sets PROXIED (its endpoint) and PROXY (its pid)
start_proxy() {
    local log=$1
    shift
    : >"$WORK/proxy.port"
    python3 "$PITR_SOURCE_DIR/tests/support/tcp_proxy.py" "$HOSTPORT" --log "$log" "$@" \
        >"$WORK/proxy.port" &
    PROXY=$!
    on_exit "kill $PROXY"
    for ((i = 0; i < 50; i++)); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
    PROXIED="https://${HOSTPORT%:*}:$(cat "$WORK/proxy.port")"
}
most_in_flight() { cut -d' ' -f2 "$1" | sort -n | tail -1; }
head -c $((32 * 1024 * 1024 + 4321)) /dev/urandom >"$WORK/large"
for c in 1 4; do
    start_proxy "$WORK/flight.$c"
    check "a 32 MiB object uploads in 7 parts with s3_upload_concurrency $c" \
        env PITR_S3_ENDPOINT="$PROXIED" PITR_S3_PART_SIZE=5MB PITR_S3_UPLOAD_CONCURRENCY=$c \
        "$TOOL" "$URL" put "large $c" "$WORK/large"
    kill "$PROXY"
    tool get "large $c" "$WORK/large.out"
    check "and downloads byte-identical (concurrency $c)" cmp -s "$WORK/large" "$WORK/large.out"
done
n=$(most_in_flight "$WORK/flight.1")
check "concurrency 1 sends one part at a time ($n in flight at most)" test "$n" = 1
n=$(most_in_flight "$WORK/flight.4")
# never more than 4 is the bound that holds memory; how many overlap beyond 2 depends on how
# busy the machine is, so only overlap itself is asserted
check "concurrency 4 sends parts side by side, never more than 4 ($n in flight at most)" \
    test "$n" -ge 2 -a "$n" -le 4
check "and leaves no unfinished upload" no_uploads_left

# a connection cut 3 MB into a part: retried, that part alone, and the object is intact
start_proxy "$WORK/flight.retry" --cut-after 3000000
expect_status "a part whose connection is cut mid-stream is retried and the upload completes" 0 \
    env PITR_S3_ENDPOINT="$PROXIED" PITR_S3_PART_SIZE=5MB PITR_S3_UPLOAD_CONCURRENCY=4 \
    PITR_S3_MAX_ATTEMPTS=3 "$TOOL" "$URL" put "large retried" "$WORK/large"
kill "$PROXY"
expect_in_err "saying which part it retries" \
    "put part [0-9]+ of \"s3://$PITR_S3_BUCKET/pitr repo/p\\+q=r/large retried\" failed.*attempt 1 of 3: retrying"
tool get "large retried" "$WORK/large.out"
check "and the object is byte-identical" cmp -s "$WORK/large" "$WORK/large.out"

# the same cut without retries: the part fails for good, the others stop, the upload is aborted
for c in 1 4; do
    start_proxy "$WORK/flight.cut.$c" --cut-after 3000000
    expect_status "a part failing for good fails the upload (concurrency $c)" 1 \
        env PITR_S3_ENDPOINT="$PROXIED" PITR_S3_PART_SIZE=5MB PITR_S3_UPLOAD_CONCURRENCY=$c \
        PITR_S3_MAX_ATTEMPTS=1 "$TOOL" "$URL" put "large cut $c" "$WORK/large"
    kill "$PROXY"
    expect_in_err "with one error naming the part" \
        "^pitr-storage-tool: could not put part [0-9]+ of \"s3://$PITR_S3_BUCKET/pitr repo/p\\+q=r/large cut $c\": .*\\(tried 1 time"
    check "and nothing else on stderr" test "$(wc -l <"$WORK/last.err")" = 1
    expect_status "no object is visible" 2 tool stat "large cut $c"
    check "no part lingers: the multipart upload was aborted" no_uploads_left
done
check "and no listing shows the failed objects" \
    bash -c "! '$TOOL' '$URL' list '' --recursive | grep -q '^large cut'"

# --- create-only on a single PUT ---------------------------------------------------------------
echo new >"$WORK/new"
expect_status "create-only over an existing object is refused (exists: 3)" 3 \
    tool put plain "$WORK/new" --no-overwrite
expect_in_err "with a clear message" "already exists"
tool get plain "$WORK/plain.out"
check "and the old content stays" cmp -s "$WORK/small" "$WORK/plain.out"
check "a create-only write of a new key succeeds" tool put "fresh" "$WORK/new" --no-overwrite

# --- listings: more than one page, sub-prefixes ------------------------------------------------
python3 - "$PITR_S3_ENDPOINT" "$PITR_S3_CA_FILE" "$PITR_S3_BUCKET" <<'PY'
import sys, boto3
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client('s3', endpoint_url=sys.argv[1], verify=sys.argv[2], region_name='us-east-1')
keys = [f"pitr repo/p+q=r/many/k {i:04d}+=" for i in range(1203)]
with ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda k: s3.put_object(Bucket=sys.argv[3], Key=k, Body=b"v"), keys))
PY
check "a listing of 1203 keys pages through continuation tokens" \
    test "$(tool list many --recursive | wc -l)" = 1203
check "every listed key is intact" \
    test "$(tool list many --recursive | cut -f1 | sort | uniq | grep -c '^many/k [0-9]\{4\}+=$')" = 1203
tool list "" >"$WORK/children"
check "a non-recursive listing shows sub-prefixes once" \
    bash -c "grep -c '^many/' '$WORK/children' | grep -qx 1 && grep -q '^with space/' '$WORK/children'"
expect_status "a missing key is not found (2)" 2 tool get "no such key" "$WORK/x"
check "remove, then not found" bash -c "'$TOOL' '$URL' rm fresh && ! '$TOOL' '$URL' stat fresh 2>/dev/null"
check "removing a missing key succeeds" tool rm "never existed"

# --- keys with XML's special characters come back intact from a listing (entity decoding) -------
for key in 'x/a&b' 'x/l<t' 'x/g>t' 'x/q"uote' "x/ap'os"; do
    tool put "$key" "$WORK/new"
done
tool list x --recursive | cut -f1 | sort >"$WORK/xml.list"
printf '%s\n' 'x/a&b' "x/ap'os" 'x/g>t' 'x/l<t' 'x/q"uote' | sort >"$WORK/xml.want"
check "keys with & < > \" ' are listed exactly as written" cmp -s "$WORK/xml.want" "$WORK/xml.list"

# --- virtual-hosted addressing: https://BUCKET.localhost:PORT (curl resolves *.localhost itself) --
VHOST_ENDPOINT=${PITR_S3_ENDPOINT/127.0.0.1/localhost}
vtool() { env PITR_S3_ENDPOINT="$VHOST_ENDPOINT" PITR_S3_URI_STYLE=virtual "$TOOL" "$URL" "$@"; }
check "a virtual-hosted put of an awkward key succeeds" vtool put "virtual/a b+c=d&e" "$WORK/small"
tool get "virtual/a b+c=d&e" "$WORK/virtual.out"
check "and lands in the same bucket (read back path-style)" cmp -s "$WORK/small" "$WORK/virtual.out"
vtool list virtual >"$WORK/virtual.list"
check "a virtual-hosted listing sees it" grep -qxF "$(printf 'virtual/a b+c=d&e\t300000')" "$WORK/virtual.list"
expect_status "a virtual-hosted request with a wrong secret is rejected" 1 \
    env AWS_SECRET_ACCESS_KEY=not-the-secret-ZZZ PITR_S3_ENDPOINT="$VHOST_ENDPOINT" \
    PITR_S3_URI_STYLE=virtual "$TOOL" "$URL" stat plain
expect_in_err "with the hint on credentials" "403.*check the access key, secret and region"

# --- failures ---------------------------------------------------------------------------------
expect_status "a wrong secret key is rejected by the server" 1 \
    env AWS_SECRET_ACCESS_KEY=not-the-secret-ZZZ "$TOOL" "$URL" get plain "$WORK/x"
expect_in_err "as a signature mismatch naming the object" \
    "could not get \"s3://$PITR_S3_BUCKET/pitr repo/p\\+q=r/plain\": HTTP 403 SignatureDoesNotMatch"
check "without printing the secret" bash -c "! grep -q not-the-secret-ZZZ '$WORK/last.err'"
expect_status "an unknown access key is rejected" 1 \
    env AWS_ACCESS_KEY_ID=AKIAUNKNOWN0000000000 "$TOOL" "$URL" get plain "$WORK/x"
expect_status "an untrusted certificate is refused" 1 \
    env PITR_S3_CA_FILE=/etc/ssl/certs/ca-certificates.crt "$TOOL" "$URL" get plain "$WORK/x"
expect_in_err "as a certificate problem" "certificate|SSL"
port=$(free_port)
start=$(date +%s%N)
expect_status "an unreachable endpoint fails after bounded retries" 1 \
    env PITR_S3_ENDPOINT="https://127.0.0.1:$port" PITR_S3_MAX_ATTEMPTS=4 PITR_S3_RETRY_MAX_MS=3000 \
    "$TOOL" "$URL" get plain "$WORK/x"
ms=$((($(date +%s%N) - start) / 1000000))
expect_in_err "and says how often it tried" "tried 4 times"
check "within the retry budget (${ms} ms)" test "$ms" -lt 8000

# --- a server without conditional writes: detected once, then check-then-put --------------------
coproc NOCOND { exec python3 "$PITR_SOURCE_DIR/tests/support/s3_standin.py"; }
read -r nc_port <&"${NOCOND[0]}"
on_exit "kill $NOCOND_PID"
NC_URL="s3://b/p"
nc_tool() { env PITR_S3_ENDPOINT="http://127.0.0.1:$nc_port" "$TOOL" "$NC_URL" "$@"; }
expect_status "create-only write on a server that answers 501 to If-None-Match succeeds" 0 \
    nc_tool put "k" "$WORK/small" --no-overwrite
expect_in_err "after saying it falls back to check-then-put" "does not support conditional writes"
nc_tool get k "$WORK/nc.out"
check "and the object arrived intact" cmp -s "$WORK/small" "$WORK/nc.out"
expect_status "a second create-only write of the same key is refused by the existence check" 3 \
    nc_tool put "k" "$WORK/new" --no-overwrite
nc_tool get k "$WORK/nc.out"
check "and the first content stays" cmp -s "$WORK/small" "$WORK/nc.out"

# --- a download that breaks midway resumes where it stopped, never repeating a byte -------------
nc_tool put flaky "$WORK/small"
expect_status "a download cut off halfway is resumed with Range" 0 nc_tool get flaky "$WORK/flaky.out"
check "and the result is byte-identical" cmp -s "$WORK/small" "$WORK/flaky.out"
nc_tool put norange "$WORK/small"
expect_status "a server that ignores Range on the resume makes the download fail" 1 \
    nc_tool get norange "$WORK/norange.out"
expect_in_err "saying so, instead of appending the object twice" "ignored the Range header"
nc_tool put replaced "$WORK/small"
expect_status "a download whose object is replaced before the resume fails" 1 \
    nc_tool get replaced "$WORK/replaced.out"
expect_in_err "instead of splicing two versions (If-Match)" "replaced while being downloaded"

# --- ranged reads from servers that ignore Range, cut the transfer, or answer the wrong range ------
nc_tool put ignorerange "$WORK/small"
nc_tool read-range ignorerange 1000 64 >"$WORK/ir.out"
check "a server ignoring Range (200): only the requested bytes arrive" \
    cmp -s "$WORK/ir.out" <(tail -c +1001 "$WORK/small" | head -c 64)
nc_tool read-range ignorerange 299990 64 >"$WORK/ir.out"
check "and a range past its end yields what exists" cmp -s "$WORK/ir.out" <(tail -c 10 "$WORK/small")
expect_status "and a range beyond its end" 0 nc_tool read-range ignorerange 300000 64
check "is empty" test ! -s "$WORK/last.out"
nc_tool put "flaky range" "$WORK/small"
expect_status "a ranged read cut off halfway through its range is resumed" 0 \
    nc_tool read-range "flaky range" 149000 2000
check "with the bytes on both sides of the cut, each once" \
    cmp -s "$WORK/last.out" <(tail -c +149001 "$WORK/small" | head -c 2000)
expect_in_err "after a retry" "get \"s3://b/p/flaky range\" failed.*attempt 1 of 3: retrying"
nc_tool put "flaky early" "$WORK/small"
expect_status "a ranged read that ends before the cut stops the whole-object reply early" 0 \
    nc_tool read-range "flaky early" 1000 64
check "with the requested bytes" cmp -s "$WORK/last.out" <(tail -c +1001 "$WORK/small" | head -c 64)
check "and without a retry" test ! -s "$WORK/last.err"
nc_tool put shiftrange "$WORK/small"
expect_status "a 206 starting elsewhere than asked fails the ranged read" 1 \
    nc_tool read-range shiftrange 1000 64
expect_in_err "saying so" "answered a range starting at byte 1001 instead of 1000"
check "without passing its bytes on" test ! -s "$WORK/last.out"

finish
