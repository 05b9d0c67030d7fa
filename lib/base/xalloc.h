/* Allocation that cannot fail: on out-of-memory it prints one line and aborts, so no caller
 * checks for NULL. Short-lived processes make that the honest choice. */
#ifndef PITR_BASE_XALLOC_H
#define PITR_BASE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Overwrites a secret string with zeros, then frees it (NULL is fine). */
void xfree_secret(char *s);
/* Returns a heap string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
