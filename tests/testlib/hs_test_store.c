#include "tests/testlib/hs_test_store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tests/testlib/hs_test.h"

struct st_cert_record *hs_test_record_new(const char *serial)
{
    struct st_cert_record *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        abort();
    }
    hs_test_format(r->serial_hex, sizeof(r->serial_hex), "%s", serial);
    hs_test_format(r->subject, sizeof(r->subject), "CN=%s.example.com,O=Ex\\2C \"Q\"", serial);
    hs_test_format(r->sans, sizeof(r->sans), "[\"DNS:%s.example.com\",\"IP:10.0.0.1\"]", serial);
    r->not_before = HS_TEST_STORE_T0;
    r->issued_at = HS_TEST_STORE_T0;
    r->not_after = HS_TEST_STORE_T0 + 30 * 86400;
    hs_test_format(r->requester, sizeof(r->requester), "arn:aws:iam::123456789012:role/issuer");
    hs_test_format(r->profile, sizeof(r->profile), "server");
    for (size_t i = 0; i < sizeof(r->spki_sha256); i++) {
        r->spki_sha256[i] = (unsigned char)(i * 7 + (unsigned char)serial[0]);
        r->cert_sha256[i] = (unsigned char)(255 - i * 3);
        r->issuer_key_sha256[i] = (unsigned char)(0xa0 + i);
    }
    r->status = ST_CERT_GOOD;
    r->revoked_at = 0;
    r->reason = -1;
    return r;
}

void hs_test_record_freep(struct st_cert_record **r)
{
    free(*r);
}

bool hs_test_record_equal(const struct st_cert_record *a, const struct st_cert_record *b)
{
    return strcmp(a->serial_hex, b->serial_hex) == 0 && strcmp(a->subject, b->subject) == 0 &&
           strcmp(a->sans, b->sans) == 0 && a->not_before == b->not_before &&
           a->not_after == b->not_after && strcmp(a->requester, b->requester) == 0 &&
           strcmp(a->profile, b->profile) == 0 &&
           memcmp(a->spki_sha256, b->spki_sha256, sizeof(a->spki_sha256)) == 0 &&
           memcmp(a->cert_sha256, b->cert_sha256, sizeof(a->cert_sha256)) == 0 &&
           a->status == b->status && a->revoked_at == b->revoked_at && a->reason == b->reason &&
           a->kind == b->kind && a->issued_at == b->issued_at &&
           memcmp(a->issuer_key_sha256, b->issuer_key_sha256, sizeof(a->issuer_key_sha256)) == 0;
}

double hs_test_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hs_test_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void hs_test_dir_remove(const char *dir)
{
    /* scandir rather than readdir: cppcheck flags readdir as non-reentrant, and the list is
     * small. */
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            char path[4096];
            int w = snprintf(path, sizeof(path), "%s/%s", dir, name);
            if (w > 0 && (size_t)w < sizeof(path)) {
                (void)unlink(path);
            }
        }
        free(names[i]);
    }
    free(names);
    (void)rmdir(dir);
}

size_t hs_test_curl_sink(char *p, size_t size, size_t nmemb, void *cls)
{
    char *out = cls;
    size_t have = strlen(out);
    size_t n = size * nmemb;
    if (have + n >= HS_TEST_CTL_MAX) {
        return 0;
    }
    memcpy(out + have, p, n);
    out[have + n] = '\0';
    return n;
}

json_object *hs_test_dynalite_ctl(const char *endpoint, const char *path, const char *header,
                                  const char *body)
{
    char url[512];
    static char answer[HS_TEST_CTL_MAX];
    answer[0] = '\0';
    int w = snprintf(url, sizeof(url), "%s%s", endpoint, path);
    CURL *h = curl_easy_init();
    if (w < 0 || (size_t)w >= sizeof(url) || h == NULL) {
        fprintf(stderr, "control %s: cannot make the request\n", path);
        abort();
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, hs_test_curl_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)answer);
    struct curl_slist *hdrs = header != NULL ? curl_slist_append(NULL, header) : NULL;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        fprintf(stderr, "control %s: %s\n", path, curl_easy_strerror(rc));
        abort();
    }
    return json_tokener_parse(answer);
}
