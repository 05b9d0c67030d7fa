#!/usr/bin/env bash
# pitr-restore and tablespace locations from a forged backup record (local, unencrypted
# repository: anyone who can write it can rewrite backup.info). A record pointing a tablespace
# into the restoring user's home (.ssh), /etc, the target data directory, through "..", a
# relative path or a symbolic link, or at a non-empty directory (even with --force) is refused
# before anything is written; the plan lists every destination; --tablespace-map still restores.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4"
cp "$PITR_BIN_DIR/pitr-record-put" "$WORK/bin/" && chmod 755 "$WORK/bin/pitr-record-put"

PGDATA_P="$WORK/primary"
PORT=$(free_port)
TS_DIR="$WORK/ts1"
as_pg mkdir -p "$TS_DIR"
pg_init "$PGDATA_P" --wal-segsize=1
pg_configure "$PGDATA_P" "$PORT" "$ARCHIVE --config $CONF %p %f"
echo "max_wal_senders = 4" >>"$PGDATA_P/postgresql.conf"
pg_start "$PGDATA_P"
echo "pg_conninfo = 'host=$WORK port=$PORT user=postgres dbname=postgres'" >>"$CONF"
CLUSTER=$(as_pg "$PG_BIN/pg_controldata" "$PGDATA_P" | awk -F': *' '/Database system identifier/ {print $2}')

psql_at "$PORT" "create tablespace ts1 location '$TS_DIR'"
psql_at "$PORT" "create table in_ts1 tablespace ts1 as select g from generate_series(1, 1000) g"
OID=$(psql_at "$PORT" "select oid from pg_tablespace where spcname = 'ts1'")
expect_status "pitr-basebackup succeeds" 0 as_pg "$BASEBACKUP" --config "$CONF" --quiet
ID=$(as_pg "$CATALOG" --config "$CONF" --json list | python3 -c 'import json,sys; print(json.load(sys.stdin)["backups"][-1]["id"])')
LAST=$(switch_wal "$PORT")
check "the WAL after the backup is archived" wait_archived "$PORT" "$LAST"

RECORD="$CLUSTER/backup/$ID/backup.info"
as_pg "$OBJCAT" --config "$CONF" "$RECORD" >"$WORK/record.orig"
check "the record names the tablespace's location" grep -qxF "tablespace = '$OID $TS_DIR'" "$WORK/record.orig"

# forge LOCATION: rewrites the record with the tablespace at LOCATION, as an intruder could.
cat >"$WORK/forge.py" <<'PY'
import sys
text, oid, old, new = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], sys.argv[4]
line = "tablespace = '%s %s'\n"
assert text.count(line % (oid, old)) == 1, "no tablespace line to forge"
sys.stdout.write(text.replace(line % (oid, old), line % (oid, new.replace("'", "''"))))
PY
forge() {
    python3 "$WORK/forge.py" "$WORK/record.orig" "$OID" "$TS_DIR" "$1" |
        as_pg "$WORK/bin/pitr-record-put" --config "$CONF" "$RECORD"
}
# every name under $WORK but the running primary, the repository and the last command's output
snapshot() {
    find "$WORK" \( -path "$WORK/primary" -o -path "$WORK/repo" \) -prune -o -print |
        grep -Ev "^$WORK/(last\.out|last\.err|before\.list|after\.list)$" | sort
}
# refused WHAT TARGET_DIR ERROR_REGEX [ARGS...]: pitr-restore --to latest ARGS, as the server's
# user with HOME=$RHOME, exits 1 with one line naming the tablespace, and writes nothing: not the
# target directory, not a name anywhere under $WORK.
RHOME=$WORK/home
as_pg mkdir -p "$RHOME"
refused() {
    local what=$1 target=$2 regex=$3
    shift 3
    snapshot >"$WORK/before.list"
    expect_status "$what is refused" 1 as_pg env HOME="$RHOME" "$RESTORE" --config "$CONF" \
        --target-dir "$target" --to latest "$@"
    expect_in_err "with one line naming the tablespace and suggesting --tablespace-map" \
        "ERROR: tablespace $OID: its location in the backup record, $regex; restore it elsewhere with --tablespace-map OLD=NEW\$"
    check "one line" test "$(wc -l <"$WORK/last.err")" = 1
    check "and nothing is written" test ! -e "$target"
    snapshot >"$WORK/after.list"
    check "not a file appears" diff "$WORK/before.list" "$WORK/after.list"
}

