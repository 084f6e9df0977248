/* bench/classify: lookups per second of the compiled classifier and of the naive oracle
 * on random, realistically shaped policies of 10 to 100,000 filters; compile time and
 * memory.  Prints a Markdown table.  --quick: small sizes, short runs (a smoke test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpolicy.h"

/* CPU time of this thread: on a shared machine, time spent waiting for the CPU is not
 * the classifier's. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An IPv4 address in the organisation's space: 10.0.0.0/12 and 172.16.0.0/12. */
static ss_addr org_v4(tp_rng *r)
{
	uint32_t base = tp_below(r, 4) ? 0x0a000000u : 0xac100000u;
	return ss_addr_v4(base | (tp_below(r, 1u << 20)));
}

static ss_addr org_v6(tp_rng *r)
{
	uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	b[6] = (uint8_t)tp_below(r, 16);
	for (int i = 8; i < 16; i++)
		b[i] = (uint8_t)tp_next(r);
	return ss_addr_v6(b);
}

static ss_endpoint host(tp_rng *r, bool v6)
{
	ss_endpoint e = { .kind = SS_EP_PREFIX };
	ss_addr a = v6 ? org_v6(r) : org_v4(r);
	e.prefix = ss_prefix_host(&a);
	return e;
}

static ss_endpoint subnet(tp_rng *r, bool v6)
{
	static const uint8_t len4[] = { 16, 20, 22, 24, 24, 24, 26, 28 };
	ss_endpoint e = { .kind = SS_EP_PREFIX };
	ss_addr a = v6 ? org_v6(r) : org_v4(r);
	e.prefix = ss_prefix_make(&a, v6 ? 64 : len4[tp_below(r, 8)]);
	return e;
}

static void set_port(ss_filter *f, tp_rng *r)
{
	static const uint16_t ports[] = { 22, 25, 53, 80, 88, 389, 443, 445, 1433, 3389 };
	uint16_t p = tp_below(r, 4) ? ports[tp_below(r, 10)] : (uint16_t)(1 + tp_below(r, 65535));
	f->dport = (ss_port_range){ p, p };
}

/* The mix: mostly me <-> host, then host <-> host, subnets, service (proto/port) filters,
 * some IPv6, and a few broad ones. */
static void add_filter(ss_filter_list *l, tp_rng *r)
{
	uint32_t x = tp_below(r, 100);
	bool v6 = tp_below(r, 10) == 0;
	if (x < 40)
		tp_filter(l, tp_me(), host(r, v6), SS_PROTO_ANY, true);
	else if (x < 55)
		tp_filter(l, host(r, v6), host(r, v6), SS_PROTO_ANY, true);
	else if (x < 68)
		tp_filter(l, tp_me(), subnet(r, v6), SS_PROTO_ANY, true);
	else if (x < 76)
		tp_filter(l, subnet(r, v6), subnet(r, v6), SS_PROTO_ANY, true);
	else if (x < 92) {
		tp_filter(l, tp_me(), host(r, v6), tp_below(r, 3) ? 6 : 17, true);
		set_port(tp_last(l), r);
	} else if (x < 98) {
		tp_filter(l, tp_any(), tp_below(r, 2) ? host(r, v6) : subnet(r, v6), 6, true);
		set_port(tp_last(l), r);
	} else if (x < 99)
		tp_filter(l, tp_me(), tp_any(), tp_below(r, 2) ? 1 : 58, true);
	else
		tp_filter(l, tp_any(), tp_any(), SS_PROTO_ANY, true);
}

static ss_policy *make_policy(size_t n, tp_rng *r)
{
	size_t nl = n < 8 ? 1 : 8;
	ss_policy *p = tp_new(nl, 2, nl);
	ss_filter_action *neg = tp_action(p, "secure", SS_ACT_NEGOTIATE);
	ss_filter_action *blk = tp_action(p, "block", SS_ACT_BLOCK);
	for (size_t i = 0; i < nl; i++)
		tp_rule(p, "rule", tp_list(p, "list"), i % 4 == 3 ? blk : neg);
	for (size_t i = 0; i < n; i++)
		add_filter(&p->lists[tp_below(r, (uint32_t)nl)], r);
	return p;
}

