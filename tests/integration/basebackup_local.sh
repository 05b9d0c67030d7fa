#!/usr/bin/env bash
# pitr-basebackup into a local repository: the shared scenario (backup under load, unpack,
# pg_verifybackup, recovery with pitr-fetch, equal counts), encryption, and the failures a DBA
# meets: wrong password, a role without REPLICATION, a killed backup (never complete, removed by
# --cleanup), and another cluster under the same name.
source "$(dirname "$0")/lib.inc"

REPO="$WORK/repo"
as_pg mkdir -p "$REPO"
CONF="$WORK/pitr.conf"
write_config "$CONF" "repo=$REPO" "compression=lz4"
source "$(dirname "$0")/basebackup_suite.inc"

finish
