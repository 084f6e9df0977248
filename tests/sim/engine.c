/* The real IKEv2 engine (src/ike/ike.h) behind the simulator's negotiator interface.
 *
 * What the adapter adds, because the agent needs it and the engine does not (yet) say it:
 *   - a responder's silence: the engine reports a responder's failed IKE_AUTH (refused) but
 *     nothing for a half-open SA that never saw IKE_AUTH, so a responder negotiation that
 *     has not ended after 40 s (longer than the initiator's IKE_AUTH retransmissions) is
 *     reported to the agent as refused here;
 *   - SA lifetime: the CHILD SA is deleted after sa_life_ms, like the stand-in's. */
#include <stdlib.h>
#include <string.h>

#include "ike/ike.h"
#include "ike/wire.h"
#include "negotiator.h"

#define MAX_TRACK 64

typedef struct track {
	bool used;
	uint32_t sa;          /* engine handle; 0 for a responder not yet seen */
	ss_addr local, remote;
	bool initiator, child_up, outcome_sent;
	uint32_t spi_in;      /* the current CHILD SA (a rekey replaces it) */
	uint32_t spi_out, prev_spi_in; /* its outbound SPI; the inbound SPI it replaced */
	ss_time give_up;      /* responder: report refused if not secured by then */
	ss_time expires;      /* child up: delete at */
} track;

typedef struct eng {
	sim_neg_env env;
	sim_neg_config cfg;
	ss_ike_engine *e;
	ss_ike_config base;
	ss_time now;
	track t[MAX_TRACK];
} eng;

static track *find(eng *a, const ss_addr *l, const ss_addr *r)
{
	for (int i = 0; i < MAX_TRACK; i++)
		if (a->t[i].used && ss_addr_eq(&a->t[i].local, l) && ss_addr_eq(&a->t[i].remote, r))
			return &a->t[i];
	return NULL;
}

static track *add(eng *a, const ss_addr *l, const ss_addr *r)
{
	for (int i = 0; i < MAX_TRACK; i++)
		if (!a->t[i].used) {
			memset(&a->t[i], 0, sizeof(track));
			a->t[i].used = true;
			a->t[i].local = *l;
			a->t[i].remote = *r;
			return &a->t[i];
		}
	return NULL;
}

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *local, const ss_ike_endpoint *remote,
				   const ss_ike_id *idi)
{
	eng *a = ctx;
	track *t = find(a, &local->addr, &remote->addr);
	if (idi)
		return t ? &a->base : NULL; /* IKE_AUTH: only a peer we agreed to answer */
	if (t && t->initiator)
		return &a->base; /* crossing initiations: answer too */
	if (!a->env.peer_starts(a->env.host, a->now, &local->addr, &remote->addr))
		return NULL;
	if (!t)
		t = add(a, &local->addr, &remote->addr);
	if (t)
		t->give_up = a->now + a->cfg.responder_timeout_ms;
	return &a->base;
}

static void *en_create(const sim_neg_env *env, const sim_neg_config *cfg)
{
	eng *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->env = *env;
	a->cfg = *cfg;
	/* The initiator's engine retransmits IKE_AUTH for up to 31 s (1, 2, 4, 8, 16 s): a
	 * responder must not be declared failed before that. */
	if (a->cfg.responder_timeout_ms < 40000)
		a->cfg.responder_timeout_ms = 40000;
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	p.lookup_ctx = a;
	a->e = ss_ike_engine_new(&p);
	if (!a->e) {
		free(a);
		return NULL;
	}
	ss_ike_config *c = &a->base;
	ss_ike_config_init(c);
	c->ike[0] = (ss_ike_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_CURVE25519 };
	c->n_ike = 1;
	c->esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
	c->n_esp = 1;
	c->local_id = ss_ike_id_fqdn("sim");
	c->psk_len = strlen(cfg->credential) < sizeof(c->psk) ? strlen(cfg->credential) : sizeof(c->psk);
	memcpy(c->psk, cfg->credential, c->psk_len);
	return a;
}

