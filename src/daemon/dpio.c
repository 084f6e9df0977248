/* The dataplane's side of softsad, for any backend (dataplane/dataplane.h).  Its events go
 * to the agent (acquire: outbound traffic that needs a decision, one per packet, by handle;
 * inbound clear from an unknown peer), to the CHILD SA table (lifetimes), and to the engine
 * and the agent (ESP for SPIs we do not have); the agent's verdicts go back (agentio.c).  A round ends with ss_dp_flush, which sends what the
 * verdicts staged. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "esp/esp.h"
#include "ike/ike.h"

/* Calls per readable descriptor: a backend returns at most one batch per process call, so
 * this bounds one wake-up to ROUNDS batches before the loop looks at the other sources. */
enum { ROUNDS = 16, BATCH = 64 };

/* ESP for an SPI we hold no SA for (the backend reports it once per sender and SPI a
 * second).  Only a peer our policy secures counts; the engine rate-limits (per peer and in
 * all), then an idle pair negotiates.  The engine's actions (the INVALID_SPI notify) are
 * drained by the caller's dm_drain. */
static void esp_unknown(ss_daemon *d, const ss_dp_event *ev, ss_time now)
{
	char rb[SS_ADDR_STRLEN];
	d->st.unknown_spi++;
	SS_DEBUG(SUB, "ESP from %s for SPI %08x we do not have", ss_addr_fmt(&ev->remote, rb), ev->sa.spi);
	if (!dm_agent_secures(d, &ev->local, &ev->remote))
		return;
	/* §1.5: the notify goes to the packet's source port when it came in UDP (to our NAT-T
	 * port), else to the peer's IKE port. */
	ss_ike_endpoint l = { ev->local, ev->port ? d->ike.natt_port : d->ike.port },
			r = { ev->remote, ev->port ? ev->port : d->ike.port };
	if (!ss_ike_esp_unknown(d->eng, &l, &r, ev->sa.spi, now))
		return;
	dm_agent_esp_unknown(d, now, &ev->local, &ev->remote);
	char s[12];
	snprintf(s, sizeof(s), "%08x", ev->sa.spi);
	dm_event(d, "unknown-spi", &ev->local, &ev->remote,
		 json_pack("{s:s, s:I}", "spi", s, "count", (json_int_t)ss_ike_esp_unknown_count(d->eng, &ev->remote)));
}

static void on_event(ss_daemon *d, const ss_dp_event *ev, ss_time now)
{
	switch (ev->kind) {
	case SS_DP_EV_ACQUIRE: {
		ss_pkt_key k = { .dir = SS_DIR_OUT, .proto = ev->proto, .sport = ev->sport, .dport = ev->dport,
				 .src = ev->local, .dst = ev->remote };
		ss_agent_outbound(d->agent, now, &k, ev->len, ev->handle);
		break;
	}
	case SS_DP_EV_INBOUND_CLEAR: {
		ss_pkt_key k = { .dir = SS_DIR_IN, .proto = ev->proto, .sport = ev->sport, .dport = ev->dport,
				 .src = ev->remote, .dst = ev->local };
		/* Handle 0: the packet itself is already gone (accepted or dropped by the
		 * dataplane); only the decision's side effects matter. */
		ss_agent_inbound_clear(d->agent, now, &k, 0, 0);
		break;
	}
	case SS_DP_EV_SA_SOFT:
	case SS_DP_EV_SA_HARD:
		dm_child_expired(d, ev->reqid, ev->sa.spi, ev->kind == SS_DP_EV_SA_HARD, ev->why, now);
		break;
	case SS_DP_EV_UNKNOWN_SPI:
		esp_unknown(d, ev, now);
		break;
	case SS_DP_EV_HELD_RELEASED:
	case SS_DP_EV_HELD_DROPPED:
		/* The agent counts what it holds; a handle the backend let go is answered -ENOENT
		 * when the agent releases it. */
		break;
	}
	dm_agent_drain(d, now);
}

size_t dm_dp_drain(ss_daemon *d, ss_time now)
{
	size_t n = 0;
	ss_dp_event ev;
	while (ss_dp_next_event(d->dp, &ev)) {
		on_event(d, &ev, now);
		n++;
	}
	return n;
}

int dm_on_dp(ss_daemon *d, int fd, ss_time now)
{
	for (int round = 0; round < ROUNDS; round++) {
		int n = ss_dp_process(d->dp, fd, now);
		if (n < 0 && n != -EAGAIN && n != -EINTR)
			return n;
		dm_dp_drain(d, now);
		ss_dp_flush(d->dp, now);
		dm_drain(d, now);
		if (n < BATCH || fd < 0)
			break;
		now = ss_now_ms();
	}
	return 0;
}

ss_time dm_dp_deadline(ss_daemon *d)
{
	return ss_dp_deadline(d->dp);
}

json_t *dm_dp_info_json(ss_daemon *d)
{
	ss_dp_info in;
	ss_dp_info_get(d->dp, &in);
	return json_pack("{s:s, s:s}", "name", in.name, "why", in.why);
}

json_t *dm_dp_stats_json(ss_daemon *d)
{
	ss_dp_stats s;
	ss_dp_get_stats(d->dp, &s);
	const uint64_t *e = s.esp_in_err;
	return json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}},"
			 " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			 "esp", "packets_out", (json_int_t)s.esp_out_pkts, "bytes_out", (json_int_t)s.esp_out_bytes,
			 "packets_in", (json_int_t)s.esp_in_pkts, "bytes_in", (json_int_t)s.esp_in_bytes,
			 "no_sa_out", (json_int_t)s.no_sa_out, "unknown_spi", (json_int_t)s.unknown_spi,
			 "errors", "no_sa", (json_int_t)e[SS_ESP_E_NOSA], "replay", (json_int_t)e[SS_ESP_E_REPLAY],
			 "auth", (json_int_t)e[SS_ESP_E_AUTH], "malformed", (json_int_t)e[SS_ESP_E_MALFORMED],
			 "pad", (json_int_t)e[SS_ESP_E_PAD], "selector", (json_int_t)e[SS_ESP_E_SELECTOR],
			 "expired", (json_int_t)e[SS_ESP_E_EXPIRED], "encap", (json_int_t)s.esp_out_err,
			 "dataplane", "captured", (json_int_t)s.port_captured, "released", (json_int_t)s.port_released,
			 "release_err", (json_int_t)s.release_err, "esp_tx", (json_int_t)s.esp_tx, "esp_tx_err",
			 (json_int_t)s.esp_tx_err, "esp_rx", (json_int_t)s.esp_rx, "delivered", (json_int_t)s.delivered,
			 "notices", (json_int_t)s.notices, "malformed", (json_int_t)s.malformed, "held_now",
			 (json_int_t)s.held_now, "gso_split", (json_int_t)s.gso_split, "gso_sent",
			 (json_int_t)s.gso_sent, "gro_merged", (json_int_t)s.gro_merged,
			 "too_big", (json_int_t)s.too_big);
}
