/*
 * http_fuzz: what hsmsignd parses of an HTTP request itself, besides the body and SigV4
 * (sigv4_fuzz): the request-target as the router sees it (api_sigv4_route_path), and the client
 * certificate a trusted proxy sends URL-encoded in a header (auth.mtls: api_url_decode into the
 * API_CLIENT_CERT_PEM_MAX buffer api_auth_iam_or_cert uses, the PEM certificate read from it,
 * and the principal and serial taken from it as api_auth_cert does; the path validation against
 * the issuer needs a CA and is not fuzzed here).
 *
 * Input: REQUEST-TARGET LF header value (the rest, up to its first NUL as a C string).
 * The request line, headers and body framing are http_parse_fuzz's (api_http_parse).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "api/api_auth.h"
#include "api/api_sigv4.h"
#include "common/hs_buf.h"
#include "common/hs_defer.h"
#include "signer/sgn_cert.h"
#include "store/st_inventory.h"
#include "tests/fuzz/fuzz_support.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static void http_fuzz_route(const char *target)
{
    HS_DEFER(struct hs_buf *path = hs_buf_new(API_SIGV4_TARGET_MAX + 1), hs_buf_freep);
    if (path == NULL) {
        fuzz_abort();
    }
    if (hs_failed(api_sigv4_route_path(target, path))) {
        return;
    }
    /* A route path starts with '/' and holds no dot segment or empty segment. */
    const unsigned char *p = hs_buf_data(path);
    size_t n = hs_buf_len(path);
    if (n == 0 || p[0] != '/' || memchr(p, '\0', n) != NULL) {
        fuzz_abort();
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] == '/' && p[i + 1] == '/') {
            fuzz_abort();
        }
    }
}

/* api_auth_cert up to the issuer check: the PEM, the subject as principal, the serial. */
static void http_fuzz_client_cert(const char *value)
{
    char *buf = malloc(API_CLIENT_CERT_PEM_MAX);
    if (buf == NULL) {
        fuzz_abort();
    }
    if (!hs_failed(api_url_decode(value, buf, API_CLIENT_CERT_PEM_MAX))) {
        if (strlen(buf) >= API_CLIENT_CERT_PEM_MAX) {
            fuzz_abort();
        }
        BIO *bio = BIO_new_mem_buf(buf, -1);
        X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        ERR_clear_error();
        if (cert != NULL) {
            char subject[ST_INV_SUBJECT_MAX + 1];
            char serial[ST_INV_SERIAL_MAX + 1];
            if (!hs_failed(
                    sgn_name_rfc4514(X509_get_subject_name(cert), subject, sizeof(subject))) &&
                strlen(subject) > ST_INV_SUBJECT_MAX) {
                fuzz_abort();
            }
            if (!hs_failed(sgn_cert_serial_hex(cert, serial, sizeof(serial))) &&
                strlen(serial) > ST_INV_SERIAL_MAX) {
                fuzz_abort();
            }
        }
        X509_free(cert);
        BIO_free(bio);
    }
    free(buf);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    bool eof = false;
    char *target = fuzz_take_line(&in, &eof);
    char *value = fuzz_strndup(in.p, in.n);
    http_fuzz_route(target);
    http_fuzz_client_cert(value);
    free(target);
    free(value);
    return 0;
}
