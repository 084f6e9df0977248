/* Every IKEv2 wire constant in one place (RFC 7296 unless noted; IANA "IKEv2 Parameters").
 * Numbers only: the codec (codec.h) gives them structure, the engine gives them meaning. */
#ifndef SS_IKE_WIRE_H
#define SS_IKE_WIRE_H

#include <stdint.h>

#include "base/iana.h"    /* SS_ENCR_*, SS_PRF_*, SS_INTEG_*, SS_DH_*, SS_ID_* */
#include "ike/crypto.h"

/* §3.1: the fixed header. */
enum {
	SS_IKE_HDR_LEN = 28,
	SS_IKE_VERSION = 0x20,        /* major 2, minor 0 */
	SS_IKE_GEN_HDR_LEN = 4,       /* §3.2 generic payload header */
	SS_IKE_PORT = 500,
	SS_IKE_NATT_PORT = 4500,      /* RFC 3948 §2.2: IKE on 4500 starts with a zero marker */
	SS_IKE_NON_ESP_MARKER_LEN = 4,
	SS_IKE_MAX_MSG = 65535,
};

/* §3.1 header flags. */
enum ss_ike_flag {
	SS_IKE_FLAG_INITIATOR = 0x08,
	SS_IKE_FLAG_VERSION = 0x10,
	SS_IKE_FLAG_RESPONSE = 0x20,
};

/* §3.1 exchange types. */
enum ss_ike_exchange {
	SS_IKE_SA_INIT = 34,
	SS_IKE_AUTH = 35,
	SS_IKE_CREATE_CHILD_SA = 36,
	SS_IKE_INFORMATIONAL = 37,
};

/* §3.2 payload types; 0 means "no next payload". */
enum ss_ike_payload {
	SS_PL_NONE = 0,
	SS_PL_SA = 33,        /* §3.3 */
	SS_PL_KE = 34,        /* §3.4 */
	SS_PL_IDI = 35,       /* §3.5 */
	SS_PL_IDR = 36,
	SS_PL_CERT = 37,      /* §3.6 */
	SS_PL_CERTREQ = 38,   /* §3.7 */
	SS_PL_AUTH = 39,      /* §3.8 */
	SS_PL_NONCE = 40,     /* §3.9 */
	SS_PL_NOTIFY = 41,    /* §3.10 */
	SS_PL_DELETE = 42,    /* §3.11 */
	SS_PL_VENDOR = 43,    /* §3.12 */
	SS_PL_TSI = 44,       /* §3.13 */
	SS_PL_TSR = 45,
	SS_PL_SK = 46,        /* §3.14 */
	SS_PL_CP = 47,        /* §3.15 */
	SS_PL_EAP = 48,       /* §3.16 */
	SS_PL_SKF = 53,       /* RFC 7383 fragments */
};
#define SS_PL_CRITICAL 0x80   /* §3.2 critical bit in the generic header's second byte */

/* §3.3.1 protocol IDs in proposals, notifies and deletes. */
enum ss_ike_proto {
	SS_PROTO_NONE = 0,
	SS_PROTO_IKE = 1,
	SS_PROTO_AH = 2,
	SS_PROTO_ESP = 3,
};

/* §3.3.2 transform types. */
enum ss_ike_transform_type {
	SS_TR_ENCR = 1,
	SS_TR_PRF = 2,
	SS_TR_INTEG = 3,
	SS_TR_DH = 4,
	SS_TR_ESN = 5,
};

/* §3.3.2 transform IDs of types 1-4 (ENCR, PRF, INTEG, DH) that we implement are declared
 * once, beside their descriptors, in ike/crypto.h (SS_ENCR_*, SS_PRF_*, SS_INTEG_*, SS_DH_*,
 * same IANA numbers); here only the ones we recognise but do not implement. */
enum {
	SS_ENCR_AES_GCM_8 = 18,           /* RFC 5282 */
	SS_ENCR_AES_GCM_12 = 19,
	SS_PRF_HMAC_SHA1 = 2,             /* RFC 2104; not offered */
	SS_INTEG_HMAC_SHA1_96 = 2,        /* RFC 2404; not offered */
};

