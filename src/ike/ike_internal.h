/* Engine internals shared by the ike_*.c files; not a public interface. */
#ifndef SS_IKE_INTERNAL_H
#define SS_IKE_INTERNAL_H

#include <string.h>

#include "ike/cert.h"
#include "ike/ike.h"
#include "ike/sa_table.h"

#define SUB "ike"
#define SS_IKE_NONCE_LEN 32
#define SS_IKE_BUF 8192    /* room for CERT payloads: a certificate and its chain */
#define SS_IKE_MAX_CHILD 4
#define SS_IKE_MAX_INIT_MSG 2048
/* How long a response stays cached for a retransmitted request: beyond the retransmission
 * schedules in use (ours gives up after 31 s; strongSwan's default sends its last
 * retransmission 90 s after the request).  After it, a request with that message ID is
 * dropped like any old one: an idle IKE SA holds no message at all. */
#define RESP_KEEP_MS 120000
/* A rekeyed IKE SA waits this long for the peer's DELETE (its retransmissions take ~31 s),
 * then goes silently: it holds no CHILD SA and no handle any more. */
#define REKEYED_LINGER_MS 60000
#define SS_IKE_UNKNOWN_PEERS 64  /* peers whose unknown-SPI ESP is counted and rate-limited */
#define COOKIE_ROTATE_MS (5 * 60 * 1000)   /* bounded memory per half-open SA: larger SA_INITs dropped */

/* §2 life of an IKE SA.  Transitions are the table in ike_sa.c; sa_set_state() refuses
 * anything else. */
enum ike_state {
	ST_INIT_SENT = 0,   /* initiator: IKE_SA_INIT request out */
	ST_AUTH_SENT,       /* initiator: IKE_AUTH request out */
	ST_HALF_OPEN,       /* responder: IKE_SA_INIT answered, waiting for IKE_AUTH */
	ST_ESTABLISHED,
	ST_DELETING,        /* our DELETE is out */
	ST_DEAD,            /* to be freed at the end of the current event */
	ST_COUNT,
};

/* What an outstanding request of ours is for, beyond its exchange type. */
enum ike_op {
	OP_NONE = 0,
	OP_NEW_CHILD,
	OP_REKEY_CHILD,
	OP_REKEY_IKE,
	OP_DELETE_CHILD,
	OP_DELETE_IKE,
	OP_DPD,
};

/* A CHILD SA once handed out: what rekeying, expiring and deleting it need, without its
 * keys, and its selectors in a right-sized array (ts[0 .. n_local) ours, then the
 * peer's), allocated per CHILD SA (child_new). */
typedef struct ike_child {
	uint32_t spi_in, spi_out;
	ss_time rekey_at, expire_at;
	ss_esp_suite suite;
	uint8_t mode;             /* enum ss_ike_mode */
	bool udp_encap, initiator;
	uint8_t n_local, n_remote;
	uint32_t lifetime_s, rekey_of;
	ss_ike_endpoint local, remote;
	ss_ike_ts ts[];
} ike_child;

/* The request we have outstanding (window 1) and the last response we sent. */
typedef struct ike_exchange {
	uint8_t *req;          /* exact bytes, resent bitwise identical */
	size_t req_len;
	uint8_t exch;
	uint32_t msg_id;
	bool first;            /* the IKE_SA_INIT request: scheduled by ss_retx */
	ss_retx retx;
	ss_time next;          /* other requests: next retransmission */
	uint32_t tries;
} ike_exchange;

