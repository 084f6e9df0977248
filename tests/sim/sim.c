#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/statefile.h"
#include "dataplane/dataplane.h"
#include "simnode.h"

#define SIM_WALL_BASE 1700000000ull

enum ev_type { EV_DELIVER, EV_TIMER, EV_SEND, EV_RESTART, EV_CRASH, EV_TERMINATE, EV_RELOAD, EV_BECOME, EV_CHECK };

typedef struct sim_pkt {
	uint8_t kind; /* enum sim_wire */
	int from_host;
	ss_pkt_key key;
	uint32_t len;
	uint8_t *data; /* IKE datagram, or the quote of an ICMP error */
	size_t dlen;
	struct sim_pkt *prev, *next; /* on the host's held list while the agent holds it */
	bool held;
	uint64_t seqno; /* per (from, to) app flow, to check order of delivery */
	uint32_t spi;   /* ESP: the SPI the sender's negotiator gave it (0: none) */
} sim_pkt;

struct sim_ev {
	ss_time at;
	uint8_t prio; /* checks run after everything else at the same time */
	uint64_t seq;
	uint8_t type;
	int host;
	sim_pkt *pkt;
	sim_policy *pol;
	uint8_t kind;
	char cred[32];
	uint32_t id;
};

static void pkt_free(struct sim_pkt *p)
{
	if (p)
		free(p->data);
	free(p);
}

/* A Windows-2000-like IKEv1 host's answer to any datagram on UDP 500 (sim.h). */
static struct sim_pkt *make_ikev1_reply(const struct sim_pkt *p)
{
	/* ISAKMP header (28) + Notification payload (12): DOI 1, protocol ISAKMP, no SPI,
	 * type 5 INVALID-MAJOR-VERSION. */
	static const uint8_t tail[32] = {
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* responder cookie */
		11, 0x10, 5, 0, 0, 0, 0, 0, 0, 0, 0, 40,       /* next: N, v1.0, Informational */
		0, 0, 0, 12, 0, 0, 0, 1, 1, 0, 0, 5,
	};
	struct sim_pkt *r = calloc(1, sizeof(*r));
	if (!r || !(r->data = calloc(1, 40)))
		abort();
	r->kind = SIM_W_IKE;
	r->from_host = -1;
	r->key = p->key;
	r->key.src = p->key.dst;
	r->key.dst = p->key.src;
	memcpy(r->data, p->data, p->dlen < 8 ? p->dlen : 8);
	memcpy(r->data + 8, tail, sizeof(tail));
	r->dlen = 40;
	return r;
}

/* An ICMP error for datagram p, from host `from` back to p's sender, quoting the start of
 * the UDP payload as a real one does. */
static struct sim_pkt *make_icmp(const struct sim_pkt *p, int from)
{
	struct sim_pkt *icmp = calloc(1, sizeof(*icmp));
	if (!icmp)
		abort();
	icmp->kind = SIM_W_ICMP;
	icmp->from_host = from;
	icmp->key.src = p->key.dst;
	icmp->key.dst = p->key.src;
	icmp->dlen = p->dlen < 64 ? p->dlen : 64;
	icmp->data = malloc(icmp->dlen ? icmp->dlen : 1);
	if (!icmp->data)
		abort();
	if (icmp->dlen)
		memcpy(icmp->data, p->data, icmp->dlen);
	return icmp;
}

/* Per-host list of held packets (so a restart can account for them). */
static sim_pkt *held_heads[SIM_MAX_HOSTS];

/* --- event queue ------------------------------------------------------------------------ */

static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	if (a->prio != b->prio)
		return a->prio < b->prio;
	return a->seq < b->seq;
}

