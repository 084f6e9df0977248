/* TEST DOUBLE for the IKE engine, used only by the simulator.
 *
 * It sends IKE-like datagrams (not IKEv2) on exactly the schedule of src/ike/schedule.h,
 * through the ss_retx_* functions themselves, so the simulator's timings are the
 * engine's.  The exchange is two round trips: INIT request/response, then AUTH
 * request/response, where the AUTH request carries a credential string that must equal the
 * responder's (a stand-in for PSK and proposal agreement).  Outcomes:
 *   no answer, no ICMP  -> peer-silent after the schedule gives up
 *   ICMP errors only    -> peer-unreachable (sooner, never before the floor); a late INIT
 *                          answer before the full silent schedule ends goes on (answered)
 *   an IKEv1 header (version 1.x at octet 17) in answer -> peer-refused
 *   INIT refused / AUTH failed / AUTH lost -> peer-refused
 *   AUTH ok             -> secured (the responder at 1.5 round trips, the initiator at 2)
 * Crossing initiations: the side with the lower address keeps initiating, the other yields
 * and responds. */
#include <stdlib.h>
#include <string.h>

#include "base/cursor.h"
#include "negotiator.h"

enum msg { M_INIT_REQ = 1, M_INIT_RESP, M_INIT_NO, M_AUTH_REQ, M_AUTH_OK, M_AUTH_FAIL };
/* P_LINGER: the INIT schedule gave up sooner than the full silent schedule (ICMP errors),
 * the outcome is reported, and a late INIT answer is still heard until give_up, as the
 * engine does (SS_IKE_ACT_ANSWERED). */
enum phase { P_INIT, P_AUTH, P_RESPONDING, P_LINGER };

#define MAX_SLOTS 64
#define MAX_SAS 64

typedef struct slot {
	bool used;
	uint8_t phase;
	ss_addr local, remote;
	ss_retx r;
	ss_retx_params p;
	ss_time give_up; /* responder half-open limit */
} slot;

typedef struct sa {
	bool used;
	ss_addr local, remote;
	ss_time expires;
} sa;

typedef struct standin {
	sim_neg_env env;
	sim_neg_config cfg;
	slot slots[MAX_SLOTS];
	sa sas[MAX_SAS];
} standin;

static void *si_create(const sim_neg_env *env, const sim_neg_config *cfg)
{
	standin *s = calloc(1, sizeof(*s));
	if (s) {
		s->env = *env;
		s->cfg = *cfg;
	}
	return s;
}

static void si_destroy(void *n)
{
	free(n);
}

static slot *find_slot(standin *s, const ss_addr *l, const ss_addr *r)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (s->slots[i].used && ss_addr_eq(&s->slots[i].local, l) && ss_addr_eq(&s->slots[i].remote, r))
			return &s->slots[i];
	return NULL;
}

static slot *new_slot(standin *s, const ss_addr *l, const ss_addr *r)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (!s->slots[i].used) {
			memset(&s->slots[i], 0, sizeof(slot));
			s->slots[i].used = true;
			s->slots[i].local = *l;
			s->slots[i].remote = *r;
			return &s->slots[i];
		}
	return NULL;
}

static sa *find_sa(standin *s, const ss_addr *l, const ss_addr *r)
{
	for (int i = 0; i < MAX_SAS; i++)
		if (s->sas[i].used && ss_addr_eq(&s->sas[i].local, l) && ss_addr_eq(&s->sas[i].remote, r))
			return &s->sas[i];
	return NULL;
}

static void install_sa(standin *s, ss_time now, const ss_addr *l, const ss_addr *r)
{
	sa *x = find_sa(s, l, r);
	for (int i = 0; !x && i < MAX_SAS; i++)
		if (!s->sas[i].used)
			x = &s->sas[i];
	if (!x)
		return;
	x->used = true;
	x->local = *l;
	x->remote = *r;
	x->expires = now + s->cfg.sa_life_ms;
}

static void send_msg(standin *s, ss_time now, const slot *sl, const ss_addr *l, const ss_addr *r, uint8_t type)
{
	uint8_t buf[80];
	ss_buf b = ss_buf_init(buf, sizeof(buf));
	ss_buf_u8(&b, type);
	if (type == M_AUTH_REQ) {
		size_t n = strlen(s->cfg.credential);
		n = n > 64 ? 64 : n;
		ss_buf_u8(&b, (uint8_t)n);
		ss_buf_put(&b, s->cfg.credential, n);
	}
	(void)sl;
	s->env.send_ike(s->env.host, now, l, r, buf, b.len);
}

static void finish(standin *s, slot *sl, ss_time now, enum ss_ike_outcome o)
{
	ss_addr l = sl->local, r = sl->remote;
	sl->used = false;
	if (o == SS_IKE_SECURED)
		install_sa(s, now, &l, &r);
	s->env.outcome(s->env.host, now, &l, &r, o);
}

