/* repl: libpq behind a small interface. Messages from libpq are reduced to one line and given a
 * hint for the causes a DBA meets on the first run; the conninfo itself is never printed, since
 * it may carry a password. */
#include "pg/repl.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "pg/wal.h"

struct repl_conn {
    PGconn *pg;
    char describe[320];
};

/* libpq's messages span lines ("connection to server ... failed: FATAL:  ...\n"); keep the part
 * that names the cause, on one line. */
static void one_line(const char *msg, char *out, size_t size)
{
    const char *p = strstr(msg, "failed: ");
    size_t n = 0;

    p = p ? p + 8 : msg;
    if (strncmp(p, "FATAL:  ", 8) == 0 || strncmp(p, "ERROR:  ", 8) == 0) {
        p += 8;
    }
    for (; *p != '\0' && n + 1 < size; p++) {
        if (*p == '\n') {
            if (p[1] == '\0') {
                break;
            }
            if (n + 3 >= size) {
                break;
            }
            out[n++] = ';';
            out[n++] = ' ';
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

static const char *hint_for(const char *msg)
{
    if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied")) {
        return ": check the password in ~/.pgpass, PGPASSWORD or pg_conninfo";
    }
    if (strstr(msg, "must be superuser or replication role") ||
        strstr(msg, "permission denied to start WAL sender")) {
        return ": the role needs the REPLICATION attribute (ALTER ROLE ... REPLICATION)";
    }
    if (strstr(msg, "max_wal_senders")) {
        return ": raise max_wal_senders or wait until another backup or standby disconnects";
    }
    if (strstr(msg, "no pg_hba.conf entry for replication")) {
        return ": add a \"host replication ...\" line to pg_hba.conf and reload";
    }
    return "";
}

struct repl_conn *repl_connect(const char *conninfo, bool replication, struct pitr_err *err)
{
    const char *keys[5];
    const char *values[5];
    int n = 0;
    struct repl_conn *c = xcalloc(1, sizeof(*c));
    char msg[400];

    /* a backup started from cron must not wait forever on an unreachable server */
    if (getenv("PGCONNECT_TIMEOUT") == NULL) {
        keys[n] = "connect_timeout";
        values[n++] = "10";
    }
    keys[n] = "dbname";
    values[n++] = conninfo != NULL ? conninfo : "";
    if (replication) {
        keys[n] = "replication";
        values[n++] = "true";
    }
    keys[n] = "fallback_application_name";
    values[n++] = "pitr";
    keys[n] = NULL;
    values[n] = NULL;
    c->pg = PQconnectdbParams(keys, values, 1);
    if (c->pg == NULL) {
        free(c);
        err_set(err, PITR_INTERNAL, "could not allocate a PostgreSQL connection");
        return NULL;
    }
    snprintf(c->describe, sizeof(c->describe), "host=%s port=%s user=%s",
             PQhost(c->pg) ? PQhost(c->pg) : "?", PQport(c->pg) ? PQport(c->pg) : "?",
             PQuser(c->pg) ? PQuser(c->pg) : "?");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        one_line(PQerrorMessage(c->pg), msg, sizeof(msg));
        err_set(err,
                strstr(msg, "Connection refused") || strstr(msg, "timeout") ? PITR_NETWORK
                                                                            : PITR_CONFIG,
                "could not connect to PostgreSQL (%s): %s%s", c->describe, msg, hint_for(msg));
        repl_close(c);
        return NULL;
    }
    return c;
}

void repl_close(struct repl_conn *c)
{
    if (c == NULL) {
        return;
    }
    PQfinish(c->pg);
    free(c);
}

int repl_server_version(const struct repl_conn *c)
{
    return PQserverVersion(c->pg);
}

const char *repl_describe(const struct repl_conn *c)
{
    return c->describe;
}

/* The error of a failed command or result, on one line. */
static enum pitr_rc server_error(struct repl_conn *c, const PGresult *res, const char *what,
                                 struct pitr_err *err)
{
    char msg[400];
    const char *text = res ? PQresultErrorMessage(res) : "";

    one_line(text[0] != '\0' ? text : PQerrorMessage(c->pg), msg, sizeof(msg));
    return err_set(err, PITR_PROTOCOL, "%s failed on %s: %s", what, c->describe, msg);
}

/* Runs a command that must return exactly one row of at least ncols columns; the caller clears
 * *res_out. */
static enum pitr_rc query_row(struct repl_conn *c, const char *sql, const char *what, int ncols,
                              PGresult **res_out, struct pitr_err *err)
{
    PGresult *res = PQexec(c->pg, sql);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        enum pitr_rc rc = server_error(c, res, what, err);

        PQclear(res);
        return rc;
    }
    if (PQntuples(res) != 1 || PQnfields(res) < ncols) {
        PQclear(res);
        return err_set(err, PITR_PROTOCOL, "%s on %s returned an unexpected result", what,
                       c->describe);
    }
    *res_out = res;
    return PITR_OK;
}

