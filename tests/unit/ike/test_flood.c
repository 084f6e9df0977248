/* An IKE_SA_INIT flood at a responder (§2.6): what the defence does and what it reports.
 * Requests are real ones, made by a third engine (the attacker) from spoofed addresses; a
 * legitimate initiator (the harness's side A) must still get in.  Half-open state stays
 * bounded: cookie_threshold SAs from addresses that never answer, max_half_open_per_peer more
 * from one that echoes cookies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/log.h"
#include "harness.h"

static const ss_ike_suite IKE = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				  SS_DH_CURVE25519 };
static const ss_esp_suite ESP = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };

static harness H;
#define B (H.side[1].eng)

static int setup(void **state)
{
	(void)state;
	ss_log_set_level(getenv("IKE_DEBUG") ? SS_LOG_DEBUG : SS_LOG_ERR);
	return 0;
}

/* The attacker's next IKE_SA_INIT request (from src), fed to B; B's answer goes back to the
 * attacker when echo is set (a return-routable attacker), whose retry with the cookie is fed
 * to B again.  B's other actions are drained. */
static void attack(ss_ike_engine *att, const ss_ike_endpoint *src, bool echo, ss_time now)
{
	ss_ike_action a;
	uint8_t req[2048], resp[2048];
	size_t rl = 0, pl = 0;
	while (ss_ike_next_action(att, &a))
		if (a.kind == SS_IKE_ACT_SEND && a.len <= sizeof(req)) {
			memcpy(req, a.data, a.len);
			rl = a.len;
		}
	assert_true(rl > 0);
	ss_ike_input(B, req, rl, &H.side[1].ep, src, now);
	while (ss_ike_next_action(B, &a))
		if (a.kind == SS_IKE_ACT_SEND && a.len <= sizeof(resp)) {
			memcpy(resp, a.data, a.len);
			pl = a.len;
		}
	if (!echo || !pl)
		return;
	ss_ike_input(att, resp, pl, src, &H.side[1].ep, now);
	attack(att, src, false, now);
}

static void flood_observable_and_bounded(void **state)
{
	(void)state;
	h_init(&H, NULL);
	h_config(&H.side[0].cfg, &IKE, &ESP, "a.example", "b.example", "secret-0123456789");
	h_config(&H.side[1].cfg, &IKE, &ESP, "b.example", "a.example", "secret-0123456789");
	ss_ike_engine_params ap;
	ss_ike_engine_params_default(&ap);
	ap.max_sas = 100000;
	ss_ike_engine *att = ss_ike_engine_new(&ap);
	assert_non_null(att);
	ss_ike_config ac = H.side[0].cfg;
	const ss_ike_stats *st = ss_ike_get_stats(B);

	/* 3000 requests from 3000 spoofed addresses that never see the answers. */
	for (uint32_t i = 0; i < 3000; i++) {
		ss_ike_endpoint src = { ss_addr_v4(0xc6120000u + i), SS_IKE_PORT };
		assert_true(ss_ike_initiate(att, &src, &H.side[1].ep, &ac, H.now) != 0);
		attack(att, &src, false, H.now);
	}
	assert_int_equal(st->half_open, 50);
	assert_int_equal(st->sas, 50);
	assert_int_equal(st->cookies_sent, 2950);
	assert_true(st->cookies_required);
	assert_int_equal(st->floods, 1);
	assert_int_equal(st->half_open_peak, 50);

	/* One return-routable address echoes every cookie: 20 more half-open SAs, no more. */
	ss_ike_endpoint bot = { ss_addr_v4(0xcb007101u), SS_IKE_PORT };
	for (int i = 0; i < 200; i++) {
		assert_true(ss_ike_initiate(att, &bot, &H.side[1].ep, &ac, H.now) != 0);
		attack(att, &bot, true, H.now);
	}
	assert_int_equal(st->cookies_verified, 200);
	assert_int_equal(st->half_open, 70);
	assert_int_equal(st->half_open_refused_peer, 180);
	assert_int_equal(st->half_open_refused, 180);
	assert_int_equal(st->half_open_peak, 70);
	assert_int_equal(st->sas, 70);

	/* The legitimate peer gets a cookie, echoes it and gets in. */
	uint32_t ha = h_initiate(&H, 0);
	h_run(&H, H.now);
	assert_int_equal(H.side[0].outcome, SS_IKE_SECURED);
	ss_ike_sa_info ia;
	assert_true(ss_ike_sa_get(H.side[0].eng, ha, &ia) && ia.established);
	assert_int_equal(st->cookies_verified, 201);
	assert_int_equal(st->cookies_sent, 2950 + 200 + 1);

	/* 30 s later the half-open SAs are gone, and so is the flood. */
	ss_ike_timer(B, H.now + 30000);
	assert_int_equal(st->half_open, 0);
	assert_int_equal(st->half_open_expired, 70);
	assert_false(st->cookies_required);
	assert_int_equal(st->half_open_peak, 71);  /* with the legitimate peer's, briefly */
	assert_int_equal(st->sas, 1);
	ss_ike_engine_free(att);
	h_free(&H);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flood_observable_and_bounded),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
