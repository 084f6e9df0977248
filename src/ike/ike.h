/* The IKEv2 engine (RFC 7296), initiator and responder, sans-I/O.
 *
 * No socket and no clock inside: the caller feeds events with the current time
 * (ss_ike_input, ss_ike_timer, ss_ike_icmp, ss_ike_initiate), then drains actions with
 * ss_ike_next_action() (datagrams to send, CHILD SAs ready, SAs deleted, outcomes) and sleeps
 * until ss_ike_next_deadline().  Datagrams on UDP 4500 carry the 4-byte non-ESP marker
 * (RFC 3948 §2.2) both ways: the caller passes UDP payloads exactly as on the wire. */
#ifndef SS_IKE_IKE_H
#define SS_IKE_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"
#include "ike/cert.h"
#include "ike/codec.h"
#include "ike/crypto.h"
#include "ike/outcome.h"
#include "ike/schedule.h"

/* The longest pre-shared key a configuration holds (the policy loader refuses longer ones). */
#define SS_IKE_PSK_MAX 128

typedef struct ss_ike_endpoint {
	ss_addr addr;
	uint16_t port;
} ss_ike_endpoint;

/* An identity as carried in IDi/IDr (§3.5): IPv4, IPv6, FQDN or KEY_ID. */
typedef struct ss_ike_id {
	uint8_t type;       /* enum ss_ike_id_type */
	uint8_t len;
	uint8_t data[255];
} ss_ike_id;

ss_ike_id ss_ike_id_addr(const ss_addr *a);
ss_ike_id ss_ike_id_fqdn(const char *name);
ss_ike_id ss_ike_id_key(const void *key, size_t len);
bool ss_ike_id_eq(const ss_ike_id *a, const ss_ike_id *b);

#define SS_IKE_MAX_SUITES 8

enum ss_ike_mode { SS_MODE_TRANSPORT = 0, SS_MODE_TUNNEL = 1 };

/* Authentication methods a configuration may list, in preference order. */
#define SS_IKE_MAX_AUTH 4
enum ss_ike_auth_kind { SS_IKE_AUTH_PSK = 1, SS_IKE_AUTH_CERT = 2 };

/* What one side wants from a negotiation with one peer. */
typedef struct ss_ike_config {
	ss_ike_id local_id, remote_id;    /* remote_id.type 0: accept any identity */
	uint8_t psk[SS_IKE_PSK_MAX];
	size_t psk_len;
	/* Each side authenticates with the first method of its list that the peer can verify
	 * (a certificate once the peer asked for one with CERTREQ, a PSK when we hold one), and
	 * accepts from the peer any method of the list.  n_auth 0: the PSK alone.  With a
	 * certificate, our identity is its subject DN, and the peer's identity comes from its
	 * certificate (cred's peer_id pattern), not from local_id / remote_id. */
	uint8_t auth[SS_IKE_MAX_AUTH];    /* enum ss_ike_auth_kind */
	size_t n_auth;
	ss_ike_cred *cred;                /* SS_IKE_AUTH_CERT: the engine takes references */
	ss_ike_suite ike[SS_IKE_MAX_SUITES];  /* in preference order; ike[0].dh goes in the first KE */
	size_t n_ike;
	ss_esp_suite esp[SS_IKE_MAX_SUITES];  /* .dh is the PFS group of CREATE_CHILD_SA */
	size_t n_esp;
	enum ss_ike_mode mode;
	/* Traffic selectors; with n == 0 the local / remote host address, all protocols. */
	ss_ike_ts_pl ts_local, ts_remote;
	uint32_t ike_lifetime_s, child_lifetime_s;  /* 0: defaults (4 h, 1 h) */
	ss_retx_params retx;              /* first request (IKE_SA_INIT) */
	/* Liveness check (§2.4) once our protected traffic went unanswered this long; 0: none
	 * (default 30).  See ss_ike_traffic(). */
	uint32_t dpd_delay_s;
	/* ESP in UDP even without a NAT: our NAT_DETECTION_SOURCE_IP hash is made not to match
	 * (§2.23 lets a host pretend to be behind a NAT), so the peer floats to 4500 and puts
	 * the CHILD SAs in UDP, and so do we once the peer shows it does NAT-T (its own
	 * NAT_DETECTION notifies).  A peer without NAT-T keeps plain ESP. */
	bool udp_encap_always;
} ss_ike_config;

/* Fills defaults: retx default schedule, transport mode, lifetimes. */
void ss_ike_config_init(ss_ike_config *c);

