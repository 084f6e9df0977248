/* INFORMATIONAL (§1.4): DELETE of the IKE SA or of CHILD SAs, and liveness checks (an empty
 * request).  CREATE_CHILD_SA requests are answered NO_ADDITIONAL_SAS for now (§1.3). */
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"

static void respond(ss_ike_engine *e, ike_sa *sa, uint8_t exch, const ss_ike_writer *w)
{
	uint8_t out[SS_IKE_BUF];
	size_t n = sa_seal(sa, exch, true, sa->peer_msg_id, w, out, sizeof(out));
	if (n)
		sa_send_response(e, sa, out, n);
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Deletes our CHILD SAs whose outbound SPI the peer names; writes our inbound SPIs. */
static uint16_t delete_children(ss_ike_engine *e, ike_sa *sa, const ss_ike_delete_pl *d,
				uint8_t *ours, uint16_t max)
{
	uint16_t n = 0;
	for (uint16_t i = 0; i < d->n_spi; i++) {
		uint32_t spi = be32_at(d->spis.p + 4u * i);
		for (int k = 0; k < SS_IKE_MAX_CHILD; k++) {
			ike_child *c = &sa->child[k];
			if (!c->used || c->info.spi_out != spi || n >= max)
				continue;
			uint32_t in = c->info.spi_in;
			ours[4 * n] = (uint8_t)(in >> 24);
			ours[4 * n + 1] = (uint8_t)(in >> 16);
			ours[4 * n + 2] = (uint8_t)(in >> 8);
			ours[4 * n + 3] = (uint8_t)in;
			n++;
			act_child(e, sa, SS_IKE_ACT_CHILD_DELETED, &c->info);
			memset(c, 0, sizeof(*c));
		}
	}
	return n;
}

void info_request_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	if (sa->state != ST_ESTABLISHED && sa->state != ST_DELETING) {
		e->st.dropped++;
		return;
	}
	uint8_t inner[512];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	bool delete_ike = false;
	for (unsigned i = 0; i < m->n_delete; i++) {
		const ss_ike_delete_pl *d = &m->del[i];
		if (d->proto == SS_PROTO_IKE) {
			delete_ike = true;
		} else if (d->proto == SS_PROTO_ESP) {
			uint8_t ours[4 * SS_IKE_MAX_CHILD];
			uint16_t n = delete_children(e, sa, d, ours, SS_IKE_MAX_CHILD);
			if (n)
				ss_ikew_delete(&w, SS_PROTO_ESP, 4, n, ours);
		}
	}
	if (delete_ike) {
		/* §1.4.1: the answer to an IKE SA delete is empty. */
		ss_ikew_init_inner(&w, inner, sizeof(inner));
	}
	ss_ikew_finish(&w);
	respond(e, sa, SS_IKE_INFORMATIONAL, &w);
	if (delete_ike) {
		SS_INFO(SUB, "SA %u: peer deleted the IKE SA", sa->handle);
		sa_set_state(sa, ST_DEAD, "peer sent DELETE");
	}
}

void info_response_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	sa_clear_request(sa);
	sa->my_msg_id++;
	if (sa->state == ST_DELETING)
		sa_set_state(sa, ST_DEAD, "DELETE acknowledged");
}

void child_request_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	if (sa->state != ST_ESTABLISHED) {
		e->st.dropped++;
		return;
	}
	uint8_t inner[64];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_notify(&w, 0, NULL, 0, SS_N_NO_ADDITIONAL_SAS, NULL, 0);
	ss_ikew_finish(&w);
	respond(e, sa, SS_IKE_CREATE_CHILD_SA, &w);
}

static bool request(ss_ike_engine *e, ike_sa *sa, const ss_ike_writer *w, ss_time now)
{
	uint8_t out[SS_IKE_BUF];
	size_t n = sa_seal(sa, SS_IKE_INFORMATIONAL, false, sa->my_msg_id, w, out, sizeof(out));
	if (!n)
		return false;
	sa_send_request(e, sa, out, n, SS_IKE_INFORMATIONAL, now);
	return true;
}

bool ss_ike_delete(ss_ike_engine *e, uint32_t h, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	if (!sa || sa->state != ST_ESTABLISHED || sa->out.req)
		return false;
	uint8_t inner[16];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_delete(&w, SS_PROTO_IKE, 0, 0, NULL);
	ss_ikew_finish(&w);
	if (!request(e, sa, &w, now))
		return false;
	sa_set_state(sa, ST_DELETING, "local delete");
	return true;
}

bool ss_ike_dpd(ss_ike_engine *e, uint32_t h, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	if (!sa || sa->state != ST_ESTABLISHED || sa->out.req)
		return false;
	ss_ike_writer w;
	uint8_t inner[4];
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_finish(&w);
	return request(e, sa, &w, now);
}
