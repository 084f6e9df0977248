/* The IKE engine at scale: a responder with N established IKE SAs (each with its one CHILD
 * SA, each from its own initiator address) set up between two in-process engines, and
 *   - memory per IKE SA: the responder engine's own live heap bytes (its allocations and
 *     OpenSSL's, counted only during calls into the responder: tests/unit/ike/alloc_count.c)
 *     divided by N, just after set-up and once idle (cached responses expired);
 *   - set-up CPU per IKE SA: the thread CPU time spent in calls into the responder during
 *     set-up, divided by N (the initiator's work is not in it);
 *   - a liveness check (empty INFORMATIONAL) round trip on a random SA among N vs among 100,
 *     in the same run (the lookups and timer heap at work).
 *
 *   ike_scale [N, default 10000] [ADDRS, default N]
 *
 * ADDRS: initiator addresses the N SAs come from, round robin (32: bench/ikeload's load;
 * fewer addresses than SAs are hosts behind NATs, whose SAs share one peer address).
 *
 * Prints one JSON object:
 *   {"sas":N,"bytes_per_sa":B,"bytes_per_sa_idle":B,"setup_cpu_us_per_sa":T,
 *    "setup_cpu_us_per_sa_small":T,"dpd_us_large":T,"dpd_us_small":T}
 * (_small: the same at 100 SAs.)  X25519 keeps the set-up short; the suite does not change
 * the SA's size, and the DH share of the CPU figure is bench_ike_crypto's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_count.h"
#include "base/log.h"
#include "ike/ike.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ss_ike_config cfg_a, cfg_b;
static unsigned n_addrs;   /* 0: one per SA */

static ss_ike_endpoint initiator_ep(unsigned i)
{
	return (ss_ike_endpoint){ ss_addr_v4(0x0b000000u + (n_addrs ? i % n_addrs : i)), 500 };
}
static double resp_cpu; /* thread CPU seconds inside calls into the responder */

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r,
				   const ss_ike_id *idi)
{
	return &cfg_b;
}