/* Responder side: the configuration for a peer.  idi is NULL during IKE_SA_INIT (only the
 * IKE proposals are used then) and the peer's identity at IKE_AUTH.  NULL refuses the peer
 * (NO_PROPOSAL_CHOSEN at IKE_SA_INIT, AUTHENTICATION_FAILED at IKE_AUTH).  The result is
 * copied; it need not outlive the call. */
typedef const ss_ike_config *(*ss_ike_lookup_fn)(void *ctx, const ss_ike_endpoint *local,
						 const ss_ike_endpoint *remote, const ss_ike_id *idi);

typedef struct ss_ike_engine_params {
	ss_ike_lookup_fn lookup;
	void *lookup_ctx;
	uint32_t max_half_open;     /* IKE_SA_INIT requests beyond this are dropped (default 1000) */
	uint32_t cookie_threshold;  /* half-open SAs from which COOKIEs are required (default 50) */
	uint32_t half_open_timeout_ms; /* responder state without IKE_AUTH dies after (30 s) */
	uint32_t max_sas;           /* all IKE SAs (default 10000) */
	/* Under load (cookies asked), half-open SAs from one address beyond this are dropped,
	 * so that one return-routable host cannot take every half-open slot (default 20;
	 * 0: no per-address limit). */
	uint32_t max_half_open_per_peer;
	/* Unix seconds, for certificate and CRL validity (the only wall-clock time the engine
	 * needs); NULL: time(). */
	int64_t (*wall_clock)(void *ctx);
	void *wall_ctx;
	/* True when an inbound CHILD SA SPI is taken already (the caller's table of installed
	 * CHILD SAs); a new one is drawn then.  NULL: random SPIs unchecked. */
	bool (*spi_in_use)(void *ctx, uint32_t spi);
	void *spi_ctx;
} ss_ike_engine_params;

void ss_ike_engine_params_default(ss_ike_engine_params *p);

typedef struct ss_ike_engine ss_ike_engine;

ss_ike_engine *ss_ike_engine_new(const ss_ike_engine_params *p);
void ss_ike_engine_free(ss_ike_engine *e);

/* ---- Events in ---- */

/* Starts a negotiation toward remote; returns the IKE SA's handle (never 0), 0 on failure. */
uint32_t ss_ike_initiate(ss_ike_engine *e, const ss_ike_endpoint *local,
			 const ss_ike_endpoint *remote, const ss_ike_config *cfg, ss_time now);
void ss_ike_input(ss_ike_engine *e, const uint8_t *p, size_t len, const ss_ike_endpoint *local,
		  const ss_ike_endpoint *remote, ss_time now);
void ss_ike_timer(ss_ike_engine *e, ss_time now);
/* An ICMP error quoting one of our datagrams: the quoted UDP payload (after the UDP header,
 * with the non-ESP marker if it was sent on 4500).  Counted only when it carries our SPIi. */
void ss_ike_icmp(ss_ike_engine *e, const uint8_t *quoted, size_t len, ss_time now);
/* Deletes an established IKE SA (INFORMATIONAL with DELETE) and its CHILD SAs. */
bool ss_ike_delete(ss_ike_engine *e, uint32_t sa, ss_time now);
/* Forgets a negotiation that is not established yet (no message, no outcome): the caller
 * no longer wants it.  False when the SA is unknown or established (use ss_ike_delete). */
bool ss_ike_abandon(ss_ike_engine *e, uint32_t sa);
/* Starts a liveness check (empty INFORMATIONAL). */
bool ss_ike_dpd(ss_ike_engine *e, uint32_t sa, ss_time now);
/* Protected traffic of the IKE SA's CHILD SAs since the caller's last report (packets sent to
 * and received from the peer).  With its dpd_delay_s, drives the liveness checks: one goes
 * when traffic kept being sent (reported more than once, gaps under dpd_delay_s) and nothing
 * (ESP or IKE) came back for dpd_delay_s since the first of it. */
void ss_ike_traffic(ss_ike_engine *e, uint32_t sa, uint64_t sent, uint64_t received, ss_time now);
/* ESP arrived for an SPI we hold no SA for, from remote, whose address the caller's policy
 * secures (the caller checks that first).  Counted per peer; at most once per peer per
 * SS_IKE_UNKNOWN_GAP_MS, and at most SS_IKE_UNKNOWN_PER_S times a second in all (sources
 * are spoofable: each acted on costs an IKE negotiation and a notify), it returns true (the
 * caller may then negotiate with the peer) and, when no IKE SA with the peer is up, sends
 * the unprotected INVALID_SPI notify of §1.5. */
