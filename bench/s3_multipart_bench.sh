#!/usr/bin/env bash
# S3 multipart benchmark: uploads one object with pitr-storage-tool to the moto test server
# (behind stunnel on loopback, as archive_bench.sh does), alternating s3_upload_concurrency 1 and
# 4 in the same run; prints seconds, MB/s and peak RSS per upload and the median per setting.
# Not a test: run it by hand.
#   bench/s3_multipart_bench.sh [MIB] [RUNS] [PART_SIZE]   (default 512 MiB, 3 runs, 8MB parts)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
MIB=${1:-512}
RUNS=${2:-3}
PART=${3:-8MB}
BUILD=${BENCH_BUILD:-$SRC/build-bench-s3}
WORKDIR=${BENCH_WORK:-$SRC/bench/work/s3-multipart}

# an optimised build without sanitizers; only the tool is needed
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPITR_SANITIZE=OFF -DPITR_TESTS=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target pitr-storage-tool >/dev/null
TOOL="$BUILD/bin/pitr-storage-tool"

mkdir -p "$WORKDIR"
trap 'bash tests/support/s3server.sh stop "$WORKDIR/s3"' EXIT
S3SERVER_TLS=stunnel bash tests/support/s3server.sh start "$WORKDIR/s3" >/dev/null
set -a
# shellcheck disable=SC1091
source "$WORKDIR/s3/env"
set +a
URL="s3://$PITR_S3_BUCKET/bench"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORKDIR/object"

echo "object: $MIB MiB, part size $PART, $RUNS runs; $(nproc) cores"
printf '%-12s %-4s %8s %8s %12s\n' concurrency run seconds MB/s "peak RSS MB"
declare -A results
for ((run = 1; run <= RUNS; run++)); do
    for c in 1 4; do
        # moto assembles the object on CompleteMultipartUpload silently for several seconds
        /usr/bin/time -f '%e %M' -o "$WORKDIR/time" env PITR_S3_PART_SIZE="$PART" \
            PITR_S3_UPLOAD_CONCURRENCY=$c PITR_S3_LOW_SPEED_TIME=300 PITR_S3_MAX_ATTEMPTS=1 \
            "$TOOL" "$URL" put "object-$c" "$WORKDIR/object"
        read -r secs rss_kb <"$WORKDIR/time"
        mbs=$(echo "scale=1; $MIB * 1.048576 / $secs" | bc)
        printf '%-12s %-4s %8s %8s %12s\n' "$c" "$run" "$secs" "$mbs" "$((rss_kb / 1024))"
        results[$c]+="$mbs "
        "$TOOL" "$URL" rm "object-$c" # moto keeps objects in memory
    done
done
for c in 1 4; do
    median=$(tr ' ' '\n' <<<"${results[$c]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "concurrency $c: median $median MB/s"
done
rm -f "$WORKDIR/object"
