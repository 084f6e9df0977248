#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *local,
				   const ss_ike_endpoint *remote, const ss_ike_id *idi)
{
	h_side *s = ctx;
	return s->refuse_lookup || (idi && s->refuse_auth_lookup) ? NULL : &s->cfg;
}

void h_init(harness *h, const ss_ike_engine_params *pb)
{
	memset(h, 0, sizeof(*h));
	h->now = 1000;
	for (int i = 0; i < 2; i++) {
		h_side *s = &h->side[i];
		s->ep.addr = ss_addr_v4(0x0a000001 + (uint32_t)i);
		s->ep.port = SS_IKE_PORT;
		s->public_ep = s->ep;
		ss_ike_engine_params p;
		if (pb && i == 1)
			p = *pb;
		else
			ss_ike_engine_params_default(&p);
		p.lookup = lookup;
		p.lookup_ctx = s;
		s->eng = ss_ike_engine_new(&p);
		assert_non_null(s->eng);
	}
}

void h_restart(harness *h, int i)
{
	h_side *s = &h->side[i];
	ss_ike_engine_free(s->eng);
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	p.lookup_ctx = s;
	s->eng = ss_ike_engine_new(&p);
	assert_non_null(s->eng);
	s->n_alive = 0;
}

void h_free(harness *h)
{
	for (int i = 0; i < 2; i++)
		ss_ike_engine_free(h->side[i].eng);
}

void h_config(ss_ike_config *c, const ss_ike_suite *ike, const ss_esp_suite *esp,
	      const char *local_id, const char *remote_id, const char *psk)
{
	ss_ike_config_init(c);
	c->ike[0] = *ike;
	c->n_ike = 1;
	c->esp[0] = *esp;
	c->n_esp = 1;
	c->local_id = ss_ike_id_fqdn(local_id);
	if (remote_id)
		c->remote_id = ss_ike_id_fqdn(remote_id);
	c->psk_len = strlen(psk);
	memcpy(c->psk, psk, c->psk_len);
}

uint32_t h_initiate(harness *h, int from)
{
	h_side *s = &h->side[from];
	ss_ike_endpoint remote = h->side[!from].public_ep;
	return ss_ike_initiate(s->eng, &s->ep, &remote, &s->cfg, h->now);
}

/* Source as the receiver sees it: behind a NAT, 500 -> public port, 4500 -> public + 1. */
static ss_ike_endpoint seen_from(const h_side *s, const ss_ike_endpoint *local)
{
	if (ss_addr_eq(&s->ep.addr, &s->public_ep.addr))
		return *local;
	ss_ike_endpoint e = s->public_ep;
	if (local->port == SS_IKE_NATT_PORT)
		e.port++;
	return e;
}

/* Destination as the receiver's socket sees it (undoing the NAT's mapping). */
static ss_ike_endpoint arrives_at(const h_side *s, const ss_ike_endpoint *dst)
{
	if (ss_addr_eq(&s->ep.addr, &s->public_ep.addr))
		return *dst;
	ss_ike_endpoint e = s->ep;
	e.port = dst->port == s->public_ep.port ? SS_IKE_PORT : SS_IKE_NATT_PORT;
	return e;
}

/* SS_IKE_DUMP_DIR=dir writes every datagram to a file: the fuzz targets' seed corpus. */
static void dump(const h_sent *l, int n)
{
	static unsigned seq;
	const char *dir = getenv("SS_IKE_DUMP_DIR");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/msg-%04u-%d", dir, seq++, n);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(l->data, 1, l->len, f);
		fclose(f);
	}
}

