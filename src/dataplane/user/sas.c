#include "dataplane/user/sas.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/secure.h"

#define SAS_MIN_BUCKETS 64

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* SPIs and addresses come from the network (the peer picks our outbound SPIs): hashed with
 * a secret seed, so that nobody can aim them at one bucket. */
static size_t id_slot(const dpu_sas *t, uint32_t spi, uint8_t dir)
{
	return (size_t)mix(t->seed ^ ((uint64_t)spi << 1 | dir)) & (t->nb - 1);
}

static size_t pair_slot(const dpu_sas *t, const ss_addr *local, const ss_addr *remote)
{
	uint64_t h = t->seed;
	for (size_t i = 0; i < 16; i += 8) {
		uint64_t a, b;
		memcpy(&a, local->a + i, 8);
		memcpy(&b, remote->a + i, 8);
		h = mix(h ^ a) ^ mix(b + h + remote->family);
	}
	return (size_t)h & (t->nb - 1);
}

static void chain_id(dpu_sas *t, dpu_sa *s)
{
	dpu_sa **head = &t->by_id[id_slot(t, s->id.spi, s->id.dir)];
	s->id_next = *head;
	if (*head)
		(*head)->id_pprev = &s->id_next;
	*head = s;
	s->id_pprev = head;
}

static void chain_pair(dpu_sas *t, dpu_sa *s)
{
	if (s->id.dir != SS_DP_OUT)
		return;
	dpu_sa **head = &t->by_pair[pair_slot(t, &s->id.local, &s->id.remote)];
	s->pair_next = *head;
	if (*head)
		(*head)->pair_pprev = &s->pair_next;
	*head = s;
	s->pair_pprev = head;
}

static void unchain(dpu_sa *s)
{
	*s->id_pprev = s->id_next;
	if (s->id_next)
		s->id_next->id_pprev = s->id_pprev;
	if (s->pair_pprev) {
		*s->pair_pprev = s->pair_next;
		if (s->pair_next)
			s->pair_next->pair_pprev = s->pair_pprev;
	}
}

/* Load factor at most 1: doubles and rechains everything. */
static bool grow(dpu_sas *t)
{
	size_t nb = t->nb ? 2 * t->nb : SAS_MIN_BUCKETS;
	dpu_sa **id = calloc(nb, sizeof(*id)), **pair = calloc(nb, sizeof(*pair));
	if (!id || !pair) {
		free(id);
		free(pair);
		return false;
	}
	dpu_sa **old_id = t->by_id;
	size_t old_nb = t->nb;
	free(t->by_pair);
	t->by_id = id;
	t->by_pair = pair;
	t->nb = nb;
	for (size_t i = 0; i < old_nb; i++)
		for (dpu_sa *s = old_id[i], *nx; s; s = nx) {
			nx = s->id_next;
			s->pair_pprev = NULL;
			chain_id(t, s);
			chain_pair(t, s);
		}
	free(old_id);
	return true;
}

bool dpu_sas_init(dpu_sas *t)
{
	memset(t, 0, sizeof(*t));
	t->sad = ss_esp_sad_new();
	if (!t->sad || !ss_random(&t->seed, sizeof(t->seed)) || !grow(t)) {
		dpu_sas_free(t);
		return false;
	}
	return true;
}

void dpu_sas_free(dpu_sas *t)
{
	ss_esp_sad_free(t->sad);
	for (size_t i = 0; i < t->nb; i++)
		for (dpu_sa *s = t->by_id[i], *nx; s; s = nx) {
			nx = s->id_next;
			free(s);
		}
	free(t->by_id);
	free(t->by_pair);
	memset(t, 0, sizeof(*t));
}

static void to_esp_ts(const ss_dp_ts *in, uint8_t n, ss_esp_ts *out, uint8_t *nout)
{
	*nout = 0;
	for (uint8_t i = 0; i < n && i < SS_ESP_MAX_TS; i++) {
		out[i] = (ss_esp_ts){ in[i].lo, in[i].hi, in[i].proto, in[i].port_lo, in[i].port_hi };
		(*nout)++;
	}
}

