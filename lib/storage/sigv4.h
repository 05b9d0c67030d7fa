/* sigv4: AWS Signature Version 4, as a pure function of the request (no I/O, no libcurl), so it
 * can be checked against the published AWS test-suite vectors. */
#ifndef PITR_STORAGE_SIGV4_H
#define PITR_STORAGE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

struct sigv4_pair {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;
    const char *path;               /* raw (not yet encoded), starting with '/' */
    const struct sigv4_pair *query; /* raw names and values; encoded and sorted by the signer */
    size_t nquery;
    const struct sigv4_pair *headers; /* must include host and x-amz-date */
    size_t nheaders;
    const char *payload_hash; /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
};

struct sigv4_key {
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *service;
};

/* Computes the canonical request, string to sign and Authorization value for amz_date
 * ("YYYYMMDDTHHMMSSZ"); each output buffer is reset first. Any output may be NULL. */
enum pitr_rc sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
                        const char *amz_date, struct buf *canonical, struct buf *string_to_sign,
                        struct buf *authorization, struct pitr_err *err) PITR_MUST_CHECK;

/* Appends s percent-encoded per RFC 3986 (everything but A-Z a-z 0-9 - . _ ~, and '/' when
 * keep_slash), as both SigV4 and S3 require. */
enum pitr_rc sigv4_uri_encode(const char *s, bool keep_slash, struct buf *out,
                              struct pitr_err *err) PITR_MUST_CHECK;

#endif
