#include "dataplane/dataplane.h"

const char *ss_dp_peer_state_name(enum ss_dp_peer_state st)
{
	switch (st) {
	case SS_DP_PEER_NONE: return "none";
	case SS_DP_PEER_SECURED: return "secured";
	case SS_DP_PEER_SOFT: return "soft";
	case SS_DP_PEER_BLOCKED: return "blocked";
	}
	return "?";
}