static void push(sim *s, struct sim_ev ev)
{
	if (s->qn == s->qcap) {
		s->qcap = s->qcap ? s->qcap * 2 : 256;
		s->q = realloc(s->q, s->qcap * sizeof(*s->q));
		if (!s->q)
			abort();
	}
	ev.seq = s->seq++;
	size_t i = s->qn++;
	s->q[i] = ev;
	while (i > 0 && ev_before(&s->q[i], &s->q[(i - 1) / 2])) {
		struct sim_ev t = s->q[i];
		s->q[i] = s->q[(i - 1) / 2];
		s->q[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct sim_ev pop(sim *s)
{
	struct sim_ev top = s->q[0];
	s->q[0] = s->q[--s->qn];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->qn && ev_before(&s->q[l], &s->q[m]))
			m = l;
		if (r < s->qn && ev_before(&s->q[r], &s->q[m]))
			m = r;
		if (m == i)
			break;
		struct sim_ev t = s->q[i];
		s->q[i] = s->q[m];
		s->q[m] = t;
		i = m;
	}
	return top;
}

static uint64_t rnd(sim *s)
{
	/* xorshift64*: deterministic per seed */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1Dull;
}

/* --- hosts ------------------------------------------------------------------------------ */

sim *sim_new(uint64_t seed)
{
	sim *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rng = seed ? seed : 1;
	s->default_nops = &sim_standin_ops;
	memset(s->spoof_delay, 0xff, sizeof(s->spoof_delay));
	snprintf(s->tmpdir, sizeof(s->tmpdir), "/tmp/softsa-sim-XXXXXX");
	if (!mkdtemp(s->tmpdir))
		s->tmpdir[0] = 0;
	memset(held_heads, 0, sizeof(held_heads));
	return s;
}

static void free_held(sim_host *h)
{
	sim_pkt *p = held_heads[h->idx];
	while (p) {
		sim_pkt *n = p->next;
		h->lost_on_restart++;
		pkt_free(p);
		p = n;
	}
	held_heads[h->idx] = NULL;
	h->held_out = 0;
}

static void stop_agent(sim_host *h)
{
	simnode_free(h->node);
	h->node = NULL;
	if (h->agent) {
		ss_agent_stats st;
		ss_agent_get_stats(h->agent, &st);
		for (int r = 0; r < SS_DROP_REASON_COUNT; r++)
			h->dropped[r] += st.dropped[r];
		h->held_overflow += st.held_overflow;
		ss_agent_free(h->agent);
		h->agent = NULL;
	}
	if (h->neg) {
		h->nops->destroy(h->neg);
		h->neg = NULL;
	}
	free_held(h);
}

void sim_free(sim *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_hosts; i++) {
		stop_agent(&s->hosts[i]);
		simpol_free(s->hosts[i].pol);
		if (s->hosts[i].state_path[0])
			unlink(s->hosts[i].state_path);
	}
	for (size_t i = 0; i < s->qn; i++) {
		pkt_free(s->q[i].pkt);
		simpol_free(s->q[i].pol);
	}
	if (s->tmpdir[0])
		rmdir(s->tmpdir);
	free(s->q);
	free(s->wlog);
	free(s->tlog);
	free(s);
}

int sim_add_host(sim *s, const char *name, const char *addr)
{
	if (s->n_hosts >= SIM_MAX_HOSTS)
		return -1;
	sim_host *h = &s->hosts[s->n_hosts];
	memset(h, 0, sizeof(*h));
	if (!ss_addr_parse(addr, &h->addr))
		return -1;
	h->s = s;
	h->idx = s->n_hosts;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->kind = SIM_HOST_LEGACY_SILENT;
	h->timer_at = SS_NEVER;
	return s->n_hosts++;
}

int sim_host_by_name(const sim *s, const char *name)
{
	for (int i = 0; i < s->n_hosts; i++)
		if (!strcmp(s->hosts[i].name, name))
			return i;
	return -1;
}

int sim_host_by_addr(const sim *s, const ss_addr *a)
{
	for (int i = 0; i < s->n_hosts; i++)
		if (ss_addr_eq(&s->hosts[i].addr, a))
			return i;
	return -1;
}

void sim_set_link(sim *s, int a, int b, uint32_t delay_ms, uint32_t loss_pct)
{
	sim_link l = { delay_ms, loss_pct, true };
	s->links[a][b] = s->links[b][a] = l;
}

static void host_drain(sim_host *h);
static void host_resched(sim_host *h);

/* --- the wire --------------------------------------------------------------------------- */