enum pitr_rc repl_identify_system(struct repl_conn *c, struct repl_system *out,
                                  struct pitr_err *err)
{
    PGresult *res = NULL;
    struct repl_system sys;
    uint64_t tli = 0;
    enum pitr_rc rc = query_row(c, "IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM", 3, &res, err);

    if (rc != PITR_OK) {
        return rc;
    }
    rc = str_parse_u64(PQgetvalue(res, 0, 0), "system identifier", &sys.sysid, err);
    if (rc == PITR_OK) {
        rc = str_parse_u64(PQgetvalue(res, 0, 1), "timeline", &tli, err);
    }
    if (rc == PITR_OK) {
        rc = wal_lsn_parse(PQgetvalue(res, 0, 2), &sys.xlogpos, err);
    }
    PQclear(res);
    if (rc != PITR_OK) {
        return err_prefix(err, "IDENTIFY_SYSTEM on %s", c->describe);
    }
    sys.tli = (uint32_t)tli;
    *out = sys;
    return PITR_OK;
}

enum pitr_rc repl_show(struct repl_conn *c, const char *name, char *out, size_t size,
                       struct pitr_err *err)
{
    char sql[128];
    PGresult *res = NULL;
    enum pitr_rc rc;

    for (const char *p = name; *p != '\0'; p++) {
        if ((*p < 'a' || *p > 'z') && *p != '_') {
            return err_set(err, PITR_INTERNAL, "invalid setting name \"%s\"", name);
        }
    }
    rc = str_format(sql, sizeof(sql), err, "SHOW %s", name);
    if (rc == PITR_OK) {
        rc = query_row(c, sql, sql, 1, &res, err);
    }
    if (rc == PITR_OK) {
        rc = str_format(out, size, err, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return rc;
}

enum pitr_rc repl_query_row(struct repl_conn *c, const char *sql, char **values, int ncols,
                            struct pitr_err *err)
{
    PGresult *res = NULL;
    enum pitr_rc rc = query_row(c, sql, sql, ncols, &res, err);

    for (int i = 0; rc == PITR_OK && i < ncols; i++) {
        values[i] = PQgetisnull(res, 0, i) ? NULL : xstrdup(PQgetvalue(res, 0, i));
    }
    PQclear(res);
    return rc;
}

enum pitr_rc repl_query_rows(struct repl_conn *c, const char *sql, int ncols, repl_row_fn *fn,
                             void *arg, struct pitr_err *err)
{
    const char *values[16];
    PGresult *res = PQexec(c->pg, sql);
    enum pitr_rc rc = PITR_OK;

    if (ncols < 0 || ncols > 16) {
        rc = err_set(err, PITR_INTERNAL, "repl_query_rows: %d columns asked", ncols);
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = server_error(c, res, sql, err);
    } else if (PQnfields(res) < ncols) {
        rc =
            err_set(err, PITR_PROTOCOL, "%s on %s returned an unexpected result", sql, c->describe);
    }
    for (int row = 0; rc == PITR_OK && row < PQntuples(res); row++) {
        for (int i = 0; i < ncols; i++) {
            values[i] = PQgetisnull(res, row, i) ? NULL : PQgetvalue(res, row, i);
        }
        rc = fn(arg, values, ncols, err);
    }
    PQclear(res);
    return rc;
}

enum pitr_rc repl_exec(struct repl_conn *c, const char *sql, struct pitr_err *err)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    enum pitr_rc rc = PITR_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = server_error(c, res, sql, err);
    }
    PQclear(res);
    return rc;
}

