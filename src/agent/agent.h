/* The policy agent: for every (local, remote) address pair, decides what each packet gets —
 * clear, drop, hold, or ESP — and owns soft associations (KB Q234580): when a peer never
 * answers IKE and the filter action allows it, traffic with it goes in the clear for a
 * bounded idle time.
 *
 * Sans-I/O: no sockets, no clock, no packet bytes.  The caller feeds events with "now"
 * (ss_time, milliseconds), drains the actions they produce (ss_agent_pop), and calls
 * ss_agent_timer() at ss_agent_deadline().  A packet is known only by its 5-tuple, its
 * length and an opaque handle the caller chooses; a held packet is that handle and length,
 * which the agent later hands back in a release or drop action, in arrival order.
 *
 * Association states (transition table in assoc.c; every change goes through one function
 * that refuses illegal moves and logs `old -> new (reason)`):
 *   idle         no decision; a fresh entry, or one about to be freed
 *   negotiating  IKE under way (attempt n, as reported by the engine)
 *   secured      an SA is up: traffic is ESP, clear packets from the peer are dropped
 *   soft         the peer never answered IKE and the rule allows clear: traffic is clear
 *                until the association sits idle for the rule's soft_idle_lifetime
 *   blocked      negotiation failed and clear is not allowed: everything dropped for a
 *                back-off, then the entry is freed and the next packet negotiates again */
#ifndef SS_AGENT_AGENT_H
#define SS_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"
#include "ike/outcome.h"
#include "policy/classify.h"
#include "policy/policy.h"

enum ss_assoc_state {
	SS_AS_IDLE = 0,
	SS_AS_NEGOTIATING,
	SS_AS_SECURED,
	SS_AS_SOFT,
	SS_AS_BLOCKED,
	SS_AS_COUNT
};

const char *ss_assoc_state_name(unsigned s);

enum ss_agent_action_kind {
	SS_AA_PASS_CLEAR = 1,   /* packet: send (outbound) or accept (inbound) in the clear */
	SS_AA_DROP,             /* packet: drop it (reason says why) */
	SS_AA_HOLD,             /* packet: keep it; a RELEASE_* or DROP with its handle follows */
	SS_AA_RELEASE_CLEAR,    /* held packet: send it in the clear now */
	SS_AA_RELEASE_SA,       /* held packet: encrypt it with the pair's SA and send it now */
	SS_AA_ENCRYPT,          /* packet: encrypt with the pair's SA */
	SS_AA_START_NEGOTIATION,/* ask the IKE engine to negotiate with remote (rule given) */
	SS_AA_STOP_NEGOTIATION, /* abandon the negotiation / delete the SAs with remote */
	SS_AA_SOFT_CREATE,      /* install a soft association (security: none) for the pair */
	SS_AA_SOFT_REFRESH,     /* traffic used it: push its idle expiry out */
	SS_AA_SOFT_EXPIRE,      /* remove it */
	SS_AA_BLOCK,            /* drop everything with the pair until `until` */
	SS_AA_UNBLOCK,          /* the back-off is over */
};

const char *ss_agent_action_name(unsigned k);

enum ss_drop_reason {
	SS_DROP_NONE = 0,
	SS_DROP_RULE_BLOCK,       /* the matching filter action is block */
	SS_DROP_NO_CLEAR,         /* the rule does not allow clear with this peer */
	SS_DROP_CLEAR_FROM_SECURE,/* clear packet from a peer we have (or are building) an SA with */
	SS_DROP_BLOCKED,          /* the pair is blocked after a failed negotiation */
	SS_DROP_HELD_OVERFLOW,    /* the per-peer or global hold limit (bytes) was reached */
	SS_DROP_HELD_FAILED,      /* was held; negotiation failed and clear is not allowed */
	SS_DROP_TABLE_FULL,       /* no room for a new association */
	SS_DROP_HELD_EXPIRED,     /* held longer than the negotiation schedule (held_max_age) */
	SS_DROP_REASON_COUNT
};

