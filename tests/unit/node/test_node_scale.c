/* The node beyond 1024 IKE SAs (issue 14): one responder node (real agent with the built-in
 * "server" policy, real engine, a dataplane backend of this test) answers a bare initiator
 * engine in the same process, datagram by datagram.  More IKE SAs than the old fixed tables
 * held (1024) come up, from one address each and many from one address; every lookup the
 * node answers is checked against what was set up (by handle, by peer, CHILD SAs by IKE SA),
 * then removal (terminate, the peer's DELETE, the IKE SA's dataplane SAs) and reuse.  The
 * traffic reports read each CHILD SA once per period, a slice per timer.  Memory: the
 * responder's heap per IKE SA with its CHILD SA (node, engine and agent; this test's
 * dataplane excluded) stays within issue 14's 4 KiB. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../ike/alloc_count.h"
#include "agent/agent.h"
#include "base/log.h"
#include "dataplane/dataplane.h"
#include "node/node.h"
#include "simpol.h"

#define N_ONE 1100   /* IKE SAs from one address each */
#define N_SHARED 200 /* and from one address */
#define N_ALL (N_ONE + N_SHARED)
#define MAX_DP (4 * N_ALL)

/* ---- a dataplane that only holds SAs ---- */

typedef struct tsa {
	bool used;
	ss_dp_sa_id id;
	uint32_t reqid;
	ss_dp_sa_counters c;
	unsigned queries;
} tsa;

typedef struct tdp {
	ss_dp base;
	tsa *sas;     /* allocated once, outside the counted calls */
	size_t n;
	unsigned queries;
} tdp;

static tdp dp;

static tsa *dp_find(const ss_dp_sa_id *id)
{
	for (size_t i = 0; i < MAX_DP; i++)
		if (dp.sas[i].used && dp.sas[i].id.spi == id->spi && dp.sas[i].id.dir == id->dir &&
		    ss_addr_eq(&dp.sas[i].id.remote, &id->remote))
			return &dp.sas[i];
	return NULL;
}

static void d_close(ss_dp *d) { (void)d; }
static void d_info(ss_dp *d, ss_dp_info *out) { memset(out, 0, sizeof(*out)); out->name = "test"; }
static size_t d_poll_fds(ss_dp *d, ss_dp_fd *out, size_t max) { return 0; }
static int d_process(ss_dp *d, int fd, ss_time now) { return 0; }
static ss_time d_deadline(ss_dp *d) { return SS_NEVER; }
static bool d_next_event(ss_dp *d, ss_dp_event *out) { return false; }
static int d_flush(ss_dp *d, ss_time now) { return 0; }
static int d_set_filters(ss_dp *d, const ss_dp_filter *f, size_t n) { return 0; }
static unsigned set_secured, set_none;
static int d_set_peer(ss_dp *d, const ss_addr *peer, enum ss_dp_peer_state st, ss_time t)
{
	set_secured += st == SS_DP_PEER_SECURED;
	set_none += st == SS_DP_PEER_NONE;
	return 0;
}
static int d_list_soft(ss_dp *d, ss_dp_soft_info *out, size_t n) { return 0; }
static int d_sa_update(ss_dp *d, const ss_dp_sa_id *id, const ss_addr *r, uint16_t port) { return -EOPNOTSUPP; }
static int d_verdict(ss_dp *d, uint64_t h, enum ss_dp_pkt_verdict v, ss_time now) { return 0; }
static void d_get_stats(ss_dp *d, ss_dp_stats *out) { memset(out, 0, sizeof(*out)); }

static int d_sa_add(ss_dp *d, const ss_dp_sa *sa, ss_time now)
{
	if (dp_find(&sa->id))
		return -EEXIST;
	for (size_t i = 0; i < MAX_DP; i++)
		if (!dp.sas[i].used) {
			dp.sas[i] = (tsa){ .used = true, .id = sa->id, .reqid = sa->reqid };
			dp.n++;
			return 0;
		}
	return -ENOSPC;
}

static int d_sa_del(ss_dp *d, const ss_dp_sa_id *id)
{
	tsa *s = dp_find(id);
	if (!s)
		return -ENOENT;
	s->used = false;
	dp.n--;
	return 0;
}

static int d_sa_query(ss_dp *d, const ss_dp_sa_id *id, ss_dp_sa_counters *out)
{
	tsa *s = dp_find(id);
	dp.queries++;
	if (!s)
		return -ENOENT;
	s->queries++;
	*out = s->c;
	return 0;
}

