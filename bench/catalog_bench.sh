#!/usr/bin/env bash
# Catalog benchmark: a synthetic local repository with SEGMENTS archived 16 MiB segments on
# timeline 1 (default one million: 3907 WAL folders of 256), described by the catalog's merged
# .cat files, with BACKUPS base backup records spread over it (bench/catalog_gen.c writes it with
# the real formatting code). Then times, each the median of 3 warm runs, and counts the
# repository objects each opens (strace):
#   pitr-catalog windows, pitr-catalog --json windows,
#   pitr-restore --dry-run --to <10 minutes before the end> and --to <a time in the middle>.
# Not a test: run it by hand.
#   bench/catalog_bench.sh [SEGMENTS [BACKUPS]]      (defaults 1000000 5; results go to stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
NSEG=${1:-1000000}
NBACKUP=${2:-5}
BUILD=${BENCH_BUILD_DIR:-build-rel}
BIN=$SRC/$BUILD/bin
WORKDIR=${BENCH_WORK:-$SRC/bench/work/catalog}
# CATALOG_BENCH_KEY=1: an encrypted repository (records encrypted, catalog lines with HMACs):
# windows only (see below)
KEYED=${CATALOG_BENCH_KEY:-0}
REPO=$WORKDIR/repo-$NSEG-$NBACKUP$([ "$KEYED" = 1 ] && echo -keyed || true)
KEY=$WORKDIR/key

# an optimised build without sanitizers, whatever ./build holds
BUILD_DIR=$BUILD BUILD_TYPE=Release scripts/build.sh -DPITR_SANITIZE=OFF -DPITR_TESTS=OFF >/dev/null

# pitr-restore refuses to run as root: everything runs as an ordinary user
AS_USER=()
if [ "$(id -u)" = 0 ]; then
    AS_USER=(runuser -u nobody --)
fi

mkdir -p "$WORKDIR"
if [ ! -f "$REPO/times" ]; then
    rm -rf "$REPO"
    start=$(date +%s.%N)
    if [ "$KEYED" = 1 ] && [ ! -f "$KEY" ]; then
        head -c 48 /dev/urandom | base64 >"$KEY"
        chmod 600 "$KEY"
    fi
    "$BIN/catalog_gen" "$REPO" main "$NSEG" "$NBACKUP" $([ "$KEYED" = 1 ] && echo "$KEY" || true) \
        >"$REPO.times.tmp"
    mv "$REPO.times.tmp" "$REPO/times"
    echo "generated $REPO in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
chmod -R a+rX "$WORKDIR"
CONF=$WORKDIR/pitr.conf
printf "repo = '%s'\ncluster = 'main'\n" "$REPO" >"$CONF"
if [ "$KEYED" = 1 ]; then
    chmod 600 "$KEY"
    [ "$(id -u)" = 0 ] && chown nobody "$KEY"
    printf "encryption_key_file = '%s'\n" "$KEY" >>"$CONF"
fi
chmod a+r "$CONF"
T_END=$(awk '$1 == "time_end" {print $2}' "$REPO/times")
T_MID=$(awk '$1 == "time_middle" {print $2}' "$REPO/times")
TARGET=$WORKDIR/restore-target-absent

echo "repository: $NSEG segments, $(find "$REPO/main/catalog/wal" -name '*.cat' | wc -l) .cat" \
    "files, $(du -sh "$REPO" | cut -f1), $NBACKUP backups; targets $T_END (end), $T_MID (middle)"

# name | command...: median wall seconds of 3 warm runs, peak RSS, and what it opened
run() {
    local name=$1
    shift
    local times=() rss=0 trace=$WORKDIR/trace.txt
    "${AS_USER[@]}" "$@" >/dev/null # warm the page cache
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %M" -o "$WORKDIR/time.txt" "${AS_USER[@]}" "$@" >/dev/null
        times+=("$(cut -d' ' -f1 "$WORKDIR/time.txt")")
        rss=$(cut -d' ' -f2 "$WORKDIR/time.txt")
    done
    strace -f -qq -e trace=openat,newfstatat,statx,stat -o "$trace" "${AS_USER[@]}" "$@" >/dev/null
    # objects read (files opened), folders listed (directories opened), paths stat'ed
    local files dirs stats
    files=$(grep "openat(.*\"$REPO/" "$trace" | grep -v O_DIRECTORY | grep -c -v "= -1" || true)
    dirs=$(grep "openat(.*\"$REPO/" "$trace" | grep O_DIRECTORY | grep -c -v "= -1" || true)
    stats=$(grep -E -c "stat(x|at)?\(.*\"$REPO/" "$trace" || true)
    printf "| %-36s | %7s | %7s | %7s | %6s | %6s | %7s |\n" "$name" \
        "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)" \
        "$(printf '%s\n' "${times[@]}" | sort -n | head -1)" \
        "$(echo "scale=1; $rss / 1024" | bc)" "$files" "$dirs" "$stats"
}

printf "| %-36s | %7s | %7s | %7s | %6s | %6s | %7s |\n" "command" "median" "best" "RSS MiB" \
    "files" "lists" "stats"
printf "| %-36s | %7s | %7s | %7s | %6s | %6s | %7s |\n" "---" "---:" "---:" "---:" "---:" \
    "---:" "---:"
run "pitr-catalog windows" "$BIN/pitr-catalog" --config "$CONF" windows
run "pitr-catalog --json windows" "$BIN/pitr-catalog" --config "$CONF" --json windows
if [ "$KEYED" = 1 ]; then
    # with a key the plan authenticates every WAL object it walks, and catalog_gen writes objects
    # only for the backups' own segments: the plans are measured on the plain repository
    exit 0
fi
run "pitr-restore --dry-run --to (end)" "$BIN/pitr-restore" --config "$CONF" --dry-run \
    --target-dir "$TARGET" --to "$T_END"
run "pitr-restore --dry-run --to (middle)" "$BIN/pitr-restore" --config "$CONF" --dry-run \
    --target-dir "$TARGET" --to "$T_MID"
