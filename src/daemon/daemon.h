/* softsad's shared state and the seams between its files.
 *
 * The daemon is split by concern (doc/softsad.md):
 *   softsad.c    options, start-up checks, the loop, shut-down
 *   policyset.c  loading the policy, SIGHUP/reload, the classifier, rule -> negotiation
 *                parameters (initiator and responder), explain
 *   dpfilter.c   policy -> dataplane negotiate filters
 *   dpio.c       the dataplane (dataplane/dataplane.h, any backend): its events -> agent
 *                (acquire, inbound clear), CHILD SAs (lifetimes), agent and engine
 *                (unknown SPIs); a round's end
 *   agentio.c    the agent's actions: packet verdicts, soft/blocked peers, negotiations
 *   ikeio.c      IKE datagrams and ICMP errors -> engine; its actions: send, outcomes, IKE
 *                SAs gone (peer-dead); CHILD SA traffic -> engine (liveness); flood events
 *   children.c   CHILD SAs: the engine's CHILD_UP -> dataplane SAs (both directions, one
 *                reqid), deleted, expired (soft -> rekey, hard -> delete), their traffic
 *                counters for liveness, `sas`
 *   events.c     one log line per event that matters, the control socket's event stream,
 *                and per-peer notes (rule, last outcome) for `peers` and `soft`
 *   commands.c   control socket commands
 *   policysrc.c  the directory policy source (--directory), and the policy's source in status
 *
 * This header names the cores' types only as incomplete structs, and negotiation parameters
 * cross from the policy side to the IKE side as ss_neg_params, so that no file but
 * policyset.c and ikeio.c depends on how either side spells them. */
#ifndef SS_DAEMON_DAEMON_H
#define SS_DAEMON_DAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"
#include "daemon/control.h"
#include "daemon/ikesock.h"
#include "daemon/loop.h"
#include "ike/outcome.h"
#include "ike/schedule.h"

#define SOFTSA_VERSION "0.1.0"

struct ss_policy;
struct ss_rule;
struct ss_classifier;
struct ss_agent;
struct ss_ike_engine;
struct ss_ike_child_info;
struct ss_dp;
struct ss_load_opts;
struct ss_load_error;
typedef struct dm_policysrc dm_policysrc;

/* ---- negotiation parameters: policy side -> IKE side ---- */

#define SS_NEG_MAX 8

typedef struct ss_neg_id {
	uint8_t type;      /* IKEv2 ID type (RFC 7296 §3.5); 0: the address of that side */
	uint8_t len;
	uint8_t data[255];
} ss_neg_id;

enum { SS_NEG_AUTH_PSK = 1, SS_NEG_AUTH_CERT = 2 };

#define SS_NEG_MAX_TS 4
typedef struct ss_neg_ts {
	ss_prefix local, remote;
	uint8_t proto;                /* 0: any */
} ss_neg_ts;

typedef struct ss_neg_params {
	ss_neg_id local_id, remote_id;
	bool any_remote_id;           /* responder before IKE_AUTH */
	uint8_t psk[128];
	size_t psk_len;
	/* The rule's authentication methods in order (SS_NEG_AUTH_*), and the
	 * credential of its first certificate method (owned by the policy, borrowed here). */
	uint8_t auth[4];
	size_t n_auth;
	struct ss_ike_cred *cred;
	struct { uint16_t encr, bits, integ, prf, dh; } ike[SS_NEG_MAX];
	size_t n_ike;
	struct { uint16_t encr, bits, integ, dh; } esp[SS_NEG_MAX];
	size_t n_esp;
	bool tunnel;
	/* Tunnel rules: the networks on each side (none: the two hosts). */
	ss_neg_ts ts[SS_NEG_MAX_TS];
	size_t n_ts;
	uint32_t ike_lifetime_s, child_lifetime_s;
	uint32_t dpd_delay_s;         /* liveness check after this much unanswered traffic; 0: none */
	uint64_t child_life_bytes;
	ss_retx_params retx;
	char rule[64];                /* for logs and events */
} ss_neg_params;

