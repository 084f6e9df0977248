/* IKEv2 message codec: parse (validate, then interpret) and build every payload.
 *
 * Parsing reads only through ss_cur; a parsed message borrows pointers into the caller's
 * buffer, which must outlive it.  Every rejection is logged "expected X, got Y" under the
 * "ike-codec" subsystem and counted in ss_ike_codec_stats.  The SK payload is not decrypted
 * here: the parser stops at it (it must be last, §3.14) and the engine decrypts its body and
 * parses the inner payloads with ss_ike_parse_payloads() into the same message. */
#ifndef SS_IKE_CODEC_H
#define SS_IKE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/cursor.h"
#include "ike/crypto.h"
#include "ike/wire.h"

/* Bounds that keep a parsed message a fixed-size struct (bounded memory per message). */
#define SS_IKE_MAX_PROPOSALS 16
#define SS_IKE_MAX_TRANSFORMS 48  /* excess transforms are ignored, not rejected */
#define SS_IKE_MAX_NOTIFIES 16
#define SS_IKE_MAX_TS 8
#define SS_IKE_MAX_DELETES 4
#define SS_IKE_MAX_SPI 8
#define SS_IKE_MAX_CERTS 8        /* CERT / CERTREQ payloads kept; more are counted, ignored */

typedef struct ss_ike_hdr {
	uint64_t spi_i, spi_r;
	uint8_t next_payload;
	uint8_t version;
	uint8_t exchange;
	uint8_t flags;
	uint32_t msg_id;
	uint32_t length;
} ss_ike_hdr;

typedef struct ss_ike_transform {
	uint8_t type;      /* enum ss_ike_transform_type */
	uint16_t id;
	uint16_t key_len;  /* bits, from the Key Length attribute; 0 when absent */
	bool unknown_attr; /* §3.3.6: a transform with an attribute we don't know is unusable */
} ss_ike_transform;

typedef struct ss_ike_proposal {
	uint8_t num;
	uint8_t proto;     /* enum ss_ike_proto */
	uint8_t spi_size;
	uint8_t spi[SS_IKE_MAX_SPI];
	uint8_t n_transforms;
	ss_ike_transform tr[SS_IKE_MAX_TRANSFORMS];
} ss_ike_proposal;

typedef struct ss_ike_sa_pl {
	uint8_t n;
	ss_ike_proposal prop[SS_IKE_MAX_PROPOSALS];
} ss_ike_sa_pl;

typedef struct ss_ike_bytes {
	const uint8_t *p;
	size_t len;
} ss_ike_bytes;

typedef struct ss_ike_ke_pl {
	uint16_t group;
	ss_ike_bytes data;
} ss_ike_ke_pl;

typedef struct ss_ike_id_pl {
	uint8_t type;          /* enum ss_ike_id_type */
	ss_ike_bytes data;     /* identification data */
	ss_ike_bytes body;     /* type + reserved + data: what §2.15 signs (RestOfInitIDPayload) */
} ss_ike_id_pl;

typedef struct ss_ike_auth_pl {
	uint8_t method;
	ss_ike_bytes data;
} ss_ike_auth_pl;

/* §3.6 CERT / §3.7 CERTREQ: an encoding and its data (a DER certificate, or SHA-1 hashes
 * of trust anchors' SubjectPublicKeyInfo). */
typedef struct ss_ike_cert_pl {
	uint8_t enc;           /* enum ss_ike_cert_enc */
	ss_ike_bytes data;
} ss_ike_cert_pl;

typedef struct ss_ike_notify_pl {
	uint8_t proto;
	uint8_t spi_size;
	uint16_t type;
	uint8_t spi[SS_IKE_MAX_SPI];
	ss_ike_bytes data;
} ss_ike_notify_pl;

typedef struct ss_ike_delete_pl {
	uint8_t proto;
	uint8_t spi_size;
	uint16_t n_spi;
	ss_ike_bytes spis;     /* n_spi * spi_size bytes */
} ss_ike_delete_pl;