static const struct ss_dp_ops d_ops = {
	.close = d_close, .info = d_info, .poll_fds = d_poll_fds, .process = d_process,
	.deadline = d_deadline, .next_event = d_next_event, .flush = d_flush,
	.set_filters = d_set_filters, .set_peer = d_set_peer, .list_soft = d_list_soft,
	.sa_add = d_sa_add, .sa_update = d_sa_update, .sa_del = d_sa_del, .sa_query = d_sa_query,
	.verdict = d_verdict, .get_stats = d_get_stats,
};

/* ---- the wire: datagrams queue in both directions ---- */

typedef struct dgram {
	struct dgram *next;
	ss_ike_endpoint from, to;
	size_t len;
	uint8_t b[];
} dgram;

typedef struct queue {
	dgram *head, *tail;
} queue;

static queue to_node, to_ini;

static void push(queue *q, const ss_ike_endpoint *from, const ss_ike_endpoint *to, const uint8_t *p, size_t len)
{
	bool was = alloc_count_on;
	alloc_count_on = false; /* the wire is not the responder's memory */
	dgram *d = malloc(sizeof(*d) + len);
	alloc_count_on = was;
	assert_non_null(d);
	*d = (dgram){ .from = *from, .to = *to, .len = len };
	memcpy(d->b, p, len);
	if (q->tail)
		q->tail->next = d;
	else
		q->head = d;
	q->tail = d;
}

static dgram *pop(queue *q)
{
	dgram *d = q->head;
	if (d && !(q->head = d->next))
		q->tail = NULL;
	return d;
}

static void dfree(dgram *d)
{
	bool was = alloc_count_on;
	alloc_count_on = false;
	free(d);
	alloc_count_on = was;
}

/* ---- the responder node and the initiator engine ---- */

static ss_ike_config cfg;
static sim_policy *pol;
static ss_agent *agent;
static ss_node *node;
static ss_ike_engine *ini;
static ss_ike_endpoint resp = { .port = SS_IKE_PORT };
static unsigned sa_up, sa_down;
static ss_time now = 1000;

static void make_config(ss_ike_config *c)
{
	ss_ike_config_init(c);
	c->ike[0] = (ss_ike_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_CURVE25519 };
	c->n_ike = 1;
	c->esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
	c->n_esp = 1;
	c->local_id = ss_ike_id_fqdn("scale");
	c->psk_len = 16;
	memcpy(c->psk, "node-scale-psk-1", 16);
}

static bool pol_initiator(void *ctx, const struct ss_rule *rule, const ss_addr *l, const ss_addr *r,
			  ss_ike_config *out, char name[64])
{
	*out = cfg;
	name[0] = '\0';
	return true;
}

static bool pol_responder(void *ctx, ss_time t, const ss_addr *l, const ss_addr *r, const ss_ike_id *idi,
			  ss_ike_config *out)
{
	*out = cfg;
	return true;
}

static void io_send(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r, const uint8_t *p, size_t len)
{
	push(&to_ini, l, r, p, len);
}

static void io_event(void *ctx, const ss_node_event *ev)
{
	if (ev->kind == SS_NE_SA_UP)
		sa_up++;
	else if (ev->kind == SS_NE_SA_DOWN)
		sa_down++;
}

static const ss_ike_config *ini_lookup(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r,
				       const ss_ike_id *idi)
{
	return NULL; /* the initiator answers nobody */
}

/* Every datagram both ways until neither side has anything to say; the node's calls are
 * the counted ones. */
static void pump(void)
{
	for (bool moved = true; moved;) {
		moved = false;
		ss_ike_action a;
		while (ss_ike_next_action(ini, &a))
			if (a.kind == SS_IKE_ACT_SEND)
				push(&to_node, &a.local, &a.remote, a.data, a.len);
		for (dgram *d; (d = pop(&to_node)); dfree(d), moved = true) {
			alloc_count_on = true;
			ss_node_ike_input(node, d->b, d->len, &d->to, &d->from, now);
			ss_node_run(node, now);
			alloc_count_on = false;
		}
		for (dgram *d; (d = pop(&to_ini)); dfree(d), moved = true)
			ss_ike_input(ini, d->b, d->len, &d->to, &d->from, now);
		now++;
	}
}

static ss_addr src_of(unsigned i)
{
	return ss_addr_v4(0x0a010000u + i); /* 10.1.x.y */
}

static ss_addr shared_src(void)
{
	return ss_addr_v4(0x0a020001u); /* 10.2.0.1 */
}

static uint32_t handles[N_ALL + N_SHARED];

static uint32_t establish(const ss_addr *from)
{
	ss_ike_endpoint l = { *from, SS_IKE_PORT };
	uint32_t h = ss_ike_initiate(ini, &l, &resp, &cfg, now);
	assert_int_not_equal(h, 0);
	pump();
	ss_ike_sa_info info;
	assert_true(ss_ike_sa_get(ini, h, &info));
	assert_true(info.established);
	return h;
}

