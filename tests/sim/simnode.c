/* Simulated hosts that run the node (simnode.h), and the simulator's dataplane backend
 * (dataplane/dataplane.h) behind it: it holds the SAs the node installs (SPIs, counters),
 * queues the events the wire gives it (acquires, inbound clear packets with a handle, unknown
 * SPIs), and hands the node's verdicts on packets back to the host (sim_host_verdict).  Peer
 * states and filters are the real dataplane's business: every packet reaches the agent here,
 * as it does with a dataplane that captures everything, so they are accepted and ignored.
 * SA lifetimes are the engine's own (it rekeys and expires CHILD SAs itself): this backend
 * raises no lifetime events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dataplane.h"
#include "ike/wire.h"
#include "node/node.h"
#include "sim.h"
#include "simnode.h"

#define SD_MAX_SAS 256
#define SD_MAX_EVENTS 1024

typedef struct sd_sa {
	bool used;
	ss_dp_sa_id id;
	uint32_t reqid;
	ss_dp_sa_counters c;
} sd_sa;

typedef struct simdp {
	ss_dp base;
	sim_host *h;
	sd_sa sas[SD_MAX_SAS];
	ss_dp_event q[SD_MAX_EVENTS];
	size_t qh, qn;
} simdp;

struct sim_node {
	simdp dp;
	sim_host *h;
	ss_node *node;
	ss_ike_config base;
};

/* ---- the dataplane backend ---- */

static bool same_id(const ss_dp_sa_id *a, const ss_dp_sa_id *b)
{
	return a->spi == b->spi && a->dir == b->dir && ss_addr_eq(&a->remote, &b->remote);
}

static sd_sa *sd_find(simdp *d, const ss_dp_sa_id *id)
{
	for (int i = 0; i < SD_MAX_SAS; i++)
		if (d->sas[i].used && same_id(&d->sas[i].id, id))
			return &d->sas[i];
	return NULL;
}

static void sd_close(ss_dp *dp) { (void)dp; }

static void sd_info(ss_dp *dp, ss_dp_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name = "sim";
	out->holds_packets = true;
}

static size_t sd_poll_fds(ss_dp *dp, ss_dp_fd *out, size_t max) { return 0; }
static int sd_process(ss_dp *dp, int fd, ss_time now) { return 0; }
static ss_time sd_deadline(ss_dp *dp) { return SS_NEVER; }

static bool sd_next_event(ss_dp *dp, ss_dp_event *out)
{
	simdp *d = (simdp *)dp;
	if (!d->qn)
		return false;
	*out = d->q[d->qh];
	d->qh = (d->qh + 1) % SD_MAX_EVENTS;
	d->qn--;
	return true;
}

static void sd_push(simdp *d, const ss_dp_event *ev)
{
	if (d->qn == SD_MAX_EVENTS)
		abort(); /* the node drains after every push: more would be a simulator bug */
	d->q[(d->qh + d->qn) % SD_MAX_EVENTS] = *ev;
	d->qn++;
}

static int sd_flush(ss_dp *dp, ss_time now) { return 0; }
static int sd_set_filters(ss_dp *dp, const ss_dp_filter *f, size_t n) { return 0; }
static int sd_set_peer(ss_dp *dp, const ss_addr *peer, enum ss_dp_peer_state st, ss_time t) { return 0; }
static int sd_list_soft(ss_dp *dp, ss_dp_soft_info *out, size_t n) { return 0; }

static int sd_sa_add(ss_dp *dp, const ss_dp_sa *sa, ss_time now)
{
	simdp *d = (simdp *)dp;
	if (sd_find(d, &sa->id))
		return -EEXIST;
	for (int i = 0; i < SD_MAX_SAS; i++)
		if (!d->sas[i].used) {
			d->sas[i] = (sd_sa){ .used = true, .id = sa->id, .reqid = sa->reqid, .c.installed = now };
			return 0;
		}
	return -ENOSPC;
}

static int sd_sa_update(ss_dp *dp, const ss_dp_sa_id *id, const ss_addr *r, uint16_t port) { return -EOPNOTSUPP; }

static int sd_sa_del(ss_dp *dp, const ss_dp_sa_id *id)
{
	sd_sa *s = sd_find((simdp *)dp, id);
	if (!s)
		return -ENOENT;
	s->used = false;
	return 0;
}

static int sd_sa_query(ss_dp *dp, const ss_dp_sa_id *id, ss_dp_sa_counters *out)
{
	sd_sa *s = sd_find((simdp *)dp, id);
	if (!s)
		return -ENOENT;
	*out = s->c;
	return 0;
}

static int sd_verdict(ss_dp *dp, uint64_t handle, enum ss_dp_pkt_verdict v, ss_time now)
{
	sim_host_verdict(((simdp *)dp)->h, handle, v);
	return 0;
}

static void sd_get_stats(ss_dp *dp, ss_dp_stats *out) { memset(out, 0, sizeof(*out)); }

static const struct ss_dp_ops sd_ops = {
	.close = sd_close, .info = sd_info, .poll_fds = sd_poll_fds, .process = sd_process,
	.deadline = sd_deadline, .next_event = sd_next_event, .flush = sd_flush,
	.set_filters = sd_set_filters, .set_peer = sd_set_peer, .list_soft = sd_list_soft,
	.sa_add = sd_sa_add, .sa_update = sd_sa_update, .sa_del = sd_sa_del, .sa_query = sd_sa_query,
	.verdict = sd_verdict, .get_stats = sd_get_stats,
};

/* ---- the policy and the wire, as the node sees them ---- */