typedef struct ss_ike_ts {
	uint8_t type;          /* enum ss_ike_ts_type */
	uint8_t ip_proto;      /* 0 = any */
	uint16_t port_start, port_end;
	ss_addr start, end;
} ss_ike_ts;

typedef struct ss_ike_ts_pl {
	uint8_t n;
	ss_ike_ts ts[SS_IKE_MAX_TS];
} ss_ike_ts_pl;

typedef struct ss_ike_sk_pl {
	uint8_t first_inner;   /* next-payload field of the SK header */
	size_t offset;         /* of the SK generic header within the message */
	ss_ike_bytes body;     /* IV || ciphertext || ICV */
} ss_ike_sk_pl;

/* Which unique payloads were seen, as bits (1u << (type - SS_PL_SA)). */
typedef uint32_t ss_ike_seen;

typedef struct ss_ike_msg {
	ss_ike_hdr hdr;
	ss_ike_seen seen;
	ss_ike_sa_pl sa;
	ss_ike_ke_pl ke;
	ss_ike_bytes nonce;
	ss_ike_id_pl idi, idr;
	ss_ike_auth_pl auth;
	ss_ike_ts_pl tsi, tsr;
	ss_ike_sk_pl sk;
	uint8_t n_notify;
	ss_ike_notify_pl notify[SS_IKE_MAX_NOTIFIES];
	uint8_t n_delete;
	ss_ike_delete_pl del[SS_IKE_MAX_DELETES];
	uint8_t n_cert, n_certreq, n_vendor, n_unknown;   /* counts of every one seen */
	ss_ike_cert_pl cert[SS_IKE_MAX_CERTS];      /* the first min(n, SS_IKE_MAX_CERTS) */
	ss_ike_cert_pl certreq[SS_IKE_MAX_CERTS];
	uint8_t n_cp, n_eap;
	/* Set when an unknown payload had the critical bit: the caller must answer
	 * UNSUPPORTED_CRITICAL_PAYLOAD with this type as data (§2.5) and process nothing. */
	uint8_t unsupported_critical;
} ss_ike_msg;

static inline bool ss_ike_has(const ss_ike_msg *m, uint8_t type)
{
	return type >= SS_PL_SA && type <= SS_PL_SK && (m->seen >> (type - SS_PL_SA) & 1);
}

/* Why a message was rejected; one counter per reason. */
enum ss_ike_codec_err {
	SS_CODEC_OK = 0,
	SS_CODEC_TRUNCATED,        /* fewer bytes than a header or length field says */
	SS_CODEC_BAD_LENGTH,       /* a length field inconsistent with its structure */
	SS_CODEC_BAD_VERSION,
	SS_CODEC_BAD_COUNT,        /* numbering or number of substructures wrong or above limits */
	SS_CODEC_BAD_VALUE,        /* a field with a value the RFC forbids */
	SS_CODEC_DUPLICATE,        /* a payload that must be unique appeared twice */
	SS_CODEC_CRITICAL,         /* unknown payload with the critical bit */
	SS_CODEC_SK_NOT_LAST,
	SS_CODEC_N_ERRS,
};

typedef struct ss_ike_codec_stats {
	uint64_t parsed;
	uint64_t rejected[SS_CODEC_N_ERRS];
	uint64_t unknown_skipped;  /* unknown, non-critical payloads ignored (§2.5) */
	uint64_t excess_ignored;   /* proposals/transforms/notifies beyond our fixed bounds */
} ss_ike_codec_stats;

const char *ss_ike_codec_err_name(enum ss_ike_codec_err e);
const char *ss_ike_payload_name(uint8_t type);
const char *ss_ike_exchange_name(uint8_t type);
const char *ss_ike_notify_name(uint16_t type);

/* Reads the fixed header and checks its length field against the datagram.  Returns the
 * cursor positioned after the header, covering exactly hdr.length bytes. */