#define SS_IKE_UNKNOWN_GAP_MS 5000
#define SS_IKE_UNKNOWN_PER_S 10
bool ss_ike_esp_unknown(ss_ike_engine *e, const ss_ike_endpoint *local,
			const ss_ike_endpoint *remote, uint32_t spi, ss_time now);
/* ESP with unknown SPIs counted from this peer (0 once it is forgotten: the table keeps the
 * SS_IKE_UNKNOWN_PEERS most recent peers). */
uint64_t ss_ike_esp_unknown_count(const ss_ike_engine *e, const ss_addr *remote);
/* CREATE_CHILD_SA (§1.3) on an established IKE SA, one request at a time (window 1): false
 * when the SA is busy or unknown.  PFS when the config's first ESP suite has a DH group. */
bool ss_ike_create_child(ss_ike_engine *e, uint32_t sa, ss_time now);
/* Rekeys the CHILD SA with this inbound SPI (§1.3.3); the old one is deleted once the new one
 * is up (CHILD_UP with rekey_of, then CHILD_DELETED). */
bool ss_ike_rekey_child(ss_ike_engine *e, uint32_t sa, uint32_t spi_in, ss_time now);
/* Rekeys the IKE SA itself (§1.3.2, §2.18): new SPIs and keys, CHILD SAs carried over. */
bool ss_ike_rekey_ike(ss_ike_engine *e, uint32_t sa, ss_time now);

ss_time ss_ike_next_deadline(const ss_ike_engine *e);

/* ---- Actions out ---- */

enum ss_ike_action_kind {
	SS_IKE_ACT_SEND = 1,
	SS_IKE_ACT_CHILD_UP,       /* a CHILD SA to install */
	SS_IKE_ACT_CHILD_DELETED,  /* remove the CHILD SA with these SPIs */
	SS_IKE_ACT_IKE_DELETED,    /* the IKE SA is gone (with all its CHILD SAs); reason says why */
	/* How a negotiation ended: the initiator's always; as responder, SECURED, or
	 * PEER_REFUSED (with the notify we answered) when an IKE_AUTH request failed or its
	 * CHILD SA was refused.  A half-open responder SA that times out without IKE_AUTH
	 * reports no outcome (its IKE_SA_INIT may come from a forged address) but a TIMEOUT. */
	SS_IKE_ACT_OUTCOME,
	SS_IKE_ACT_IKE_REKEYED,    /* the IKE SA was rekeyed (same handle, new SPIs and keys) */
	/* Initiator: attempt n (1, 2, ...) of a negotiation is about to leave: the n-th
	 * IKE_SA_INIT request (first send, retransmission, or COOKIE / INVALID_KE retry), just
	 * before its SEND.  The agent shows it as negotiating(attempt n). */
	SS_IKE_ACT_ATTEMPT,
	/* The peer answered our IKE_SA_INIT (a parsable response, COOKIE, INVALID_KE, or an
	 * IKEv1 message quoting our SPIi) after its OUTCOME was already reported as silent or
	 * unreachable.  Such an outcome is provisional: the SA keeps listening until the full
	 * silent schedule ends (start + ss_retx_silent_decision()), because ICMP errors are
	 * unauthenticated and may have been forged.  The exchange goes on and reports its
	 * final OUTCOME later; the caller ends any soft association with the peer now. */
	SS_IKE_ACT_ANSWERED,
	/* A responder's negotiation ended for want of answers: the peer sent IKE_SA_INIT, then
	 * no IKE_AUTH came before the half-open limit (reason says so).  Unauthenticated (the
	 * IKE_SA_INIT may be forged): the caller decides what the pair becomes.  The SA is gone
	 * (without an IKE_DELETED: it never reported an outcome). */
	SS_IKE_ACT_TIMEOUT,
};

typedef struct ss_ike_child_info {
	uint32_t spi_in, spi_out;       /* host order */
	ss_esp_suite suite;
	ss_dir_keys key_in, key_out;
	ss_ike_ts_pl ts_local, ts_remote;
	enum ss_ike_mode mode;
	uint32_t lifetime_s;
	bool udp_encap;                 /* ESP in UDP (RFC 3948) between the ports below */
	ss_ike_endpoint local, remote;
	bool initiator;                 /* we initiated the exchange that made it */
	uint32_t rekey_of;              /* CHILD_UP: inbound SPI of the CHILD SA this replaces, or 0 */
} ss_ike_child_info;

