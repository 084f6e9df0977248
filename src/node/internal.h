/* The node's state and the seams between its files:
 *   node.c        creation, the run loop, deadlines and timers, the agent's actions, notes
 *   node_ike.c    the engine: the responder's lookup, negotiations started and stopped, its
 *                 actions, the IKE SAs the node follows, the flood watch
 *   node_child.c  CHILD SAs: into the dataplane and out, lifetimes, traffic for liveness
 *   node_dp.c     the dataplane's events */
#ifndef SS_NODE_INTERNAL_H
#define SS_NODE_INTERNAL_H

#include "node/node.h"

struct ss_dp_event;

struct ss_node {
	ss_node_params p;
	struct ss_agent *agent;
	ss_ike_engine *eng;
	struct ss_dp *dp;
	ss_time now;                  /* the time of the latest call */
	/* The configuration the responder's lookup hands the engine (which copies it).  It holds
	 * a PSK, so it is wiped as soon as the engine call that asked for it returns. */
	ss_ike_config lookup_cfg;
	ss_ike_config init_cfg;       /* the same for ss_ike_initiate */
	ss_node_ikesa ikesas[SS_NODE_MAX_IKESAS];
	ss_node_child children[SS_NODE_MAX_CHILDREN];
	size_t n_children;
	uint32_t next_reqid;
	ss_node_note *notes;          /* SS_NODE_MAX_NOTES */
	ss_time soft_synced;          /* last read of the soft associations' datapath counters */
	ss_time traffic_at;           /* next report of CHILD SA traffic to the engine */
	bool flood;                   /* the engine requires COOKIEs (event on each change) */
	ss_node_stats st;
};

#define SUB (n->p.log_sub)

/* node.c */
void node_event(ss_node *n, const ss_node_event *ev);
/* An event with only a kind and a pair. */
void node_event_pair(ss_node *n, enum ss_node_event_kind k, const ss_addr *local, const ss_addr *remote);
size_t node_agent_drain(ss_node *n, ss_time now);

/* node_ike.c */
const ss_ike_config *node_lookup(void *ctx, const ss_ike_endpoint *local, const ss_ike_endpoint *remote,
				 const ss_ike_id *idi);
bool node_neg_start(ss_node *n, ss_time now, const struct ss_rule *rule, const ss_addr *local,
		    const ss_addr *remote);
size_t node_ike_drain(ss_node *n, ss_time now);
void node_flood_watch(ss_node *n);
ss_node_ikesa *node_ikesa_find(ss_node *n, uint32_t h);
ss_node_ikesa *node_ikesa_add(ss_node *n, uint32_t h, const ss_addr *local, const ss_addr *remote, ss_time now,
			      const char *rule);

/* node_child.c */
void node_child_up(ss_node *n, uint32_t ike_sa, const ss_ike_child_info *ci, ss_time now);
void node_child_deleted(ss_node *n, uint32_t spi_in, uint32_t spi_out, ss_time now);
void node_children_of_ike_gone(ss_node *n, uint32_t h, const char *reason, ss_time now);
void node_child_expired(ss_node *n, uint32_t reqid, uint32_t spi, bool hard, uint8_t why, ss_time now);
void node_children_traffic(ss_node *n, ss_time now);

/* node_dp.c */
size_t node_dp_drain(ss_node *n, ss_time now);

#endif