/* --- BASE_BACKUP --------------------------------------------------------------------------- */

static enum pitr_rc quote_label(const char *label, struct buf *out, struct pitr_err *err)
{
    enum pitr_rc rc = buf_append(out, "'", 1, err);

    for (const char *p = label; rc == PITR_OK && *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20) {
            return err_set(err, PITR_CONFIG,
                           "the backup label must not contain control characters");
        }
        rc = buf_append(out, p, *p == '\'' ? 0 : 1, err);
        if (rc == PITR_OK && *p == '\'') {
            rc = buf_append(out, "''", 2, err); /* the replication grammar's quote escape */
        }
    }
    return rc != PITR_OK ? rc : buf_append(out, "'", 1, err);
}

static const char *compression_name(enum repl_compression c)
{
    return c == REPL_COMPRESS_LZ4 ? "lz4" : c == REPL_COMPRESS_ZSTD ? "zstd" : "none";
}

enum pitr_rc repl_base_backup_command(int server_version, const struct repl_backup_opts *opts,
                                      struct buf *out, struct pitr_err *err)
{
    bool modern = server_version >= 150000;
    enum pitr_rc rc;

    if (server_version < 130000) {
        return err_set(err, PITR_CONFIG,
                       "PostgreSQL %d is not supported: pitr-basebackup needs 13 or later",
                       server_version / 10000);
    }
    if (!modern && opts->compression != REPL_COMPRESS_NONE) {
        return err_set(err, PITR_CONFIG,
                       "server-side compression needs PostgreSQL 15 or later: set "
                       "backup_compress_on = client");
    }
    rc = buf_printf(out, err, "BASE_BACKUP %sLABEL ", modern ? "(" : "");
    if (rc == PITR_OK) {
        rc = quote_label(opts->label, out, err);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    if (opts->max_rate_kb != 0 && (opts->max_rate_kb < 32 || opts->max_rate_kb > 1048576)) {
        return err_set(err, PITR_CONFIG, "the maximum rate must be between 32 kB/s and 1 GB/s");
    }
    if (!modern) {
        /* 13 and 14: NOWAIT because pitr waits for the WAL in its own repository, with a
         * timeout, instead of the server waiting for archive_command without one */
        rc = buf_printf(out, err, " PROGRESS%s NOWAIT MANIFEST 'yes' MANIFEST_CHECKSUMS 'SHA256'",
                        opts->fast_checkpoint ? " FAST" : "");
        if (rc == PITR_OK && opts->max_rate_kb != 0) {
            rc = buf_printf(out, err, " MAX_RATE %u", opts->max_rate_kb);
        }
        return rc;
    }
    rc = buf_printf(out, err,
                    ", PROGRESS, CHECKPOINT '%s', WAIT false, MANIFEST 'yes', "
                    "MANIFEST_CHECKSUMS 'SHA256', TARGET 'client'",
                    opts->fast_checkpoint ? "fast" : "spread");
    if (rc == PITR_OK && opts->max_rate_kb != 0) {
        rc = buf_printf(out, err, ", MAX_RATE %u", opts->max_rate_kb);
    }
    if (rc == PITR_OK && opts->compression != REPL_COMPRESS_NONE) {
        rc = buf_printf(out, err, ", COMPRESSION '%s'", compression_name(opts->compression));
        if (rc == PITR_OK && opts->compression_level > 0) {
            rc = buf_printf(out, err, ", COMPRESSION_DETAIL 'level=%d'", opts->compression_level);
        }
    }
    return rc != PITR_OK ? rc : buf_append(out, ")", 1, err);
}

enum pitr_rc repl_msg_parse(const uint8_t *msg, size_t len, struct repl_msg *out,
                            struct pitr_err *err)
{
    struct repl_msg m;
    const char *name_end;
    const char *loc_end;