/* ---- CHILD SAs (children.c) ---- */

typedef struct dm_child {
	bool used;
	uint32_t ike_sa;
	uint32_t spi_in, spi_out;
	uint32_t reqid;               /* both directions in the dataplane */
	ss_addr local, remote;        /* outer (IKE) addresses */
	uint16_t lport, rport;        /* UDP encapsulation ports, 0 for plain ESP */
	bool installed;               /* both directions are in the dataplane */
	ss_time created;
	uint32_t lifetime_s;
	bool tunnel, initiator;
	char suite[48];
	char ts_local[64], ts_remote[64];
	uint64_t seen_in, seen_out;   /* packets already reported to the engine (liveness) */
} dm_child;

#define DM_MAX_CHILDREN 1024

typedef struct dm_children {
	dm_child c[DM_MAX_CHILDREN];
	size_t n_used;
	uint64_t gen;                 /* changes with every add and delete */
	uint32_t next_reqid;
} dm_children;

dm_child *dm_children_add(dm_children *t);
/* The newest installed CHILD SA between local and remote, or NULL. */
dm_child *dm_children_for_pair(dm_children *t, const ss_addr *local, const ss_addr *remote);
dm_child *dm_children_by_spi(dm_children *t, uint32_t spi_in, uint32_t spi_out);
dm_child *dm_children_by_reqid(dm_children *t, uint32_t reqid);
/* Forgets the entry (its dataplane SAs are the caller's to delete first). */
void dm_children_forget(dm_children *t, dm_child *c);

/* ---- IKE SAs the daemon started or answered (ikeio.c) ---- */

typedef struct dm_ikesa {
	bool used, established;
	bool deleting;                /* we asked the engine to delete it */
	uint32_t h;                   /* the engine's handle */
	ss_addr local, remote;
	ss_time created;
	uint32_t lifetime_s;
	char rule[64];
} dm_ikesa;

#define DM_MAX_IKESAS 1024

/* ---- per-peer notes (events.c) ---- */

typedef struct dm_peer_note {
	bool used;
	ss_addr local, remote;
	char rule[64];
	int last_outcome;             /* enum ss_ike_outcome, or -1 */
	char reason[80];
	char identity[256];           /* the peer's authenticated identity, from its last IKE SA */
	ss_time soft_until, soft_since;
	uint32_t soft_idle_s;
	ss_time touched;
} dm_peer_note;

#define DM_MAX_NOTES 4096

/* ---- the daemon ---- */

typedef struct daemon_opts {
	const char *policy_file, *builtin, *psk_file, *directory;
	const char *control_path, *state_dir, *tun_name;
	const char *dataplane;        /* user, kernel, auto */
	uint16_t ike_port, natt_port;
	uint32_t cookie_threshold, max_half_open, max_half_open_per_peer; /* IKE_SA_INIT flood */
} daemon_opts;

typedef struct dm_stats {
	uint64_t ike_in, ike_out, ike_send_err, icmp_in, ike_malformed, keepalives;
	uint64_t neg_started, neg_outcome[4];
	uint64_t soft_created, soft_expired, soft_upgraded;
	uint64_t rekeys_wanted;
	uint64_t unknown_spi;         /* the dataplane's UNKNOWN_SPI hints (rate-limited per sender) */
	uint64_t reloads, reload_failures;
} dm_stats;

