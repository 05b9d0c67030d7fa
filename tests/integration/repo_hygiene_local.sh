#!/usr/bin/env bash
# A local repository is written only where nobody else can interfere: PostgreSQL archives through
# pitr-archive while a symlink sits at the very temp name each run would use, and the symlink's
# target keeps its content; repository directories that someone else can write are refused with
# the fix in the message (group-writable ones accepted with repo_group_access); an http:// S3
# endpoint is refused unless allowed; a password in a readable config file is warned about.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -m 700 "$REPO"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "cluster=main" "compression=lz4"

# The target of the planted symlinks: a file the server's user can write.
VICTIM="$WORK/victim"
echo "precious content, not WAL" >"$VICTIM"
chown "$PG_USER" "$VICTIM" 2>/dev/null || true
cp "$VICTIM" "$WORK/victim.orig"

# archive_command: plants symlinks to the victim at the temp names this run of pitr-archive uses
# first (.<name>.tmp.<pid>, for the WAL file and for cluster.info), then execs pitr-archive, which
# keeps the pid.
cat >"$WORK/bin/plant-and-archive" <<EOF
#!/usr/bin/env bash
set -eu
case "\$2" in
*.history) dir="$REPO/main/wal/history" ;;
*) dir="$REPO/main/wal/\${2:0:16}" ;;
esac
mkdir -p "\$dir"
ln -sfn "$VICTIM" "\$dir/.\$2.tmp.\$\$"
ln -sfn "$VICTIM" "$REPO/main/.cluster.info.tmp.\$\$"
exec "$ARCHIVE" --config "$CONF" "\$1" "\$2"
EOF
chmod 755 "$WORK/bin/plant-and-archive"

PGDATA_P="$WORK/pgdata"
PORT=$(free_port)
pg_init "$PGDATA_P" --wal-segsize=1
pg_configure "$PGDATA_P" "$PORT" "$WORK/bin/plant-and-archive %p %f"
pg_start "$PGDATA_P"
for i in 1 2 3; do
    psql_at "$PORT" "create table t$i as select g, md5(g::text) from generate_series(1, 5000) g"
    seg=$(switch_wal "$PORT")
done
check "PostgreSQL archived up to $seg, a symlink planted at every temp name" \
    wait_archived "$PORT" "$seg"
check "without a single failed attempt" \
    test "$(psql_at "$PORT" "select failed_count from pg_stat_archiver")" = 0
check "the symlinks' target kept its content" cmp -s "$VICTIM" "$WORK/victim.orig"
check "the planted symlinks are still there (4 or more)" \
    test "$(find "$REPO" -type l -name '.*.tmp.*' | wc -l)" -ge 4
check "no object is a symlink" test -z "$(find "$REPO" -type l ! -name '.*.tmp.*')"
check "and pitr left no temp file of its own" test -z "$(find "$REPO" -type f -name '.*')"
"$FETCH" --config "$CONF" "$seg" "$WORK/fetched"
check "the last segment fetches back identical (read by $(id -un))" \
    cmp -s "$WORK/fetched" "$PGDATA_P/pg_wal/$seg"

# --- repository directories someone else can write ---------------------------------------------
printf '1\t0/3000000\tno recovery target specified\n' >"$WORK/00000002.history"
chmod 644 "$WORK/00000002.history"
archive_history() {
    as_pg env PITR_PGDATA="$PGDATA_P" "$@" "$ARCHIVE" --config "$CONF" "$WORK/00000002.history" \
        00000002.history
}
as_pg chmod 0707 "$REPO/main/wal"
expect_status "a repository directory writable by every user is refused" 1 archive_history
expect_in_err "naming it and the fix" \
    "repository directory \"$REPO/main/wal\" is writable by any user \(mode 0707\): run chmod o-w on it"
expect_status "even with repo_group_access = on" 1 archive_history PITR_REPO_GROUP_ACCESS=on
as_pg chmod 0770 "$REPO/main/wal"
expect_status "a group-writable one is refused" 1 archive_history
expect_in_err "naming the setting that would accept it" \
    "repository directory \"$REPO/main/wal\" is writable by its group \(mode 0770\): run chmod g-w on it, or set repo_group_access = on"
check "and nothing was stored" test ! -e "$REPO/main/wal/history/00000002.history"
expect_status "repo_group_access = on accepts it" 0 archive_history PITR_REPO_GROUP_ACCESS=on
check "and the history file was stored" test -e "$REPO/main/wal/history/00000002.history"
as_pg chmod 0700 "$REPO/main/wal"
if [ "$(id -u)" = 0 ]; then
    chown nobody "$REPO/main"
    chmod 0755 "$REPO/main" # still readable: the refusal is about writing
    expect_status "a directory owned by another user is refused" 1 archive_history
    expect_in_err "naming its owner" \
        "repository directory \"$REPO/main\" is owned by uid $(id -u nobody), not by uid $(id -u "$PG_USER") that runs pitr: chown it"
    chown "$PG_USER" "$REPO/main"
    chmod 0700 "$REPO/main"
fi
expect_status "once fixed, archiving goes on" 0 archive_history

# --- transport and secrets in the configuration ------------------------------------------------
closed=$(free_port)
expect_status "an http:// S3 endpoint is refused (pitr-fetch: a configuration error is 255)" 255 \
    env PITR_REPO=s3://b/p PITR_S3_ENDPOINT="http://127.0.0.1:$closed" "$FETCH" --config "$CONF" \
    00000002.history "$WORK/x"
expect_in_err "saying why and what to set" \
    "s3_endpoint is plain http://, which would send the session token and the WAL unencrypted: use https://, or set s3_allow_http = on"
expect_status "allowed, it is tried (here: nothing listens)" 255 \
    env PITR_REPO=s3://b/p PITR_S3_ENDPOINT="http://127.0.0.1:$closed" PITR_S3_ALLOW_HTTP=on \
    PITR_S3_MAX_ATTEMPTS=1 PITR_FETCH_MAX_ATTEMPTS=1 AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=not-a-secret \
    "$FETCH" --config "$CONF" 00000002.history "$WORK/x"
expect_in_err "with one warning" "WARNING: s3_endpoint is plain http:// \(s3_allow_http = on\)"
check "only one" test "$(grep -c 'plain http' <<<"$LAST_ERR")" = 1

write_config "$WORK/pw.conf" "repo=$REPO" "cluster=main" "pg_conninfo=host=$WORK password=Not-Shown-42"
expect_status "a config file readable by others holding a password still works" 0 \
    "$FETCH" --config "$WORK/pw.conf" 00000002.history "$WORK/h.out"
expect_in_err "with a warning naming the file and the fix" \
    "configuration file \"$WORK/pw.conf\" is readable by other users \(mode 0644\) and its pg_conninfo holds a password: run chmod 600"
check "that never shows the password" test "$(grep -c Not-Shown-42 <<<"$LAST_ERR")" = 0
chmod 600 "$WORK/pw.conf"
expect_status "at mode 0600" 0 "$FETCH" --config "$WORK/pw.conf" 00000002.history "$WORK/h.out"
check "there is no warning" test "$(grep -c 'readable by other users' <<<"$LAST_ERR")" = 0

pg_stop "$PGDATA_P"
finish