static void wire_send(sim *s, int from, sim_pkt *p)
{
	int to = sim_host_by_addr(s, &p->key.dst);
	if (to < 0) {
		pkt_free(p);
		return;
	}
	s->wire[from][to][p->kind]++;
	if (s->log_wire) {
		if (s->wlog_n == s->wlog_cap) {
			s->wlog_cap = s->wlog_cap ? s->wlog_cap * 2 : 256;
			s->wlog = realloc(s->wlog, s->wlog_cap * sizeof(*s->wlog));
			if (!s->wlog)
				abort();
		}
		s->wlog[s->wlog_n++] = (sim_wire_rec){ s->now, (uint8_t)from, (uint8_t)to, p->kind };
	}
	if (p->kind == SIM_W_IKE && s->spoof_delay[from][to] >= 0) {
		/* An off-path attacker forging "port unreachable" from `to` for every IKE datagram. */
		sim_pkt *icmp = make_icmp(p, to);
		push(s, (struct sim_ev){ .at = s->now + (ss_time)s->spoof_delay[from][to], .type = EV_DELIVER,
					 .host = from, .pkt = icmp });
	}
	for (int i = 0; i < s->n_losses; i++) {
		const struct sim_loss *x = &s->losses[i];
		if (x->src == from && x->dst == to && x->kind == p->kind && x->nth == s->wire[from][to][p->kind]) {
			pkt_free(p);
			return;
		}
	}
	const sim_link *l = s->links[from][to].set ? &s->links[from][to] : &s->default_link;
	if (l->loss_pct && rnd(s) % 100 < l->loss_pct) {
		pkt_free(p);
		return;
	}
	push(s, (struct sim_ev){ .at = s->now + l->delay_ms, .type = EV_DELIVER, .host = to, .pkt = p });
}

static void rule8_check(sim_host *h, const sim_pkt *p, bool outbound)
{
	ss_pkt_key k = p->key;
	k.dir = outbound ? SS_DIR_OUT : SS_DIR_IN;
	ss_match m;
	if (!h->pol || !simpol_classify(h->pol, &k, &m) || m.rule->action->kind != SS_ACT_NEGOTIATE)
		return;
	const ss_filter_action *a = m.rule->action;
	bool ok = outbound ? a->fallback_to_clear : (a->fallback_to_clear || a->accept_unsecured);
	if (!ok) {
		h->s->rule8_violations++;
		char x[SS_ADDR_STRLEN], y[SS_ADDR_STRLEN];
		fprintf(stderr, "sim: RULE 8 VIOLATION at %llu on %s: clear %s %s -> %s\n",
			(unsigned long long)h->s->now, h->name, outbound ? "sent" : "accepted",
			ss_addr_fmt(&k.src, x), ss_addr_fmt(&k.dst, y));
	}
}

/* --- agent hosts ------------------------------------------------------------------------- */

static void held_link(sim_host *h, sim_pkt *p)
{
	p->held = true;
	p->prev = NULL;
	p->next = held_heads[h->idx];
	if (p->next)
		p->next->prev = p;
	held_heads[h->idx] = p;
	h->held_out++;
}

static void held_unlink(sim_host *h, sim_pkt *p)
{
	if (!p->held)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		held_heads[h->idx] = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->held = false;
	h->held_out--;
}

static void deliver_app(sim_host *h, sim_pkt *p)
{
	if (p->from_host >= 0) {
		sim *s = h->s;
		s->delivered[p->from_host][h->idx]++;
		if (p->seqno <= s->last_seq[p->from_host][h->idx])
			s->reordered++;
		s->last_seq[p->from_host][h->idx] = p->seqno;
	}
	pkt_free(p);
}

/* A packet's fate: held, sent in the clear (or delivered, inbound), sent as ESP, dropped. */
static void packet_fate(sim_host *h, sim_pkt *p, enum ss_dp_pkt_verdict v)
{
	switch (v) {
	case SS_DP_PKT_HOLD:
		held_link(h, p);
		return;
	case SS_DP_PKT_CLEAR:
		held_unlink(h, p);
		rule8_check(h, p, p->key.dir == SS_DIR_OUT);
		if (p->key.dir == SS_DIR_IN) {
			deliver_app(h, p);
			return;
		}
		p->kind = SIM_W_CLEAR;
		wire_send(h->s, h->idx, p);
		return;
	case SS_DP_PKT_ESP:
		held_unlink(h, p);
		p->kind = SIM_W_ESP;
		if (h->node)
			p->spi = simnode_esp_out(h->node, &h->addr, &p->key.dst);
		wire_send(h->s, h->idx, p);
		return;
	default:
		held_unlink(h, p);
		pkt_free(p);
		return;
	}
}

void sim_host_verdict(sim_host *h, uint64_t handle, int verdict)
{
	packet_fate(h, (sim_pkt *)(uintptr_t)handle, (enum ss_dp_pkt_verdict)verdict);
}

