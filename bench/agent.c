/* bench/agent: how fast the policy agent decides and how much an association costs.
 *   1. decisions/s for outbound traffic to secured peers and to soft peers, with 1,000 and
 *      with 1,000,000 associations in the table (the lookup is a keyed hash, O(1); what
 *      slows it at a million is cache and TLB misses on 130 MB of records);
 *   2. creating one million soft associations (inbound clear from a million sources, each
 *      negotiation reported unreachable) and expiring them all;
 *   3. bytes per association at a million.
 * Times are CPU time of this process.
 * Usage: bench/agent [associations]   (default 1000000);  bench/agent --quick: a smoke run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "base/log.h"
#include "simpol.h"

static double secs(void)
{
	struct timespec ts;
	/* CPU time, not wall time: the numbers hold on a busy machine. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ss_addr me;
static uint32_t rounds = 2000000;

static ss_addr peer_addr(uint32_t i)
{
	return ss_addr_v4(0x0b000000u + i); /* 11.0.0.0/8 holds 16M */
}

static void drain(ss_agent *ag)
{
	ss_agent_action x;
	while (ss_agent_pop(ag, &x))
		;
}

static void run_timers(ss_agent *ag, ss_time now)
{
	while (ss_agent_deadline(ag) <= now) {
		ss_agent_timer(ag, now);
		drain(ag);
	}
}

/* n peers: the first half secured, the second half soft. */
static ss_agent *populate(sim_policy *sp, uint32_t n, double *create_s)
{
	ss_agent_config cfg;
	ss_agent_config_default(&cfg);
	cfg.max_assocs = n + 16;
	ss_agent_policy ap = simpol_agent_policy(sp);
	ss_agent *ag = ss_agent_new(&cfg, &ap);
	double t0 = secs();
	for (uint32_t i = 0; i < n; i++) {
		ss_addr r = peer_addr(i);
		ss_pkt_key k = { .dir = SS_DIR_IN, .proto = 17, .sport = 53, .dport = 4000, .src = r, .dst = me };
		ss_agent_inbound_clear(ag, 0, &k, 100, i);
		ss_agent_outcome(ag, 0, &me, &r, i < n / 2 ? SS_IKE_SECURED : SS_IKE_PEER_UNREACHABLE);
		drain(ag);
	}
	*create_s = secs() - t0;
	return ag;
}

static double decide(ss_agent *ag, uint32_t lo, uint32_t hi, uint32_t n_rounds)
{
	uint64_t x = 12345;
	double t0 = secs();
	for (uint32_t j = 0; j < n_rounds; j++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ss_addr r = peer_addr(lo + (uint32_t)(x % (hi - lo)));
		ss_pkt_key k = { .dir = SS_DIR_OUT, .proto = 17, .sport = 4000, .dport = 53, .src = me, .dst = r };
		ss_agent_outbound(ag, 1000 + j / 1000, &k, 100, j);
		drain(ag);
	}
	return n_rounds / (secs() - t0);
}

static void run(sim_policy *sp, uint32_t n, bool full)
{
	double create_s;
	ss_agent *ag = populate(sp, n, &create_s);
	double sec = decide(ag, 0, n / 2, rounds);
	double soft = decide(ag, n / 2, n, rounds);
	ss_agent_stats st;
	ss_agent_get_stats(ag, &st);
	printf("%9u associations: %6.2f M decisions/s to secured peers, %6.2f M/s to soft peers\n", n, sec / 1e6,
	       soft / 1e6);
	if (full) {
		size_t mem = ss_agent_memory(ag);
		printf("  created %u (half soft) in %.2f s: %.2f M associations/s\n", n, create_s, n / create_s / 1e6);
		printf("  memory %.1f MB: %.0f bytes per association (record %zu bytes + hash and heap slots,"
		       " capacity rounded up to a power of two)\n",
		       mem / 1e6, (double)mem / st.assocs, ss_agent_assoc_size());
		/* Expire: jump past every soft lifetime; secured ones stay. */
		double t0 = secs();
		run_timers(ag, SS_SEC(100000));
		double exp_s = secs() - t0;
		ss_agent_get_stats(ag, &st);
		printf("  expired %llu soft associations in %.2f s: %.2f M/s; %u left (secured)\n",
		       (unsigned long long)st.soft_expired, exp_s, st.soft_expired / exp_s / 1e6, st.assocs);
	}
	ss_agent_free(ag);
}

static void soft_million(sim_policy *sp, uint32_t n)
{
	/* Creation and expiry of n soft associations alone. */
	ss_agent_config cfg;
	ss_agent_config_default(&cfg);
	cfg.max_assocs = n + 16;
	ss_agent_policy ap = simpol_agent_policy(sp);
	ss_agent *ag = ss_agent_new(&cfg, &ap);
	size_t base = ss_agent_memory(ag);
	double t0 = secs();
	for (uint32_t i = 0; i < n; i++) {
		ss_addr r = peer_addr(i);
		ss_pkt_key k = { .dir = SS_DIR_IN, .proto = 17, .sport = 53, .dport = 4000, .src = r, .dst = me };
		ss_agent_inbound_clear(ag, i / 1000, &k, 100, i);
		ss_agent_outcome(ag, i / 1000, &me, &r, SS_IKE_PEER_SILENT);
		drain(ag);
	}
	double c = secs() - t0;
	size_t mem = ss_agent_memory(ag);
	t0 = secs();
	run_timers(ag, SS_SEC(100000));
	double e = secs() - t0;
	ss_agent_stats st;
	ss_agent_get_stats(ag, &st);
	printf("%u soft associations: created in %.2f s (%.2f M/s), expired in %.2f s (%.2f M/s); "
	       "%.0f bytes each; memory after expiry %zu bytes (baseline %zu)\n",
	       n, c, n / c / 1e6, e, n / e / 1e6, (double)(mem - base) / n, ss_agent_memory(ag), base);
	ss_agent_free(ag);
}

int main(int argc, char **argv)
{
	uint32_t n = 1000000;
	if (argc > 1 && !strcmp(argv[1], "--quick")) {
		n = 20000;
		rounds = 100000;
	} else if (argc > 1) {
		n = (uint32_t)strtoul(argv[1], NULL, 10);
	}
	if (n < 2000)
		n = 2000;
	ss_log_set_level(SS_LOG_WARN);
	ss_addr_parse("10.0.0.1", &me);
	sim_policy *sp = simpol_builtin("server");
	printf("bench/agent (compiled classifier; Server policy: 2 rules)\n");
	run(sp, 1000, false);
	run(sp, n, true);
	soft_million(sp, n);
	simpol_free(sp);
	return 0;
}