static void en_destroy(void *n)
{
	eng *a = n;
	ss_ike_engine_free(a->e);
	free(a);
}

static void report(eng *a, track *t, enum ss_ike_outcome o)
{
	if (t->outcome_sent)
		return;
	t->outcome_sent = true;
	a->env.outcome(a->env.host, a->now, &t->local, &t->remote, o);
}

static void drain(eng *a)
{
	ss_ike_action x;
	while (ss_ike_next_action(a->e, &x)) {
		track *t = find(a, &x.local.addr, &x.remote.addr);
		switch (x.kind) {
		case SS_IKE_ACT_ATTEMPT:
			if (t && t->initiator && x.sa == t->sa)
				a->env.attempt(a->env.host, a->now, &t->local, &t->remote, x.attempt);
			break;
		case SS_IKE_ACT_SEND:
			a->env.send_ike(a->env.host, a->now, &x.local.addr, &x.remote.addr, x.data, x.len);
			break;
		case SS_IKE_ACT_CHILD_UP:
			if (t) {
				t->sa = x.sa;
				t->prev_spi_in = t->spi_in;
				t->spi_in = x.child.spi_in;
				t->spi_out = x.child.spi_out;
				if (!t->child_up)
					t->expires = a->now + a->cfg.sa_life_ms;
				t->child_up = true;
			}
			break;
		case SS_IKE_ACT_OUTCOME:
			if (t && (t->sa == x.sa || !t->sa)) {
				report(a, t, x.outcome);
				if (x.outcome != SS_IKE_SECURED)
					t->used = false;
			}
			break;
		case SS_IKE_ACT_IKE_REKEYED:
			break; /* same IKE SA, new keys: nothing changes for the agent */
		case SS_IKE_ACT_ANSWERED:
			/* Its provisional outcome forgot the track: follow the SA again. */
			if (!t && (t = add(a, &x.local.addr, &x.remote.addr))) {
				t->initiator = true;
				t->sa = x.sa;
			}
			if (t && !a->env.answered(a->env.host, a->now, &x.local.addr, &x.remote.addr)) {
				ss_ike_abandon(a->e, x.sa);
				t->used = false;
			}
			break;
		case SS_IKE_ACT_CHILD_DELETED:
			/* After a rekey the old CHILD SA goes while its successor stays. */
			if (t && x.child.spi_in != t->spi_in)
				break;
			/* fall through */
		case SS_IKE_ACT_IKE_DELETED:
			if (t && t->child_up && t->sa == x.sa) {
				t->used = false;
				a->env.sa_down(a->env.host, a->now, &x.local.addr, &x.remote.addr);
			}
			break;
		}
	}
}

static ss_ike_endpoint ep(const ss_addr *a)
{
	return (ss_ike_endpoint){ .addr = *a, .port = SS_IKE_PORT };
}

static void en_start(void *n, ss_time now, const ss_addr *l, const ss_addr *r, const ss_retx_params *retx)
{
	eng *a = n;
	a->now = now;
	track *t = find(a, l, r);
	if (t) {
		if (t->child_up)
			a->env.outcome(a->env.host, now, l, r, SS_IKE_SECURED);
		return; /* already negotiating, either way round */
	}
	t = add(a, l, r);
	if (!t) {
		a->env.outcome(a->env.host, now, l, r, SS_IKE_PEER_REFUSED);
		return;
	}
	t->initiator = true;
	ss_ike_config c = a->base;
	c.retx = *retx;
	ss_ike_endpoint le = ep(l), re = ep(r);
	t->sa = ss_ike_initiate(a->e, &le, &re, &c, now);
	if (!t->sa) {
		t->used = false;
		a->env.outcome(a->env.host, now, l, r, SS_IKE_PEER_REFUSED);
		return;
	}
	drain(a);
}

