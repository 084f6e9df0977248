/* The node: the glue between the policy agent (agent/agent.h), the IKE engine (ike/ike.h)
 * and the dataplane (dataplane/dataplane.h), sans-I/O.  softsad and the simulator drive this
 * same code (doc/architecture.md, "The node").
 *
 * In: IKE datagrams and ICMP errors (ss_node_ike_input, ss_node_icmp), the dataplane's events
 * (acquires, inbound clear notices, SA lifetimes, unknown SPIs: read from the dataplane by
 * ss_node_run after the driver's ss_dp_process), control commands (ss_node_terminate, and the
 * agent's own entry points followed by ss_node_run), and the time ("now" on every call;
 * ss_node_timer at ss_node_deadline).
 * Out, through the ports given at creation, which never call back into the node:
 *   - IKE datagrams to send (ss_node_io.send);
 *   - dataplane calls (the ss_dp interface: verdicts on packets, peer states, SAs in and
 *     out, counters; the simulator supplies its own backend);
 *   - events for the monitor (ss_node_io.event: one per change an operator follows);
 * and its next deadline.  Log lines are written where the change is decided, in words.
 *
 * What the node decides, and neither core does: which negotiation parameters a rule means
 * (through the policy port), that an IKE_SA_INIT from a peer is answered only when the agent
 * agrees, that a CHILD SA is both directions in the dataplane under one reqid and the peer
 * secured there, that the agent's pair goes back to idle when the last CHILD SA with the
 * peer goes, that an ended responder negotiation (the engine's TIMEOUT) puts the pair back
 * where the unproven IKE_SA_INIT found it when nothing else negotiates with it, that a soft lifetime rekeys and a hard one deletes,
 * that traffic counters feed the engine's liveness checks, and that an old IKE SA that went
 * unanswered while the peer has a newer one is no dead peer. */
#ifndef SS_NODE_NODE_H
#define SS_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"
#include "ike/ike.h"

struct ss_agent;
struct ss_rule;
struct ss_dp;

/* ---- ports ---- */

/* The policy, as the node needs it.  Each call fills out (which the node wipes after use:
 * it holds a PSK). */
typedef struct ss_node_policy {
	void *ctx;
	/* The configuration of a negotiation the agent starts under rule (NULL: the Default
	 * Response rule) from local to remote; rule_name gets the rule's name for logs. */
	bool (*initiator)(void *ctx, const struct ss_rule *rule, const ss_addr *local, const ss_addr *remote,
			  ss_ike_config *out, char rule_name[64]);
	/* The responder's configuration for a peer (idi NULL: its IKE_SA_INIT, which the agent
	 * accepted already; else its IKE_AUTH with this identity). */
	bool (*responder)(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote, const ss_ike_id *idi,
			  ss_ike_config *out);
	/* The byte lifetime of a CHILD SA with this ESP suite between the pair (0: none); the
	 * engine negotiates seconds only.  NULL: none. */
	uint64_t (*life_bytes)(void *ctx, const ss_addr *local, const ss_addr *remote, const ss_esp_suite *s);
} ss_node_policy;

enum ss_node_event_kind {
	SS_NE_NEG_STARTED = 1, /* rule */
	SS_NE_NEG_ENDED,       /* outcome, reason */
	SS_NE_LATE_ANSWER,
	SS_NE_SOFT_CREATED,    /* rule, n: idle expiry in s */
	SS_NE_SOFT_EXPIRED,
	SS_NE_SOFT_UPGRADED,
	SS_NE_PEER_BLOCKED,    /* n: for s */
	SS_NE_PEER_DEAD,       /* reason, rule */
	SS_NE_SA_UP,           /* spi_in, spi_out, suite, tunnel */
	SS_NE_SA_DOWN,         /* spi_in, spi_out, reason */
	SS_NE_UNKNOWN_SPI,     /* spi_in: the SPI, n: count from the peer */
	SS_NE_IKE_FLOOD,       /* flood_on and the engine's counters */
};

typedef struct ss_node_event {
	enum ss_node_event_kind kind;
	ss_addr local, remote;   /* family 0: none */
	const char *rule, *reason, *suite; /* never NULL */
	int outcome;             /* NEG_ENDED: enum ss_ike_outcome, -1: our responder gave up */
	uint32_t spi_in, spi_out;
	bool tunnel;
	uint64_t n;
	bool flood_on;
	uint64_t half_open, half_open_peak, cookies_sent, half_open_refused;
} ss_node_event;

/* The event stream's name of each kind (doc/control.md, Events). */
const char *ss_node_event_name(enum ss_node_event_kind k);

typedef struct ss_node_io {
	void *ctx;
	void (*send)(void *ctx, const ss_ike_endpoint *local, const ss_ike_endpoint *remote, const uint8_t *p,
		     size_t len);
	void (*event)(void *ctx, const ss_node_event *ev);
} ss_node_io;