typedef struct ss_daemon {
	daemon_opts o;
	ss_loop *loop;
	ss_ctl *ctl;
	ss_ikesock ike;
	int sigfd;
	ss_time started;
	bool stop;

	struct ss_policy *pol;
	struct ss_classifier *cls;
	void *cls_ctx;                /* what the agent classifies with (policyset.c) */
	struct ss_agent *agent;
	struct ss_ike_engine *eng;
	struct ss_dp *dp;
	dm_policysrc *src;            /* --directory: the policy comes from LDAP (policysrc.c) */

	dm_children children;
	dm_ikesa ikesas[DM_MAX_IKESAS];
	dm_peer_note notes[DM_MAX_NOTES];
	char state_path[512];
	ss_time state_due;            /* save the downgrade memory at this time */
	ss_time soft_synced;          /* last read of the soft associations' datapath counters */
	ss_time traffic_at;           /* next report of CHILD SA traffic to the engine */
	bool flood;                   /* the engine requires COOKIEs (event on each change) */
	dm_stats st;
} ss_daemon;

#define SUB "softsad"

/* policyset.c */
bool dm_policy_start(ss_daemon *d, char *err, size_t errlen);
/* SIGHUP / reload: false (old policy kept) with the FILE:LINE:COL message in err. */
bool dm_reload(ss_daemon *d, char *err, size_t errlen);
void dm_policy_stop(ss_daemon *d);
const char *dm_policy_name(const ss_daemon *d);
size_t dm_policy_rules(const ss_daemon *d);
void dm_neg_params_rule(const ss_daemon *d, const struct ss_rule *r, const ss_addr *local,
			const ss_addr *remote, ss_neg_params *out);
/* Responder: may we answer remote (init: its IKE_SA_INIT; else its IKE_AUTH with this ID)?
 * Fills out when yes. */
bool dm_neg_params_responder(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote,
			     const ss_neg_id *idi, ss_neg_params *out);
json_t *dm_explain(ss_daemon *d, json_t *req, const char **err);
/* The rule of a key as the agent sees it: a tunnel endpoint's pair is its tunnel rule's. */
struct ss_pkt_key;
struct ss_match;
bool dm_classify(const ss_daemon *d, const struct ss_pkt_key *k, struct ss_match *out);
/* The byte lifetime of the security method with this ESP suite in the rule covering the
 * pair (0: none); the engine negotiates seconds only. */
uint64_t dm_pair_life_bytes(ss_daemon *d, const ss_addr *local, const ss_addr *remote, uint16_t encr,
			    uint16_t bits, uint16_t integ);
void dm_state_save(ss_daemon *d, ss_time now);

/* policysrc.c: with --directory, fetched (or the cached last good version) before
 * dm_policy_start; the policy text load() uses; status' policy_source object. */
bool dm_policysrc_start(ss_daemon *d, char *err, size_t errlen);
struct ss_policy *dm_policysrc_load(const ss_daemon *d, const struct ss_load_opts *o, struct ss_load_error *e);
void dm_policysrc_stop(ss_daemon *d);
void dm_policysrc_status(ss_daemon *d, json_t *result);

/* dpfilter.c */
struct ss_dp_filter;
size_t dm_compile_filters(const struct ss_policy *p, struct ss_dp_filter *out, size_t max);

/* dpio.c */
/* One of the dataplane's descriptors is readable (fd -1: its timers).  Returns 0, or a
 * negative errno when the descriptor itself failed (e.g. the TUN was deleted). */
int dm_on_dp(ss_daemon *d, int fd, ss_time now);
/* Hands the dataplane's queued events to the agent and the CHILD SA table; returns how many. */
size_t dm_dp_drain(ss_daemon *d, ss_time now);
ss_time dm_dp_deadline(ss_daemon *d);
json_t *dm_dp_stats_json(ss_daemon *d);
json_t *dm_dp_info_json(ss_daemon *d);

/* agentio.c: the agent's actions, and the events that reach the agent from the IKE side. */
size_t dm_agent_drain(ss_daemon *d, ss_time now);
void dm_agent_attach(ss_daemon *d);
void dm_agent_outcome(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote,
		      enum ss_ike_outcome o, const char *reason);