typedef struct ss_ike_action {
	enum ss_ike_action_kind kind;
	uint32_t sa;                    /* IKE SA handle */
	ss_ike_endpoint local, remote;  /* SEND: from/to; others: the IKE SA's endpoints */
	const uint8_t *data;            /* SEND: valid until the next call into the engine */
	size_t len;
	ss_ike_child_info child;        /* CHILD_UP / CHILD_DELETED (SPIs only) */
	enum ss_ike_outcome outcome;    /* OUTCOME */
	uint16_t notify;                /* OUTCOME: the error notify behind a refusal, or 0 */
	const char *reason;             /* OUTCOME, IKE_DELETED, TIMEOUT: static text */
	uint32_t attempt;               /* ATTEMPT: n */
} ss_ike_action;

/* Pops the next action; false when none.  Key material in *out is wiped by the engine at
 * the next call (overwritten by the next action, or *out cleared when there is none); the
 * caller copies what it keeps. */
bool ss_ike_next_action(ss_ike_engine *e, ss_ike_action *out);

/* Counters, for `softsa stats` and tests. */
typedef struct ss_ike_stats {
	ss_ike_codec_stats codec;
	uint64_t rx, tx, retransmits, responses_resent;
	uint64_t dropped;               /* any input dropped: unknown SPI, bad state, ... */
	uint64_t unknown_spi;           /* of those, messages for no IKE SA we hold (not answered) */
	uint64_t dropped_auth;          /* SK payload failed integrity */
	/* IKE_SA_INIT flood defence (§2.6, ike_init.c admit()). */
	uint64_t cookies_sent, half_open_refused;
	uint64_t cookies_verified;      /* requests that echoed a valid COOKIE */
	uint64_t half_open_refused_peer;/* of half_open_refused, by max_half_open_per_peer */
	uint64_t half_open_expired;     /* half-open SAs that timed out without IKE_AUTH */
	uint64_t floods;                /* times COOKIEs began to be required */
	uint32_t half_open_peak;        /* most half-open SAs at once */
	bool cookies_required;          /* half_open reached cookie_threshold (until below half of it) */
	/* Liveness (ike_live.c). */
	uint64_t dpd_sent;              /* liveness checks sent */
	uint64_t dpd_failed;            /* IKE SAs deleted because a check went unanswered */
	uint64_t esp_unknown_spi;       /* ESP with unknown SPIs reported by the caller */
	uint64_t esp_unknown_limited;   /* of those, inside their peer's rate-limit gap */
	uint64_t invalid_spi_sent;      /* unprotected INVALID_SPI notifies sent */
	uint64_t invalid_spi_rx;        /* unprotected INVALID_SPI notifies received */
	uint64_t invalid_spi_ignored;   /* of those, naming no SPI of ours, or too soon */
	uint64_t icmp_counted, icmp_ignored;
	uint64_t late_answers;          /* ANSWERED: a real answer after an ICMP-based outcome */
	uint64_t ikev1_answers;         /* IKEv1 replies to our IKE_SA_INIT: peer-refused */
	uint64_t ikev1_other;           /* other IKEv1 messages (dropped) */
	uint64_t keepalives, keepalives_rx;  /* NAT keepalives sent / received (RFC 3948 §2.3) */
	uint64_t sa_established, sa_failed;
	uint64_t initial_contact_deleted;    /* older IKE SAs ended by a peer's INITIAL_CONTACT */
	uint32_t half_open, sas;
} ss_ike_stats;

const ss_ike_stats *ss_ike_get_stats(const ss_ike_engine *e);

/* How the peer of an IKE SA authenticated (once IKE_AUTH verified it). */
typedef struct ss_ike_peer_auth {
	uint8_t method;            /* its AUTH method (SS_AUTH_*), 0 before IKE_AUTH */
	uint8_t local_method;      /* ours */
	char id[256];              /* its identity: certificate subject, or the ID payload as text */
	ss_cert_info cert;         /* certificate methods: subject, issuer, validity */
} ss_ike_peer_auth;

/* Test/tool access to an IKE SA's negotiated state (NULL when no such SA). */
/* A request (other than IKE_SA_INIT) unanswered this long fails its IKE SA: sent at 0 and
 * again after 1, 2, 4, 8 s, given up 16 s after the last. */
#define SS_IKE_REQUEST_TIMEOUT_MS 31000

typedef struct ss_ike_sa_info {
	bool established, initiator, natt;
	ss_ike_peer_auth peer;
	bool deleting;                  /* our DELETE is out; CHILD SAs already gone */
	ss_time delete_until;           /* deleting: when we stop waiting for the answer */
	uint64_t spi_i, spi_r;
	ss_ike_suite suite;
	ss_ike_endpoint local, remote;
	const ss_ike_keys *keys;
} ss_ike_sa_info;
bool ss_ike_sa_get(const ss_ike_engine *e, uint32_t sa, ss_ike_sa_info *out);

#endif