static int setup(void **state)
{
	dp.base.ops = &d_ops;
	dp.sas = calloc(MAX_DP, sizeof(*dp.sas));
	assert_non_null(dp.sas);
	make_config(&cfg);
	resp.addr = ss_addr_v4(0x0a000001u);
	pol = simpol_builtin("server");
	assert_non_null(pol);
	ss_agent_policy ap = simpol_agent_policy(pol);
	alloc_count_on = true;
	agent = ss_agent_new(NULL, &ap);
	ss_node_params p;
	ss_node_params_default(&p);
	p.pol = (ss_node_policy){ NULL, pol_initiator, pol_responder, NULL };
	p.io = (ss_node_io){ NULL, io_send, io_event };
	p.dp = &dp.base;
	p.traffic_every_ms = 1000;
	/* One initiator opens every SA: no per-address half-open limit in the way. */
	p.engine.max_half_open_per_peer = 0;
	node = ss_node_new(&p);
	alloc_count_on = false;
	assert_non_null(agent);
	assert_non_null(node);
	ss_node_attach_agent(node, agent);
	ss_ike_engine_params ep;
	ss_ike_engine_params_default(&ep);
	ep.lookup = ini_lookup;
	ini = ss_ike_engine_new(&ep);
	assert_non_null(ini);
	return 0;
}

static int teardown(void **state)
{
	ss_ike_engine_free(ini);
	ss_node_free(node);
	ss_agent_free(agent);
	simpol_free(pol);
	free(dp.sas);
	return 0;
}

/* ---- the checks ---- */

typedef struct count_ctx {
	size_t n;
	const ss_addr *remote;
	bool all_match;
} count_ctx;

static void count_one(void *ctx, const ss_node_ikesa *s)
{
	count_ctx *c = ctx;
	c->n++;
	c->all_match &= ss_addr_eq(&s->remote, c->remote);
}

static size_t ikesas_with(const ss_addr *remote)
{
	count_ctx c = { 0, remote, true };
	ss_node_each_ikesa_with(node, remote, count_one, &c);
	assert_true(c.all_match);
	return c.n;
}

/* Each IKE SA the node follows has its one installed CHILD SA, whose two SAs are in the
 * dataplane under its reqid; reqids are all different. */
static void check_tables(size_t want)
{
	assert_int_equal(ss_node_n_ikesas(node), want);
	assert_int_equal(ss_node_n_children(node), want);
	assert_int_equal(dp.n, 2 * want);
	assert_int_equal(ss_ike_get_stats(ss_node_engine(node))->sas, want);
	uint32_t *reqids = calloc(want + 1, sizeof(*reqids));
	assert_non_null(reqids);
	for (size_t i = 0; i < want; i++) {
		const ss_node_ikesa *s = ss_node_ikesa_at(node, i);
		assert_non_null(s);
		assert_ptr_equal(ss_node_ikesa_get(node, s->h), s);
		assert_true(s->established);
		const ss_node_child *c = ss_node_child_first(node, s->h);
		assert_non_null(c);
		assert_null(ss_node_child_next(c));
		assert_int_equal(c->ike_sa, s->h);
		assert_true(c->installed);
		assert_true(ss_addr_eq(&c->remote, &s->remote));
		ss_dp_sa_id in = { .spi = c->spi_in, .dir = SS_DP_IN, .local = c->local, .remote = c->remote };
		ss_dp_sa_id out = { .spi = c->spi_out, .dir = SS_DP_OUT, .local = c->local, .remote = c->remote };
		tsa *a = dp_find(&in), *b = dp_find(&out);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(a->reqid, c->reqid);
		assert_int_equal(b->reqid, c->reqid);
		reqids[i] = c->reqid;
		assert_true(ss_node_has_children_with(node, &s->remote));
	}
	/* distinct reqids: sort and compare neighbours */
	for (size_t i = 1; i < want; i++)
		for (size_t j = i; j > 0 && reqids[j - 1] > reqids[j]; j--) {
			uint32_t t = reqids[j];
			reqids[j] = reqids[j - 1];
			reqids[j - 1] = t;
		}
	for (size_t i = 1; i < want; i++)
		assert_true(reqids[i - 1] < reqids[i]);
	free(reqids);
}

