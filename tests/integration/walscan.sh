#!/usr/bin/env bash
# lib/pg/walscan against real PostgreSQL 15 WAL: commits (one with many subtransactions, so a
# record spanning pages), a prepared transaction committed and one rolled back, an abort, a bulk
# load spanning several segments, a restore point and several switches; then every segment in
# pg_wal is scanned and compared with what pg_waldump reads from the same segment.
# shellcheck source=lib.inc
source "$(dirname "$0")/lib.inc"

cp "$PITR_BIN_DIR/pitr-walscan-tool" "$WORK/bin/"
chmod 755 "$WORK/bin/pitr-walscan-tool"
SCAN="$WORK/bin/pitr-walscan-tool"
PGDATA="$WORK/data"
PORT=$(free_port)
SEG_SIZE=$((16 * 1024 * 1024))

pg_init "$PGDATA"
pg_configure "$PGDATA" "$PORT" "true"
echo "max_prepared_transactions = 5" >>"$PGDATA/postgresql.conf"
pg_start "$PGDATA"

psql_at "$PORT" "create table t (i int, pad text)"
for i in 1 2 3; do
    psql_at "$PORT" "insert into t values ($i, 'x')"
done
switch_wal "$PORT" >/dev/null
psql_at "$PORT" "begin; insert into t values (10, 'prepared'); prepare transaction 'p1'"
psql_at "$PORT" "commit prepared 'p1'"
psql_at "$PORT" "begin; insert into t values (11, 'prepared'); prepare transaction 'p2'"
psql_at "$PORT" "rollback prepared 'p2'"
psql_at "$PORT" "begin; insert into t values (12, 'aborted'); rollback"
# 3000 subtransactions: a commit record of about 12 kB, spanning pages.
psql_at "$PORT" "do \$\$ begin for i in 1..3000 loop
    begin insert into t values (i, 'sub'); exception when others then null; end;
    end loop; end \$\$"