    if (len == 0) {
        return err_set(err, PITR_PROTOCOL, "empty message in the base backup stream");
    }
    memset(&m, 0, sizeof(m));
    m.type = (enum repl_msg_type)msg[0];
    switch (msg[0]) {
    case 'n':
        name_end = memchr(msg + 1, '\0', len - 1);
        loc_end = name_end ? memchr(name_end + 1, '\0',
                                    (size_t)((const char *)msg + len - (name_end + 1)))
                           : NULL;
        /* exactly name NUL location NUL: anything after it is not this protocol */
        if (loc_end == NULL || name_end == (const char *)msg + 1 ||
            loc_end != (const char *)msg + len - 1) {
            return err_set(err, PITR_PROTOCOL,
                           "malformed new-archive message in the base backup "
                           "stream");
        }
        m.name = (const char *)msg + 1;
        m.location = name_end + 1;
        break;
    case 'm':
        if (len != 1) {
            return err_set(err, PITR_PROTOCOL,
                           "malformed manifest message in the base backup stream");
        }
        break;
    case 'd':
        m.data = msg + 1;
        m.len = len - 1;
        break;
    case 'p':
        if (len != 9) {
            return err_set(err, PITR_PROTOCOL,
                           "malformed progress message in the base backup stream");
        }
        for (int i = 1; i < 9; i++) {
            m.progress = (m.progress << 8) | msg[i];
        }
        break;
    default:
        return err_set(err, PITR_PROTOCOL, "unknown message type 0x%02x in the base backup stream",
                       msg[0]);
    }
    *out = m;
    return PITR_OK;
}

/* Where one BASE_BACKUP is: which result sets came, and what is open. */
struct backup_run {
    struct repl_conn *c;
    const struct repl_backup_handler *h;
    void *arg;
    bool modern;
    int results; /* tuple results seen: 1 start, 2 tablespaces, 3 end */
    struct repl_tablespace *ts;
    size_t n_ts;
    size_t next_ts; /* legacy protocol: the tablespace the next COPY carries */
    bool open;      /* an archive or the manifest is between begin and end */
    bool manifest_done;
    uint64_t received;
    struct repl_backup_start start;
    struct repl_backup_end end;
};

static enum pitr_rc parse_position(struct backup_run *r, const PGresult *res, uint64_t *lsn,
                                   uint32_t *tli, struct pitr_err *err)
{
    uint64_t t = 0;

    if (PQntuples(res) != 1 || PQnfields(res) < 2 ||
        wal_lsn_parse(PQgetvalue(res, 0, 0), lsn, err) != PITR_OK ||
        str_parse_u64(PQgetvalue(res, 0, 1), "timeline", &t, err) != PITR_OK || t == 0 ||
        t > UINT32_MAX) {
        return err_set(err, PITR_PROTOCOL, "BASE_BACKUP on %s sent a malformed WAL position",
                       r->c->describe);
    }
    *tli = (uint32_t)t;
    return PITR_OK;
}

static enum pitr_rc parse_tablespaces(struct backup_run *r, const PGresult *res,
                                      struct pitr_err *err)
{
    int n = PQntuples(res);