static void on_action(harness *h, int i, const ss_ike_action *a)
{
	h_side *s = &h->side[i];
	switch (a->kind) {
	case SS_IKE_ACT_SEND: {
		assert_true(h->n_log < H_MAX_LOG);
		h_sent *l = &h->log[h->n_log];
		assert_true(a->len <= sizeof(l->data));
		l->from = i;
		memcpy(l->data, a->data, a->len);
		l->len = a->len;
		l->src = seen_from(s, &a->local);
		l->dst = a->remote;
		l->dropped = h->drop[h->n_log] || h->drop_all_from[i];
		dump(l, h->n_log);
		h->n_log++;
		break;
	}
	case SS_IKE_ACT_CHILD_UP:
		if (getenv("IKE_DEBUG"))
			print_message("side %d CHILD_UP in %08x out %08x rekey_of %08x\n", i, a->child.spi_in,
				      a->child.spi_out, a->child.rekey_of);
		s->child = a->child;
		s->n_child_up++;
		if (a->child.spi_in < 256 || a->child.spi_out < 256)
			s->n_bad_spi++;
		assert_true(s->n_alive < 8);
		s->alive[s->n_alive++] = a->child;
		break;
	case SS_IKE_ACT_CHILD_DELETED:
		if (getenv("IKE_DEBUG"))
			print_message("side %d CHILD_DELETED in %08x\n", i, a->child.spi_in);
		s->n_child_deleted++;
		for (int k = 0; k < s->n_alive; k++)
			if (s->alive[k].spi_in == a->child.spi_in) {
				s->alive[k] = s->alive[--s->n_alive];
				break;
			}
		break;
	case SS_IKE_ACT_IKE_REKEYED:
		s->n_ike_rekeyed++;
		break;
	case SS_IKE_ACT_ATTEMPT:
		/* Numbered 1, 2, ... per negotiation, each just before its IKE_SA_INIT. */
		s->n_attempt++;
		s->last_attempt = a->attempt;
		s->attempt_log_at = h->n_log;
		break;
	case SS_IKE_ACT_IKE_DELETED:
		s->n_ike_deleted++;
		s->ike_deleted_at = h->now;
		s->ike_deleted_reason = a->reason;
		break;
	case SS_IKE_ACT_ANSWERED:
		s->n_answered++;
		s->answered_at = h->now;
		break;
	case SS_IKE_ACT_TIMEOUT:
		s->n_timeout++;
		s->timeout_at = h->now;
		s->timeout_sa = a->sa;
		break;
	case SS_IKE_ACT_OUTCOME:
		s->n_outcome++;
		s->outcome = a->outcome;
		s->outcome_notify = a->notify;
		s->outcome_reason = a->reason;
		s->outcome_at = h->now;
		break;
	}
}

static void drain(harness *h)
{
	for (int i = 0; i < 2; i++) {
		ss_ike_action a;
		while (ss_ike_next_action(h->side[i].eng, &a))
			on_action(h, i, &a);
	}
}

static void deliver(harness *h, const h_sent *l)
{
	int to = !l->from;
	if (l->from == 0 && h->icmp_for_all_from_a) {
		ss_ike_icmp(h->side[0].eng, l->data, l->len, h->now);
		return;
	}
	h_side *r = &h->side[to];
	ss_ike_endpoint local = arrives_at(r, &l->dst);
	ss_ike_input(r->eng, l->data, l->len, &local, &l->src, h->now);
}

void h_run(harness *h, ss_time until)
{
	int next = h->n_log;
	for (int guard = 0; guard < 10000; guard++) {
		drain(h);
		if (next < h->n_log) {
			h_sent *l = &h->log[next];
			int idx = next++;
			if (!l->dropped) {
				deliver(h, l);
				if (h->dup[idx])
					deliver(h, l);
			}
			continue;
		}
		ss_time t = ss_time_min(ss_ike_next_deadline(h->side[0].eng),
					ss_ike_next_deadline(h->side[1].eng));
		if (t == SS_NEVER || t > until)
			return;
		if (t > h->now)
			h->now = t;
		for (int i = 0; i < 2; i++)
			ss_ike_timer(h->side[i].eng, h->now);
	}
	fail_msg("harness did not settle");
}

int h_count(const harness *h, int from, uint8_t exch, bool response)
{
	int n = 0;
	for (int i = 0; i < h->n_log; i++) {
		const h_sent *l = &h->log[i];
		size_t off = l->len >= 4 && !l->data[0] && !l->data[1] && !l->data[2] && !l->data[3] ? 4 : 0;
		if (l->from != from || l->len < off + SS_IKE_HDR_LEN)
			continue;
		if (l->data[off + 18] == exch && !!(l->data[off + 19] & SS_IKE_FLAG_RESPONSE) == response)
			n++;
	}
	return n;
}
