/* Full IKE_SA_INIT + IKE_AUTH handshakes (with the first CHILD SA) per second between two
 * in-process engines, next to the raw cost of the DH operations the handshake needs,
 * measured in the same run, so the protocol overhead over the crypto floor shows.
 *
 * Usage: bench_ike [seconds-per-row, default 1]
 *
 * A handshake costs each side one key pair + one derivation; "DH floor" is two of each
 * (both sides), the least any implementation on the same OpenSSL must pay.  Per-handshake
 * times are for both engines together; "us responder" is the time spent inside the
 * responder's ss_ike_input alone (its IKE_SA_INIT and IKE_AUTH), per handshake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "ike/ike.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ss_ike_config cfg_a, cfg_b;

static const ss_ike_config *lookup(void *ctx, const ss_ike_endpoint *l, const ss_ike_endpoint *r,
				   const ss_ike_id *idi)
{
	return &cfg_b;
}

static double resp_time;  /* seconds spent inside the responder's ss_ike_input */

/* Moves datagrams between the two engines until both are quiet; true when A got a CHILD. */
static bool pump(ss_ike_engine *a, ss_ike_engine *b, const ss_ike_endpoint *ea,
		 const ss_ike_endpoint *eb)
{
	bool up = false, busy = true;
	static uint8_t buf[4096];
	while (busy) {
		busy = false;
		ss_ike_engine *eng[2] = { a, b };
		for (int i = 0; i < 2; i++) {
			ss_ike_action act;
			size_t len = 0;
			bool send = false;
			while (ss_ike_next_action(eng[i], &act)) {
				if (act.kind == SS_IKE_ACT_SEND && act.len <= sizeof(buf)) {
					memcpy(buf, act.data, act.len);
					len = act.len;
					send = true;
				} else if (act.kind == SS_IKE_ACT_CHILD_UP && i == 0) {
					up = true;
				}
			}
			if (send) {
				double t0 = i == 0 ? now_s() : 0;
				ss_ike_input(eng[!i], buf, len, i ? ea : eb, i ? eb : ea, 1000);
				if (i == 0)
					resp_time += now_s() - t0;
				busy = true;
			}
		}
	}
	return up;
}

static void suite_cfg(ss_ike_config *c, const ss_ike_suite *s, const char *id)
{
	ss_ike_config_init(c);
	c->ike[0] = *s;
	c->n_ike = 1;
	c->esp[0] = (ss_esp_suite){ SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };
	c->n_esp = 1;
	c->local_id = ss_ike_id_fqdn(id);
	c->psk_len = 16;
	memcpy(c->psk, "bench-psk-123456", 16);
}

static double handshakes(const ss_ike_suite *s, double secs, double *resp_us)
{
	suite_cfg(&cfg_a, s, "a.bench");
	suite_cfg(&cfg_b, s, "b.bench");
	ss_ike_engine_params p;
	ss_ike_engine_params_default(&p);
	p.lookup = lookup;
	p.cookie_threshold = 1u << 30;
	ss_ike_engine *a = ss_ike_engine_new(&p), *b = ss_ike_engine_new(&p);
	ss_ike_endpoint ea = { ss_addr_v4(0x0a000001), 500 }, eb = { ss_addr_v4(0x0a000002), 500 };
	double best = 0;
	*resp_us = 1e9;
	for (int w = 0; w < 3; w++) {
		unsigned long n = 0;
		double t0 = now_s(), t1;
		resp_time = 0;
		do {
			uint32_t h = ss_ike_initiate(a, &ea, &eb, &cfg_a, 1000);
			if (!h || !pump(a, b, &ea, &eb)) {
				printf("handshake failed\n");
				exit(1);
			}
			/* Drop both IKE SAs without traffic: free the state, keep the tables small. */
			ss_ike_engine_free(a);
			ss_ike_engine_free(b);
			a = ss_ike_engine_new(&p);
			b = ss_ike_engine_new(&p);
			n++;
			t1 = now_s();
		} while (t1 - t0 < secs / 3);
		double rate = (double)n / (t1 - t0);
		if (rate > best)
			best = rate;
		if (resp_time * 1e6 / (double)n < *resp_us)
			*resp_us = resp_time * 1e6 / (double)n;
	}
	ss_ike_engine_free(a);
	ss_ike_engine_free(b);
	return best;
}

/* Two key pairs and two derivations: both sides' DH in one handshake. */
static double dh_floor(uint16_t group, double secs)
{
	size_t pl = ss_dh_pub_len(group), sl = ss_dh_secret_len(group);
	uint8_t pa[SS_DH_PUB_MAX], pb[SS_DH_PUB_MAX], sec[SS_DH_SECRET_MAX];
	double best = 0;
	for (int w = 0; w < 3; w++) {
		unsigned long n = 0;
		double t0 = now_s(), t1;
		do {
			ss_dh *a = ss_dh_new(group), *b = ss_dh_new(group);
			if (!a || !b || !ss_dh_public(a, pa, pl) || !ss_dh_public(b, pb, pl) ||
			    ss_dh_derive(a, pb, pl, sec, sl) != SS_DH_OK ||
			    ss_dh_derive(b, pa, pl, sec, sl) != SS_DH_OK) {
				printf("DH failed\n");
				exit(1);
			}
			ss_dh_free(a);
			ss_dh_free(b);
			n++;
			t1 = now_s();
		} while (t1 - t0 < secs / 3);
		double rate = (double)n / (t1 - t0);
		if (rate > best)
			best = rate;
	}
	return best;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	ss_log_set_level(SS_LOG_ERR);
	static const struct { const char *name; ss_ike_suite s; } rows[] = {
		{ "aes128gcm16-prfsha256-ecp256", { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_ECP_256 } },
		{ "aes128gcm16-prfsha256-x25519", { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256, SS_DH_CURVE25519 } },
		{ "aes256-sha256-modp2048", { SS_ENCR_AES_CBC, 256, SS_INTEG_HMAC_SHA2_256_128, SS_PRF_HMAC_SHA2_256, SS_DH_MODP_2048 } },
	};
	printf("%-30s %12s %12s %12s %12s %8s %14s\n", "suite (both engines)", "handshakes/s",
	       "us/handshake", "DH floor/s", "us DH floor", "overhead", "us responder");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double resp_us;
		double hs = handshakes(&rows[i].s, secs, &resp_us);
		double dh = dh_floor(rows[i].s.dh, secs);
		printf("%-30s %12.0f %12.1f %12.0f %12.1f %7.2fx %14.1f\n", rows[i].name, hs, 1e6 / hs,
		       dh, 1e6 / dh, dh / hs, resp_us);
	}
	return 0;
}
