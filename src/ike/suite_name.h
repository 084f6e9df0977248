/* strongSwan-style proposal strings ("aes128gcm16-prfsha256-ecp256", "aes256-sha256-modp2048")
 * to and from suites, and the names strongSwan prints in `swanctl --list-sas`, so that
 * configurations, logs and interop tests speak the same language. */
#ifndef SS_IKE_SUITE_NAME_H
#define SS_IKE_SUITE_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "ike/crypto.h"

/* IKE: encryption, [integrity], [prf], dh; with CBC and no prf, the PRF follows the
 * integrity hash (as strongSwan does).  NULL on success, else what was wrong. */
const char *ss_ike_suite_parse(const char *s, ss_ike_suite *out);
/* ESP: encryption, [integrity], [dh for PFS]. */
const char *ss_esp_suite_parse(const char *s, ss_esp_suite *out);
/* "AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_256", as swanctl --list-sas prints an IKE SA. */
void ss_ike_suite_swan(const ss_ike_suite *s, char *buf, size_t len);
/* "AES_CBC-256/HMAC_SHA2_256_128", "AES_GCM_16-128", "AES_GCM_16-128/ECP_256" with PFS
 * (ESP:... in swanctl). */
void ss_esp_suite_swan(const ss_esp_suite *s, char *buf, size_t len);

#endif