typedef struct ss_node_params {
	ss_node_policy pol;
	ss_node_io io;
	struct ss_dp *dp;
	ss_ike_engine_params engine;  /* lookup is the node's own */
	uint16_t ike_port, natt_port;
	/* CHILD SA counters go to the engine's liveness checks this often; 0: on every
	 * ss_node_run (the simulator, for exact virtual times). */
	ss_time traffic_every_ms;
	const char *log_sub;          /* log subsystem (default "node") */
} ss_node_params;

void ss_node_params_default(ss_node_params *p);

typedef struct ss_node ss_node;

/* NULL on allocation failure.  The node owns its IKE engine; the agent is the caller's
 * (ss_node_attach_agent, before any event). */
ss_node *ss_node_new(const ss_node_params *p);
void ss_node_free(ss_node *n);
void ss_node_attach_agent(ss_node *n, struct ss_agent *ag);
ss_ike_engine *ss_node_engine(ss_node *n);

/* ---- events in ---- */

void ss_node_ike_input(ss_node *n, const uint8_t *p, size_t len, const ss_ike_endpoint *local,
		       const ss_ike_endpoint *remote, ss_time now);
void ss_node_icmp(ss_node *n, const uint8_t *quoted, size_t len, ss_time now);
/* Runs the agent, the engine and the dataplane's queued events until none has anything
 * left (after the driver fed any of them directly, e.g. ss_dp_process, ss_agent_initiate). */
void ss_node_run(ss_node *n, ss_time now);
ss_time ss_node_deadline(ss_node *n);
void ss_node_timer(ss_node *n, ss_time now);
/* Deletes every IKE SA with remote (`softsa terminate`); returns how many. */
size_t ss_node_terminate(ss_node *n, ss_time now, const ss_addr *remote);
/* Reads the soft associations' idle times from the dataplane now (at most every 250 ms). */
void ss_node_soft_sync(ss_node *n, ss_time now);

/* ---- what the node keeps, for introspection ---- */

/* The node's tables grow with what they hold (no fixed limit) and are indexed by hash: by
 * IKE SA handle, by (local, remote) pair, by CHILD SA inbound SPI, reqid and IKE SA; notes by
 * pair.  No event walks every entry (node_table.c). */

typedef struct ss_node_ikesa {
	bool established;
	bool deleting;                /* we asked the engine to delete it */
	uint32_t h;                   /* the engine's handle */
	ss_addr local, remote;
	ss_time created;
	uint32_t lifetime_s;
	char rule[64];
} ss_node_ikesa;

typedef struct ss_node_child {
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
} ss_node_child;

/* Per-peer notes the agent does not keep (for `peers` and `soft`). */
typedef struct ss_node_note {
	ss_addr local, remote;
	char rule[64];
	int last_outcome;             /* enum ss_ike_outcome, or -1 */
	char reason[80];
	char identity[256];           /* the peer's authenticated identity, from its last IKE SA */
	ss_time soft_until, soft_since;
	uint32_t soft_idle_s;
	ss_time touched;
} ss_node_note;

/* Notes are only for display: beyond this many, the one touched longest ago gives way. */
#define SS_NODE_MAX_NOTES 262144

typedef struct ss_node_stats {
	uint64_t neg_started, neg_outcome[4];
	uint64_t soft_created, soft_expired, soft_upgraded;
	uint64_t rekeys_wanted;
	uint64_t unknown_spi;         /* the dataplane's UNKNOWN_SPI hints (rate-limited per sender) */
	uint64_t responder_timeouts;  /* the engine's TIMEOUTs handed to the agent (responder gave up) */
	uint64_t table_full;          /* IKE or CHILD SAs refused: no memory for the node's record */
} ss_node_stats;

/* Every IKE SA the node follows, as ss_node_ikesa_at(n, 0 .. count - 1): positions change
 * when one goes (the last moves into its place), so walk them between two calls into the
 * node only. */
size_t ss_node_n_ikesas(const ss_node *n);
const ss_node_ikesa *ss_node_ikesa_at(const ss_node *n, size_t i);
/* NULL when the node does not follow this handle. */
const ss_node_ikesa *ss_node_ikesa_get(const ss_node *n, uint32_t h);
/* The IKE SAs with remote (any local address), handed to fn one by one. */
void ss_node_each_ikesa_with(const ss_node *n, const ss_addr *remote,
			     void (*fn)(void *ctx, const ss_node_ikesa *s), void *ctx);
/* The same for CHILD SAs, all of them. */
size_t ss_node_n_children(const ss_node *n);
const ss_node_child *ss_node_child_at(const ss_node *n, size_t i);
/* The CHILD SAs of IKE SA h: first, then next until NULL. */
const ss_node_child *ss_node_child_first(const ss_node *n, uint32_t h);
const ss_node_child *ss_node_child_next(const ss_node_child *c);
/* A CHILD SA with remote (any local address). */
bool ss_node_has_children_with(const ss_node *n, const ss_addr *remote);
size_t ss_node_n_notes(const ss_node *n);
/* NULL when none (and create false, or no local given; or no memory). */
ss_node_note *ss_node_note_get(ss_node *n, const ss_addr *local, const ss_addr *remote, bool create);
const ss_node_stats *ss_node_get_stats(const ss_node *n);

#endif