typedef struct ike_sa {
	uint32_t handle;
	enum ike_state state;
	bool initiator;
	bool natt;             /* moved to 4500 */
	/* A NAT between us, as NAT_DETECTION told in IKE_SA_INIT: ESP goes in UDP (§2.23).  Not
	 * the same as natt: a peer may float to 4500 without a NAT (strongSwan does with MOBIKE)
	 * and then sends raw ESP, which an SA marked for UDP would not take. */
	bool nat;
	bool answered;         /* the peer said anything at all (for the outcome) */
	uint32_t attempts;     /* initiator: IKE_SA_INIT requests sent (ATTEMPT actions) */
	/* The peer's identity (its ID payload), once its AUTH verified: right-sized on the heap
	 * (sa_set_peer_id, sa_peer_id).  A rekey's successor carries it for display but is
	 * not peer_id_known (not in the identity index). */
	uint8_t peer_id_type;
	size_t peer_id_len;
	uint8_t *peer_id_data;
	bool peer_id_known;
	bool outcome_sent;
	/* Initiator: a silent/unreachable OUTCOME went out before the full silent schedule
	 * ended; the SA listens for a late answer until linger_until (SS_IKE_ACT_ANSWERED). */
	bool provisional;
	ss_time linger_until;
	bool half_open;        /* counted in stats.half_open (responder before IKE_AUTH) */
	uint64_t spi_i, spi_r;
	ss_ike_endpoint local, remote;
	ss_time created, expires;
	ss_ike_config *cfg;    /* shared copy (cfg_get); NULL for a half-open responder SA */

	ss_ike_suite suite;
	uint16_t ke_group;     /* group of our KE */
	ss_dh *dh;
	uint8_t *ni, *nr;      /* the nonces of IKE_SA_INIT (heap: the peer's may be 16..256) */
	size_t ni_len, nr_len;
	uint8_t *cookie;       /* initiator: cookie to echo */
	size_t cookie_len;
	uint32_t ke_retries;
	uint8_t *init_req, *init_resp;   /* IKE_SA_INIT messages, for AUTH (§2.15); freed once
					  * both AUTHs are done (sa_init_msgs_done) */
	size_t init_req_len, init_resp_len;

	/* Authentication (ike_cert.c): what the peer told us in IKE_SA_INIT / IKE_AUTH. */
	uint32_t peer_hashes;  /* RFC 7427 SIGNATURE_HASH_ALGORITHMS as a set; 0: none sent */
	bool peer_certreq;     /* the peer sent a CERTREQ: it can verify a certificate */
	/* How the peer authenticated (ss_ike_peer_auth without its fixed text buffers): its
	 * method and ours (0 before IKE_AUTH), its certificate's details (heap, certificate
	 * peers only; the text identity is its subject, else the ID payload's text). */
	uint8_t peer_method, local_method;
	ss_cert_info *peer_cert;

	ss_ike_keys keys;
	ss_sk sk_send, sk_recv;
	bool keyed;

	uint32_t my_msg_id;    /* next request we send */
	uint32_t peer_msg_id;  /* next request we expect */
	ike_exchange out;      /* outstanding request, if out.req */
	uint8_t *resp;         /* last response, resent on a retransmitted request, until */
	ss_time resp_until;    /* then freed: the peer stopped retransmitting (RESP_KEEP_MS) */
	size_t resp_len;
	uint32_t resp_id;
	bool has_resp;

	uint32_t child_spi;    /* our inbound SPI for the CHILD SA being negotiated */
	enum ike_op op;        /* what our outstanding request is about */
	uint32_t op_spi;       /* OP_REKEY_CHILD / OP_DELETE_CHILD: our inbound SPI of that child */
	uint8_t xn[SS_IKE_NONCE_LEN];  /* our nonce in the current CREATE_CHILD_SA exchange */
	size_t xn_len;
	uint64_t new_spi;      /* OP_REKEY_IKE: our SPI of the new IKE SA */
	bool rekeyed;          /* superseded by a new IKE SA: its children moved there */
	/* §2.8.1 CHILD rekey collision: the child we made answering the peer's rekey of the
	 * CHILD SA we were rekeying too, and the lower nonce of that exchange. */
	uint32_t coll_spi;
	uint8_t *coll_nonce;   /* heap, only once a collision happened */
	size_t coll_nonce_len;
	/* §2.8.2 IKE rekey collision: the successor we made answering the peer's rekey while
	 * ours was in flight (internal handle; it holds no CHILD SA until chosen), and the
	 * lower nonce of that exchange. */
	uint32_t ike_coll;
	uint8_t *ike_coll_nonce;
	size_t ike_coll_nonce_len;
	ss_time rekey_at;      /* when we rekey this IKE SA (we initiated it), else SS_NEVER */
	ss_time ike_expire_at; /* hard lifetime (100%, both sides): deleted if not rekeyed */
	ss_time keepalive_at;  /* next NAT keepalive when we are behind a NAT, else SS_NEVER */
	/* Liveness (ike_live.c): last time we heard from the peer (ESP or IKE), when our
	 * traffic started going unanswered (SS_NEVER: it did not), and an unauthenticated hint
	 * asking for a check (when, and the last one acted on). */
	ss_time heard_at, last_sent, unanswered_since, hint_at, hinted_at;
	const char *gone_reason;  /* why it died, for IKE_DELETED */
	ss_time delete_until;     /* ST_DELETING: when we give up waiting for the peer's answer */
	ike_child *child[SS_IKE_MAX_CHILD];  /* NULL: free slot */
	/* The table (sa_table.c, ike_table.c): every SA is in by_handle; by_spi once its SPIi
	 * is final (indexed); by_peer under its remote address and class; by_ident under its
	 * address and peer identity once that is authenticated; timer while it has a deadline. */
	ss_hnode by_spi, by_handle, by_peer, by_ident;
	uint8_t peer_class;    /* enum peer_class: its chain in by_peer */
	bool indexed;
	ss_tnode timer;
	/* Reached during the current event (any lookup, sa_new, a due timer): its deadline is
	 * recomputed, or it is freed if dead, when the event settles (sa_reap). */
	bool touched;
	struct ike_sa *tnext;
} ike_sa;

