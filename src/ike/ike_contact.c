/* INITIAL_CONTACT (RFC 7296 §2.4).  A host that has no IKE SA with a peer says so in its first
 * IKE_AUTH: then any IKE SA the peer still holds with it is one it lost (it restarted, or its
 * state was wiped), and the peer deletes those at once instead of keeping them, and their
 * CHILD SAs, until a lifetime or liveness check ends them.  Acted on only once the message
 * carrying it authenticated, and only for SAs with the same address and the same
 * authenticated identity: nobody else can end our SAs with a forged notify. */
#include <string.h>

#include "base/log.h"
#include "ike/ike_internal.h"

bool contact_initial(const ss_ike_engine *e, const ike_sa *sa)
{
	for (const ike_sa *o = NULL; (o = sa_peek_by_peer(e, &sa->remote.addr, o));)
		if (o != sa && o->state != ST_DEAD)
			return false;
	return true;
}

void contact_received(ss_ike_engine *e, ike_sa *sa, const ss_ike_msg *m)
{
	if (!ss_ike_find_notify(m, SS_N_INITIAL_CONTACT))
		return;
	ss_ike_id id = sa_peer_id(sa);
	/* The identity index holds only the SAs with this address and identity: the other
	 * hosts behind the same address are not walked. */
	for (ike_sa *o = NULL; (o = sa_next_by_ident(e, &sa->remote.addr, &id, o));) {
		if (o == sa || !o->peer_id_known || (o->state != ST_ESTABLISHED && o->state != ST_DELETING))
			continue;
		char rb[SS_ADDR_STRLEN];
		SS_INFO(SUB, "SA %u: INITIAL_CONTACT from %s: deleting SA %u, which it no longer has", sa->handle,
			ss_addr_fmt(&sa->remote.addr, rb), o->handle);
		/* No DELETE: nobody holds its keys any more.  The reaper reports its CHILD SAs and
		 * the IKE SA as deleted. */
		e->st.initial_contact_deleted++;
		sa_kill(o, "replaced after INITIAL_CONTACT");
	}
}