static void do_packet_action(sim_host *h, const ss_agent_action *x)
{
	sim_pkt *p = (sim_pkt *)(uintptr_t)x->handle;
	p->key.dir = x->dir;
	switch (x->kind) {
	case SS_AA_HOLD:
		packet_fate(h, p, SS_DP_PKT_HOLD);
		return;
	case SS_AA_PASS_CLEAR:
	case SS_AA_RELEASE_CLEAR:
		packet_fate(h, p, SS_DP_PKT_CLEAR);
		return;
	case SS_AA_ENCRYPT:
	case SS_AA_RELEASE_SA:
		packet_fate(h, p, SS_DP_PKT_ESP);
		return;
	default: /* DROP */
		packet_fate(h, p, SS_DP_PKT_DROP);
		return;
	}
}

/* As the daemon does: the state file follows every change of the downgrade memory. */
static void save_if_changed(sim_host *h)
{
	ss_agent_stats st;
	ss_agent_get_stats(h->agent, &st);
	if (st.remembered_updates == h->saved_updates || !h->state_path[0])
		return;
	if (ss_statefile_save(h->agent, h->s->now, SIM_WALL_BASE + h->s->now / 1000, h->state_path))
		h->saved_updates = st.remembered_updates;
}

static void host_drain(sim_host *h)
{
	if (h->node)
		simnode_run(h->node, h->s->now);
	ss_agent_action x;
	while (!h->node && h->agent && ss_agent_pop(h->agent, &x)) {
		switch (x.kind) {
		case SS_AA_PASS_CLEAR:
		case SS_AA_DROP:
		case SS_AA_HOLD:
		case SS_AA_RELEASE_CLEAR:
		case SS_AA_RELEASE_SA:
		case SS_AA_ENCRYPT:
			do_packet_action(h, &x);
			break;
		case SS_AA_START_NEGOTIATION: {
			/* The schedule of the rule's action (icmp_fallback), as softsad builds it. */
			ss_retx_params rp = ss_action_retx(simpol_model(h->pol), x.rule ? x.rule->action : NULL);
			h->nops->start(h->neg, h->s->now, &x.local, &x.remote, &rp);
			break;
		}
		case SS_AA_STOP_NEGOTIATION:
			h->nops->stop(h->neg, h->s->now, &x.local, &x.remote);
			break;
		default:
			break; /* soft/block bookkeeping: a dataplane would install these */
		}
	}
	if (h->agent)
		save_if_changed(h);
}

static void host_resched(sim_host *h)
{
	ss_time d = SS_NEVER;
	if (h->node)
		d = simnode_deadline(h->node);
	else if (h->agent)
		d = ss_time_min(ss_agent_deadline(h->agent), h->nops->deadline(h->neg));
	if (d == SS_NEVER) {
		h->timer_at = SS_NEVER;
		return;
	}
	if (d < h->s->now)
		d = h->s->now;
	if (d == h->timer_at)
		return;
	h->timer_at = d;
	push(h->s, (struct sim_ev){ .at = d, .type = EV_TIMER, .host = h->idx });
}

void sim_host_send_ike(sim_host *h, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t n)
{
	sim_pkt *pk = calloc(1, sizeof(*pk));
	pk->kind = SIM_W_IKE;
	pk->from_host = -1;
	pk->key.src = *src;
	pk->key.dst = *dst;
	pk->key.proto = 17;
	pk->key.sport = pk->key.dport = 500;
	pk->dlen = n;
	pk->data = malloc(n ? n : 1);
	if (!pk->data)
		abort();
	memcpy(pk->data, p, n);
	wire_send(h->s, h->idx, pk);
}

static void env_send_ike(void *host, ss_time now, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t n)
{
	sim_host_send_ike(host, src, dst, p, n);
}

static bool env_peer_starts(void *host, ss_time now, const ss_addr *l, const ss_addr *r)
{
	sim_host *h = host;
	return ss_agent_ike_start(h->agent, now, l, r);
}

static void env_attempt(void *host, ss_time now, const ss_addr *l, const ss_addr *r, uint32_t n)
{
	ss_agent_attempt(((sim_host *)host)->agent, now, l, r, n);
}

static void env_outcome(void *host, ss_time now, const ss_addr *l, const ss_addr *r, enum ss_ike_outcome o)
{
	ss_agent_outcome(((sim_host *)host)->agent, now, l, r, o);
}

