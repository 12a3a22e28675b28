/*
 * hs_test_store: helpers shared by the inventory tests (st_conformance_test, st_sqlite_test,
 * st_dynamodb_test): a filled-in record, the record comparison, the clock, and the control
 * endpoints of the dynalite front that tests/dynamo/dynalite.sh starts.
 */
#ifndef HS_TEST_STORE_H
#define HS_TEST_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "common/hs_err.h"
#include "store/st_inventory.h"

/* Seconds since the epoch of every test record's notBefore (2023-11-14T22:13:20Z). */
#define HS_TEST_STORE_T0 1700000000

/* A GOOD x509 record for serial with every field set (a subject with an escaped comma and
 * quotes, two SANs, 30 days of validity, hashes that depend on serial[0], an issuer key hash
 * a0 a1 ... bf, so that the record is also a valid SSH one once its kind is set, when serial is
 * spelled as an SSH serial, st_ssh_serial_hex); calloc'ed, the
 * caller frees it with free() (or HS_DEFER(..., hs_test_record_freep)). Aborts on NOMEM. */
struct st_cert_record *hs_test_record_new(const char *serial);
void hs_test_record_freep(struct st_cert_record **r);

/* Whether every field of a and b is the same. */
bool hs_test_record_equal(const struct st_cert_record *a, const struct st_cert_record *b);

/* A monotonic clock in seconds; sleeps ms milliseconds (EINTR resumed). */
double hs_test_now_s(void);
void hs_test_sleep_ms(long ms);

/* Removes the files directly in dir, then dir itself (the stores' scratch directory; no
 * subdirectories). Failures are ignored: it runs at exit. */
void hs_test_dir_remove(const char *dir);

/* The bytes of an answer that libcurl's calls of the tests may keep: HS_TEST_CTL_MAX - 1 and a
 * NUL. */
#define HS_TEST_CTL_MAX (64 * 1024)

/* A CURLOPT_WRITEFUNCTION appending to the NUL-terminated string cls (HS_TEST_CTL_MAX bytes,
 * starting ""); an answer that would not fit fails the transfer (returns 0). */
size_t hs_test_curl_sink(char *p, size_t size, size_t nmemb, void *cls);

/* A control call to the dynalite front at endpoint (tests/dynamo/dynalite_server.js): GET path
 * when body is NULL, POST body otherwise, with one extra header line ("Name: value") unless
 * header is NULL; 2 s connect and 10 s total timeouts, answers up to 64 KiB. Returns the parsed
 * JSON answer (the caller puts it; NULL when it is not JSON); aborts when the call fails, as
 * the tests cannot go on without their stand-in. */
json_object *hs_test_dynalite_ctl(const char *endpoint, const char *path, const char *header,
                                  const char *body);

#endif /* HS_TEST_STORE_H */