/* An SA's class in the peer index (ike_table.c). */
enum peer_class {
	PEER_INITIATOR = 0,
	PEER_HALF_OPEN,        /* responder before IKE_AUTH */
	PEER_RESPONDER,
	PEER_CLASSES,
};

/* The peer's identity as stored (all zero before it is known). */
static inline ss_ike_id sa_peer_id(const ike_sa *sa)
{
	ss_ike_id id = { .type = sa->peer_id_type };
	id.len = (uint8_t)(sa->peer_id_len < sizeof(id.data) ? sa->peer_id_len : sizeof(id.data));
	if (id.len)
		memcpy(id.data, sa->peer_id_data, id.len);
	return id;
}

/* Actions queue up until the caller drains them; a timer pass over many SAs can emit many
 * at once, so the queue grows (to a hard bound, beyond which actions are dropped, logged). */
#define ACT_INITIAL 32
#define ACT_MAX 65536

typedef struct ike_unknown_peer {
	ss_addr addr;
	uint64_t count;        /* 0: free slot */
	ss_time last_seen, notified_at;
} ike_unknown_peer;

typedef struct ike_act {
	ss_ike_action a;
	uint8_t *data;         /* owned copy of a SEND's bytes */
} ike_act;

struct ss_ike_engine {
	ss_ike_engine_params p;
	/* Constant-time lookups at any number of SAs: by SPIi (chosen by the initiator, so
	 * hashed with a secret seed), by handle, by peer address; deadlines in a heap. */
	ss_hmap by_spi, by_handle, by_peer, by_ident;
	ss_hmap configs;       /* interned configurations (ike_cert.c) */
	ss_theap timers;
	ike_sa *touched;       /* SAs reached in this event, linked by tnext */
	ike_sa **due;          /* ss_ike_timer's batch of due SAs */
	size_t due_cap;
	uint64_t next_seq;     /* birth order of SAs: the timer pass serves the newest first */
	uint64_t hash_seed;
	uint32_t next_handle;
	ike_act *act;          /* act[head .. head + n) are pending */
	size_t act_cap, act_head, act_n;
	uint8_t *prev_data;    /* data of the last popped SEND, freed at the next call */
	ss_ike_action prev;
	/* §2.6: cookies are <generation> | prf(secret, Ni | IPi | SPIi); the secret changes
	 * every COOKIE_ROTATE_MS and the previous one stays valid for one more period. */
	uint8_t cookie_secret[32], cookie_prev[32];
	uint8_t cookie_gen;
	ss_time cookie_since;
	ike_unknown_peer unknown[SS_IKE_UNKNOWN_PEERS];
	ss_time unknown_window;    /* start of the current second of unknown-SPI budget */
	uint32_t unknown_spent;    /* acted on in it (at most SS_IKE_UNKNOWN_PER_S) */
	ss_time now;           /* time of the datagram being handled (ss_ike_input) */
	ss_ike_stats st;
};

/* ike_engine.c */
void eng_begin(ss_ike_engine *e);   /* frees what the previous pop handed out */
void act_send(ss_ike_engine *e, ike_sa *sa, const ss_ike_endpoint *local,
	      const ss_ike_endpoint *remote, const uint8_t *p, size_t len);
