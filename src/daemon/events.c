/* Events: the control socket's event stream (doc/control.md, Events), and per-peer notes
 * the agent does not keep itself (the rule a negotiation ran for, its last outcome, the
 * soft association's expiry) for `peers` and `soft`.  Log lines are written where the
 * event is decided (agentio.c, ikeio.c), in words; this file only publishes. */
#include <string.h>

#include "base/addr.h"
#include "daemon/daemon.h"

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

/* A fixed table; when full, the note touched longest ago gives way (notes are only for
 * display: losing one loses a "last outcome" column, nothing else). */
dm_peer_note *dm_note(ss_daemon *d, const ss_addr *local, const ss_addr *remote, bool create)
{
	dm_peer_note *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < DM_MAX_NOTES; i++) {
		dm_peer_note *n = &d->notes[i];
		if (!n->used) {
			if (!free_slot)
				free_slot = n;
			continue;
		}
		if (ss_addr_eq(&n->remote, remote) && (!local || ss_addr_eq(&n->local, local))) {
			n->touched = ss_now_ms();
			return n;
		}
		if (!oldest || n->touched < oldest->touched)
			oldest = n;
	}
	if (!create || !local)
		return NULL;
	dm_peer_note *n = free_slot ? free_slot : oldest;
	memset(n, 0, sizeof(*n));
	n->used = true;
	n->local = *local;
	n->remote = *remote;
	n->last_outcome = -1;
	n->touched = ss_now_ms();
	return n;
}