static bool pol_initiator(void *ctx, const struct ss_rule *rule, const ss_addr *local, const ss_addr *remote,
			  ss_ike_config *out, char rule_name[64])
{
	sim_node *sn = ctx;
	*out = sn->base;
	/* The schedule of the rule's action (icmp_fallback), as softsad builds it. */
	out->retx = ss_action_retx(simpol_model(sn->h->pol), rule ? rule->action : NULL);
	rule_name[0] = '\0';
	return true;
}

static bool pol_responder(void *ctx, ss_time now, const ss_addr *local, const ss_addr *remote, const ss_ike_id *idi,
			  ss_ike_config *out)
{
	*out = ((sim_node *)ctx)->base;
	return true;
}

static void io_send(void *ctx, const ss_ike_endpoint *local, const ss_ike_endpoint *remote, const uint8_t *p,
		    size_t len)
{
	sim_host_send_ike(((sim_node *)ctx)->h, &local->addr, &remote->addr, p, len);
}

/* One suite and a PSK from the host's credential: equal credentials agree. */
static void base_config(ss_ike_config *c, const char *cred)
{
	ss_ike_config_init(c);
	c->ike[0] = (ss_ike_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_CURVE25519 };
	c->n_ike = 1;
	c->esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
	c->n_esp = 1;
	c->local_id = ss_ike_id_fqdn("sim");
	c->psk_len = strlen(cred) < sizeof(c->psk) ? strlen(cred) : sizeof(c->psk);
	memcpy(c->psk, cred, c->psk_len);
}

sim_node *simnode_new(sim_host *h)
{
	sim_node *sn = calloc(1, sizeof(*sn));
	if (!sn)
		return NULL;
	sn->h = h;
	sn->dp.base.ops = &sd_ops;
	sn->dp.h = h;
	base_config(&sn->base, h->cred);
	ss_node_params p;
	ss_node_params_default(&p);
	p.pol = (ss_node_policy){ sn, pol_initiator, pol_responder, NULL };
	p.io = (ss_node_io){ sn, io_send, NULL };
	p.dp = &sn->dp.base;
	p.ike_port = p.natt_port = SS_IKE_PORT;
	p.traffic_every_ms = 0; /* every ESP packet reaches the engine at once: exact times */
	p.log_sub = "sim-node";
	sn->node = ss_node_new(&p);
	if (!sn->node) {
		free(sn);
		return NULL;
	}
	ss_node_attach_agent(sn->node, h->agent);
	return sn;
}

void simnode_free(sim_node *sn)
{
	if (!sn)
		return;
	ss_node_free(sn->node);
	free(sn);
}

/* ---- events in ---- */

void simnode_packet(sim_node *sn, ss_time now, const ss_pkt_key *k, uint32_t len, uint64_t handle)
{
	bool out = k->dir == SS_DIR_OUT;
	ss_dp_event ev = { .kind = out ? SS_DP_EV_ACQUIRE : SS_DP_EV_INBOUND_CLEAR, .local = out ? k->src : k->dst,
			   .remote = out ? k->dst : k->src, .proto = k->proto, .sport = k->sport, .dport = k->dport,
			   .len = len, .handle = handle };
	sd_push(&sn->dp, &ev);
	ss_node_run(sn->node, now);
}

void simnode_ike(sim_node *sn, ss_time now, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t len)
{
	ss_ike_endpoint le = { *dst, SS_IKE_PORT }, re = { *src, SS_IKE_PORT };
	ss_node_ike_input(sn->node, p, len, &le, &re, now);
	ss_node_run(sn->node, now);
}

void simnode_icmp(sim_node *sn, ss_time now, const uint8_t *quoted, size_t len)
{
	ss_node_icmp(sn->node, quoted, len, now);
	ss_node_run(sn->node, now);
}

/* The pair's newest outbound SA (the highest reqid: a rekey's successor takes the traffic). */
uint32_t simnode_esp_out(sim_node *sn, const ss_addr *local, const ss_addr *remote)
{
	sd_sa *best = NULL;
	for (int i = 0; i < SD_MAX_SAS; i++) {
		sd_sa *s = &sn->dp.sas[i];
		if (s->used && s->id.dir == SS_DP_OUT && ss_addr_eq(&s->id.remote, remote) &&
		    ss_addr_eq(&s->id.local, local) && (!best || s->reqid > best->reqid))
			best = s;
	}
	if (!best)
		return 0;
	best->c.packets++;
	return best->id.spi;
}

bool simnode_esp_in(sim_node *sn, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t spi)
{
	ss_dp_sa_id id = { .spi = spi, .dir = SS_DP_IN, .local = *local, .remote = *remote };
	sd_sa *s = spi ? sd_find(&sn->dp, &id) : NULL;
	if (s) {
		s->c.packets++;
	} else {
		ss_dp_event ev = { .kind = SS_DP_EV_UNKNOWN_SPI, .local = *local, .remote = *remote, .sa = id };
		sd_push(&sn->dp, &ev);
	}
	ss_node_run(sn->node, now);
	return s != NULL;
}

void simnode_run(sim_node *sn, ss_time now)
{
	ss_node_run(sn->node, now);
}

ss_time simnode_deadline(sim_node *sn)
{
	return ss_node_deadline(sn->node);
}

void simnode_timer(sim_node *sn, ss_time now)
{
	ss_node_timer(sn->node, now);
}

void simnode_terminate(sim_node *sn, ss_time now, const ss_addr *peer)
{
	ss_node_terminate(sn->node, now, peer);
	ss_node_run(sn->node, now);
}

size_t simnode_active(sim_node *sn)
{
	return ss_ike_get_stats(ss_node_engine(sn->node))->sas + ss_node_n_children(sn->node);
}

/* Hosts with these run the node (sim.c checks for them); the name is what `expect[engine]`
 * lines in scenarios match. */
const sim_negotiator_ops sim_engine_ops = { .name = "engine" };