/* A datagram as is, without the non-ESP marker (NAT keepalives). */
void act_keepalive(ss_ike_engine *e, ike_sa *sa, const ss_ike_endpoint *local,
		   const ss_ike_endpoint *remote, const uint8_t *p, size_t len);
void act_outcome(ss_ike_engine *e, ike_sa *sa, enum ss_ike_outcome o, uint16_t notify,
		 const char *reason);
void act_child(ss_ike_engine *e, ike_sa *sa, enum ss_ike_action_kind k, const ss_ike_child_info *c);
/* ike_contact.c: INITIAL_CONTACT (RFC 7296 §2.4).  Should our first IKE_AUTH to sa's peer
 * carry it (we hold no other IKE SA with that address)? */
bool contact_initial(const ss_ike_engine *e, const ike_sa *sa);
/* After sa authenticated its peer (peer_id set): if m carries INITIAL_CONTACT, the peer's
 * older IKE SAs with us are stale and go. */
void contact_received(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m);

/* Initiator: the next IKE_SA_INIT request is attempt n (SS_IKE_ACT_ATTEMPT). */
void act_attempt(ss_ike_engine *e, ike_sa *sa);
void act_ike_deleted(ss_ike_engine *e, ike_sa *sa);
/* SS_IKE_ACT_ANSWERED after a provisional outcome; the final outcome is reported later. */
void act_answered(ss_ike_engine *e, ike_sa *sa);
/* SS_IKE_ACT_TIMEOUT: a half-open responder SA gave up waiting for IKE_AUTH. */
void act_timeout(ss_ike_engine *e, ike_sa *sa, const char *reason);

/* ike_sa.c */
ike_sa *sa_new(ss_ike_engine *e, bool initiator, const ss_ike_endpoint *local,
	       const ss_ike_endpoint *remote, ss_time now);
/* The one function that changes an IKE SA's state.  False when the table refuses the move:
 * the state is unchanged and the caller must stop what the move was for (no keys used, no
 * CHILD SA reported, nothing sent). */
__attribute__((warn_unused_result)) bool sa_set_state(ike_sa *sa, enum ike_state to, const char *reason);
/* Everything may die: to ST_DEAD from any state (a no-op when already dead). */
void sa_kill(ike_sa *sa, const char *reason);
void sa_leave_half_open(ss_ike_engine *e, ike_sa *sa);
/* Enters the SA in the SPIi index once its spi_i is final. */
void sa_index(ss_ike_engine *e, ike_sa *sa);
void sa_unindex(ss_ike_engine *e, ike_sa *sa);
ike_sa *sa_find(ss_ike_engine *e, uint64_t spi_i, uint64_t spi_r);
ike_sa *sa_find_half(ss_ike_engine *e, uint64_t spi_i, const ss_ike_endpoint *remote);
ike_sa *sa_by_handle(ss_ike_engine *e, uint32_t h);
/* Read-only lookup for ss_ike_sa_get (the SA is not touched). */
const ike_sa *sa_peek_handle(const ss_ike_engine *e, uint32_t h);
/* SAs with this remote address (any port), each touched: o = NULL starts, NULL ends. */
ike_sa *sa_next_by_peer(ss_ike_engine *e, const ss_addr *remote, ike_sa *o);
/* The same for reading only (nothing touched). */
const ike_sa *sa_peek_by_peer(const ss_ike_engine *e, const ss_addr *remote, const ike_sa *o);
/* The same within one enum peer_class only. */
const ike_sa *sa_peek_class(const ss_ike_engine *e, const ss_addr *remote, uint8_t cls,
			    const ike_sa *o);