const char *ss_drop_reason_name(unsigned r);

typedef struct ss_agent_action {
	uint8_t kind;        /* enum ss_agent_action_kind */
	uint8_t reason;      /* enum ss_drop_reason, for DROP */
	uint8_t dir;         /* enum ss_dir of the packet, for packet actions */
	ss_addr local, remote;
	uint64_t handle;     /* packet actions */
	uint32_t len;
	const ss_rule *rule; /* START_NEGOTIATION: the rule to negotiate for (NULL: default response) */
	ss_time until;       /* BLOCK: end of the back-off; SOFT_*: expiry */
} ss_agent_action;

/* How the agent sees the policy: the model and a classifier over it.  The function has the
 * shape of ss_classify() so that the daemon passes that (with the ss_classifier as ctx);
 * tests may pass a naive one.  Both must stay valid until the next reload. */
typedef bool (*ss_agent_classify_fn)(const void *ctx, const ss_pkt_key *k, ss_match *out);

typedef struct ss_agent_policy {
	const ss_policy *policy;
	ss_agent_classify_fn classify;
	const void *ctx;
} ss_agent_policy;

/* The usual one: the model and its compiled classifier (policy/classify.h). */
ss_agent_policy ss_agent_policy_compiled(const ss_policy *p, const ss_classifier *c);

/* What one held packet costs against the hold limits beyond its own bytes: the agent's node
 * and the caller's per-packet bookkeeping (softsad's is under 64 bytes), so that a flood of
 * tiny packets is bounded as well as one of large ones. */
#define SS_AGENT_HELD_OVERHEAD 64u

typedef struct ss_agent_config {
	/* Held packets are bounded by bytes (length + SS_AGENT_HELD_OVERHEAD each), per peer and
	 * in all, and by age.  1 MiB per peer holds 100 pps of 1400-byte packets over the 3 s of
	 * a silent peer's schedule with room to spare. */
	uint32_t max_held_bytes_per_peer; /* default 1 MiB */
	uint32_t max_held_bytes_total;    /* default 16 MiB */
	uint32_t held_max_age_ms;         /* 0 (default): the policy's silent decision + 1 s */
	uint32_t max_assocs;           /* default 4M: bound against floods of spoofed sources */
	uint32_t max_remembered;       /* peers in the downgrade memory; default 65536 */
	uint32_t block_ms;             /* back-off after a failed negotiation; default 60 s */
	uint32_t negotiate_timeout_ms; /* watchdog if the engine never reports; default 120 s */
} ss_agent_config;

void ss_agent_config_default(ss_agent_config *c);

typedef struct ss_agent_stats {
	uint64_t decisions;
	uint64_t dropped[SS_DROP_REASON_COUNT];
	uint64_t held, held_overflow, released_clear, released_sa, held_dropped;
	uint64_t held_expired;                  /* dropped for age (also in dropped[]) */
	uint64_t negotiations, soft_created, soft_expired, blocked, secured;
	uint64_t soft_upgraded;                 /* soft peers that started IKE themselves */
	uint64_t soft_ended_late_answer;        /* of those, soft after ICMP, then IKE answered */
	uint64_t esp_unknown_negotiations;      /* negotiations started by ESP with unknown SPIs */
	uint64_t responder_gave_up;             /* peers' IKE_SA_INITs never followed by IKE_AUTH */
	uint64_t outcomes[SS_IKE_PEER_REFUSED + 1]; /* by enum ss_ike_outcome */
	uint64_t illegal_transitions, stale_outcomes, watchdog_fired;
	uint32_t assocs, held_now, remembered;
	uint64_t held_bytes_now;                /* as charged: length + overhead per packet */
	uint64_t held_bytes_max;                /* high-water mark of held_bytes_now */
	uint64_t remembered_bytes; /* part of ss_agent_memory() that is the downgrade memory */
	uint64_t remembered_updates; /* grows whenever the downgrade memory changes: the
				      * daemon saves the state file when it moved (rate-limited) */
} ss_agent_stats;

