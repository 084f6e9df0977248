/* A deterministic network simulator: a virtual clock, hosts, links with delay and loss, and
 * an event queue.  Hosts either run the real policy agent (src/agent) with a negotiator
 * behind negotiator.h (the stand-in, or the real IKEv2 engine), or are legacy hosts without IKE that answer UDP 500 with ICMP port
 * unreachable or drop it silently.  Everything that crosses the wire is counted per ordered
 * pair of hosts and kind, and (optionally) logged with its time. */
#ifndef SS_SIM_SIM_H
#define SS_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"
#include "negotiator.h"
#include "simpol.h"

#define SIM_MAX_HOSTS 64

/* LEGACY_IKEV1: speaks IKEv1 only (Windows 2000/XP): answers any UDP 500 datagram with an
 * ISAKMP Informational, INVALID-MAJOR-VERSION, quoting its first 8 octets as the initiator
 * cookie (RFC 2408 §3.1, §3.14.1). */
enum sim_kind { SIM_HOST_AGENT = 0, SIM_HOST_LEGACY_ICMP, SIM_HOST_LEGACY_SILENT, SIM_HOST_LEGACY_IKEV1 };
enum sim_wire { SIM_W_CLEAR = 0, SIM_W_IKE, SIM_W_ESP, SIM_W_ICMP, SIM_W_COUNT };

typedef struct sim sim;

typedef struct sim_transition {
	ss_time at;
	int host, peer; /* host indices; peer -1 if the address is no simulated host */
	uint8_t from, to;
	uint32_t attempt;
	char reason[48];
} sim_transition;

typedef struct sim_wire_rec {
	ss_time at;
	uint8_t src, dst, kind;
} sim_wire_rec;

typedef struct sim_host {
	sim *s;
	int idx;
	char name[16];
	ss_addr addr;
	uint8_t kind; /* enum sim_kind */
	sim_policy *pol;      /* agent hosts: owned */
	char cred[32];
	ss_agent *agent;
	const sim_negotiator_ops *nops;
	void *neg;
	struct sim_node *node;  /* nops == &sim_engine_ops: the node (simnode.h) instead of neg */
	ss_time timer_at;     /* the one pending timer event, or SS_NEVER */
	uint32_t held_out;    /* packets the agent is holding for us */
	uint64_t dropped[SS_DROP_REASON_COUNT]; /* summed over restarts */
	uint64_t held_overflow;
	uint64_t lost_on_restart;
	uint64_t esp_no_sa;
	char state_path[256];
	uint64_t saved_updates; /* remembered_updates at the last state-file save */
} sim_host;

typedef struct sim_link {
	uint32_t delay_ms;
	uint32_t loss_pct;
	bool set;
} sim_link;

struct sim {
	ss_time now;
	int n_hosts;
	sim_host hosts[SIM_MAX_HOSTS];
	sim_link links[SIM_MAX_HOSTS][SIM_MAX_HOSTS];
	sim_link default_link;
	int spoof_delay[SIM_MAX_HOSTS][SIM_MAX_HOSTS]; /* -1: none; else ICMP forged after ms */
	/* Targeted losses: the n-th packet (1-based) of a kind from a to b is lost. */
	struct sim_loss {
		uint8_t src, dst, kind;
		uint64_t nth;
	} losses[16];
	int n_losses;
	uint64_t wire[SIM_MAX_HOSTS][SIM_MAX_HOSTS][SIM_W_COUNT];
	uint64_t delivered[SIM_MAX_HOSTS][SIM_MAX_HOSTS];
	uint64_t rule8_violations;
	uint64_t reordered;  /* app packets delivered out of send order */
	uint64_t next_seq[SIM_MAX_HOSTS][SIM_MAX_HOSTS], last_seq[SIM_MAX_HOSTS][SIM_MAX_HOSTS];
	uint64_t rng;
	bool log_wire;
	sim_wire_rec *wlog;
	size_t wlog_n, wlog_cap;
	sim_transition *tlog;
	size_t tlog_n, tlog_cap;
	struct sim_ev *q;
	size_t qn, qcap;
	uint64_t seq;
	char tmpdir[128];
	/* Called at the end of every check event (scenario expectations). */
	void (*on_check)(sim *s, void *ctx, uint32_t id);
	void *check_ctx;
	const sim_negotiator_ops *default_nops;
};

sim *sim_new(uint64_t seed);
void sim_free(sim *s);
/* Returns the host index, or -1. */
int sim_add_host(sim *s, const char *name, const char *addr);
/* Makes the host an agent host with this policy (takes ownership), or a legacy one. */
bool sim_host_agent(sim *s, int h, sim_policy *pol, const char *cred);
void sim_host_legacy(sim *s, int h, enum sim_kind kind);
int sim_host_by_name(const sim *s, const char *name);
int sim_host_by_addr(const sim *s, const ss_addr *a);
void sim_set_link(sim *s, int a, int b, uint32_t delay_ms, uint32_t loss_pct);

/* Scheduled actions. */
void sim_at_send(sim *s, ss_time t, int from, int to, uint8_t proto, uint16_t sport, uint16_t dport, uint32_t len);
void sim_at_restart(sim *s, ss_time t, int h);
/* Killed without warning: nothing saved at that moment (the host saves its state file
 * whenever the downgrade memory changes, as the daemon does). */
void sim_at_crash(sim *s, ss_time t, int h);
void sim_at_reload(sim *s, ss_time t, int h, sim_policy *pol); /* takes ownership */
/* h deletes its SAs with peer, as `softsa terminate` does. */
void sim_at_terminate(sim *s, ss_time t, int h, int peer);
void sim_at_become(sim *s, ss_time t, int h, enum sim_kind kind, sim_policy *pol, const char *cred);
void sim_at_check(sim *s, ss_time t, uint32_t id);

/* Runs events up to and including time t (checks at t included). */
void sim_run(sim *s, ss_time t);
bool sim_idle(const sim *s); /* no events pending */

/* State of h's association toward peer. */
enum ss_assoc_state sim_state(sim *s, int h, int peer, uint32_t *attempt);
/* Negotiations in progress and SAs up on h (for the memory invariant). */
size_t sim_host_active(sim_host *h);

/* For simnode.c: the node's verdict on one of h's packets (by handle), and an IKE datagram
 * it sends. */
void sim_host_verdict(sim_host *h, uint64_t handle, int verdict);
void sim_host_send_ike(sim_host *h, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t n);

#endif