static void si_start(void *n, ss_time now, const ss_addr *l, const ss_addr *r, const ss_retx_params *p)
{
	standin *s = n;
	slot *cur = find_slot(s, l, r);
	if (cur && cur->phase != P_LINGER)
		return;
	if (find_sa(s, l, r)) {
		s->env.outcome(s->env.host, now, l, r, SS_IKE_SECURED);
		return;
	}
	if (cur)
		cur->used = false; /* a new negotiation replaces one only listening */
	slot *sl = new_slot(s, l, r);
	if (!sl) {
		s->env.outcome(s->env.host, now, l, r, SS_IKE_PEER_REFUSED);
		return;
	}
	sl->phase = P_INIT;
	sl->p = *p;
	ss_retx_start(&sl->r, &sl->p, now);
	send_msg(s, now, sl, l, r, M_INIT_REQ);
	s->env.attempt(s->env.host, now, l, r, 1);
}

static void si_stop(void *n, ss_time now, const ss_addr *l, const ss_addr *r)
{
	standin *s = n;
	slot *sl = find_slot(s, l, r);
	if (sl)
		sl->used = false;
	sa *x = find_sa(s, l, r);
	if (x)
		x->used = false;
	(void)now;
}

static void on_init_req(standin *s, ss_time now, const ss_addr *l, const ss_addr *r)
{
	slot *sl = find_slot(s, l, r);
	if (sl && sl->phase == P_LINGER) {
		sl->used = false; /* it speaks IKE after all: answer it */
		sl = NULL;
	}
	if (sl && sl->phase != P_RESPONDING) {
		if (ss_addr_cmp(l, r) < 0)
			return; /* crossing: we have the lower address and keep initiating */
		sl->used = false; /* crossing: we yield and respond */
		sl = NULL;
	}
	if (!sl) {
		if (!s->env.peer_starts(s->env.host, now, l, r)) {
			send_msg(s, now, NULL, l, r, M_INIT_NO);
			return;
		}
		sl = new_slot(s, l, r);
		if (!sl)
			return;
		sl->phase = P_RESPONDING;
		sl->give_up = now + s->cfg.responder_timeout_ms;
	}
	send_msg(s, now, sl, l, r, M_INIT_RESP);
}

static void on_auth_req(standin *s, ss_time now, const ss_addr *l, const ss_addr *r, ss_cur *c)
{
	char cred[65] = { 0 };
	uint8_t n = ss_cur_u8(c);
	if (n > 64 || !ss_cur_copy(c, cred, n))
		return;
	slot *sl = find_slot(s, l, r);
	if (!sl || sl->phase != P_RESPONDING) {
		if (find_sa(s, l, r))
			send_msg(s, now, NULL, l, r, M_AUTH_OK); /* our answer was lost: say it again */
		return;
	}
	bool ok = strcmp(cred, s->cfg.credential) == 0;
	send_msg(s, now, sl, l, r, ok ? M_AUTH_OK : M_AUTH_FAIL);
	finish(s, sl, now, ok ? SS_IKE_SECURED : SS_IKE_PEER_REFUSED);
}

/* RFC 2408 §3.1: an ISAKMP header is 28 octets with the major version in the high nibble
 * of octet 17 (our own messages are shorter). */
static bool is_ikev1(const uint8_t *p, size_t len)
{
	ss_cur c = ss_cur_init(p, len);
	ss_cur_skip(&c, 17);
	uint8_t v = ss_cur_u8(&c);
	return ss_cur_ok(&c) && len >= 28 && (v >> 4) == 1;
}

/* A late answer to a lingering slot: the agent hears it (it may end a soft association);
 * false when it no longer wants the exchange (the slot goes). */
static bool late_ok(standin *s, slot *sl, ss_time now)
{
	if (sl->phase != P_LINGER)
		return true;
	if (s->env.answered(s->env.host, now, &sl->local, &sl->remote))
		return true;
	sl->used = false;
	return false;
}

