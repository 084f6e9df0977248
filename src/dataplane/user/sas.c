#include "dataplane/user/sas.h"

#include <errno.h>
#include <string.h>

bool dpu_sas_init(dpu_sas *t)
{
	memset(t, 0, sizeof(*t));
	t->sad = ss_esp_sad_new();
	return t->sad != NULL;
}

void dpu_sas_free(dpu_sas *t)
{
	ss_esp_sad_free(t->sad);
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

int dpu_sas_add(dpu_sas *t, const ss_dp_sa *sa, ss_time now, const char **why)
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
	dpu_sa *s = NULL;
	for (size_t i = 0; i < DPU_MAX_SAS && !s; i++)
		if (!t->s[i].used)
			s = &t->s[i];
	if (!s)
		return -ENOSPC;
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
	if (!e)
		return -EINVAL;
	*s = (dpu_sa){ .used = true, .id = sa->id, .reqid = sa->reqid, .order = ++t->next_order,
		       .rport = sa->encap_remote_port, .installed = now, .esp = e };
	t->n_used++;
	t->gen++;
	return 0;
}

dpu_sa *dpu_sas_find(dpu_sas *t, const ss_dp_sa_id *id)
{
	for (size_t i = 0, seen = 0; i < DPU_MAX_SAS && seen < t->n_used; i++) {
		dpu_sa *s = &t->s[i];
		if (!s->used)
			continue;
		seen++;
		if (s->id.spi == id->spi && s->id.dir == id->dir)
			return s;
	}
	return NULL;
}

void dpu_sas_del(dpu_sas *t, dpu_sa *s)
{
	if (!s->used)
		return;
	ss_esp_sad_del(t->sad, s->esp);
	memset(s, 0, sizeof(*s));
	t->n_used--;
	t->gen++;
}

dpu_sa *dpu_sas_for_pair(dpu_sas *t, const ss_addr *local, const ss_addr *remote)
{
	dpu_sa *best = NULL;
	for (size_t i = 0, seen = 0; i < DPU_MAX_SAS && seen < t->n_used; i++) {
		dpu_sa *s = &t->s[i];
		if (!s->used)
			continue;
		seen++;
		if (s->id.dir != SS_DP_OUT || !ss_addr_eq(&s->id.remote, remote) ||
		    !ss_addr_eq(&s->id.local, local) || ss_esp_sa_dead(s->esp))
			continue;
		if (!best || s->order > best->order)
			best = s;
	}
	return best;
}
