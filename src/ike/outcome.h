/* How a negotiation toward a peer ended, as the IKE engine reports it to the policy agent.
 * Only SILENT and UNREACHABLE may ever lead to a soft association: a peer that answered
 * IKE at all is IPsec-aware, and falling back to clear with it would be a downgrade. */
#ifndef SS_IKE_OUTCOME_H
#define SS_IKE_OUTCOME_H

enum ss_ike_outcome {
	SS_IKE_SECURED = 0,      /* IKE SA and first CHILD SA established */
	SS_IKE_PEER_SILENT,      /* no IKE reply and no ICMP error to any attempt */
	SS_IKE_PEER_UNREACHABLE, /* no IKE reply; ICMP errors (e.g. port unreachable) came back */
	SS_IKE_PEER_REFUSED,     /* the peer answered, but the negotiation failed */
};

static inline const char *ss_ike_outcome_name(enum ss_ike_outcome o)
{
	switch (o) {
	case SS_IKE_SECURED: return "secured";
	case SS_IKE_PEER_SILENT: return "peer-silent";
	case SS_IKE_PEER_UNREACHABLE: return "peer-unreachable";
	case SS_IKE_PEER_REFUSED: return "peer-refused";
	}
	return "?";
}

static inline int ss_ike_outcome_allows_fallback(enum ss_ike_outcome o)
{
	return o == SS_IKE_PEER_SILENT || o == SS_IKE_PEER_UNREACHABLE;
}

#endif
