/* The dataplane's events, for any backend (dataplane/dataplane.h): acquires (outbound
 * traffic that needs a decision, one per packet, by handle) and inbound clear traffic from
 * an unknown peer go to the agent; SA lifetimes to the CHILD SA table; ESP for SPIs we do
 * not have to the engine and the agent.  The agent's verdicts go back (node.c). */
#include <stdio.h>

#include "agent/agent.h"
#include "base/log.h"
#include "dataplane/dataplane.h"
#include "node/internal.h"

/* ESP for an SPI we hold no SA for (the backend reports it once per sender and SPI a
 * second).  Only a peer our policy secures counts; the engine rate-limits (per peer and in
 * all), then an idle pair negotiates.  The engine's actions (the INVALID_SPI notify) are
 * drained by the run loop. */
static void esp_unknown(ss_node *n, const ss_dp_event *ev, ss_time now)
{
	char rb[SS_ADDR_STRLEN];
	n->st.unknown_spi++;
	SS_DEBUG(SUB, "ESP from %s for SPI %08x we do not have", ss_addr_fmt(&ev->remote, rb), ev->sa.spi);
	if (!n->agent || !ss_agent_secures(n->agent, &ev->local, &ev->remote))
		return;
	/* §1.5: the notify goes to the packet's source port when it came in UDP (to our NAT-T
	 * port), else to the peer's IKE port. */
	ss_ike_endpoint l = { ev->local, ev->port ? n->p.natt_port : n->p.ike_port },
			r = { ev->remote, ev->port ? ev->port : n->p.ike_port };
	if (!ss_ike_esp_unknown(n->eng, &l, &r, ev->sa.spi, now))
		return;
	ss_agent_esp_unknown(n->agent, now, &ev->local, &ev->remote);
	node_event(n, &(ss_node_event){ .kind = SS_NE_UNKNOWN_SPI, .local = ev->local, .remote = ev->remote,
					.spi_in = ev->sa.spi, .n = ss_ike_esp_unknown_count(n->eng, &ev->remote) });
}

static void on_event(ss_node *n, const ss_dp_event *ev, ss_time now)
{
	switch (ev->kind) {
	case SS_DP_EV_ACQUIRE: {
		ss_pkt_key k = { .dir = SS_DIR_OUT, .proto = ev->proto, .sport = ev->sport, .dport = ev->dport,
				 .src = ev->local, .dst = ev->remote };
		ss_agent_outbound(n->agent, now, &k, ev->len, ev->handle);
		break;
	}
	case SS_DP_EV_INBOUND_CLEAR: {
		ss_pkt_key k = { .dir = SS_DIR_IN, .proto = ev->proto, .sport = ev->sport, .dport = ev->dport,
				 .src = ev->remote, .dst = ev->local };
		/* Handle 0: the packet itself is already gone (accepted or dropped by the
		 * dataplane); only the decision's side effects matter, and nothing is held. */
		ss_agent_inbound_clear(n->agent, now, &k, ev->handle ? ev->len : 0, ev->handle);
		break;
	}
	case SS_DP_EV_SA_SOFT:
	case SS_DP_EV_SA_HARD:
		node_child_expired(n, ev->reqid, ev->sa.spi, ev->kind == SS_DP_EV_SA_HARD, ev->why, now);
		break;
	case SS_DP_EV_UNKNOWN_SPI:
		esp_unknown(n, ev, now);
		break;
	case SS_DP_EV_HELD_RELEASED:
	case SS_DP_EV_HELD_DROPPED:
		/* The agent counts what it holds; a handle the backend let go is answered -ENOENT
		 * when the agent releases it. */
		break;
	}
	node_agent_drain(n, now);
}

size_t node_dp_drain(ss_node *n, ss_time now)
{
	size_t k = 0;
	ss_dp_event ev;
	while (n->agent && ss_dp_next_event(n->dp, &ev)) {
		on_event(n, &ev, now);
		k++;
	}
	return k;
}