void dm_agent_sa_down(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote);
/* The engine's SS_IKE_ACT_ANSWERED; false: no rule negotiates with the peer now. */
bool dm_agent_answered(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote);
void dm_agent_attempt(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t n);
/* ESP with an unknown SPI (agent.h: ss_agent_secures, ss_agent_esp_unknown). */
bool dm_agent_secures(ss_daemon *d, const ss_addr *local, const ss_addr *remote);
void dm_agent_esp_unknown(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote);
ss_time dm_agent_deadline(ss_daemon *d);
void dm_agent_timer(ss_daemon *d, ss_time now);
json_t *dm_peers_json(ss_daemon *d, ss_time now, bool soft_only);
size_t dm_flush_soft(ss_daemon *d, ss_time now);
void dm_agent_stats_json(ss_daemon *d, json_t *result);
/* Starts a negotiation for the rule that covers local -> remote (control `initiate`). */
bool dm_initiate_peer(ss_daemon *d, ss_time now, const ss_addr *remote);

/* ikeio.c */
bool dm_ike_start(ss_daemon *d, char *err, size_t errlen);
void dm_ike_stop(ss_daemon *d);
void dm_on_ike_socket(ss_loop *l, int fd, uint32_t events, void *ctx);
bool dm_neg_start(ss_daemon *d, ss_time now, const ss_addr *local, const ss_addr *remote,
		  const ss_neg_params *np);
/* Deletes every IKE SA with remote; returns how many. */
size_t dm_neg_stop(ss_daemon *d, ss_time now, const ss_addr *remote);
size_t dm_ike_drain(ss_daemon *d, ss_time now);
ss_time dm_ike_deadline(ss_daemon *d);
void dm_ike_timer(ss_daemon *d, ss_time now);
void dm_flood_watch(ss_daemon *d);
/* The answer to terminate, after the DELETEs went out: what is left with the peer. */
json_t *dm_terminate_json(ss_daemon *d, ss_time now, const ss_addr *remote, size_t n);
json_t *dm_sas_json(ss_daemon *d, ss_time now);
json_t *dm_ike_stats_json(ss_daemon *d);
dm_ikesa *dm_ikesa_find(ss_daemon *d, uint32_t h);
dm_ikesa *dm_ikesa_add(ss_daemon *d, uint32_t h, const ss_addr *local, const ss_addr *remote,
		       ss_time now, const char *rule);

/* children.c: CHILD SAs from the engine into the dataplane. */
void dm_child_up(ss_daemon *d, uint32_t ike_sa, const struct ss_ike_child_info *ci, ss_time now);
void dm_child_deleted(ss_daemon *d, uint32_t spi_in, uint32_t spi_out, ss_time now);
/* Every CHILD SA of IKE SA h goes (the IKE SA was deleted or replaced). */
void dm_children_of_ike_gone(ss_daemon *d, uint32_t h, const char *reason, ss_time now);
/* A dataplane lifetime event for the CHILD SA with this reqid: soft -> rekey (or say why
 * not), hard -> delete it and its IKE SA. */
void dm_child_expired(ss_daemon *d, uint32_t reqid, uint32_t spi, bool hard, uint8_t why, ss_time now);
json_t *dm_children_json(ss_daemon *d, uint32_t ike_sa, ss_time now);
/* Liveness: each CHILD SA's packets since the last call go to the engine (ss_ike_traffic). */
void dm_children_traffic(ss_daemon *d, ss_time now);

/* events.c */
void dm_event(ss_daemon *d, const char *name, const ss_addr *local, const ss_addr *remote, json_t *fields);
dm_peer_note *dm_note(ss_daemon *d, const ss_addr *local, const ss_addr *remote, bool create);
const char *dm_fmt(const ss_addr *a, char buf[SS_ADDR_STRLEN]);

/* Runs both sans-I/O cores until neither has an action left. */
void dm_drain(ss_daemon *d, ss_time now);

/* commands.c */
extern const ss_ctl_command dm_commands[];
extern const size_t dm_n_commands;

#endif