ike_sa *sa_next_class(ss_ike_engine *e, const ss_addr *remote, uint8_t cls, ike_sa *o);
/* Moves sa to the chain of its class after it changed (left half-open). */
void sa_reclass(ss_ike_engine *e, ike_sa *sa);
/* Enters sa under its address and peer identity (call once peer_id is set). */
void sa_index_ident(ss_ike_engine *e, ike_sa *sa);
/* SAs with this address and identity, each touched: o = NULL starts, NULL ends. */
ike_sa *sa_next_by_ident(ss_ike_engine *e, const ss_addr *remote, const ss_ike_id *id, ike_sa *o);
/* The SA reached its remote endpoint another way (NAT mapping): re-indexed by address. */
void sa_set_remote(ss_ike_engine *e, ike_sa *sa, const ss_ike_endpoint *remote);
/* A rekey's successor takes the handle of the SA it replaces, and the old one the other. */
void sa_swap_handles(ss_ike_engine *e, ike_sa *a, ike_sa *b);
/* Marks sa as reached in this event (see ike_sa.touched). */
void sa_touch(ss_ike_engine *e, ike_sa *sa);
/* Settles the event: every touched SA gets its deadline refreshed in the heap, or is freed
 * (its CHILD SAs and itself reported deleted) when dead. */
void sa_reap(ss_ike_engine *e);
/* The SAs due at now (deadline <= now), touched, newest first; *n of them in e->due. */
ike_sa **sa_due(ss_ike_engine *e, ss_time now, size_t *n);
/* Earliest deadline over the heap and the touched SAs not yet settled. */
ss_time sa_next_deadline(const ss_ike_engine *e);
void sa_table_init(ss_ike_engine *e);
/* Enters a new SA by handle and peer address (touched); false when out of memory. */
bool sa_table_add(ss_ike_engine *e, ike_sa *sa);
/* ike_sa.c: frees an SA that left the table, wiping its secrets. */
void sa_free(ss_ike_engine *e, ike_sa *sa);
/* Kills and frees every SA, then the table's arrays. */
void sa_table_free(ss_ike_engine *e);
void sa_fail(ss_ike_engine *e, ike_sa *sa, enum ss_ike_outcome o, uint16_t notify, const char *why);
bool sa_keys(ike_sa *sa, const uint8_t *peer_ke, size_t len, uint16_t *err_notify);
/* Sends a request (kept for retransmission) or a response (kept in the cache). */
void sa_send_request(ss_ike_engine *e, ike_sa *sa, const uint8_t *p, size_t len, uint8_t exch,
		     ss_time now);
void sa_send_response(ss_ike_engine *e, ike_sa *sa, const uint8_t *p, size_t len);
/* Seals an inner chain and sends it as our next request / as the response to the current one. */
bool sa_request(ss_ike_engine *e, ike_sa *sa, uint8_t exch, const ss_ike_writer *w, ss_time now);
void sa_respond(ss_ike_engine *e, ike_sa *sa, uint8_t exch, const ss_ike_writer *w);
uint64_t sa_new_spi(void);
/* Stores the peer's identity (right-sized); false when out of memory. */
bool sa_set_peer_id(ike_sa *sa, const ss_ike_id *id);
/* A heap copy of len bytes (NULL when out of memory); *p freed first, *plen set (0 on failure). */
bool sa_set_bytes(uint8_t **p, size_t *plen, const uint8_t *src, size_t len);
void sa_clear_request(ike_sa *sa);
/* Both AUTH payloads are computed and checked: the IKE_SA_INIT messages go. */
void sa_init_msgs_done(ike_sa *sa);
/* Protected message from an inner payload chain; returns the length, 0 on failure. */
size_t sa_seal(ike_sa *sa, uint8_t exch, bool response, uint32_t msg_id,
	       const ss_ike_writer *inner, uint8_t *out, size_t cap);
/* Decrypts m's SK payload (msg copied into scratch) and parses the inner chain into m. */
bool sa_open(ss_ike_engine *e, ike_sa *sa, const uint8_t *p, size_t len, ss_ike_msg *m,
	     uint8_t *scratch);
ss_ike_hdr sa_hdr(const ike_sa *sa, uint8_t exch, bool response, uint32_t msg_id);
void sa_timer(ss_ike_engine *e, ike_sa *sa, ss_time now);
ss_time sa_deadline(const ike_sa *sa);
uint32_t new_child_spi(const ss_ike_engine *e);

/* ike_proposal.c */
void prop_build_ike(ss_ike_sa_pl *sa, const ss_ike_suite *s, size_t n, const uint8_t *spi, uint8_t spi_size);
void prop_build_esp(ss_ike_sa_pl *sa, const ss_esp_suite *s, size_t n, uint32_t spi, bool with_dh);
/* Responder: first peer proposal (in the peer's order) equal to one of ours. */
/* ke_group: the group of the peer's KE, preferred among our matching suites. */
bool prop_select_ike(const ss_ike_sa_pl *peer, const ss_ike_suite *ours, size_t n,
		     uint16_t ke_group, ss_ike_suite *out, uint8_t *num);