enum ss_ike_codec_err ss_ike_parse_header(const uint8_t *p, size_t len, ss_ike_hdr *hdr,
					  ss_cur *rest, ss_ike_codec_stats *st);

/* Parses a chain of payloads starting with type `first` over the cursor into m (which may
 * already hold payloads from the outer chain: duplicates across both are rejected).
 * `base` is the message start, for recording the SK payload's offset. */
enum ss_ike_codec_err ss_ike_parse_payloads(ss_cur *c, uint8_t first, const uint8_t *base,
					    ss_ike_msg *m, ss_ike_codec_stats *st);

/* Header + outer payload chain in one call. m is zeroed first. */
enum ss_ike_codec_err ss_ike_parse(const uint8_t *p, size_t len, ss_ike_msg *m,
				   ss_ike_codec_stats *st);

/* Finds the first notify of a type, or NULL. */
const ss_ike_notify_pl *ss_ike_find_notify(const ss_ike_msg *m, uint16_t type);
/* The first notify whose type is an error (< 16384), or NULL. */
const ss_ike_notify_pl *ss_ike_first_error(const ss_ike_msg *m);

/* ---- Building ---------------------------------------------------------------------------
 * A writer lays payloads one after another and patches each previous next-payload field,
 * so callers only say what comes, in order.  Overflow is sticky (ss_buf). */
typedef struct ss_ike_writer {
	ss_buf b;
	size_t np_at;      /* offset of the next-payload byte to patch; SIZE_MAX if none */
	size_t len_at;     /* offset of the current payload's length field */
	size_t pl_start;
	uint8_t first;     /* first payload type, for inner (SK) chains */
	bool has_hdr;
} ss_ike_writer;

/* A message with header; hdr.length and next_payload are filled at finish. */
void ss_ikew_init(ss_ike_writer *w, void *buf, size_t cap, const ss_ike_hdr *hdr);
/* A bare payload chain (the plaintext of an SK payload). */
void ss_ikew_init_inner(ss_ike_writer *w, void *buf, size_t cap);
/* Starts a payload of the given type; ends with ss_ikew_end(). */
void ss_ikew_begin(ss_ike_writer *w, uint8_t type, bool critical);
void ss_ikew_end(ss_ike_writer *w);
/* Sets the header length; returns the message length or 0 on overflow. */
size_t ss_ikew_finish(ss_ike_writer *w);

void ss_ikew_sa(ss_ike_writer *w, const ss_ike_sa_pl *sa);
void ss_ikew_ke(ss_ike_writer *w, uint16_t group, const uint8_t *data, size_t len);
void ss_ikew_nonce(ss_ike_writer *w, const uint8_t *data, size_t len);
void ss_ikew_id(ss_ike_writer *w, uint8_t pl_type, uint8_t id_type, const uint8_t *data, size_t len);
void ss_ikew_auth(ss_ike_writer *w, uint8_t method, const uint8_t *data, size_t len);
void ss_ikew_notify(ss_ike_writer *w, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		    uint16_t type, const uint8_t *data, size_t len);
void ss_ikew_delete(ss_ike_writer *w, uint8_t proto, uint8_t spi_size, uint16_t n_spi,
		    const uint8_t *spis);
void ss_ikew_ts(ss_ike_writer *w, uint8_t pl_type, const ss_ike_ts_pl *ts);
void ss_ikew_vendor(ss_ike_writer *w, const uint8_t *data, size_t len);
void ss_ikew_cert(ss_ike_writer *w, uint8_t pl_type, uint8_t enc, const uint8_t *data, size_t len);
/* Raw payload of any type (tests: unknown payloads, critical bit). */
void ss_ikew_raw(ss_ike_writer *w, uint8_t type, bool critical, const uint8_t *data, size_t len);

/* Writes the header fields into 28 bytes (used when building SK messages by hand). */
void ss_ike_hdr_write(ss_buf *b, const ss_ike_hdr *h);

#endif