/* Calls into the responder are counted (heap) and timed (CPU). */
static void resp_begin(void)
{
	alloc_count_on = true;
	resp_cpu -= clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static void resp_end(void)
{
	resp_cpu += clock_s(CLOCK_THREAD_CPUTIME_ID);
	alloc_count_on = false;
}

/* Moves datagrams between the engines until both are quiet (b is the responder). */
static void pump(ss_ike_engine *a, ss_ike_engine *b, const ss_ike_endpoint *ea,
		 const ss_ike_endpoint *eb, ss_time now)
{
	static uint8_t buf[4096];
	bool busy = true;
	while (busy) {
		busy = false;
		ss_ike_engine *eng[2] = { a, b };
		for (int i = 0; i < 2; i++) {
			ss_ike_action act;
			size_t len = 0;
			if (i)
				resp_begin();
			while (ss_ike_next_action(eng[i], &act))
				if (act.kind == SS_IKE_ACT_SEND && act.len <= sizeof(buf)) {
					memcpy(buf, act.data, act.len);
					len = act.len;
				}
			if (i)
				resp_end();
			if (!len)
				continue;
			if (!i)
				resp_begin();
			ss_ike_input(eng[!i], buf, len, i ? ea : eb, i ? eb : ea, now);
			if (!i)
				resp_end();
			busy = true;
		}
	}
}

static void cfg(ss_ike_config *c, const char *id)
{
	ss_ike_config_init(c);
	c->ike[0] = (ss_ike_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				    SS_DH_CURVE25519 };
	c->n_ike = 1;
	c->esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
	c->n_esp = 1;
	c->local_id = ss_ike_id_fqdn(id);
	c->psk_len = 16;
	memcpy(c->psk, "bench-psk-123456", 16);
}

typedef struct bed {
	ss_ike_engine *a, *b;
	uint32_t *h;
	unsigned n;
	double bytes, bytes_idle, cpu_us;   /* per SA */
} bed;

#define T_SETUP 1000
#define T_IDLE (T_SETUP + 121000)  /* past RESP_KEEP_MS: no cached response left */

/* N IKE SAs from N distinct initiator addresses (as many hosts would), or from ADDRS. */
static bed bed_new(unsigned n)
{
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	p.cookie_threshold = 1u << 30;
	p.max_sas = n + 16;
	bed t = { ss_ike_engine_new(&p), NULL, calloc(n, sizeof(uint32_t)), n, 0, 0, 0 };
	resp_begin();
	t.b = ss_ike_engine_new(&p);
	resp_end();
	long long h0 = alloc_count_live;  /* the empty engine's own heap is not per SA */
	resp_cpu = 0;
	ss_ike_endpoint eb = { ss_addr_v4(0x0a000001), 500 };
	for (unsigned i = 0; i < n; i++) {
		ss_ike_endpoint ea = initiator_ep(i);
		t.h[i] = ss_ike_initiate(t.a, &ea, &eb, &cfg_a, T_SETUP);
		pump(t.a, t.b, &ea, &eb, T_SETUP);
	}
	t.cpu_us = resp_cpu * 1e6 / n;
	t.bytes = (double)(alloc_count_live - h0) / n;
	ss_ike_timer(t.a, T_IDLE);
	resp_begin();
	ss_ike_timer(t.b, T_IDLE);
	resp_end();
	ss_ike_endpoint any = { ss_addr_v4(0x0b000000u), 500 };
	pump(t.a, t.b, &any, &eb, T_IDLE);
	t.bytes_idle = (double)(alloc_count_live - h0) / n;
	return t;
}

static double dpd_us(bed *t, unsigned rounds)
{
	ss_ike_endpoint eb = { ss_addr_v4(0x0a000001), 500 };
	uint32_t x = 12345;
	double t0 = clock_s(CLOCK_MONOTONIC);
	for (unsigned r = 0; r < rounds; r++) {
		x = x * 1103515245u + 12345u;
		unsigned i = (x >> 8) % t->n;
		ss_ike_endpoint ea = initiator_ep(i);
		if (!ss_ike_dpd(t->a, t->h[i], T_IDLE + 1000))
			continue;
		pump(t->a, t->b, &ea, &eb, T_IDLE + 1000);
	}
	return (clock_s(CLOCK_MONOTONIC) - t0) * 1e6 / rounds;
}

static void bed_free(bed *t)
{
	ss_ike_engine_free(t->a);
	ss_ike_engine_free(t->b);
	free(t->h);
}

int main(int argc, char **argv)
{
	if (!alloc_count_init()) {
		fprintf(stderr, "ike_scale: OpenSSL allocated before its allocator could be hooked\n");
		return 1;
	}
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
	n_addrs = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
	if (n == 0)
		return 2;
	ss_log_set_level(SS_LOG_ERR);
	cfg(&cfg_a, "a.bench");
	cfg(&cfg_b, "b.bench");
	bed small = bed_new(100);
	bed large = bed_new(n);
	const ss_ike_stats *st = ss_ike_get_stats(large.b);
	if (st->sas < n) {
		fprintf(stderr, "ike_scale: only %u of %u SAs established\n", st->sas, n);
		return 1;
	}
	/* Alternate small and large so both see the same machine; keep the best of 3. */
	double ds = 1e9, dl = 1e9;
	for (int r = 0; r < 3; r++) {
		double s = dpd_us(&small, 2000), l = dpd_us(&large, 2000);
		ds = s < ds ? s : ds;
		dl = l < dl ? l : dl;
	}
	printf("{\"sas\":%u,\"bytes_per_sa\":%.0f,\"bytes_per_sa_idle\":%.0f,"
	       "\"setup_cpu_us_per_sa\":%.1f,\"setup_cpu_us_per_sa_small\":%.1f,"
	       "\"dpd_us_large\":%.2f,\"dpd_us_small\":%.2f}\n",
	       n, large.bytes, large.bytes_idle, large.cpu_us, small.cpu_us, dl, ds);
	bed_free(&small);
	bed_free(&large);
	return 0;
}