static void beyond_1024(void **state)
{
	long long before = alloc_count_live;
	for (unsigned i = 0; i < N_ONE; i++) {
		ss_addr a = src_of(i);
		handles[i] = establish(&a);
	}
	ss_addr sh = shared_src();
	for (unsigned i = 0; i < N_SHARED; i++)
		handles[N_ONE + i] = establish(&sh);
	long long per_sa = (alloc_count_live - before) / N_ALL;
	print_message("responder heap per IKE SA with its CHILD SA: %lld B (node, engine, agent)\n", per_sa);
	assert_true(per_sa > 0);
	assert_true(per_sa <= 4096);
	assert_int_equal(sa_up, N_ALL);
	/* Each peer is secured in the dataplane once, however many CHILD SAs it has. */
	assert_int_equal(set_secured, N_ONE + 1);
	check_tables(N_ALL);
	assert_int_equal(ikesas_with(&sh), N_SHARED);
	for (unsigned i = 0; i < N_ONE; i += 97) {
		ss_addr a = src_of(i);
		assert_int_equal(ikesas_with(&a), 1);
	}
	ss_addr nobody = ss_addr_v4(0x0a030001u);
	assert_int_equal(ikesas_with(&nobody), 0);
	assert_false(ss_node_has_children_with(node, &nobody));
	/* the peer notes: one per pair */
	assert_int_equal(ss_node_n_notes(node), N_ONE + 1);
	ss_node_note *x = ss_node_note_get(node, &resp.addr, &sh, false);
	assert_non_null(x);
	assert_int_equal(x->last_outcome, SS_IKE_SECURED);
	assert_null(ss_node_note_get(node, &resp.addr, &nobody, false));
}

/* Each timer reads one slice of the CHILD SAs (a tenth, traffic_every_ms / 10 apart), and
 * one period reads every one of them once. */
static void traffic_in_slices(void **state)
{
	for (size_t i = 0; i < MAX_DP; i++)
		dp.sas[i].queries = 0;
	dp.queries = 0;
	now += 10000;
	size_t slice = (N_ALL + 9) / 10;
	ss_node_timer(node, now);
	assert_int_equal(dp.queries, 2 * slice);
	assert_int_equal(ss_node_deadline(node) <= now + 100, true);
	for (int k = 1; k < 10; k++) {
		now += 100;
		ss_node_timer(node, now);
	}
	for (size_t i = 0; i < MAX_DP; i++)
		if (dp.sas[i].used)
			assert_int_equal(dp.sas[i].queries, 1);
	/* Counters that moved reach the engine at the next round: no error, nothing sent. */
	assert_null(to_ini.head);
}

/* `terminate` of the shared address deletes its 200 IKE SAs and no other; their CHILD SAs
 * leave the dataplane; the address can then open as many again, under new reqids. */
static void terminate_and_reuse(void **state)
{
	ss_addr sh = shared_src();
	unsigned down0 = sa_down;
	size_t k = ss_node_terminate(node, now, &sh);
	assert_int_equal(k, N_SHARED);
	ss_node_run(node, now);
	pump();
	assert_int_equal(sa_down - down0, N_SHARED);
	assert_int_equal(set_none, 1); /* with its last CHILD SA */
	assert_int_equal(ikesas_with(&sh), 0);
	assert_false(ss_node_has_children_with(node, &sh));
	check_tables(N_ONE);
	enum ss_assoc_state st;
	uint32_t attempt;
	/* The agent's pair is no longer secured (an idle pair it forgets at once). */
	assert_false(ss_agent_state(agent, &resp.addr, &sh, &st, &attempt) && st == SS_AS_SECURED);
	for (unsigned i = 0; i < N_SHARED; i++)
		handles[N_ALL + i] = establish(&sh);
	check_tables(N_ALL);
	assert_int_equal(ikesas_with(&sh), N_SHARED);
	assert_int_equal(set_secured, N_ONE + 2); /* secured again, once */
}

/* The peers delete half of the single-address SAs themselves (their DELETE): the node
 * forgets exactly those. */
static void peer_deletes(void **state)
{
	unsigned down0 = sa_down;
	for (unsigned i = 0; i < N_ONE; i += 2)
		assert_true(ss_ike_delete(ini, handles[i], now));
	pump();
	assert_int_equal(sa_down - down0, (N_ONE + 1) / 2);
	check_tables(N_ALL - (N_ONE + 1) / 2);
	for (unsigned i = 0; i < N_ONE; i++) {
		ss_addr a = src_of(i);
		assert_int_equal(ikesas_with(&a), i % 2 ? 1 : 0);
		assert_int_equal(ss_node_has_children_with(node, &a), i % 2 == 1);
	}
}

int main(void)
{
	ss_log_set_level(SS_LOG_ERR);
	if (!alloc_count_init())
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(beyond_1024),
		cmocka_unit_test(traffic_in_slices),
		cmocka_unit_test(terminate_and_reuse),
		cmocka_unit_test(peer_deletes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
