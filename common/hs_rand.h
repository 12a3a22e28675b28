/*
 * hs_rand: random bytes for values that are public once used (request ids, JWT ids), from a
 * per-thread stock. A RAND_bytes call costs ~3 us whatever its size (OpenSSL's CTR-DRBG
 * reseeds its key after every generate call, NIST SP 800-90A §10.2.1.5), so a stock of
 * HS_RAND_STOCK bytes is filled by one call and handed out in pieces. The stock is tied to the
 * process id: a forked child refills before its first id and never repeats its parent's.
 *
 * Not for keys, nonces, salts or anything secret: bytes wait in the stock in ordinary memory.
 */
#ifndef HS_RAND_H
#define HS_RAND_H

#include <stddef.h>

#include "common/hs_err.h"

#define HS_RAND_STOCK 256   /* bytes per refill */
#define HS_RAND_TAKE_MAX 64 /* bytes one call may take */

/* Writes n (1..HS_RAND_TAKE_MAX) random bytes to out. Errors: HS_ERR_INTERNAL for n out of
 * range, HS_ERR_CRYPTO when RAND_bytes fails (nothing written; the next call tries again). */
HS_RESULT hs_rand_public(unsigned char *out, size_t n);

#endif /* HS_RAND_H */
