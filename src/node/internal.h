/* The node's state and the seams between its files:
 *   node.c        creation, the run loop, deadlines and timers, the agent's actions
 *   node_table.c  the tables of IKE SAs, CHILD SAs, pairs and notes, their hash indexes
 *   node_ike.c    the engine: the responder's lookup, negotiations started and stopped, its
 *                 actions, the IKE SAs the node follows, the flood watch
 *   node_child.c  CHILD SAs: into the dataplane and out, lifetimes, traffic for liveness
 *   node_dp.c     the dataplane's events */
#ifndef SS_NODE_INTERNAL_H
#define SS_NODE_INTERNAL_H

#include "dataplane/dataplane.h"
#include "ike/sa_table.h"
#include "node/node.h"

struct ss_dp_event;

/* A (local, remote) pair the node holds IKE or CHILD SAs with: what "another SA with the
 * peer" asks, counted, and its IKE SAs in the order they came.  In by_pair under the remote
 * address alone (pairs with one remote share a key, so `terminate` by remote finds them all);
 * freed with its last SA. */
typedef struct node_pair {
	ss_hnode hn;
	ss_addr local, remote;
	struct node_ikesa *first, *last;
	size_t n_ike, n_live;         /* IKE SAs; those not being deleted */
	size_t n_children, n_installed;
} node_pair;

typedef struct node_ikesa {
	ss_node_ikesa pub;
	ss_hnode by_h;                /* key: the handle */
	node_pair *pair;
	struct node_ikesa *prev, *next; /* the pair's, oldest first */
	size_t slot;                  /* in ss_node.ike_v */
} node_ikesa;

typedef struct node_child {
	ss_node_child pub;
	ss_hnode by_spi, by_reqid, by_ike; /* keys: inbound SPI, reqid, the IKE SA's handle */
	node_pair *pair;
	size_t slot;                  /* in ss_node.child_v */
} node_child;

typedef struct node_note {
	ss_node_note pub;
	ss_hnode hn;                  /* key: the remote address */
	struct node_note *older, *newer; /* least recently touched first */
} node_note;

/* The state the node last put a remote address in, in the dataplane (none: no record). */
typedef struct node_peer {
	ss_hnode hn;                  /* key: the remote address */
	ss_addr remote;
	enum ss_dp_peer_state st;
} node_peer;

/* A dense array of the records, for walks (introspection, traffic); removal moves the last
 * record into the hole. */
typedef struct node_vec {
	void **v;
	size_t n, cap;
} node_vec;

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
	ss_hmap by_pair, by_h, by_spi, by_reqid, by_ike, notes, peers;
	node_vec ike_v, child_v;
	node_note *lru_old, *lru_new; /* notes, least recently touched first */
	size_t traffic_cursor;        /* the next CHILD SA of child_v whose traffic is read */
	uint32_t next_reqid;
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

/* node_table.c */
bool node_tables_init(ss_node *n);
void node_tables_free(ss_node *n);
node_pair *node_pair_find(const ss_node *n, const ss_addr *local, const ss_addr *remote);
ss_node_ikesa *node_ikesa_find(const ss_node *n, uint32_t h);
/* The record of handle h (new, or the one there is); NULL without memory. */
ss_node_ikesa *node_ikesa_add(ss_node *n, uint32_t h, const ss_addr *local, const ss_addr *remote, ss_time now,
			      const char *rule);
void node_ikesa_remove(ss_node *n, ss_node_ikesa *s);
void node_ikesa_set_deleting(ss_node *n, ss_node_ikesa *s);
static inline node_ikesa *node_ikesa_of(const ss_node_ikesa *s)
{
	return (node_ikesa *)((char *)s - offsetof(node_ikesa, pub));
}
/* A new CHILD SA record of IKE SA h between the pair, with a fresh reqid; NULL without memory. */
ss_node_child *node_child_add(ss_node *n, uint32_t h, uint32_t spi_in, const ss_addr *local,
			      const ss_addr *remote);
/* ss_dp_set_peer, but a peer already secured is not secured again: each set is a dataplane
 * transaction (nftables with the userspace backend), and every CHILD SA with a secured peer
 * would repeat it. */
int node_set_peer(ss_node *n, const ss_addr *remote, enum ss_dp_peer_state st, ss_time timeout);
void node_child_set_installed(ss_node *n, ss_node_child *c);
void node_child_forget(ss_node *n, ss_node_child *c);
ss_node_child *node_child_by_spi(const ss_node *n, uint32_t spi_in, uint32_t spi_out);
ss_node_child *node_child_by_reqid(const ss_node *n, uint32_t reqid);
/* The engine's spi_in_use: an installed CHILD SA of ours has this inbound SPI. */
bool node_spi_in_use(void *ctx, uint32_t spi);
static inline node_child *node_child_of(const ss_node_child *c)
{
	return (node_child *)((char *)c - offsetof(node_child, pub));
}

/* node_child.c */
void node_child_up(ss_node *n, uint32_t ike_sa, const ss_ike_child_info *ci, ss_time now);
void node_child_deleted(ss_node *n, uint32_t spi_in, uint32_t spi_out, ss_time now);
void node_children_of_ike_gone(ss_node *n, uint32_t h, const char *reason, ss_time now);
void node_child_expired(ss_node *n, uint32_t reqid, uint32_t spi, bool hard, uint8_t why, ss_time now);
void node_children_traffic(ss_node *n, ss_time now);
/* How long after one slice of the traffic walk the next is due. */
ss_time node_traffic_step_ms(const ss_node *n);

/* node_dp.c */
size_t node_dp_drain(ss_node *n, ss_time now);

#endif
