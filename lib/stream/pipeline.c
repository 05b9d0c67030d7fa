/* pipeline: owns a chain of stages; stages are added in data-flow order before the sink. */
#include "stream/filter.h"

#include <stdlib.h>

#include "base/xalloc.h"
#include "stream/filter_int.h"

struct pipeline {
    struct filter *head;
    struct filter *sink;
};

struct pipeline *pipeline_new(struct filter *sink)
{
    struct pipeline *p = xcalloc(1, sizeof(*p));

    p->head = sink;
    p->sink = sink;
    return p;
}

void pipeline_add(struct pipeline *p, struct filter *stage)
{
    struct filter **link = &p->head;

    while (*link != p->sink) {
        link = &(*link)->next;
    }
    stage->next = p->sink;
    *link = stage;
}

struct filter *pipeline_head(struct pipeline *p)
{
    return p->head;
}

enum pitr_rc pipeline_write(struct pipeline *p, const uint8_t *data, size_t len,
                            struct pitr_err *err)
{
    return filter_write(p->head, data, len, err);
}

enum pitr_rc pipeline_finish(struct pipeline *p, struct pitr_err *err)
{
    return filter_finish(p->head, err);
}

void pipeline_free(struct pipeline *p)
{
    struct filter *f;

    if (p == NULL) {
        return;
    }
    f = p->head;
    while (f != NULL) {
        struct filter *next = f->next;

        filter_free(f);
        f = next;
    }
    free(p);
}
