# Shared helpers for integration tests: a throw-away PostgreSQL 15 cluster on a Unix socket,
# assertions that count, and cleanup. Source it; it sets -euo pipefail.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PITR_BIN_DIR=${PITR_BIN_DIR:?set by ctest: the bin directory of the build}
PITR_SOURCE_DIR=${PITR_SOURCE_DIR:?set by ctest: the source tree}
TESTS_PASSED=0
TESTS_FAILED=0

if [ ! -x "$PG_BIN/initdb" ]; then
    echo "SKIP: PostgreSQL 15 is not installed in $PG_BIN" >&2
    exit 77
fi

# PostgreSQL refuses to run as root; the tests then run the server (and so archive_command) as
# the postgres user, and everything it must read or write belongs to that user.
if [ "$(id -u)" = 0 ]; then
    PG_USER=postgres
    as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
    PG_USER=$(id -un)
    as_pg() { "$@"; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pitr-it.XXXXXX")
chmod 755 "$WORK"
[ "$(id -u)" = 0 ] && chown "$PG_USER" "$WORK"
CLEANUP_CMDS=()

cleanup() {
    local rc=$?
    for ((i = ${#CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUP_CMDS[$i]}" >/dev/null 2>&1 || true
    done
    if [ "$rc" = 0 ] && [ "${KEEP_WORK:-0}" != 1 ]; then
        rm -rf "$WORK"
    else
        echo "work directory kept: $WORK" >&2
    fi
}
trap cleanup EXIT
on_exit() { CLEANUP_CMDS+=("$1"); }

pass() {
    TESTS_PASSED=$((TESTS_PASSED + 1))
    echo "ok - $*"
}
fail() {
    TESTS_FAILED=$((TESTS_FAILED + 1))
    echo "not ok - $*"
}
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# expect_status DESCRIPTION STATUS COMMAND...: runs the command, keeping its stderr in $LAST_ERR.
expect_status() {
    local what=$1 want=$2 got=0
    shift 2
    "$@" >"$WORK/last.out" 2>"$WORK/last.err" || got=$?
    LAST_ERR=$(cat "$WORK/last.err")
    if [ "$got" = "$want" ]; then
        pass "$what (exit $got)"
    else
        fail "$what: expected exit $want, got $got; stderr: $LAST_ERR"
    fi
}
# expect_in_err DESCRIPTION PATTERN: the last command's stderr matches the extended regex.
expect_in_err() {
    if grep -Eq -- "$2" <<<"$LAST_ERR"; then pass "$1"; else fail "$1: stderr was: $LAST_ERR"; fi
}
finish() {
    echo "$TESTS_PASSED passed, $TESTS_FAILED failed"
    [ "$TESTS_FAILED" = 0 ]
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pg_init DIR [initdb options...]: a new cluster in DIR, owned by the server's user.
pg_init() {
    local dir=$1
    shift
    as_pg "$PG_BIN/initdb" -D "$dir" -A trust -U postgres --no-sync "$@" >"$WORK/initdb.log" 2>&1
}

# pg_configure DIR PORT ARCHIVE_COMMAND: settings for a test server on a Unix socket in $WORK.
pg_configure() {
    local dir=$1 port=$2 cmd=$3
    cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$WORK'
wal_level = replica
archive_mode = on
archive_command = '$cmd'
archive_timeout = 0
wal_keep_size = '2GB'
max_wal_size = '2GB'
fsync = off
logging_collector = off
log_min_messages = info
CONF
}

pg_start() {
    as_pg "$PG_BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 60 start >/dev/null
    on_exit "as_pg '$PG_BIN/pg_ctl' -D '$1' -m immediate stop"
}

pg_stop() {
    as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null
}

# psql_at PORT SQL: one value, no alignment.
psql_at() {
    as_pg "$PG_BIN/psql" -X -h "$WORK" -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq -c "$2"
}

# wait_archived PORT WALNAME [SECONDS]: until pg_stat_archiver reports WALNAME archived.
wait_archived() {
    local port=$1 wal=$2 limit=${3:-60} i
    for ((i = 0; i < limit * 10; i++)); do
        local last
        last=$(psql_at "$port" "select coalesce(last_archived_wal, '') from pg_stat_archiver")
        if [[ "$last" > "$wal" || "$last" == "$wal" ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "timed out waiting for $wal to be archived (last: $last)" >&2
    return 1
}

# switch_wal PORT: forces a segment switch after some writes; prints the finished segment's name.
switch_wal() {
    psql_at "$1" "select pg_walfile_name(pg_switch_wal())"
}

# write_config FILE KEY=VALUE...: a pitr configuration readable by the server's user.
write_config() {
    local file=$1
    shift
    : >"$file"
    for kv in "$@"; do
        echo "${kv%%=*} = '${kv#*=}'" >>"$file"
    done
    chmod 644 "$file"
}

# flip_byte FILE OFFSET: corrupts one byte in place.
flip_byte() {
    python3 - "$1" "$2" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xFF]))
PY
}

ARCHIVE="$PITR_BIN_DIR/pitr-archive"
FETCH="$PITR_BIN_DIR/pitr-fetch"