# --- (a) the restoring user's home: plant ~/.ssh/authorized_keys ------------------------------
# HOME is $WORK/home: the password database's home and $HOME are each protected
PG_HOME=$(getent passwd "$PG_USER" | cut -d: -f6)
if [ "$PG_HOME" != / ]; then # a daemon's "/" is no home (dest.c)
    ls -la "$PG_HOME/.ssh" >"$WORK/ssh.before" 2>&1 || true
    forge "$PG_HOME/.ssh"
    refused "a location in the restoring user's home" "$WORK/r_home" \
        "\"$PG_HOME/.ssh\", lies inside \"$PG_HOME\", the home directory of the restoring user"
    check "the plan lists the forged destination" \
        grep -qxF "  tablespace:   $OID at $PG_HOME/.ssh -> $PG_HOME/.ssh (its location in the backup)" "$WORK/last.out"
    check "and the data directory" grep -qxF "  data dir:     $WORK/r_home" "$WORK/last.out"
    ls -la "$PG_HOME/.ssh" >"$WORK/ssh.after" 2>&1 || true
    check "$PG_HOME/.ssh is as it was" diff "$WORK/ssh.before" "$WORK/ssh.after"
fi
forge "$RHOME/.ssh"
refused "a location in \$HOME, with --force" "$WORK/r_home2" \
    "\"$RHOME/.ssh\", lies inside \"$RHOME\", the home directory of the restoring user" --force
forge /etc/pitr-forged
refused "a location in /etc" "$WORK/r_etc" \
    "\"/etc/pitr-forged\", lies inside \"/etc\", a system configuration directory"
check "/etc/pitr-forged is not created" test ! -e /etc/pitr-forged
RHOME=$PG_HOME

# --- (b) inside the target data directory ---------------------------------------------------
forge "$WORK/r_in/pg_tblspc_x"
refused "a location inside the target directory" "$WORK/r_in" \
    "\"$WORK/r_in/pg_tblspc_x\", lies inside the data directory, \"$WORK/r_in\""
forge "$WORK"
refused "a location holding the target directory" "$WORK/r_in" \
    "\"$WORK\", contains the data directory, \"$WORK/r_in\""

# --- (c) relative, "..", not normalised -----------------------------------------------------
forge "$WORK/x/../ts-dotdot"
refused "a location with \"..\"" "$WORK/r_dotdot" \
    "\"$WORK/x/../ts-dotdot\", has a \".\" or \"..\" component"
check "the resolved location is not created" test ! -e "$WORK/ts-dotdot"
forge "$WORK/ts-slash/"
refused "a location with a trailing slash" "$WORK/r_slash" "\"$WORK/ts-slash/\", ends in a slash"
forge "ts-relative"
snapshot >"$WORK/before.list"
expect_status "a relative location is refused" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/r_rel" --to latest
expect_in_err "as a malformed record" "malformed tablespace line \"$OID ts-relative\""
check "and nothing is written" test ! -e "$WORK/r_rel"
snapshot >"$WORK/after.list"
check "not a file appears" diff "$WORK/before.list" "$WORK/after.list"

# --- (d) through a symbolic link ------------------------------------------------------------
as_pg mkdir "$WORK/elsewhere"
as_pg ln -s "$WORK/elsewhere" "$WORK/lnk"
forge "$WORK/lnk/ts"
refused "a location through a symbolic link" "$WORK/r_link" \
    "\"$WORK/lnk/ts\", goes through a symbolic link, \"$WORK/lnk\""
forge "$WORK/lnk"
refused "a location that is a symbolic link" "$WORK/r_link" "\"$WORK/lnk\", is a symbolic link"
check "the link's target stays empty" test -z "$(ls -A "$WORK/elsewhere")"