RP=$(psql_at "$PORT" "select extract(epoch from clock_timestamp())::numeric * 1000000
    || ' ' || pg_create_restore_point('before_drop')
    || ' ' || extract(epoch from clock_timestamp())::numeric * 1000000")
psql_at "$PORT" "drop table t"
switch_wal "$PORT" >/dev/null
# About 40 MB of WAL: full segments whose first record began in the segment before.
psql_at "$PORT" "create table big as select g as i, repeat('y', 100) as pad
    from generate_series(1, 300000) g"
psql_at "$PORT" "select pg_create_restore_point('after_load')" >/dev/null
for i in 1 2 3; do
    psql_at "$PORT" "create table s$i (i int)"
    switch_wal "$PORT" >/dev/null
done
psql_at "$PORT" "insert into s1 values (1)"
pg_stop "$PGDATA"

# pg_waldump's view of one segment in the form the tool prints: the records that start and end
# in it (pg_waldump also prints the one running into the next segment, which walscan cannot
# verify on its own), their count, the end of the last one, commit and abort times, restore points.
expected_from_waldump() {
    python3 - "$1" "$SEG_SIZE" "$2" <<'PY'
import re
import sys

name, seg_size, dump = sys.argv[1], int(sys.argv[2]), sys.argv[3]
page = 8192
tli, log, seg = int(name[0:8], 16), int(name[8:16], 16), int(name[16:24], 16)
start = (log << 32) + seg * seg_size
end = start + seg_size

def record_end(lsn, tot):
    pos, left = lsn, tot
    while left > 0:
        page_end = (pos // page + 1) * page
        n = min(left, page_end - pos)
        pos += n
        left -= n
        if left > 0:
            pos = page_end + (40 if page_end % seg_size == 0 else 24)
    return pos

def fmt(lsn):
    return "%X/%X" % (lsn >> 32, lsn & 0xFFFFFFFF)

line_re = re.compile(r"rmgr: (\w+)\s+len \(rec/tot\):\s*\d+/\s*(\d+), tx:\s*\d+, "
                     r"lsn: ([0-9A-F]+)/([0-9A-F]+), prev [0-9A-F/]+, desc: (\w+) ?(.*)")
ts_re = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC")
records, end_lsn, commits, aborts, rps = 0, 0, [], [], []
for line in open(dump):
    m = line_re.match(line)
    if not m:
        continue
    rmgr, tot, lsn = m.group(1), int(m.group(2)), (int(m.group(3), 16) << 32) | int(m.group(4), 16)
    what, rest = m.group(5), m.group(6)
    rec_end = record_end(lsn, tot)
    if lsn < start or rec_end > end:
        continue
    records += 1
    end_lsn = (rec_end + 7) & ~7
    if rmgr == "Transaction" and what in ("COMMIT", "COMMIT_PREPARED"):
        commits.append(ts_re.search(rest).group(0))
    elif rmgr == "Transaction" and what in ("ABORT", "ABORT_PREPARED"):
        aborts.append(ts_re.search(rest).group(0))
    elif rmgr == "XLOG" and what == "RESTORE_POINT":
        rps.append("%s %s %s" % (rest.strip(), fmt(lsn), fmt(end_lsn)))
print("records %d" % records)
print("end_lsn %s" % fmt(end_lsn))
print("commits %d" % len(commits))
if commits:
    print("first_commit %s" % commits[0])
    print("last_commit %s" % commits[-1])
print("aborts %d" % len(aborts))
if aborts:
    print("first_abort %s" % aborts[0])
    print("last_abort %s" % aborts[-1])
for rp in rps:
    print("restore_point %s" % rp)
PY
}

# The tool's lines that pg_waldump can confirm (restore point times it does not print).
comparable() {
    grep -E '^(records|end_lsn|commits|first_commit|last_commit|aborts|first_abort|last_abort|restore_point) ' "$1" |
        awk '$1 == "restore_point" { print $1, $2, $3, $4; next } { print }'
}

LAST=$(as_pg "$PG_BIN/pg_controldata" "$PGDATA" | sed -n "s/^Latest checkpoint's REDO WAL file: *//p")
segments=0
total_commits=0
total_aborts=0
rp_found=""
for path in "$PGDATA"/pg_wal/[0-9A-F]*; do
    seg=$(basename "$path")
    [[ "$seg" =~ ^[0-9A-F]{24}$ ]] || continue
    if [[ "$seg" > "$LAST" ]]; then
        # Preallocated or recycled: not (yet) the segment its name says, or empty.
        "$SCAN" "$path" >"$WORK/$seg.scan" 2>"$WORK/$seg.err" || true
        continue
    fi
    segments=$((segments + 1))
    TZ=UTC "$PG_BIN/pg_waldump" "$path" >"$WORK/$seg.dump" 2>"$WORK/$seg.dumperr" || true
    if ! "$SCAN" "$path" >"$WORK/$seg.scan" 2>"$WORK/$seg.err"; then
        fail "$seg: scan failed: $(cat "$WORK/$seg.err")"
        continue
    fi
    expected_from_waldump "$seg" "$WORK/$seg.dump" >"$WORK/$seg.want"
    comparable "$WORK/$seg.scan" >"$WORK/$seg.got"
    if diff -u "$WORK/$seg.want" "$WORK/$seg.got" >"$WORK/$seg.diff"; then
        pass "$seg: $(grep -E '^(records|commits|aborts) ' "$WORK/$seg.got" | tr '\n' ' ')as pg_waldump reads it"
    else
        fail "$seg differs from pg_waldump:"$'\n'"$(cat "$WORK/$seg.diff")"
    fi
    # Scanning byte by byte and in odd pieces gives the same result.
    for chunk in 1 4093; do
        if [ "$seg" = "$LAST" ] || [ "$chunk" = 4093 ] || [ "$segments" -le 2 ]; then
            "$SCAN" --chunk "$chunk" "$path" >"$WORK/$seg.scan.$chunk" 2>&1 || true
            check "$seg: same result fed in pieces of $chunk" cmp -s "$WORK/$seg.scan" "$WORK/$seg.scan.$chunk"
        fi
    done
    wf=$(sed -n 's/^well_formed //p' "$WORK/$seg.scan")
    if [ "$seg" = "$LAST" ]; then
        check "$seg (still being written) is not well-formed" [ "$wf" = 0 ]
    else
        check "$seg is well-formed" [ "$wf" = 1 ]
    fi
    total_commits=$((total_commits + $(sed -n 's/^commits //p' "$WORK/$seg.scan")))
    total_aborts=$((total_aborts + $(sed -n 's/^aborts //p' "$WORK/$seg.scan")))
    rp_found+=$(grep '^restore_point ' "$WORK/$seg.scan" || true)$'\n'
done

check "several segments scanned" [ "$segments" -ge 6 ]
check "the commits were seen (at least 12)" [ "$total_commits" -ge 12 ]
check "both aborts were seen" [ "$total_aborts" -ge 2 ]
check "at least one switched segment" grep -qx 'switched 1' "$WORK"/*.scan
# The restore point: once, at the LSN pg_create_restore_point() returned, timed during the call.
read -r before rp_end after <<<"$RP"
rp_line=$(grep '^restore_point before_drop ' <<<"$rp_found" || true)
check "restore point before_drop found once" [ "$(grep -c . <<<"$rp_line")" = 1 ]
read -r _ _ _ got_end got_time <<<"$rp_line"
check "restore point end LSN $got_end is what pg_create_restore_point returned ($rp_end)" \
    [ "$got_end" = "$rp_end" ]
check "restore point time $got_time within the call (${before%.*}..${after%.*})" \
    python3 -c "import sys; b, t, a = map(float, sys.argv[1:]); sys.exit(not b - 1 <= t <= a + 1)" \
    "$before" "$got_time" "$after"
check "restore point after_load found" grep -q '^restore_point after_load ' <<<"$rp_found"

# Not a WAL segment: clear errors.
FIRST=$(ls "$PGDATA"/pg_wal | grep -E '^[0-9A-F]{24}$' | head -1)
head -c "$SEG_SIZE" /dev/zero >"$WORK/000000010000000000000063"
expect_status "zeros are not a WAL segment" 1 "$SCAN" "$WORK/000000010000000000000063"
expect_in_err "the error names the magic" 'corrupt: "000000010000000000000063" is not a WAL segment of PostgreSQL 13 to 16: page magic 0x0000'
cp "$PGDATA/pg_wal/$FIRST" "$WORK/000000010000000000000063"
expect_status "a segment under another name" 1 "$SCAN" "$WORK/000000010000000000000063"
expect_in_err "the error says where it starts" 'is not the segment its name says: it starts at'
head -c 1000000 "$PGDATA/pg_wal/$FIRST" >"$WORK/$FIRST"
expect_status "a truncated segment" 1 "$SCAN" "$WORK/$FIRST"
expect_in_err "the error gives the sizes" "\"$FIRST\" is 1000000 bytes, its page header says 16777216"

finish