    if (PQnfields(res) < 3) {
        return err_set(err, PITR_PROTOCOL, "BASE_BACKUP on %s sent a malformed tablespace list",
                       r->c->describe);
    }
    r->ts = xcalloc((size_t)n + 1, sizeof(*r->ts));
    for (int i = 0; i < n; i++) {
        struct repl_tablespace *t = &r->ts[r->n_ts++];
        uint64_t v = 0;

        t->location = xstrdup(PQgetisnull(res, i, 1) ? "" : PQgetvalue(res, i, 1));
        t->size_kb = -1;
        if (!PQgetisnull(res, i, 0) &&
            (str_parse_u64(PQgetvalue(res, i, 0), "tablespace oid", &v, err) != PITR_OK || v == 0 ||
             v > UINT32_MAX)) {
            return err_set(err, PITR_PROTOCOL, "BASE_BACKUP on %s sent a malformed tablespace oid",
                           r->c->describe);
        }
        t->oid = (uint32_t)v;
        if (!PQgetisnull(res, i, 2) &&
            str_parse_u64(PQgetvalue(res, i, 2), "tablespace size", &v, err) == PITR_OK) {
            t->size_kb = (int64_t)v;
        }
    }
    r->start.tablespaces = r->ts;
    r->start.n_tablespaces = r->n_ts;
    return r->h->start(r->arg, &r->start, err);
}

static enum pitr_rc on_tuples(struct backup_run *r, const PGresult *res, struct pitr_err *err)
{
    switch (++r->results) {
    case 1:
        return parse_position(r, res, &r->start.lsn, &r->start.tli, err);
    case 2:
        return parse_tablespaces(r, res, err);
    case 3:
        return parse_position(r, res, &r->end.lsn, &r->end.tli, err);
    default:
        return err_set(err, PITR_PROTOCOL, "BASE_BACKUP on %s sent an unexpected result set",
                       r->c->describe);
    }
}

static enum pitr_rc close_open(struct backup_run *r, struct pitr_err *err)
{
    if (!r->open) {
        return PITR_OK;
    }
    r->open = false;
    return r->h->end(r->arg, err);
}

static enum pitr_rc begin_stream(struct backup_run *r, enum repl_stream_kind kind, const char *name,
                                 const char *location, struct pitr_err *err)
{
    enum pitr_rc rc = close_open(r, err);

    if (rc != PITR_OK) {
        return rc;
    }
    if (kind == REPL_STREAM_MANIFEST) {
        r->manifest_done = true;
    }
    r->open = true;
    return r->h->begin(r->arg, kind, name, location, err);
}

static enum pitr_rc on_modern_message(struct backup_run *r, const uint8_t *data, size_t len,
                                      struct pitr_err *err)
{
    struct repl_msg m;
    enum pitr_rc rc = repl_msg_parse(data, len, &m, err);

    if (rc != PITR_OK) {
        return rc;
    }
    switch (m.type) {
    case REPL_MSG_NEW_ARCHIVE:
        return begin_stream(r, REPL_STREAM_ARCHIVE, m.name, m.location, err);
    case REPL_MSG_MANIFEST:
        return begin_stream(r, REPL_STREAM_MANIFEST, "backup_manifest", "", err);
    case REPL_MSG_DATA:
        if (!r->open) {
            return err_set(err, PITR_PROTOCOL,
                           "BASE_BACKUP on %s sent data before naming an archive", r->c->describe);
        }
        return r->h->data(r->arg, m.data, m.len, err);
    case REPL_MSG_PROGRESS:
        if (r->h->progress != NULL) {
            r->h->progress(r->arg, m.progress);
        }
        return PITR_OK;
    }
    return PITR_OK;
}

/* 13 and 14 send each tablespace as its own COPY of raw tar data in the order of the tablespace
 * list, without the two zero blocks that end a tar file, then the manifest as one more COPY. */
static enum pitr_rc begin_legacy_copy(struct backup_run *r, struct pitr_err *err)
{
    char name[32];
    const struct repl_tablespace *t;

    if (r->next_ts >= r->n_ts) {
        if (r->manifest_done) {
            return err_set(err, PITR_PROTOCOL, "BASE_BACKUP on %s sent an unexpected COPY",
                           r->c->describe);
        }
        return begin_stream(r, REPL_STREAM_MANIFEST, "backup_manifest", "", err);
    }
    t = &r->ts[r->next_ts++];
    if (t->oid == 0) {
        snprintf(name, sizeof(name), "base.tar");
    } else {
        snprintf(name, sizeof(name), "%u.tar", t->oid);
    }
    return begin_stream(r, REPL_STREAM_ARCHIVE, name, t->location, err);
}

static enum pitr_rc end_legacy_copy(struct backup_run *r, struct pitr_err *err)
{
    static const uint8_t zeros[1024];
    enum pitr_rc rc = PITR_OK;

