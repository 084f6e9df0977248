/* INFORMATIONAL (§1.4): DELETE of the IKE SA or of CHILD SAs, and liveness checks (an empty
 * request). */
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/ike_internal.h"

/* Deletes our CHILD SAs whose outbound SPI the peer names; writes our inbound SPIs. */
static uint16_t delete_children(ss_ike_engine *e, ike_sa *sa, const ss_ike_delete_pl *d,
				uint8_t *ours, uint16_t max)
{
	uint16_t n = 0;
	ss_cur spis = ss_cur_init(d->spis.p, d->spis.len);  /* n_spi * 4 bytes, checked by the codec */
	for (uint16_t i = 0; i < d->n_spi; i++) {
		uint32_t spi = ss_cur_be32(&spis);
		for (int k = 0; k < SS_IKE_MAX_CHILD; k++) {
			ike_child *c = sa->child[k];
			if (!c || c->spi_out != spi || n >= max)
				continue;
			uint32_t in = c->spi_in;
			ours[4 * n] = (uint8_t)(in >> 24);
			ours[4 * n + 1] = (uint8_t)(in >> 16);
			ours[4 * n + 2] = (uint8_t)(in >> 8);
			ours[4 * n + 3] = (uint8_t)in;
			n++;
			child_gone(e, sa, c);
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
	sa_respond(e, sa, SS_IKE_INFORMATIONAL, &w);
	if (delete_ike) {
		SS_INFO(SUB, "SA %u: peer deleted the IKE SA", sa->handle);
		ike_coll_peer_won(e, sa, now);
		sa_kill(sa, "peer sent DELETE");
	}
}

void info_response_in(ss_ike_engine *e, ike_sa *sa, ss_ike_msg *m, ss_time now)
{
	sa_clear_request(sa);
	sa->my_msg_id++;
	enum ike_op op = sa->op;
	sa->op = OP_NONE;
	ike_child *c = op == OP_DELETE_CHILD ? child_by_spi_in(sa, sa->op_spi) : NULL;
	if (c)
		child_gone(e, sa, c);
	if (sa->state == ST_DELETING)
		sa_kill(sa, "DELETE acknowledged");
}

bool ss_ike_delete(ss_ike_engine *e, uint32_t h, ss_time now)
{
	eng_begin(e);
	ike_sa *sa = sa_by_handle(e, h);
	return sa && ss_ike_delete_sa(e, sa, now);
}

bool ss_ike_delete_sa(ss_ike_engine *e, ike_sa *sa, ss_time now)
{
	if (sa->state != ST_ESTABLISHED || sa->out.req)
		return false;
	uint8_t inner[16];
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_delete(&w, SS_PROTO_IKE, 0, 0, NULL);
	ss_ikew_finish(&w);
	if (!sa_request(e, sa, SS_IKE_INFORMATIONAL, &w, now))
		return false;
	sa->op = OP_DELETE_IKE;
	/* Refused, the SA dies at once rather than linger half-deleted. */
	if (!sa_set_state(sa, ST_DELETING, "local delete")) {
		sa_kill(sa, "state change refused");
		return true;
	}
	/* §1.4.1: deleting the IKE SA closes its CHILD SAs; they go now, not when the peer
	 * answers (or, if it never does, after the DELETE's retransmissions). */
	for (int i = 0; i < SS_IKE_MAX_CHILD; i++)
		if (sa->child[i])
			child_gone(e, sa, sa->child[i]);
	sa->delete_until = now + SS_IKE_REQUEST_TIMEOUT_MS;
	return true;
}

bool child_send_delete(ss_ike_engine *e, ike_sa *sa, uint32_t spi_in, ss_time now)
{
	uint8_t inner[32], spi[4] = { (uint8_t)(spi_in >> 24), (uint8_t)(spi_in >> 16),
				      (uint8_t)(spi_in >> 8), (uint8_t)spi_in };
	ss_ike_writer w;
	ss_ikew_init_inner(&w, inner, sizeof(inner));
	ss_ikew_delete(&w, SS_PROTO_ESP, 4, 1, spi);
	ss_ikew_finish(&w);
	if (!sa_request(e, sa, SS_IKE_INFORMATIONAL, &w, now))
		return false;
	sa->op = OP_DELETE_CHILD;
	sa->op_spi = spi_in;
	return true;
}