static void si_datagram(void *n, ss_time now, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t len)
{
	standin *s = n;
	const ss_addr *l = dst, *r = src;
	ss_cur c = ss_cur_init(p, len);
	if (is_ikev1(p, len)) {
		slot *sl = find_slot(s, l, r);
		if (sl && (sl->phase == P_INIT || sl->phase == P_LINGER) && late_ok(s, sl, now))
			finish(s, sl, now, SS_IKE_PEER_REFUSED);
		return;
	}
	uint8_t type = ss_cur_u8(&c);
	if (!ss_cur_ok(&c))
		return;
	if (type == M_INIT_REQ) {
		on_init_req(s, now, l, r);
		return;
	}
	if (type == M_AUTH_REQ) {
		on_auth_req(s, now, l, r, &c);
		return;
	}
	slot *sl = find_slot(s, l, r);
	if (!sl)
		return;
	if ((type == M_INIT_RESP || type == M_INIT_NO) && sl->phase == P_LINGER) {
		if (!late_ok(s, sl, now))
			return;
		sl->phase = P_INIT;
	}
	if (type == M_INIT_RESP && sl->phase == P_INIT) {
		sl->phase = P_AUTH;
		ss_retx_start(&sl->r, &sl->p, now);
		send_msg(s, now, sl, l, r, M_AUTH_REQ);
	} else if (type == M_INIT_NO && sl->phase == P_INIT) {
		finish(s, sl, now, SS_IKE_PEER_REFUSED);
	} else if (type == M_AUTH_OK && sl->phase == P_AUTH) {
		finish(s, sl, now, SS_IKE_SECURED);
	} else if (type == M_AUTH_FAIL && sl->phase == P_AUTH) {
		finish(s, sl, now, SS_IKE_PEER_REFUSED);
	}
}

static void si_icmp(void *n, ss_time now, const ss_addr *l, const ss_addr *r, const uint8_t *q, size_t qlen)
{
	(void)q;
	(void)qlen;
	standin *s = n;
	slot *sl = find_slot(s, l, r);
	if (sl && sl->phase == P_INIT)
		ss_retx_icmp(&sl->r, &sl->p, now);
}

static bool si_has_sa(void *n, const ss_addr *l, const ss_addr *r)
{
	return find_sa(n, l, r) != NULL;
}

static ss_time slot_deadline(const slot *sl)
{
	return sl->phase == P_RESPONDING || sl->phase == P_LINGER ? sl->give_up : ss_retx_deadline(&sl->r);
}

static ss_time si_deadline(void *n)
{
	standin *s = n;
	ss_time d = SS_NEVER;
	for (int i = 0; i < MAX_SLOTS; i++)
		if (s->slots[i].used)
			d = ss_time_min(d, slot_deadline(&s->slots[i]));
	for (int i = 0; i < MAX_SAS; i++)
		if (s->sas[i].used)
			d = ss_time_min(d, s->sas[i].expires);
	return d;
}

static void slot_timer(standin *s, slot *sl, ss_time now)
{
	if (sl->phase == P_RESPONDING) {
		if (now >= sl->give_up) {
			/* Its INIT proved nothing (one slot per pair: nothing else of ours negotiates). */
			ss_addr l = sl->local, r = sl->remote;
			sl->used = false;
			s->env.responder_gave_up(s->env.host, now, &l, &r);
		}
		return;
	}
	if (sl->phase == P_LINGER) {
		if (now >= sl->give_up)
			sl->used = false;
		return;
	}
	for (;;) {
		enum ss_retx_step st = ss_retx_poll(&sl->r, &sl->p, now);
		if (st == SS_RETX_WAIT)
			return;
		if (st == SS_RETX_GIVE_UP) {
			enum ss_ike_outcome o = sl->phase == P_AUTH ? SS_IKE_PEER_REFUSED
					      : sl->r.icmp_errors ? SS_IKE_PEER_UNREACHABLE
								  : SS_IKE_PEER_SILENT;
			ss_time until = sl->r.start + ss_retx_silent_decision(&sl->p);
			if (sl->phase == P_INIT && now < until) {
				sl->phase = P_LINGER;
				sl->give_up = until;
				s->env.outcome(s->env.host, now, &sl->local, &sl->remote, o);
				return;
			}
			finish(s, sl, now, o);
			return;
		}
		send_msg(s, now, sl, &sl->local, &sl->remote, sl->phase == P_INIT ? M_INIT_REQ : M_AUTH_REQ);
		if (sl->phase == P_INIT)
			s->env.attempt(s->env.host, now, &sl->local, &sl->remote, sl->r.sent);
	}
}

static void si_timer(void *n, ss_time now)
{
	standin *s = n;
	for (int i = 0; i < MAX_SLOTS; i++)
		if (s->slots[i].used)
			slot_timer(s, &s->slots[i], now);
	for (int i = 0; i < MAX_SAS; i++) {
		sa *x = &s->sas[i];
		if (x->used && now >= x->expires) {
			x->used = false;
			s->env.sa_down(s->env.host, now, &x->local, &x->remote);
		}
	}
}

static size_t si_active(void *n)
{
	standin *s = n;
	size_t k = 0;
	for (int i = 0; i < MAX_SLOTS; i++)
		k += s->slots[i].used;
	for (int i = 0; i < MAX_SAS; i++)
		k += s->sas[i].used;
	return k;
}

const sim_negotiator_ops sim_standin_ops = {
	.name = "standin",
	.create = si_create,
	.destroy = si_destroy,
	.start = si_start,
	.stop = si_stop,
	.datagram = si_datagram,
	.icmp = si_icmp,
	.has_sa = si_has_sa,
	.deadline = si_deadline,
	.timer = si_timer,
	.active = si_active,
};
