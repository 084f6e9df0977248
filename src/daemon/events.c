/* Events: the control socket's event stream (doc/control.md, Events): the node's events
 * (node/node.h) and the daemon's own.  Log lines are written where the event is decided
 * (the node, policyset.c), in words; this file only publishes. */
#include <stdio.h>
#include <string.h>

#include "base/addr.h"
#include "daemon/daemon.h"
#include "node/node.h"

const char *dm_fmt(const ss_addr *a, char buf[SS_ADDR_STRLEN])
{
	return ss_addr_fmt(a, buf);
}

void dm_event(ss_daemon *d, const char *name, const ss_addr *local, const ss_addr *remote, json_t *fields)
{
	if (!fields)
		fields = json_object();
	char b[SS_ADDR_STRLEN];
	json_object_set_new(fields, "time", json_real((double)(ss_now_ms() - d->started) / 1000.0));
	if (local && local->family)
		json_object_set_new(fields, "local", json_string(ss_addr_fmt(local, b)));
	if (remote && remote->family)
		json_object_set_new(fields, "remote", json_string(ss_addr_fmt(remote, b)));
	if (d->ctl)
		ss_ctl_publish(d->ctl, name, fields);
	else
		json_decref(fields);
}

static json_t *fields_of(const ss_node_event *ev)
{
	char a[12], b[12];
	snprintf(a, sizeof(a), "%08x", ev->spi_in);
	snprintf(b, sizeof(b), "%08x", ev->spi_out);
	switch (ev->kind) {
	case SS_NE_NEG_STARTED:
		return json_pack("{s:s}", "rule", ev->rule);
	case SS_NE_NEG_ENDED:
		/* outcome -1: our responder gave up on an unproven IKE_SA_INIT (no outcome). */
		return json_pack("{s:s, s:s}", "outcome",
				 ev->outcome < 0 ? "responder-gave-up" : ss_ike_outcome_name(ev->outcome), "reason",
				 ev->reason);
	case SS_NE_SOFT_CREATED:
		return json_pack("{s:s, s:I}", "rule", ev->rule, "expires_in", (json_int_t)ev->n);
	case SS_NE_PEER_BLOCKED:
		return json_pack("{s:I}", "until", (json_int_t)ev->n);
	case SS_NE_PEER_DEAD:
		return json_pack("{s:s, s:s}", "reason", ev->reason, "rule", ev->rule);
	case SS_NE_SA_UP:
		return json_pack("{s:s, s:s, s:s, s:s}", "spi_in", a, "spi_out", b, "suite", ev->suite, "mode",
				 ev->tunnel ? "tunnel" : "transport");
	case SS_NE_SA_DOWN:
		return json_pack("{s:s, s:s, s:s}", "spi_in", a, "spi_out", b, "reason", ev->reason);
	case SS_NE_UNKNOWN_SPI:
		return json_pack("{s:s, s:I}", "spi", a, "count", (json_int_t)ev->n);
	case SS_NE_IKE_FLOOD:
		return json_pack("{s:s, s:I, s:I, s:I, s:I}", "state", ev->flood_on ? "cookies-required" : "over",
				 "half_open", (json_int_t)ev->half_open, "half_open_peak", (json_int_t)ev->half_open_peak,
				 "cookies_sent", (json_int_t)ev->cookies_sent, "half_open_refused",
				 (json_int_t)ev->half_open_refused);
	default:
		return NULL;
	}
}

void dm_node_event(void *ctx, const ss_node_event *ev)
{
	ss_daemon *d = ctx;
	/* Remember peers that completed IKE (downgrade protection) on disk, soon. */
	if (ev->kind == SS_NE_NEG_ENDED && ev->outcome == SS_IKE_SECURED && d->state_path[0] && d->state_due == SS_NEVER)
		d->state_due = ss_now_ms() + 2000;
	dm_event(d, ss_node_event_name(ev->kind), &ev->local, &ev->remote, fields_of(ev));
}