static void en_stop(void *n, ss_time now, const ss_addr *l, const ss_addr *r)
{
	eng *a = n;
	a->now = now;
	track *t = find(a, l, r);
	if (!t)
		return;
	/* The CHILD SAs go at once (the agent hears sa_down from the drain); the IKE SA waits
	 * for the peer's answer inside the engine. */
	if (t->sa)
		ss_ike_delete(a->e, t->sa, now);
	drain(a);
	t->used = false;
}

static void en_datagram(void *n, ss_time now, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t len)
{
	eng *a = n;
	a->now = now;
	ss_ike_endpoint le = ep(dst), re = ep(src);
	ss_ike_input(a->e, p, len, &le, &re, now);
	drain(a);
}

static void en_icmp(void *n, ss_time now, const ss_addr *l, const ss_addr *r, const uint8_t *q, size_t qlen)
{
	eng *a = n;
	(void)l;
	(void)r;
	a->now = now;
	ss_ike_icmp(a->e, q, qlen, now);
	drain(a);
}

static bool en_has_sa(void *n, const ss_addr *l, const ss_addr *r)
{
	track *t = find(n, l, r);
	return t && t->child_up;
}

static ss_time en_deadline(void *n)
{
	eng *a = n;
	ss_time d = ss_ike_next_deadline(a->e);
	for (int i = 0; i < MAX_TRACK; i++) {
		const track *t = &a->t[i];
		if (!t->used)
			continue;
		if (t->child_up)
			d = ss_time_min(d, t->expires);
		else if (!t->initiator)
			d = ss_time_min(d, t->give_up);
	}
	return d;
}

static void en_timer(void *n, ss_time now)
{
	eng *a = n;
	a->now = now;
	ss_ike_timer(a->e, now);
	drain(a);
	for (int i = 0; i < MAX_TRACK; i++) {
		track *t = &a->t[i];
		if (!t->used)
			continue;
		if (t->child_up && now >= t->expires) {
			ss_ike_delete(a->e, t->sa, now);
			t->used = false;
			a->env.sa_down(a->env.host, now, &t->local, &t->remote);
			drain(a);
		} else if (!t->child_up && !t->initiator && now >= t->give_up) {
			report(a, t, SS_IKE_PEER_REFUSED); /* it spoke IKE, then failed or went away */
			t->used = false;
		}
	}
}

/* Every ESP packet is reported at once: liveness times in the simulator are exact. */
static uint32_t en_esp_out(void *n, ss_time now, const ss_addr *l, const ss_addr *r)
{
	eng *a = n;
	track *t = find(a, l, r);
	if (!t || !t->child_up)
		return 0;
	a->now = now;
	ss_ike_traffic(a->e, t->sa, 1, 0, now);
	return t->spi_out;
}

static bool en_esp_in(void *n, ss_time now, const ss_addr *l, const ss_addr *r, uint32_t spi)
{
	eng *a = n;
	track *t = find(a, l, r);
	if (!t || !t->child_up || (spi != t->spi_in && spi != t->prev_spi_in))
		return false;
	a->now = now;
	ss_ike_traffic(a->e, t->sa, 0, 1, now);
	return true;
}

static bool en_esp_unknown(void *n, ss_time now, const ss_addr *l, const ss_addr *r, uint32_t spi)
{
	eng *a = n;
	a->now = now;
	ss_ike_endpoint le = ep(l), re = ep(r);
	bool act = ss_ike_esp_unknown(a->e, &le, &re, spi, now);
	drain(a);
	return act;
}

static size_t en_active(void *n)
{
	eng *a = n;
	size_t k = 0;
	for (int i = 0; i < MAX_TRACK; i++)
		k += a->t[i].used;
	return k;
}

const sim_negotiator_ops sim_engine_ops = {
	.name = "engine",
	.create = en_create,
	.destroy = en_destroy,
	.start = en_start,
	.stop = en_stop,
	.datagram = en_datagram,
	.icmp = en_icmp,
	.has_sa = en_has_sa,
	.deadline = en_deadline,
	.timer = en_timer,
	.active = en_active,
	.esp_out = en_esp_out,
	.esp_in = en_esp_in,
	.esp_unknown = en_esp_unknown,
};
