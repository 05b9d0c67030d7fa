/* progress: the rate is over the whole run, which is what a DBA estimates the end from. */
#include "progress.h"

#include <stdio.h>
#include <time.h>

#include "strutil.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, bool enabled, uint64_t total)
{
    p->enabled = enabled;
    p->total = total;
    p->done = 0;
    p->t0 = now_s();
    p->last_shown = 0;
    p->shown = false;
}

static void draw(struct progress *p, bool last)
{
    double t = now_s();
    double elapsed = t - p->t0;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char done[16];
    char total[16];
    char eta[32] = "";

    p->last_shown = t;
    p->shown = true;
    str_human_bytes(p->done, done);
    str_human_bytes(p->total, total);
    if (!last && rate > 0 && p->total > p->done) {
        snprintf(eta, sizeof(eta), ", ETA %.0f s", (double)(p->total - p->done) / rate);
    }
    fprintf(stderr, "\r%s / %s (%3.0f%%), %.1f MB/s%s   %s", done, total,
            p->total ? 100.0 * (double)(p->done < p->total ? p->done : p->total) / (double)p->total
                     : 0.0,
            rate / 1e6, eta, last ? "\n" : "");
    fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done)
{
    p->done = done;
    if (p->enabled && now_s() - p->last_shown >= 0.5) {
        draw(p, false);
    }
}

void progress_end(struct progress *p)
{
    if (p->enabled) {
        draw(p, true);
    }
}
