#!/usr/bin/env bash
# The S3 test server: moto_server over TLS (a throw-away CA and a certificate for 127.0.0.1),
# enforcing SigV4 signatures with an IAM user's key, on a free loopback port.
#   s3server.sh start DIR   starts it and writes DIR/env (PITR_S3_ENDPOINT, PITR_S3_BUCKET,
#                           PITR_S3_REGION, PITR_S3_CA_FILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
#   s3server.sh stop DIR    stops it
# With S3SERVER_TLS=stunnel, moto speaks plain HTTP behind stunnel, which ends TLS sessions with a
# proper close_notify (werkzeug's TLS does not, and OpenSSL 3 clients such as pgBackRest reject
# that); the benchmark uses it so that both tools talk to the same TLS front.
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?directory}
here=$(cd "$(dirname "$0")" && pwd)

stop() {
    for p in moto stunnel; do
        if [ -f "$dir/$p.pid" ]; then
            kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
            rm -f "$dir/$p.pid"
        fi
    done
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
command -v moto_server >/dev/null || { echo "moto_server is not installed" >&2; exit 77; }
mkdir -p "$dir"
started=0
trap '[ "$started" = 1 ] || stop' EXIT # a failed start leaves no server behind

# A CA and a server certificate for 127.0.0.1 and localhost, and for the bucket under localhost:
# curl resolves every *.localhost name to the loopback address itself, so virtual-hosted
# addressing (https://pitr-test-bucket.localhost:PORT) can be tested without DNS.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pitr test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:pitr-test-bucket.localhost\nbasicConstraints=CA:FALSE\n' >"$dir/ext.cnf"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.pem" >/dev/null 2>&1

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
tls_args=(-c "$dir/server.pem" -k "$dir/server.key")
if [ "${S3SERVER_TLS:-moto}" = stunnel ]; then
    backend=$(free_port)
    tls_args=()
    cat >"$dir/stunnel.conf" <<CONF
foreground = no
pid = $dir/stunnel.pid
[s3]
accept = 127.0.0.1:$port
connect = 127.0.0.1:$backend
cert = $dir/server.pem
key = $dir/server.key
CONF
    stunnel4 "$dir/stunnel.conf"
else
    backend=$port
fi
# Three unauthenticated IAM calls create the user, its policy and its key; after them every
# request must carry a valid signature.
INITIAL_NO_AUTH_ACTION_COUNT=3 nohup python3 "$here/moto_raw_uri.py" -H 127.0.0.1 -p "$backend" \
    "${tls_args[@]}" >"$dir/moto.log" 2>&1 &
echo $! >"$dir/moto.pid"
endpoint="https://127.0.0.1:$port"
for _ in $(seq 150); do # at most 15 s
    if curl -s --cacert "$dir/ca.pem" -o /dev/null "$endpoint/moto-api/" 2>/dev/null; then
        break
    fi
    kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null || break # it died: do not wait for nothing
    sleep 0.1
done
curl -s --cacert "$dir/ca.pem" -o /dev/null "$endpoint/moto-api/" ||
    { echo "moto_server did not start; log:" >&2; cat "$dir/moto.log" >&2; exit 1; }
creds=$(python3 "$here/s3server.py" "$endpoint" "$dir/ca.pem" pitr-test-bucket)
{
    echo "PITR_S3_ENDPOINT=$endpoint"
    echo "PITR_S3_BUCKET=pitr-test-bucket"
    echo "PITR_S3_REGION=us-east-1"
    echo "PITR_S3_CA_FILE=$dir/ca.pem"
    echo "$creds" | sed 's/^/export /'
} >"$dir/env"
started=1
echo "moto S3 server on $endpoint"