static bool env_answered(void *host, ss_time now, const ss_addr *l, const ss_addr *r)
{
	return ss_agent_peer_answered(((sim_host *)host)->agent, now, l, r);
}

static void env_gave_up(void *host, ss_time now, const ss_addr *l, const ss_addr *r)
{
	ss_agent_responder_gave_up(((sim_host *)host)->agent, now, l, r);
}

static void env_sa_down(void *host, ss_time now, const ss_addr *l, const ss_addr *r)
{
	ss_agent_sa_down(((sim_host *)host)->agent, now, l, r);
}

static void observer(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote, enum ss_assoc_state from,
		     enum ss_assoc_state to, uint32_t attempt, const char *reason)
{
	sim_host *h = ctx;
	sim *s = h->s;
	(void)local;
	if (s->tlog_n == s->tlog_cap) {
		s->tlog_cap = s->tlog_cap ? s->tlog_cap * 2 : 256;
		s->tlog = realloc(s->tlog, s->tlog_cap * sizeof(*s->tlog));
		if (!s->tlog)
			abort();
	}
	sim_transition *t = &s->tlog[s->tlog_n++];
	t->at = now;
	t->host = h->idx;
	t->peer = sim_host_by_addr(s, remote);
	t->from = (uint8_t)from;
	t->to = (uint8_t)to;
	t->attempt = attempt;
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
}

static bool start_agent(sim_host *h)
{
	sim *s = h->s;
	ss_agent_policy ap = simpol_agent_policy(h->pol);
	h->agent = ss_agent_new(NULL, &ap);
	if (!h->agent)
		return false;
	ss_agent_set_observer(h->agent, observer, h);
	h->nops = s->default_nops;
	if (h->nops == &sim_engine_ops) {
		/* The node observes the agent only to log and count; the simulator's log of
		 * transitions takes the agent's one observer back. */
		h->node = simnode_new(h);
		if (!h->node)
			return false;
		ss_agent_set_observer(h->agent, observer, h);
	} else {
		sim_neg_env env = { .host = h, .send_ike = env_send_ike, .peer_starts = env_peer_starts,
				    .attempt = env_attempt, .outcome = env_outcome, .sa_down = env_sa_down,
				    .responder_gave_up = env_gave_up,
				    .answered = env_answered };
		sim_neg_config nc = { .credential = h->cred, .sa_life_ms = SS_SEC(3600),
				      .responder_timeout_ms = SS_SEC(6) };
		h->neg = h->nops->create(&env, &nc);
		if (!h->neg)
			return false;
	}
	if (s->tmpdir[0]) {
		snprintf(h->state_path, sizeof(h->state_path), "%s/%s.state", s->tmpdir, h->name);
		ss_statefile_load(h->agent, s->now, SIM_WALL_BASE + s->now / 1000, h->state_path);
		ss_agent_stats st;
		ss_agent_get_stats(h->agent, &st);
		h->saved_updates = st.remembered_updates;
	}
	return true;
}

bool sim_host_agent(sim *s, int i, sim_policy *pol, const char *cred)
{
	sim_host *h = &s->hosts[i];
	stop_agent(h);
	simpol_free(h->pol);
	h->pol = pol;
	h->kind = SIM_HOST_AGENT;
	snprintf(h->cred, sizeof(h->cred), "%s", cred ? cred : "k");
	return start_agent(h);
}

void sim_host_legacy(sim *s, int i, enum sim_kind kind)
{
	sim_host *h = &s->hosts[i];
	stop_agent(h);
	simpol_free(h->pol);
	h->pol = NULL;
	h->kind = (uint8_t)kind;
}

size_t sim_host_active(sim_host *h)
{
	if (h->node)
		return simnode_active(h->node);
	return h->neg ? h->nops->active(h->neg) : 0;
}

enum ss_assoc_state sim_state(sim *s, int h, int peer, uint32_t *attempt)
{
	enum ss_assoc_state st = SS_AS_IDLE;
	if (attempt)
		*attempt = 0;
	if (s->hosts[h].agent)
		ss_agent_state(s->hosts[h].agent, &s->hosts[h].addr, &s->hosts[peer].addr, &st, attempt);
	return st;
}

/* --- events ----------------------------------------------------------------------------- */

