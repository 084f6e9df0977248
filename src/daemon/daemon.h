/* softsad's shared state and the seams between its files.
 *
 * The daemon is split by concern (doc/softsad.md):
 *   softsad.c    options, start-up checks, the loop, shut-down
 *   policyset.c  loading the policy, SIGHUP/reload, the classifier, rule -> negotiation
 *                parameters (initiator and responder), explain
 *   dpfilter.c   policy -> dataplane negotiate filters
 *   dpio.c       the dataplane (dataplane/dataplane.h, any backend): its descriptors and
 *                timers (its events go to the node), its counters
 *   agentio.c    the agent's side of the commands: `peers`, `soft`, `stats`, `initiate`,
 *                `flush-soft`; the downgrade memory's saves
 *   ikeio.c      the IKE sockets -> the node; the node's datagrams out; the policy as the
 *                node asks for it (ss_neg_params -> engine configuration); `sas`, IKE stats
 *   events.c     the node's events -> the control socket's event stream
 *
 * The glue between the agent, the IKE engine and the dataplane is the node (node/node.h),
 * which the simulator drives too; this daemon owns its sockets, clock and signals.
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
struct ss_node;
struct ss_node_event;
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
	bool udp_encap_always;        /* the rule's udp_encap: always (ESP in UDP without a NAT) */
	uint64_t child_life_bytes;
	ss_retx_params retx;
	char rule[64];                /* for logs and events */
} ss_neg_params;

/* ---- the daemon ---- */

typedef struct daemon_opts {
	const char *policy_file, *builtin, *psk_file, *directory;
	const char *control_path, *state_dir, *tun_name;
	const char *dataplane;        /* user, kernel, auto */
	uint16_t ike_port, natt_port;
	uint32_t cookie_threshold, max_half_open, max_half_open_per_peer; /* IKE_SA_INIT flood */
	uint32_t max_ike_sas;         /* the engine's bound on all IKE SAs (0: its default) */
} daemon_opts;

typedef struct dm_stats {
	uint64_t ike_in, ike_out, ike_send_err, icmp_in, ike_malformed, keepalives;
	uint64_t natt_gro;            /* UDP GRO reads on 4500: several ESP datagrams in one */
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
	struct ss_node *node;         /* the glue: owns the engine (eng is its) */
	dm_policysrc *src;            /* --directory: the policy comes from LDAP (policysrc.c) */

	char state_path[512];
	ss_time state_due;            /* save the downgrade memory at this time */
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
/* Responder: the parameters to answer remote with (init: its IKE_SA_INIT, which the agent
 * accepted already; else its IKE_AUTH with this ID); false when none apply. */
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
ss_time dm_dp_deadline(ss_daemon *d);
json_t *dm_dp_stats_json(ss_daemon *d);
/* What carries ESP, for the log and systemd's status: "TUN softsa0" or "kernel XFRM". */
const char *dm_dp_what(ss_daemon *d, char *buf, size_t len);
json_t *dm_dp_info_json(ss_daemon *d);

/* agentio.c */
void dm_agent_attach(ss_daemon *d);
ss_time dm_agent_deadline(ss_daemon *d);
void dm_agent_timer(ss_daemon *d, ss_time now);
json_t *dm_peers_json(ss_daemon *d, ss_time now, bool soft_only);
size_t dm_flush_soft(ss_daemon *d, ss_time now);
void dm_agent_stats_json(ss_daemon *d, json_t *result);
/* Starts a negotiation for the rule that covers local -> remote (control `initiate`). */
bool dm_initiate_peer(ss_daemon *d, ss_time now, const ss_addr *remote);

/* ikeio.c */
/* Creates the node (and its engine) over the open dataplane. */
bool dm_ike_start(ss_daemon *d, char *err, size_t errlen);
void dm_ike_stop(ss_daemon *d);
void dm_on_ike_socket(ss_loop *l, int fd, uint32_t events, void *ctx);
/* Deletes every IKE SA with remote; returns how many. */
size_t dm_neg_stop(ss_daemon *d, ss_time now, const ss_addr *remote);
/* The answer to terminate, after the DELETEs went out: what is left with the peer. */
json_t *dm_terminate_json(ss_daemon *d, ss_time now, const ss_addr *remote, size_t n);
json_t *dm_sas_json(ss_daemon *d, ss_time now);
json_t *dm_ike_stats_json(ss_daemon *d);

/* events.c */
void dm_event(ss_daemon *d, const char *name, const ss_addr *local, const ss_addr *remote, json_t *fields);
/* The node's event port. */
void dm_node_event(void *ctx, const struct ss_node_event *ev);
const char *dm_fmt(const ss_addr *a, char buf[SS_ADDR_STRLEN]);

/* Runs the node until nothing is left to do. */
void dm_drain(ss_daemon *d, ss_time now);

/* commands.c */
extern const ss_ctl_command dm_commands[];
extern const size_t dm_n_commands;

#endif