static ss_addr inside(tp_rng *r, const ss_endpoint *e, bool v6)
{
	if (e->kind != SS_EP_PREFIX)
		return v6 ? org_v6(r) : org_v4(r);
	ss_addr a = e->prefix.addr;
	for (unsigned i = e->prefix.len; i < ss_addr_bits(&a); i++)
		if (tp_below(r, 2))
			a.a[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
	return a;
}

/* Three packets in four belong to some filter (either direction); the rest are random. */
static ss_pkt_key make_key(tp_rng *r, const ss_policy *p)
{
	ss_pkt_key k = { .dir = (uint8_t)tp_below(r, 2), .proto = 6 };
	k.sport = (uint16_t)(1024 + tp_below(r, 60000));
	k.dport = 443;
	const ss_filter_list *l = &p->lists[tp_below(r, (uint32_t)p->n_lists)];
	if (tp_below(r, 4) == 0 || !l->n_filters) {
		bool v6 = tp_below(r, 10) == 0;
		k.src = v6 ? org_v6(r) : org_v4(r);
		k.dst = v6 ? org_v6(r) : org_v4(r);
		return k;
	}
	const ss_filter *f = &l->filters[tp_below(r, (uint32_t)l->n_filters)];
	bool v6 = (f->src.kind == SS_EP_PREFIX && f->src.prefix.addr.family == SS_AF_INET6) ||
		  (f->dst.kind == SS_EP_PREFIX && f->dst.prefix.addr.family == SS_AF_INET6);
	/* `me` must be the local side. */
	k.dir = f->src.kind == SS_EP_ME ? SS_DIR_OUT : f->dst.kind == SS_EP_ME ? SS_DIR_IN : k.dir;
	k.src = inside(r, &f->src, v6);
	k.dst = inside(r, &f->dst, v6);
	if (f->proto != SS_PROTO_ANY)
		k.proto = (uint8_t)f->proto;
	if (k.proto == 1 || k.proto == 58)
		k.sport = k.dport = 0;
	else if (f->dport.lo == f->dport.hi)
		k.dport = f->dport.lo;
	if (tp_below(r, 2)) {
		ss_addr t = k.src;
		k.src = k.dst;
		k.dst = t;
		uint16_t u = k.sport;
		k.sport = k.dport;
		k.dport = u;
		k.dir ^= 1;
	}
	return k;
}

#define N_KEYS 65536

/* One untimed pass of single and of batched lookups: for instruction counts (callgrind). */
static void count_pass(size_t n, uint64_t seed)
{
	tp_rng r = { seed };
	ss_policy *p = make_policy(n, &r);
	ss_pkt_key *keys = malloc(N_KEYS * sizeof(*keys));
	ss_match *ms = malloc(N_KEYS * sizeof(*ms));
	bool *found = malloc(N_KEYS * sizeof(*found));
	if (!keys || !ms || !found)
		abort();
	for (size_t i = 0; i < N_KEYS; i++)
		keys[i] = make_key(&r, p);
	ss_classifier *c = ss_classifier_build(p);
	if (!c)
		abort();
	size_t hits = 0;
	for (size_t i = 0; i < N_KEYS; i++)
		hits += ss_classify(c, &keys[i], &ms[i]);
	for (size_t i = 0; i < N_KEYS; i += 32)
		hits += ss_classify_batch(c, &keys[i], 32, &ms[i], &found[i]);
	printf("%zu filters: %zu hits in 2 x %d lookups\n", n, hits, N_KEYS);
	free(keys);
	free(ms);
	free(found);
	ss_classifier_free(c);
	ss_policy_free(p);
}

static void row(size_t n, bool quick, uint64_t seed)
{
	tp_rng r = { seed };
	ss_policy *p = make_policy(n, &r);
	ss_pkt_key *keys = malloc(N_KEYS * sizeof(*keys));
	if (!keys)
		abort();
	for (size_t i = 0; i < N_KEYS; i++)
		keys[i] = make_key(&r, p);

	double t0 = now_s();
	ss_classifier *c = ss_classifier_build(p);
	double compile = now_s() - t0;
	if (!c) {
		fprintf(stderr, "classifier build failed\n");
		exit(1);
	}

	/* Compiled: whole passes over the keys until the time budget is spent. */
	double budget = quick ? 0.02 : 0.3;
	/* The machine may be shared: the best of three runs is the one least disturbed. */
	size_t lookups = 0, hits = 0;
	uintptr_t sink = 0;
	double t, fast = 0, batched = 0;
	for (int rep = 0; rep < 3; rep++) {
		lookups = hits = 0;
		t0 = now_s();
		do {
			for (size_t i = 0; i < N_KEYS; i++) {
				ss_match m;
				if (ss_classify(c, &keys[i], &m)) {
					hits++;
					sink += (uintptr_t)m.filter;
				}
			}
			lookups += N_KEYS;
			t = now_s() - t0;
		} while (t < budget);
		if ((double)lookups / t > fast)
			fast = (double)lookups / t;
	}

	/* Batched: the way a datapath that reads packets in bursts would call it. */
	enum { BURST = 32 };
	ss_match *ms = malloc(N_KEYS * sizeof(*ms));
	bool *found = malloc(N_KEYS * sizeof(*found));
	if (!ms || !found)
		abort();
	for (int rep = 0; rep < 3; rep++) {
		size_t blookups = 0;
		t0 = now_s();
		do {
			for (size_t i = 0; i < N_KEYS; i += BURST)
				sink += ss_classify_batch(c, &keys[i], BURST, &ms[i], &found[i]);
			blookups += N_KEYS;
			t = now_s() - t0;
		} while (t < budget);
		if ((double)blookups / t > batched)
			batched = (double)blookups / t;
	}

	/* Naive: sampled (it is slow at large sizes), and checked against the compiled one. */
	size_t naive_n = 0, mismatches = 0;
	t0 = now_s();
	do {
		ss_match m, o;
		const ss_pkt_key *k = &keys[naive_n % N_KEYS];
		const ss_match *bm = &ms[naive_n % N_KEYS];
		bool a = tp_oracle(p, k, &o), b = ss_classify(c, k, &m), bb = found[naive_n % N_KEYS];
		if (a != b || (a && (o.rule != m.rule || o.filter != m.filter || o.mirrored != m.mirrored)))
			mismatches++;
		else if (a != bb || (a && (o.rule != bm->rule || o.filter != bm->filter || o.mirrored != bm->mirrored)))
			mismatches++;
		naive_n++;
		t = now_s() - t0;
	} while (t < budget / 2 && naive_n < N_KEYS);
	double naive = (double)naive_n / t;

	size_t mem = ss_classifier_memory(c);
	printf("| %zu | %.2f | %zu | %.0f | %.2f M | %.2f M | %.1f k | %.0fx | %.0f%% |\n", n,
	       compile * 1e3, mem, (double)mem / (double)n, fast / 1e6, batched / 1e6, naive / 1e3,
	       fast / naive, 100.0 * (double)hits / (double)lookups);
	if (mismatches) {
		fprintf(stderr, "%zu of %zu sampled lookups disagree with the oracle\n", mismatches, naive_n);
		exit(1);
	}
	if (sink == 1)
		puts("");
	free(keys);
	free(ms);
	free(found);
	ss_classifier_free(c);
	ss_policy_free(p);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	size_t only = argc > 2 && !strcmp(argv[1], "--size") ? strtoul(argv[2], NULL, 10) : 0;
	size_t count = argc > 2 && !strcmp(argv[1], "--count") ? strtoul(argv[2], NULL, 10) : 0;
	if (argc > 1 && !quick && !only && !count) {
		fprintf(stderr, "usage: %s [--quick | --size N | --count N]\n", argv[0]);
		return 2;
	}
	if (count) {
		/* The seed row() uses for this size, so the policies are the same. */
		static const size_t sz[] = { 10, 1000, 10000, 100000 };
		uint64_t seed = 0x9e3779b97f4a7c15ULL;
		for (size_t i = 0; i < 4; i++)
			if (sz[i] == count)
				seed += i;
		count_pass(count, seed);
		return 0;
	}
	static const size_t sizes[] = { 10, 1000, 10000, 100000 };
	printf("### Classifier (one core, CPU time, best of 3; %d distinct random packets, 3/4 of them from a filter)\n\n", N_KEYS);
	printf("| filters | compile ms | memory bytes | bytes/filter | compiled lookups/s | batched (32) lookups/s | naive oracle lookups/s | compiled/naive | matched |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	if (only)
		row(only, false, 0x9e3779b97f4a7c15ULL);
	for (size_t i = 0; !only && i < (quick ? 2 : 4); i++)
		row(sizes[i], quick, 0x9e3779b97f4a7c15ULL + i);
	printf("\nPolicies: 8 rules (1 below 8 filters); filters 40%% me<->host, 15%% host<->host, 13%% me<->subnet "
	       "(/16-/28), 8%% subnet<->subnet, 16%% me->host with a TCP/UDP port, 6%% any->host or "
	       "subnet with a TCP port, 1%% me->any ICMP, 1%% any<->any; 10%% IPv6; all mirrored; "
	       "addresses in two /12s.  Packets: 3/4 inside a random filter (either direction), 1/4 "
	       "random in the same space.  The naive oracle is sampled and every sampled answer is "
	       "checked against the compiled classifier (single and batched).\n");
	return 0;
}