/* A node host: everything goes through the node (as softsad's dataplane and sockets feed it). */
static void deliver_node(sim *s, sim_host *h, sim_pkt *p)
{
	switch (p->kind) {
	case SIM_W_CLEAR:
		p->key.dir = SS_DIR_IN;
		simnode_packet(h->node, s->now, &p->key, p->len, (uint64_t)(uintptr_t)p);
		break;
	case SIM_W_IKE:
		simnode_ike(h->node, s->now, &p->key.src, &p->key.dst, p->data, p->dlen);
		pkt_free(p);
		break;
	case SIM_W_ICMP:
		simnode_icmp(h->node, s->now, p->data, p->dlen);
		pkt_free(p);
		break;
	default: /* ESP */
		if (simnode_esp_in(h->node, s->now, &h->addr, &p->key.src, p->spi)) {
			deliver_app(h, p);
			break;
		}
		h->esp_no_sa++;
		pkt_free(p);
		break;
	}
	host_drain(h);
}

static void deliver(sim *s, sim_host *h, sim_pkt *p)
{
	if (h->kind == SIM_HOST_AGENT && h->node) {
		deliver_node(s, h, p);
		return;
	}
	if (h->kind != SIM_HOST_AGENT) {
		if (p->kind == SIM_W_CLEAR) {
			deliver_app(h, p);
			return;
		}
		if (p->kind == SIM_W_IKE && h->kind == SIM_HOST_LEGACY_ICMP) {
			/* No IKE here: the kernel answers UDP 500 with port unreachable. */
			wire_send(s, h->idx, make_icmp(p, h->idx));
		}
		if (p->kind == SIM_W_IKE && h->kind == SIM_HOST_LEGACY_IKEV1)
			wire_send(s, h->idx, make_ikev1_reply(p));
		pkt_free(p);
		return;
	}
	switch (p->kind) {
	case SIM_W_CLEAR:
		p->key.dir = SS_DIR_IN;
		ss_agent_inbound_clear(h->agent, s->now, &p->key, p->len, (uint64_t)(uintptr_t)p);
		break;
	case SIM_W_IKE:
		h->nops->datagram(h->neg, s->now, &p->key.src, &p->key.dst, p->data, p->dlen);
		pkt_free(p);
		break;
	case SIM_W_ICMP:
		h->nops->icmp(h->neg, s->now, &p->key.dst, &p->key.src, p->data, p->dlen);
		pkt_free(p);
		break;
	default: /* ESP */
		if (h->nops->esp_in ? h->nops->esp_in(h->neg, s->now, &h->addr, &p->key.src, p->spi)
				    : h->nops->has_sa(h->neg, &h->addr, &p->key.src)) {
			deliver_app(h, p);
			break;
		}
		h->esp_no_sa++;
		/* As softsad: a peer the policy secures; the negotiator counts and rate-limits
		 * (and may send INVALID_SPI); then the agent may negotiate. */
		if (h->nops->esp_unknown && ss_agent_secures(h->agent, &h->addr, &p->key.src) &&
		    h->nops->esp_unknown(h->neg, s->now, &h->addr, &p->key.src, p->spi)) {
			ss_agent_esp_unknown(h->agent, s->now, &h->addr, &p->key.src);
			host_drain(h);
		}
		pkt_free(p);
		break;
	}
	host_drain(h);
}

static void app_send(sim *s, sim_host *h, sim_pkt *p)
{
	int to = sim_host_by_addr(s, &p->key.dst);
	p->key.src = h->addr;
	if (to >= 0)
		p->seqno = ++s->next_seq[h->idx][to];
	if (h->kind != SIM_HOST_AGENT) {
		wire_send(s, h->idx, p);
		return;
	}
	p->key.dir = SS_DIR_OUT;
	if (h->node)
		simnode_packet(h->node, s->now, &p->key, p->len, (uint64_t)(uintptr_t)p);
	else
		ss_agent_outbound(h->agent, s->now, &p->key, p->len, (uint64_t)(uintptr_t)p);
	host_drain(h);
}

static void restart(sim *s, sim_host *h)
{
	if (h->kind != SIM_HOST_AGENT)
		return;
	if (h->state_path[0])
		ss_statefile_save(h->agent, s->now, SIM_WALL_BASE + s->now / 1000, h->state_path);
	stop_agent(h);
	start_agent(h);
}