    if (r->open && !r->manifest_done) {
        rc = r->h->data(r->arg, zeros, sizeof(zeros), err);
    }
    return rc != PITR_OK ? rc : close_open(r, err);
}

static enum pitr_rc receive_copy(struct backup_run *r, struct pitr_err *err)
{
    enum pitr_rc rc = r->modern ? PITR_OK : begin_legacy_copy(r, err);

    while (rc == PITR_OK) {
        char *data = NULL;
        int n = PQgetCopyData(r->c->pg, &data, 0);

        if (n == -1) {
            break;
        }
        if (n < 0) {
            return server_error(r->c, NULL, "BASE_BACKUP", err);
        }
        r->received += (uint64_t)n;
        if (r->modern) {
            rc = on_modern_message(r, (const uint8_t *)data, (size_t)n, err);
        } else {
            rc = r->h->data(r->arg, (const uint8_t *)data, (size_t)n, err);
            if (rc == PITR_OK && r->h->progress != NULL && !r->manifest_done) {
                r->h->progress(r->arg, r->received);
            }
        }
        PQfreemem(data);
    }
    if (rc != PITR_OK) {
        return rc;
    }
    return r->modern ? close_open(r, err) : end_legacy_copy(r, err);
}

static enum pitr_rc run_backup(struct backup_run *r, const char *command, struct pitr_err *err)
{
    enum pitr_rc rc = PITR_OK;
    PGresult *res;

    if (!PQsendQuery(r->c->pg, command)) {
        return server_error(r->c, NULL, "BASE_BACKUP", err);
    }
    while (rc == PITR_OK && (res = PQgetResult(r->c->pg)) != NULL) {
        switch (PQresultStatus(res)) {
        case PGRES_TUPLES_OK:
            rc = on_tuples(r, res, err);
            break;
        case PGRES_COPY_OUT:
            rc = r->results < 2 ? err_set(err, PITR_PROTOCOL,
                                          "BASE_BACKUP on %s sent data before its start position",
                                          r->c->describe)
                                : receive_copy(r, err);
            break;
        case PGRES_COMMAND_OK:
            break;
        default:
            rc = server_error(r->c, res, "BASE_BACKUP", err);
            break;
        }
        PQclear(res);
    }
    if (rc == PITR_OK && (r->results != 3 || !r->manifest_done)) {
        rc = err_set(err, PITR_PROTOCOL, "BASE_BACKUP on %s ended early (%s)", r->c->describe,
                     r->results < 3 ? "no stop position" : "no manifest");
    }
    return rc;
}

enum pitr_rc repl_base_backup(struct repl_conn *c, const struct repl_backup_opts *opts,
                              const struct repl_backup_handler *h, void *arg,
                              struct repl_backup_end *out, struct pitr_err *err)
{
    struct backup_run r;
    struct buf command;
    enum pitr_rc rc;

    memset(&r, 0, sizeof(r));
    r.c = c;
    r.h = h;
    r.arg = arg;
    r.modern = PQserverVersion(c->pg) >= 150000;
    buf_init(&command, 4096);
    rc = repl_base_backup_command(PQserverVersion(c->pg), opts, &command, err);
    if (rc == PITR_OK) {
        rc = run_backup(&r, (const char *)command.data, err);
    }
    if (rc != PITR_OK) {
        /* the server ends backup mode when the connection goes: never leave it half-read */
        PQfinish(c->pg);
        c->pg = NULL;
    } else {
        *out = r.end;
    }
    for (size_t i = 0; i < r.n_ts; i++) {
        free(r.ts[i].location);
    }
    free(r.ts);
    buf_fini(&command);
    return rc;
}