int dpu_sas_add(dpu_sas *t, const ss_dp_sa *sa, ss_time now, const char **why, dpu_sa **out)
{
	*why = NULL;
	/* The ESP library counts bytes and time, and keeps a fixed replay window. */
	if (sa->life.soft_packets || sa->life.hard_packets) {
		*why = "packet-count lifetimes are not supported by the userspace ESP";
		return -EINVAL;
	}
	if (sa->n_local_ts > SS_DP_MAX_TS || sa->n_remote_ts > SS_DP_MAX_TS) {
		*why = "too many traffic selectors";
		return -EINVAL;
	}
	if (dpu_sas_find(t, &sa->id))
		return -EEXIST;
	if (t->n_used >= t->nb && !grow(t))
		return -ENOMEM;
	dpu_sa *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ss_esp_params p;
	memset(&p, 0, sizeof(p));
	p.spi = sa->id.spi;
	p.dir = sa->id.dir == SS_DP_IN ? SS_ESP_IN : SS_ESP_OUT;
	p.mode = sa->mode == SS_DP_TUNNEL ? SS_ESP_TUNNEL : SS_ESP_TRANSPORT;
	p.encr = sa->encr;
	p.integ = sa->integ;
	p.encr_key = sa->encr_key;
	p.encr_key_len = sa->encr_key_len;
	p.integ_key = sa->integ_key_len ? sa->integ_key : NULL;
	p.integ_key_len = sa->integ_key_len;
	p.esn = sa->esn;
	p.local = sa->id.local;
	p.remote = sa->id.remote;
	p.udp_local_port = sa->encap_local_port;
	p.udp_remote_port = sa->encap_remote_port;
	to_esp_ts(sa->local_ts, sa->n_local_ts, p.local_ts, &p.n_local_ts);
	to_esp_ts(sa->remote_ts, sa->n_remote_ts, p.remote_ts, &p.n_remote_ts);
	p.life = (ss_esp_lifetime){ sa->life.soft_seconds, sa->life.hard_seconds, sa->life.soft_bytes,
				    sa->life.hard_bytes };
	p.user = s;
	ss_esp_sa *e = ss_esp_sad_add(t->sad, &p, now, why);
	if (!e) {
		free(s);
		return -EINVAL;
	}
	*s = (dpu_sa){ .used = true, .id = sa->id, .reqid = sa->reqid, .order = ++t->next_order,
		       .rport = sa->encap_remote_port, .installed = now, .esp = e };
	chain_id(t, s);
	chain_pair(t, s);
	t->n_used++;
	t->gen++;
	if (out)
		*out = s;
	return 0;
}

dpu_sa *dpu_sas_find(dpu_sas *t, const ss_dp_sa_id *id)
{
	/* Outbound SPIs are the peers' choice: unique per peer only. */
	for (dpu_sa *s = t->by_id[id_slot(t, id->spi, id->dir)]; s; s = s->id_next)
		if (s->id.spi == id->spi && s->id.dir == id->dir &&
		    (id->dir != SS_DP_OUT || ss_addr_eq(&s->id.remote, &id->remote)))
			return s;
	return NULL;
}

void dpu_sas_del(dpu_sas *t, dpu_sa *s)
{
	if (!s || !s->used)
		return;
	ss_esp_sad_del(t->sad, s->esp);
	unchain(s);
	free(s);
	t->n_used--;
	t->gen++;
}

/* The pair's outbound SAs share a chain (with other pairs of the bucket): the walk is as
 * long as the pair has SAs, and runs only when the packet path's cache is stale. */
dpu_sa *dpu_sas_for_pair(dpu_sas *t, const ss_addr *local, const ss_addr *remote)
{
	dpu_sa *best = NULL;
	for (dpu_sa *s = t->by_pair[pair_slot(t, local, remote)]; s; s = s->pair_next) {
		if (!ss_addr_eq(&s->id.remote, remote) || !ss_addr_eq(&s->id.local, local) || ss_esp_sa_dead(s->esp))
			continue;
		if (!best || s->order > best->order)
			best = s;
	}
	return best;
}