static void handle(sim *s, struct sim_ev *ev)
{
	sim_host *h = ev->host >= 0 ? &s->hosts[ev->host] : NULL;
	switch (ev->type) {
	case EV_DELIVER:
		deliver(s, h, ev->pkt);
		break;
	case EV_SEND:
		app_send(s, h, ev->pkt);
		break;
	case EV_TIMER:
		if (ev->at != h->timer_at || !h->agent)
			return; /* superseded */
		h->timer_at = SS_NEVER;
		if (h->node) {
			simnode_timer(h->node, s->now);
		} else {
			h->nops->timer(h->neg, s->now);
			ss_agent_timer(h->agent, s->now);
		}
		host_drain(h);
		break;
	case EV_RESTART:
		restart(s, h);
		break;
	case EV_CRASH:
		if (h->kind == SIM_HOST_AGENT) {
			stop_agent(h);
			start_agent(h);
		}
		break;
	case EV_TERMINATE:
		/* As `softsa terminate`: the negotiator deletes the SAs with the peer. */
		if (h->node)
			simnode_terminate(h->node, s->now, &s->hosts[ev->id].addr);
		else if (h->agent)
			h->nops->stop(h->neg, s->now, &h->addr, &s->hosts[ev->id].addr);
		if (h->agent)
			host_drain(h);
		break;
	case EV_RELOAD:
		if (h->agent) {
			ss_agent_policy ap = simpol_agent_policy(ev->pol);
			ss_agent_reload(h->agent, s->now, &ap);
			host_drain(h);
			/* The old policy may go only now that the agent no longer points into it. */
			simpol_free(h->pol);
			h->pol = ev->pol;
		} else {
			simpol_free(ev->pol);
		}
		break;
	case EV_BECOME:
		if (ev->kind == SIM_HOST_AGENT)
			sim_host_agent(s, ev->host, ev->pol, ev->cred);
		else
			sim_host_legacy(s, ev->host, ev->kind);
		break;
	case EV_CHECK:
		if (s->on_check)
			s->on_check(s, s->check_ctx, ev->id);
		return;
	}
	/* Only h's agent and negotiator were called (packets to others are only queued). */
	host_resched(h);
}

void sim_run(sim *s, ss_time t)
{
	while (s->qn && s->q[0].at <= t) {
		struct sim_ev ev = pop(s);
		s->now = ev.at;
		handle(s, &ev);
	}
	if (s->now < t)
		s->now = t;
}

bool sim_idle(const sim *s)
{
	return s->qn == 0;
}

void sim_at_send(sim *s, ss_time t, int from, int to, uint8_t proto, uint16_t sport, uint16_t dport, uint32_t len)
{
	sim_pkt *p = calloc(1, sizeof(*p));
	p->kind = SIM_W_CLEAR;
	p->from_host = from;
	p->key.dst = s->hosts[to].addr;
	p->key.proto = proto;
	p->key.sport = sport;
	p->key.dport = dport;
	p->len = len;
	push(s, (struct sim_ev){ .at = t, .type = EV_SEND, .host = from, .pkt = p });
}

void sim_at_restart(sim *s, ss_time t, int h)
{
	push(s, (struct sim_ev){ .at = t, .type = EV_RESTART, .host = h });
}

void sim_at_crash(sim *s, ss_time t, int h)
{
	push(s, (struct sim_ev){ .at = t, .type = EV_CRASH, .host = h });
}

void sim_at_terminate(sim *s, ss_time t, int h, int peer)
{
	push(s, (struct sim_ev){ .at = t, .type = EV_TERMINATE, .host = h, .id = (uint32_t)peer });
}

void sim_at_reload(sim *s, ss_time t, int h, sim_policy *pol)
{
	push(s, (struct sim_ev){ .at = t, .type = EV_RELOAD, .host = h, .pol = pol });
}

void sim_at_become(sim *s, ss_time t, int h, enum sim_kind kind, sim_policy *pol, const char *cred)
{
	struct sim_ev ev = { .at = t, .type = EV_BECOME, .host = h, .pol = pol, .kind = (uint8_t)kind };
	snprintf(ev.cred, sizeof(ev.cred), "%s", cred ? cred : "k");
	push(s, ev);
}

void sim_at_check(sim *s, ss_time t, uint32_t id)
{
	push(s, (struct sim_ev){ .at = t, .prio = 1, .type = EV_CHECK, .host = -1, .id = id });
}