# --- (e) a non-empty location is never moved aside ------------------------------------------
as_pg mkdir "$WORK/keys"
echo "ssh-ed25519 AAAA owner" | as_pg tee "$WORK/keys/authorized_keys" >/dev/null
forge "$WORK/keys"
refused "a non-empty location, even with --force" "$WORK/r_keys" \
    "\"$WORK/keys\", is not empty, and a location from the backup record is never moved aside, even with --force" \
    --force
check "its file is untouched" grep -qx "ssh-ed25519 AAAA owner" "$WORK/keys/authorized_keys"
check "nothing was moved aside" test -z "$(ls -d "$WORK"/keys.pitr-saved-* 2>/dev/null)"

# --- what the DBA maps is the DBA's say ---------------------------------------------------
forge "$WORK/home/.ssh" # refused above, unmapped
expect_status "a mapped destination may be in the home directory" 0 as_pg env HOME="$WORK/home" \
    "$RESTORE" --config "$CONF" --target-dir "$WORK/r_map" \
    --tablespace-map "$WORK/home/.ssh=$WORK/home/ts1" --to latest --dry-run
check "the plan shows the mapping" grep -qxF "  tablespace:   $OID at $WORK/home/.ssh -> $WORK/home/ts1 (--tablespace-map)" "$WORK/last.out"
expect_status "a mapped destination must be normalised" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/r_map" --tablespace-map "$WORK/home/.ssh=$WORK/m/../m2" --to latest
expect_in_err "saying why" "invalid --tablespace-map \"$WORK/home/.ssh=$WORK/m/../m2\": the new location has a \".\" or \"..\" component"
check "none of it wrote anything" test ! -e "$WORK/r_map" -a ! -e "$WORK/home/ts1"
as_pg mkdir "$WORK/r_map"
expect_status "and must not overlap the data directory" 1 as_pg "$RESTORE" --config "$CONF" \
    --target-dir "$WORK/r_map" --tablespace-map "$WORK/home/.ssh=$WORK/r_map/ts" --to latest
expect_in_err "naming both" "\"$WORK/r_map\" and \"$WORK/r_map/ts\" overlap"
check "and writes nothing" test -z "$(ls -A "$WORK/r_map")"

# --- legitimate restores ------------------------------------------------------------------
forge "$WORK/fresh_ts"
expect_status "an acceptable location from the record is restored into" 0 as_pg "$RESTORE" \
    --config "$CONF" --target-dir "$WORK/r_fresh" --to latest
check "the plan lists it" grep -qxF "  tablespace:   $OID at $WORK/fresh_ts -> $WORK/fresh_ts (its location in the backup)" "$WORK/last.out"
check "pg_tblspc links to it" test "$(readlink "$WORK/r_fresh/pg_tblspc/$OID")" = "$WORK/fresh_ts"
check "and it holds the tablespace" test -d "$WORK/fresh_ts/PG_15_"*

as_pg "$WORK/bin/pitr-record-put" --config "$CONF" "$RECORD" <"$WORK/record.orig"
RPORT=$(free_port)
expect_status "--tablespace-map restores the untouched record and starts it" 0 as_pg "$RESTORE" \
    --config "$CONF" --target-dir "$WORK/r_good" --tablespace-map "$TS_DIR=$WORK/r_good.ts1" \
    --to latest --start --port "$RPORT" --no-archive
on_exit "as_pg '$PG_BIN/pg_ctl' -D '$WORK/r_good' -m immediate stop"
check "the plan lists the data directory" grep -qxF "  data dir:     $WORK/r_good" "$WORK/last.out"
check "and the tablespace: oid, location in the backup, destination" \
    grep -qxF "  tablespace:   $OID at $TS_DIR -> $WORK/r_good.ts1 (--tablespace-map)" "$WORK/last.out"
check "pg_tblspc links to the mapped directory" test "$(readlink "$WORK/r_good/pg_tblspc/$OID")" = "$WORK/r_good.ts1"
check "the restored table in the tablespace has its rows" test "$(psql_at "$RPORT" "select count(*) from in_ts1")" = 1000
as_pg "$PG_BIN/pg_ctl" -D "$WORK/r_good" -m fast -w stop >/dev/null

finish
