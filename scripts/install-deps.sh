#!/usr/bin/env bash
# Installs everything pitr needs to build, test and demo on Debian 12: compilers, the -dev
# libraries, PostgreSQL 15, and checks for the S3 test server. Safe to run again.
set -euo pipefail

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi
PACKAGES=(
    build-essential cmake pkg-config clang-format
    libpq-dev libcurl4-openssl-dev libssl-dev liblz4-dev libzstd-dev check
    postgresql-15 postgresql-client-15
    openssl python3 ca-certificates curl util-linux procps
)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package starts a default cluster; the tests and the demo start their own.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
    $SUDO pg_ctlcluster 15 main stop 2>/dev/null || true
fi

# The S3 test server is moto (moto_server), which verifies SigV4 signatures; it ships in this
# machine image's Python. It cannot be fetched here (no PyPI), so say so clearly if it is absent.
if [ "${PITR_NEED_S3_SERVER:-1}" = 1 ] && ! command -v moto_server >/dev/null; then
    echo "install-deps: moto_server (Python package moto[server]) is required for the S3 tests:" \
         "pip install 'moto[server]'" >&2
    exit 1
fi