typedef struct ss_agent ss_agent;

/* NULL on allocation failure.  cfg may be NULL for the defaults. */
ss_agent *ss_agent_new(const ss_agent_config *cfg, const ss_agent_policy *pol);
void ss_agent_free(ss_agent *ag);

/* Events.  Packet keys carry the direction: for SS_DIR_OUT, src is local; for SS_DIR_IN,
 * dst is local.  Each packet event produces exactly one action with its handle (PASS_CLEAR,
 * DROP, HOLD or ENCRYPT), possibly with others. */
void ss_agent_outbound(ss_agent *ag, ss_time now, const ss_pkt_key *k, uint32_t len, uint64_t handle);
void ss_agent_inbound_clear(ss_agent *ag, ss_time now, const ss_pkt_key *k, uint32_t len, uint64_t handle);
/* A peer started IKE toward local.  Returns true if the engine should answer it (a rule
 * asks for security with that peer, or the Default Response rule), false to ignore it. */
bool ss_agent_ike_start(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote);
/* Negotiate with remote now, as its first outbound packet would make us, but without a packet
 * (the control socket's `initiate`): START_NEGOTIATION and nothing held.  False when no
 * negotiate rule covers local -> remote, or the pair is not idle. */
bool ss_agent_initiate(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote);
/* The peer answered our IKE_SA_INIT after an outcome of silent or unreachable was
 * reported (the engine's SS_IKE_ACT_ANSWERED: ICMP errors may be forged, so that outcome was
 * provisional).  The peer speaks IKE: a soft association with it ends now (SOFT_EXPIRE;
 * its clear packets are dropped from now on), a blocked one is lifted, and the pair is
 * negotiating again until the engine reports the final outcome.  False when no rule
 * negotiates with the peer any more (the caller abandons the exchange). */
bool ss_agent_peer_answered(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote);
/* Our half-open responder SA for the pair gave up: the peer's IKE_SA_INIT had no IKE_AUTH
 * after it (the engine's SS_IKE_ACT_TIMEOUT), and no other negotiation of ours with the
 * pair is running (the caller checks).  An IKE_SA_INIT proves nothing (anyone can forge its
 * source), so the pair returns to where it found the pair: soft again, blocked again, or
 * idle (negotiating itself if packets of ours are held); it does not count as having
 * spoken IKE.  Ignored unless the pair is negotiating. */
void ss_agent_responder_gave_up(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote);
/* Does the policy secure remote (a negotiate rule, or the Default Response rule), judged on
 * addresses alone?  No side effects. */
bool ss_agent_secures(const ss_agent *ag, const ss_addr *local, const ss_addr *remote);
/* ESP for an SPI we hold no SA for came from remote, and the caller's rate limit let it
 * through (the IKE engine's ss_ike_esp_unknown): an idle pair under a negotiate rule
 * negotiates (START_NEGOTIATION), so that a peer that lost its SAs (it restarted) gets new
 * ones at once.  It is unauthenticated: nothing else changes. */
void ss_agent_esp_unknown(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote);
/* The engine sent attempt n of its first request (informational: negotiating(attempt n)). */
void ss_agent_attempt(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t n);
void ss_agent_outcome(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote,
		      enum ss_ike_outcome o);
/* The engine deleted or expired the pair's SAs: the association returns to idle. */
void ss_agent_sa_down(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote);
/* Does what is due at now, at most a batch (1024 expiries) per call so that the action
 * queue stays small: drain the actions, and if ss_agent_deadline() is still <= now, call
 * again. */
void ss_agent_timer(ss_agent *ag, ss_time now);
/* A new policy: every association is re-classified; those whose rule changed are
 * re-evaluated so that none stays in a state the new policy forbids.  The old policy must
 * stay valid until this returns. */
