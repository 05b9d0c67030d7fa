/* timeline: history files are tiny and written by PostgreSQL itself, but a restore decides from
 * them which WAL to replay, so anything unexpected is an error, not a guess. */
#include "pg/timeline.h"

#include <stdlib.h>
#include <string.h>

#include "base/strutil.h"
#include "base/xalloc.h"
#include "pg/wal.h"

/* Parses one "parentTLI <ws> X/Y [<ws> reason]" line into *out. */
static enum pitr_rc parse_line(char *line, struct timeline_switch *out, struct pitr_err *err)
{
    char *lsn_text;
    char *end;
    uint64_t tli;
    struct pitr_err ignored; /* the parsers' own messages speak of configuration, not a file */

    lsn_text = line + strcspn(line, " \t");
    if (*lsn_text == '\0') {
        return err_set(err, PITR_CORRUPT, "expected a timeline and an LSN");
    }
    *lsn_text++ = '\0';
    lsn_text += strspn(lsn_text, " \t");
    end = lsn_text + strcspn(lsn_text, " \t");
    *end = '\0';
    if (str_parse_u64(line, "timeline", &tli, &ignored) != PITR_OK || tli == 0 ||
        tli > UINT32_MAX) {
        return err_set(err, PITR_CORRUPT, "invalid timeline \"%s\"", line);
    }
    if (wal_lsn_parse(lsn_text, &out->end_lsn, &ignored) != PITR_OK) {
        return err_set(err, PITR_CORRUPT, "invalid LSN \"%s\"", lsn_text);
    }
    out->tli = (uint32_t)tli;
    return PITR_OK;
}

enum pitr_rc timeline_history_parse(const char *text, uint32_t tli, const char *name,
                                    struct timeline_history *out, struct pitr_err *err)
{
    struct timeline_history h = {tli, NULL, 0};
    char *copy = xstrdup(text);
    char *line = copy;
    enum pitr_rc rc = PITR_OK;

    for (int lineno = 1; rc == PITR_OK && line != NULL; lineno++) {
        char *next = strchr(line, '\n');
        char *s;
        struct timeline_switch sw;

        if (next != NULL) {
            *next++ = '\0';
        }
        s = str_trim(line);
        line = next;
        if (*s == '\0' || *s == '#') {
            continue;
        }
        rc = parse_line(s, &sw, err);
        if (rc == PITR_OK &&
            (sw.tli >= tli || (h.n > 0 && (sw.tli <= h.entries[h.n - 1].tli ||
                                           sw.end_lsn < h.entries[h.n - 1].end_lsn)))) {
            rc = err_set(err, PITR_CORRUPT, "timelines and LSNs must increase below %u", tli);
        }
        if (rc != PITR_OK) {
            rc = err_prefix(err, "%s line %d", name, lineno);
            break;
        }
        h.entries = xrealloc(h.entries, (h.n + 1) * sizeof(*h.entries));
        h.entries[h.n++] = sw;
    }
    free(copy);
    if (rc == PITR_OK && h.n == 0 && tli > 1) {
        rc = err_set(err, PITR_CORRUPT, "%s names no parent timeline", name);
    }
    if (rc != PITR_OK) {
        free(h.entries);
        return rc;
    }
    *out = h;
    return PITR_OK;
}

void timeline_history_fini(struct timeline_history *h)
{
    free(h->entries);
    memset(h, 0, sizeof(*h));
}

uint64_t timeline_history_end(const struct timeline_history *h, uint32_t tli)
{
    if (tli == h->tli) {
        return UINT64_MAX;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (h->entries[i].tli == tli) {
            return h->entries[i].end_lsn;
        }
    }
    return 0;
}