bool prop_select_esp(const ss_ike_sa_pl *peer, const ss_esp_suite *ours, size_t n, bool ignore_dh,
		     ss_esp_suite *out, uint8_t *num, uint32_t *peer_spi);
/* Initiator: the responder's single proposal must be one we offered. */
bool prop_accept_ike(const ss_ike_sa_pl *peer, const ss_ike_suite *ours, size_t n, ss_ike_suite *out);
bool prop_accept_esp(const ss_ike_sa_pl *peer, const ss_esp_suite *ours, size_t n, bool ignore_dh,
		     ss_esp_suite *out, uint32_t *peer_spi);

/* ike_ts.c */
void ts_default(ss_ike_ts_pl *out, const ss_ike_ts_pl *cfg, const ss_addr *host);
/* Narrows ours to what the peer proposed: each of ours intersected with each of theirs. */
bool ts_narrow(const ss_ike_ts_pl *ours, const ss_ike_ts_pl *theirs, ss_ike_ts_pl *out);
/* Every selector of got lies inside one of ours. */
bool ts_subset(const ss_ike_ts_pl *got, const ss_ike_ts_pl *ours);

/* ike_nat.c: NAT_DETECTION_*_IP data = SHA-1(SPIi | SPIr | IP | port) (§2.23). */
bool nat_hash(uint64_t spi_i, uint64_t spi_r, const ss_ike_endpoint *ep, uint8_t out[20]);
void nat_add_notifies(ss_ike_writer *w, uint64_t spi_i, uint64_t spi_r,
		      const ss_ike_endpoint *local, const ss_ike_endpoint *remote, bool pretend);
/* Whether m carries both NAT_DETECTION notifies (the peer does NAT-T). */
bool nat_peer_does_natt(const ss_ike_msg *m);
/* True when the peer's hashes show a NAT on either side (or a peer faking one). */
bool nat_detected(const ss_ike_msg *m, const ss_ike_endpoint *local, const ss_ike_endpoint *remote,
		  bool *behind_nat);
#define SS_NATT_KEEPALIVE_MS 20000
void nat_keepalive_timer(ss_ike_engine *e, ike_sa *sa, ss_time now);

/* ike_init.c */
bool init_start(ss_ike_engine *e, ike_sa *sa, ss_time now);
void init_request_in(ss_ike_engine *e, const ss_ike_msg *m, const uint8_t *p, size_t len,
		     const ss_ike_endpoint *local, const ss_ike_endpoint *remote, ss_time now);
void init_version_reply(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *local,
			const ss_ike_endpoint *remote);
void init_response_in(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m, const uint8_t *p,
		      size_t len, ss_time now);
/* An IKEv1 message (RFC 2408 header: our SPIi as the initiator cookie) in answer to our
 * IKE_SA_INIT: the peer speaks IPsec, only not IKEv2. */
void init_ikev1_in(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *remote);

/* ike_id.c: an ID payload as an identity (data beyond 255 bytes cut). */
ss_ike_id id_of_payload(const ss_ike_id_pl *pl);

/* ike_cert.c: the authentication methods (PSK, certificates) on the engine's side */
bool cfg_allows(const ss_ike_config *c, uint8_t kind);
/* The engine's shared copy of a configuration (one reference taken; the copy references
 * its credential); NULL when out of memory.  cfg_share takes one more reference, cfg_put
 * drops one (NULL: nothing). */
ss_ike_config *cfg_get(ss_ike_engine *e, const ss_ike_config *c);
ss_ike_config *cfg_share(ss_ike_config *c);
void cfg_put(ss_ike_engine *e, ss_ike_config *c);
/* IKE_SA_INIT: SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4) when c lists a certificate; the
 * responder adds its CERTREQ (§3.7). */