/* Type 5. */
enum ss_ike_esn { SS_ESN_NO = 0, SS_ESN_YES = 1 };

/* §3.3.5 transform attributes: only Key Length exists, in TV form (AF bit set). */
enum {
	SS_ATTR_AF = 0x8000,
	SS_ATTR_KEY_LENGTH = 14,
};

/* §3.3.1 / §3.3.2: "last" / "more" markers of proposal and transform substructures. */
enum { SS_SUB_LAST = 0, SS_SUB_MORE_TRANSFORM = 3, SS_SUB_MORE_PROPOSAL = 2 };

/* §3.5 identification types: base/iana.h. */

/* §3.8 authentication methods. */
enum ss_ike_auth_method {
	SS_AUTH_RSA_SIG = 1,
	SS_AUTH_PSK = 2,      /* "Shared Key Message Integrity Code" */
	SS_AUTH_DSS_SIG = 3,
	SS_AUTH_DIGITAL_SIG = 14, /* RFC 7427 */
};

/* §3.6 certificate encodings (only carried and counted; PSK is all we authenticate with). */
enum ss_ike_cert_enc { SS_CERT_X509_SIG = 4 };

/* §3.10.1 notify message types: errors below 16384, status from 16384. */
enum ss_ike_notify {
	SS_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	SS_N_INVALID_IKE_SPI = 4,
	SS_N_INVALID_MAJOR_VERSION = 5,
	SS_N_INVALID_SYNTAX = 7,
	SS_N_INVALID_MESSAGE_ID = 9,
	SS_N_INVALID_SPI = 11,
	SS_N_NO_PROPOSAL_CHOSEN = 14,
	SS_N_INVALID_KE_PAYLOAD = 17,
	SS_N_AUTHENTICATION_FAILED = 24,
	SS_N_SINGLE_PAIR_REQUIRED = 34,
	SS_N_NO_ADDITIONAL_SAS = 35,
	SS_N_INTERNAL_ADDRESS_FAILURE = 36,
	SS_N_FAILED_CP_REQUIRED = 37,
	SS_N_TS_UNACCEPTABLE = 38,
	SS_N_INVALID_SELECTORS = 39,
	SS_N_TEMPORARY_FAILURE = 43,
	SS_N_CHILD_SA_NOT_FOUND = 44,
	SS_N_ERROR_MAX = 16383,

	SS_N_INITIAL_CONTACT = 16384,
	SS_N_SET_WINDOW_SIZE = 16385,
	SS_N_ADDITIONAL_TS_POSSIBLE = 16386,
	SS_N_IPCOMP_SUPPORTED = 16387,
	SS_N_NAT_DETECTION_SOURCE_IP = 16388,
	SS_N_NAT_DETECTION_DESTINATION_IP = 16389,
	SS_N_COOKIE = 16390,
	SS_N_USE_TRANSPORT_MODE = 16391,
	SS_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
	SS_N_REKEY_SA = 16393,
	SS_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	SS_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	SS_N_MOBIKE_SUPPORTED = 16396,           /* RFC 4555 */
	SS_N_MULTIPLE_AUTH_SUPPORTED = 16404,    /* RFC 4739 */
	SS_N_EAP_ONLY_AUTHENTICATION = 16417,    /* RFC 5998 */
	SS_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430, /* RFC 7383 */
	SS_N_SIGNATURE_HASH_ALGORITHMS = 16431,  /* RFC 7427 */
};

/* §3.13.1 traffic selector types. */
enum ss_ike_ts_type {
	SS_TS_IPV4_ADDR_RANGE = 7,
	SS_TS_IPV6_ADDR_RANGE = 8,
};

/* §2.15: the pad string of the PSK AUTH computation. */
#define SS_IKE_PSK_PAD "Key Pad for IKEv2"

#endif
