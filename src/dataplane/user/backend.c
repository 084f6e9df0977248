/* The userspace backend's side of dataplane.h: opening the port, the SA operations, verdicts,
 * the event queue, lifetimes.  The packet path itself is path.c. */
#include "dataplane/user/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "dataplane/user/user.h"

#define SUB "dataplane"

static dpu_backend *B(ss_dp *dp) { return (dpu_backend *)dp; }

void dpu_event(dpu_backend *b, const ss_dp_event *ev)
{
	if (b->ev_n == DPU_EVQ) {
		/* Bounded: the daemon drains after every round, so this means it stopped. */
		b->ev_lost++;
		return;
	}
	b->evq[(b->ev_head + b->ev_n++) % DPU_EVQ] = *ev;
}

static bool next_event(ss_dp *dp, ss_dp_event *out)
{
	dpu_backend *b = B(dp);
	if (!b->ev_n)
		return false;
	*out = b->evq[b->ev_head];
	b->ev_head = (b->ev_head + 1) % DPU_EVQ;
	b->ev_n--;
	return true;
}

void dpu_sa_events(dpu_backend *b)
{
	ss_esp_event ev[32];
	size_t n;
	while ((n = ss_esp_sad_events(b->sas.sad, ev, 32)) > 0) {
		for (size_t i = 0; i < n; i++) {
			dpu_sa *s = ev[i].user;
			if (!s || !s->used)
				continue;
			static const uint8_t why[] = { 0, SS_DP_WHY_TIME, SS_DP_WHY_BYTES, SS_DP_WHY_SEQ };
			ss_dp_event e = { .kind = ev[i].kind == SS_ESP_EV_SOFT ? SS_DP_EV_SA_SOFT : SS_DP_EV_SA_HARD,
					  .local = s->id.local, .remote = s->id.remote, .sa = s->id, .reqid = s->reqid,
					  .why = why[ev[i].reason < 4 ? ev[i].reason : 1] };
			dpu_event(b, &e);
			/* Hard: the SA carries nothing more; it leaves the table as in the kernel. */
			if (ev[i].kind == SS_ESP_EV_HARD) {
				dpu_stage_forget_sa(b, s);
				dpu_sas_del(&b->sas, s);
			}
		}
	}
}

static void user_close(ss_dp *dp)
{
	dpu_backend *b = B(dp);
	ss_dpu_close(b->port);
	dpu_held_clear(&b->held);
	dpu_sas_free(&b->sas);
	dpu_tunmap_free(&b->tmap);
	free(b);
}

static void user_info(ss_dp *dp, ss_dp_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name = "user";
	snprintf(out->why, sizeof(out->why), "%s", B(dp)->why);
	out->holds_packets = true;
}

static size_t user_poll_fds(ss_dp *dp, ss_dp_fd *out, size_t max)
{
	return ss_dpu_poll_fds(B(dp)->port, out, max);
}

static int user_process(ss_dp *dp, int fd, ss_time now)
{
	dpu_backend *b = B(dp);
	ss_dp_fd fds[8];
	size_t n = ss_dpu_poll_fds(b->port, fds, 8);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (fds[i].fd != fd)
			continue;
		switch (fds[i].role) {
		case SS_DP_FD_OUTBOUND: r = dpu_read_outbound(b, now); break;
		case SS_DP_FD_ESP: r = dpu_read_esp(b, now); break;
		case SS_DP_FD_NOTICE: r = dpu_read_notices(b); break;
		case SS_DP_FD_EVENTS: break;
		}
	}
	if (now >= b->next_tick) {
		b->next_tick = ss_esp_sad_tick(b->sas.sad, now);
		dpu_sa_events(b);
	}
	return r;
}

static ss_time user_deadline(ss_dp *dp) { return B(dp)->next_tick; }

static int user_flush(ss_dp *dp, ss_time now)
{
	dpu_end_round(B(dp), now);
	return 0;
}

static int user_set_filters(ss_dp *dp, const ss_dp_filter *f, size_t n)
{
	int r = ss_dpu_set_filters(B(dp)->port, f, n);
	if (r == 0)
		r = dpu_tunmap_set(&B(dp)->tmap, f, n);
	return r;
}

static int user_set_peer(ss_dp *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time timeout)
{
	return ss_dpu_set_peer(B(dp)->port, peer, st, timeout);
}

static int user_list_soft(ss_dp *dp, ss_dp_soft_info *out, size_t n)
{
	return ss_dpu_list_soft(B(dp)->port, out, n);
}

static int user_sa_add(ss_dp *dp, const ss_dp_sa *sa, ss_time now)
{
	dpu_backend *b = B(dp);
	const char *why = NULL;
	dpu_sa *s = NULL;
	int r = dpu_sas_add(&b->sas, sa, now, &why, &s);
	if (r == -EINVAL)
		SS_ERR(SUB, "cannot install ESP SA %08x (%s): %s", sa->id.spi, sa->id.dir == SS_DP_IN ? "in" : "out",
		       why ? why : "?");
	if (r == 0) {
		/* Only the new SA's deadlines can come sooner: no walk over every SA per add. */
		ss_time soft, hard;
		uint64_t bytes;
		ss_esp_sa_lifetime(s->esp, &soft, &hard, &bytes);
		b->next_tick = ss_time_min(b->next_tick, ss_time_min(soft, hard));
	}
	return r;
}