void cert_init_payloads(ss_ike_writer *w, const ss_ike_config *c, bool responder);
/* sa_get's view of how the peer authenticated. */
void auth_peer_info(const ike_sa *sa, ss_ike_peer_auth *out);
/* Copies a rekeyed SA's record of its peer into its successor; false when out of memory. */
bool auth_peer_copy(ike_sa *to, const ike_sa *from);
/* Remembers what the peer's message says it can verify (hash algorithms, CERTREQ). */
void cert_note_peer(ike_sa *sa, const ss_ike_msg *m);
/* IKE_AUTH: our ID (IDi / IDr), CERTs, the initiator's CERTREQ and IDr, and AUTH, with the
 * first method the peer can use; NULL, or why it failed. */
const char *auth_write(ss_ike_engine *e, ike_sa *sa, ss_ike_writer *w);
/* Verifies the peer's AUTH (any method the configuration allows), fills sa->peer; NULL,
 * or why it failed. */
const char *auth_verify(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m, const ss_ike_id_pl *id);

/* ike_auth.c */
void auth_start(ss_ike_engine *e, ike_sa *sa, ss_time now);
void auth_request_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now);
void auth_response_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now);

void child_info(ike_sa *sa, const ss_child_keys *ck, bool exch_initiator, uint32_t spi_in,
		uint32_t spi_out, const ss_ike_ts_pl *tsl, const ss_ike_ts_pl *tsr, ss_ike_child_info *ci);
void child_up(ss_ike_engine *e, ike_sa *sa, ss_ike_child_info *ci, ss_time now);
/* Room to track one more CHILD SA (at most SS_IKE_MAX_CHILD per IKE SA). */
bool child_slot_free(const ike_sa *sa);
void ike_lifetime_start(ike_sa *sa, ss_time now);
void our_ts(const ike_sa *sa, ss_ike_ts_pl *local, ss_ike_ts_pl *remote);
int nonce_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);
/* Negotiates a CHILD SA as responder; 0 or the error notify to answer with. */
uint16_t child_select(ike_sa *sa, const ss_ike_msg *m, bool ignore_dh, ss_esp_suite *es,
		      uint8_t *num, uint32_t *peer_spi, ss_ike_ts_pl *ni, ss_ike_ts_pl *nr);

/* ike_child.c: CREATE_CHILD_SA both ways */
void child_request_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now);
void child_response_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now);
ike_child *child_by_spi_in(ike_sa *sa, uint32_t spi);
ike_child *child_by_spi_out(ike_sa *sa, uint32_t spi);
/* The CHILD SA as the caller saw it at CHILD_UP, keys zero; its selectors alone. */
void child_info_of(const ike_child *c, ss_ike_child_info *out);
void child_ts(const ike_child *c, ss_ike_ts_pl *local, ss_ike_ts_pl *remote);
/* Reports c deleted (CHILD_DELETED) and frees its slot. */
void child_gone(ss_ike_engine *e, ike_sa *sa, ike_child *c);
/* Frees every CHILD SA record of sa (nothing reported). */
void child_free_all(ike_sa *sa);
/* Sends INFORMATIONAL DELETE for one of our CHILD SAs (op OP_DELETE_CHILD). */
bool child_send_delete(ss_ike_engine *e, ike_sa *sa, uint32_t spi_in, ss_time now);
/* Lifetimes of an established, idle SA: starts at most one rekey or delete that is due. */
void lifetime_timer(ss_ike_engine *e, ike_sa *sa, ss_time now);
ss_time lifetime_deadline(const ike_sa *sa);

/* §2.8.2: the peer deletes the old IKE SA while our colliding rekey is unanswered (its
 * answer was lost or is late): the peer's rekey won; its successor takes over. */
void ike_coll_peer_won(ss_ike_engine *e, ike_sa *sa, ss_time now);

/* ike_live.c */
void live_init(ike_sa *sa, ss_time now);
void live_heard(ike_sa *sa, ss_time now);
/* Sends a liveness check that is due; true when it did. */
bool live_timer(ss_ike_engine *e, ike_sa *sa, ss_time now);
ss_time live_deadline(const ike_sa *sa);
/* An unprotected INVALID_SPI (true: it was one, handled). */
bool live_invalid_spi_in(ss_ike_engine *e, const ss_ike_msg *m, const ss_ike_endpoint *remote,
			 ss_time now);

/* ike_info.c */
void info_request_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now);
void info_response_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now);
bool ss_ike_delete_sa(ss_ike_engine *e, ike_sa *sa, ss_time now);

#endif