void ss_agent_reload(ss_agent *ag, ss_time now, const ss_agent_policy *pol);

/* What the datapath saw of a soft association's traffic (both directions; its packets do
 * not reach the agent): idle_ms since the last packet, packets and bytes so far.  Moves its
 * idle expiry out accordingly; ignored unless the pair is soft. */
void ss_agent_soft_seen(ss_agent *ag, ss_time now, const ss_addr *local, const ss_addr *remote,
			ss_time idle_ms, uint64_t packets, uint64_t bytes);

/* Ends every soft association now (SOFT_EXPIRE each; the next packet negotiates again).
 * Returns how many. */
size_t ss_agent_flush_soft(ss_agent *ag, ss_time now);
/* Earliest time ss_agent_timer() has something to do, or SS_NEVER. */
ss_time ss_agent_deadline(const ss_agent *ag);
/* Next pending action, oldest first; false when none. */
bool ss_agent_pop(ss_agent *ag, ss_agent_action *out);

/* Introspection. */
bool ss_agent_state(const ss_agent *ag, const ss_addr *local, const ss_addr *remote,
		    enum ss_assoc_state *st, uint32_t *attempt);
void ss_agent_get_stats(const ss_agent *ag, ss_agent_stats *st);
/* Bytes of heap the agent uses now (tables, pools, pending actions). */
size_t ss_agent_memory(const ss_agent *ag);
/* Size of one association record (for the 256-byte budget). */
size_t ss_agent_assoc_size(void);

/* One association as monitoring sees it (the control socket's `peers` and `soft`). */
typedef struct ss_agent_assoc_info {
	ss_addr local, remote;
	enum ss_assoc_state state;
	uint32_t attempt;      /* negotiating: IKE_SA_INIT attempts sent so far */
	ss_time since;         /* entered its state */
	ss_time last_used;     /* last packet (secured, soft) */
	ss_time expires;       /* soft: idle expiry; blocked: end of back-off; else SS_NEVER */
	uint32_t held;
	uint32_t held_bytes;   /* as charged against the limits */
	uint64_t packets, bytes; /* soft: traffic the datapath counted (ss_agent_soft_seen) */
	uint32_t idle_lifetime_s; /* soft: the rule's soft_idle_lifetime */
	const ss_rule *rule;   /* NULL: answered through the Default Response rule */
	int last_outcome;      /* enum ss_ike_outcome of the last negotiation, or -1 */
	const char *reason;    /* why it entered its state (static text) */
} ss_agent_assoc_info;

/* The association of a pair; false (and *out untouched) when there is none (idle). */
bool ss_agent_get(const ss_agent *ag, const ss_addr *local, const ss_addr *remote, ss_agent_assoc_info *out);
/* Calls fn for every association. */
typedef void (*ss_agent_assoc_fn)(void *ctx, const ss_agent_assoc_info *a);
void ss_agent_each(const ss_agent *ag, ss_agent_assoc_fn fn, void *ctx);

/* Called on every state change, after it is made (for monitors and the simulator). */
typedef void (*ss_agent_observer)(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote,
				  enum ss_assoc_state from, enum ss_assoc_state to, uint32_t attempt,
				  const char *reason);
void ss_agent_set_observer(ss_agent *ag, ss_agent_observer fn, void *ctx);

/* Downgrade memory: peers that completed IKE, with how long ago (ms).  Export calls fn for
 * every peer still inside the policy's downgrade_protection window; import adds one (used to
 * restore the memory after a restart, see statefile.h). */
typedef void (*ss_agent_peer_fn)(void *ctx, const ss_addr *remote, ss_time age_ms);
void ss_agent_remembered_each(ss_agent *ag, ss_time now, ss_agent_peer_fn fn, void *ctx);
void ss_agent_remember(ss_agent *ag, ss_time now, const ss_addr *remote, ss_time age_ms);
bool ss_agent_is_remembered(ss_agent *ag, ss_time now, const ss_addr *remote);

#endif