static int user_sa_update(ss_dp *dp, const ss_dp_sa_id *id, const ss_addr *new_remote, uint16_t port)
{
	/* The ESP library fixes the outer endpoints at creation: the daemon reinstalls. */
	return B(dp)->sas.sad && dpu_sas_find(&B(dp)->sas, id) ? -EOPNOTSUPP : -ENOENT;
}

static int user_sa_del(ss_dp *dp, const ss_dp_sa_id *id)
{
	dpu_backend *b = B(dp);
	dpu_sa *s = dpu_sas_find(&b->sas, id);
	if (!s)
		return -ENOENT;
	dpu_sa_events(b); /* events already queued for it keep its reqid */
	dpu_stage_forget_sa(b, s);
	dpu_sas_del(&b->sas, s);
	return 0;
}

static int user_sa_query(ss_dp *dp, const ss_dp_sa_id *id, ss_dp_sa_counters *out)
{
	dpu_sa *s = dpu_sas_find(&B(dp)->sas, id);
	if (!s)
		return -ENOENT;
	const ss_esp_counters *c = ss_esp_sa_counters(s->esp);
	*out = (ss_dp_sa_counters){ .packets = c->packets, .bytes = c->bytes,
				    .replay_fail = c->errors[SS_ESP_E_REPLAY], .auth_fail = c->errors[SS_ESP_E_AUTH],
				    .installed = s->installed };
	return 0;
}

static int user_verdict(ss_dp *dp, uint64_t handle, enum ss_dp_pkt_verdict v, ss_time now)
{
	return dpu_verdict(B(dp), handle, v, now);
}

static int user_esp_input(ss_dp *dp, const ss_addr *local, const ss_addr *remote, uint16_t lport,
			  uint16_t rport, const uint8_t *p, size_t len)
{
	return dpu_esp_input(B(dp), local, remote, lport, rport, p, len);
}

static void user_get_stats(ss_dp *dp, ss_dp_stats *out)
{
	dpu_backend *b = B(dp);
	ss_dpu_stats ps;
	ss_dpu_get_stats(b->port, &ps);
	*out = b->st;
	out->release_err = ps.release_err;
	out->esp_tx = ps.esp_tx;
	out->esp_tx_err = ps.esp_tx_err;
	out->esp_rx = ps.esp_rx;
	out->delivered = ps.delivered;
	out->deliver_err = ps.deliver_err;
	out->notices = ps.notices;
	out->malformed = ps.malformed;
	out->port_released = ps.released;
	out->port_captured = ps.out_pkts;
	out->gso_split = ps.out_gso;
	out->gso_sent = ps.esp_tx_gso;
	out->gro_merged = ps.deliver_gso;
	out->held_now = b->held.n;
	memcpy(out->dropped, ps.dropped, sizeof(out->dropped));
}

static const struct ss_dp_ops user_backend_ops = {
	.close = user_close,
	.info = user_info,
	.poll_fds = user_poll_fds,
	.process = user_process,
	.deadline = user_deadline,
	.next_event = next_event,
	.flush = user_flush,
	.set_filters = user_set_filters,
	.set_peer = user_set_peer,
	.list_soft = user_list_soft,
	.sa_add = user_sa_add,
	.sa_update = user_sa_update,
	.sa_del = user_sa_del,
	.sa_query = user_sa_query,
	.verdict = user_verdict,
	.esp_input = user_esp_input,
	.get_stats = user_get_stats,
};

static bool user_available(char *why, size_t whylen)
{
	snprintf(why, whylen, "userspace ESP over a TUN device needs no kernel ESP");
	return true;
}

dpu_backend *dpu_backend_new(ss_dpu *port, size_t max_held, const char *why_chosen)
{
	dpu_backend *b = calloc(1, sizeof(*b));
	if (!b || !dpu_sas_init(&b->sas)) {
		free(b);
		return NULL;
	}
	b->base.ops = &user_backend_ops;
	b->port = port;
	b->held.max_n = max_held;
	b->next_handle = 1;
	b->next_tick = SS_NEVER;
	snprintf(b->why, sizeof(b->why), "%s", why_chosen ? why_chosen : "");
	return b;
}

static int user_open(const ss_dp_config *cfg, const char *why_chosen, ss_dp **out, char *err, size_t errlen)
{
	ss_dp_user_config uc;
	ss_dp_user_config_default(&uc);
	if (cfg->tun_name)
		snprintf(uc.tun_name, sizeof(uc.tun_name), "%s", cfg->tun_name);
	uc.esp_udp_fd4 = cfg->esp_udp_fd4;
	uc.esp_udp_fd6 = cfg->esp_udp_fd6;
	uc.ipv6 = cfg->ipv6;
	/* TCP super-packets in (split straight into ESP slots), coalesced GSO writes out: the
	 * fast path measured in bench/README.md. */
	uc.vnet_hdr = cfg->offload;
	ss_dpu *port;
	int r = ss_dp_user_open(&uc, &port, err, errlen);
	if (r < 0)
		return r;
	dpu_backend *b = dpu_backend_new(port, cfg->max_held, why_chosen);
	if (!b) {
		ss_dpu_close(port);
		snprintf(err, errlen, "out of memory creating the userspace dataplane");
		return -ENOMEM;
	}
	*out = &b->base;
	return 0;
}

const ss_dp_backend ss_dp_user_backend = { "user", user_available, user_open };
