/*
 * key: a CA key generated on this token whose public half is written as a PEM
 * SubjectPublicKeyInfo, for the offline-root flow (docs/ceremony.md §3): the issuing key is
 * born on the production token, the file is carried to the root's ceremony, and an
 * intermediate step there certifies it with "public_key". Witnesses compare the spki_sha256 of
 * both transcripts.
 */
#include "common/hs_defer.h"
#include "keyceremony/internal.h"

HS_RESULT kc_plan_key(const struct kc_config *cfg)
{
    kc_plan_keygen(cfg, &cfg->key);
    kc_plan_line("write its public key (PEM SubjectPublicKeyInfo) to %s (new file, 0644)",
                 cfg->public_key_output);
    kc_plan_line("the transcript records its spki_sha256 for the certifying ceremony to compare");
    return HS_OK;
}

HS_RESULT kc_run_key(const struct kc_config *cfg)
{
    HS_DEFER(struct kc_session s = {0}, kc_session_close);
    HS_GUARD(kc_session_open(&cfg->token, &s));
    HS_DEFER(struct p11_key *key = NULL, p11_key_freep);
    HS_GUARD(kc_key_create(&s, &cfg->key, &key));
    HS_GUARD(kc_transcript(cfg, &s, &(struct kc_record){.key = key, .event = "key generated"}));
    HS_GUARD(kc_public_key_write(cfg->public_key_output, p11_key_get0_public(key)));
    return kc_transcript(cfg, &s,
                         &(struct kc_record){.key = key,
                                             .output = cfg->public_key_output,
                                             .event = "public key written"});
}
