#include "dataplane/dataplane.h"

#include <stdio.h>
#include <string.h>

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

const char *ss_dp_event_name(enum ss_dp_event_kind k)
{
	switch (k) {
	case SS_DP_EV_ACQUIRE: return "acquire";
	case SS_DP_EV_INBOUND_CLEAR: return "inbound-clear";
	case SS_DP_EV_SA_SOFT: return "sa-soft";
	case SS_DP_EV_SA_HARD: return "sa-hard";
	case SS_DP_EV_UNKNOWN_SPI: return "unknown-spi";
	case SS_DP_EV_HELD_RELEASED: return "held-released";
	case SS_DP_EV_HELD_DROPPED: return "held-dropped";
	}
	return "?";
}
