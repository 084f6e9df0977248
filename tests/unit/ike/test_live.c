/* Liveness checks (RFC 7296 §2.4) and the hints that may start them (§1.5), two engines on
 * the harness's virtual clock: exact times of checks, retransmissions and deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/log.h"
#include "harness.h"
#include "ike/wire.h"

static const ss_ike_suite IKE = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				  SS_DH_CURVE25519 };
static const ss_esp_suite ESP = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };

static harness H;
#define A (H.side[0].eng)
#define B (H.side[1].eng)

static int setup(void **state)
{
	(void)state;
	ss_log_set_level(getenv("IKE_DEBUG") ? SS_LOG_DEBUG : SS_LOG_ERR);
	return 0;
}

/* A and B with an IKE SA (A initiated it at 1 s, with this dpd_delay); returns A's handle. */
static uint32_t up_with(uint32_t dpd_delay_s)
{
	h_init(&H, NULL);
	h_config(&H.side[0].cfg, &IKE, &ESP, "a.example", "b.example", "secret-0123456789");
	h_config(&H.side[1].cfg, &IKE, &ESP, "b.example", "a.example", "secret-0123456789");
	H.side[0].cfg.dpd_delay_s = dpd_delay_s;
	uint32_t ha = h_initiate(&H, 0);
	h_run(&H, SS_SEC(5));
	assert_int_equal(H.side[0].outcome, SS_IKE_SECURED);
	assert_int_equal(H.side[0].n_child_up, 1);
	return ha;
}

static uint32_t up(void)
{
	return up_with(30);
}

/* A's traffic goes out at t and t + 1 s (a run of sends, not a last packet). */
static void sends(uint32_t ha, ss_time t)
{
	H.now = t;
	ss_ike_traffic(A, ha, 5, 0, H.now);
	H.now = t + SS_SEC(1);
	ss_ike_traffic(A, ha, 1, 0, H.now);
}

static int checks_from(int side)
{
	return h_count(&H, side, SS_IKE_INFORMATIONAL, false);
}

/* B vanishes: A's traffic (reported at 10 s) goes unanswered; the check goes at 40 s, is
 * retransmitted at 41, 43, 47 and 55 s, and the IKE SA is deleted at 71 s with its CHILD SA. */
static void unanswered_traffic_check_then_peer_dead(void **state)
{
	(void)state;
	uint32_t ha = up();
	sends(ha, SS_SEC(10));
	H.drop_all_from[1] = true;
	h_run(&H, SS_SEC(40) - 1);
	assert_int_equal(checks_from(0), 0);
	h_run(&H, SS_SEC(40));
	assert_int_equal(checks_from(0), 1);
	assert_int_equal(ss_ike_get_stats(A)->dpd_sent, 1);
	h_run(&H, SS_SEC(71) - 1);
	assert_int_equal(checks_from(0), 5);
	assert_int_equal(H.side[0].n_ike_deleted, 0);
	h_run(&H, SS_SEC(71));
	assert_int_equal(H.side[0].n_ike_deleted, 1);
	assert_int_equal(H.side[0].ike_deleted_at, SS_SEC(71));
	assert_string_equal(H.side[0].ike_deleted_reason, "peer dead: liveness check unanswered");
	assert_int_equal(H.side[0].n_child_deleted, 1);
	assert_int_equal(ss_ike_get_stats(A)->dpd_failed, 1);
	assert_int_equal(ss_ike_get_stats(A)->sas, 0);
	/* B never sent traffic: it never checked. */
	assert_int_equal(ss_ike_get_stats(B)->dpd_sent, 0);
	h_free(&H);
}

/* An answered check keeps the SA; another needs new unanswered traffic. */
static void answered_check_keeps_sa(void **state)
{
	(void)state;
	uint32_t ha = up();
	sends(ha, SS_SEC(10));
	h_run(&H, SS_SEC(100));
	assert_int_equal(checks_from(0), 1);
	assert_int_equal(h_count(&H, 1, SS_IKE_INFORMATIONAL, true), 1);
	assert_int_equal(H.side[0].n_ike_deleted, 0);
	sends(ha, SS_SEC(100));
	H.now = SS_SEC(110);
	ss_ike_traffic(A, ha, 0, 4, H.now);  /* answered by ESP */
	h_run(&H, SS_SEC(200));
	assert_int_equal(checks_from(0), 1);
	/* One last packet, nothing after it: no check. */
	H.now = SS_SEC(150);
	ss_ike_traffic(A, ha, 1, 0, H.now);
	h_run(&H, SS_SEC(199));
	assert_int_equal(checks_from(0), 1);
	sends(ha, SS_SEC(200));
	h_run(&H, SS_SEC(230) - 1);
	assert_int_equal(checks_from(0), 1);
	h_run(&H, SS_SEC(230));
	assert_int_equal(checks_from(0), 2);
	h_free(&H);
}

/* Traffic both ways, then none at all: never a check.  dpd_delay 0: never a check either. */
static void idle_or_two_way_never_checked(void **state)
{
	(void)state;
	uint32_t ha = up();
	for (int t = 10; t <= 300; t += 10) {
		H.now = SS_SEC(t);
		ss_ike_traffic(A, ha, 3, 3, H.now);
		ss_ike_traffic(A, ha, 0, 0, H.now);
		h_run(&H, H.now);
	}
	h_run(&H, SS_SEC(900));
	assert_int_equal(checks_from(0), 0);
	assert_int_equal(checks_from(1), 0);
	h_free(&H);

	ha = up_with(0);
	sends(ha, SS_SEC(10));
	h_run(&H, SS_SEC(900));
	assert_int_equal(checks_from(0), 0);
	h_free(&H);
}

/* Any authenticated IKE message from the peer is hearing from it. */
static void ike_message_counts_as_heard(void **state)
{
	(void)state;
	uint32_t ha = up();
	sends(ha, SS_SEC(10));
	H.now = SS_SEC(25);
	uint32_t hb = 0;
	for (uint32_t h = 1; h < 10 && !hb; h++) {
		ss_ike_sa_info i;
		if (ss_ike_sa_get(B, h, &i) && i.established)
			hb = h;
	}
	assert_true(ss_ike_dpd(B, hb, H.now));
	h_run(&H, SS_SEC(100));
	assert_int_equal(checks_from(0), 0);
	assert_int_equal(h_count(&H, 0, SS_IKE_INFORMATIONAL, true), 1);
	h_free(&H);
}

/* B restarts and gets A's ESP: it counts it, sends one unprotected INVALID_SPI (§1.5: I flag,
 * message ID 0, zero SPIs) per 5 s; A takes it as a hint and checks at once; B, which no
 * longer has the IKE SA, cannot answer, so A deletes it 31 s later. */
static void unknown_spi_hint_leads_to_check(void **state)
{
	(void)state;
	up();
	uint32_t spi = H.side[0].child.spi_out;
	h_restart(&H, 1);
	H.now = SS_SEC(20);
	int before = H.n_log;
	assert_true(ss_ike_esp_unknown(B, &H.side[1].ep, &H.side[0].ep, spi, H.now));
	assert_false(ss_ike_esp_unknown(B, &H.side[1].ep, &H.side[0].ep, spi, H.now + 4999));
	assert_int_equal(ss_ike_esp_unknown_count(B, &H.side[0].ep.addr), 2);
	assert_int_equal(ss_ike_get_stats(B)->esp_unknown_limited, 1);
	h_run(&H, H.now);
	assert_int_equal(H.n_log, before + 2);
	const h_sent *n = &H.log[before];
	assert_int_equal(n->from, 1);
	ss_ike_msg m;
	assert_int_equal(ss_ike_parse(n->data, n->len, &m, NULL), SS_CODEC_OK);
	assert_int_equal(m.hdr.exchange, SS_IKE_INFORMATIONAL);
	assert_int_equal(m.hdr.flags, SS_IKE_FLAG_INITIATOR);
	assert_int_equal(m.hdr.msg_id, 0);
	assert_true(m.hdr.spi_i == 0 && m.hdr.spi_r == 0);
	assert_int_equal(m.n_notify, 1);
	assert_int_equal(m.notify[0].type, SS_N_INVALID_SPI);
	assert_int_equal(m.notify[0].data.len, 4);
	assert_int_equal(((uint32_t)m.notify[0].data.p[0] << 24) | ((uint32_t)m.notify[0].data.p[1] << 16) |
			 ((uint32_t)m.notify[0].data.p[2] << 8) | m.notify[0].data.p[3], spi);
	/* A's check, at once, for the SA that holds that SPI. */
	assert_int_equal(H.log[before + 1].from, 0);
	assert_int_equal(checks_from(0), 1);
	assert_int_equal(ss_ike_get_stats(A)->invalid_spi_rx, 1);
	/* The same hint again, replayed by anyone: ignored within the gap. */
	ss_ike_input(A, n->data, n->len, &H.side[0].ep, &n->src, H.now + 1000);
	assert_int_equal(ss_ike_get_stats(A)->invalid_spi_ignored, 1);
	h_run(&H, SS_SEC(51) - 1);
	assert_int_equal(H.side[0].n_ike_deleted, 0);
	h_run(&H, SS_SEC(51));
	assert_int_equal(H.side[0].n_ike_deleted, 1);
	assert_string_equal(H.side[0].ike_deleted_reason, "peer dead: liveness check unanswered");
	assert_int_equal(ss_ike_get_stats(B)->invalid_spi_sent, 1);
	h_free(&H);
}

/* A forged INVALID_SPI naming no SPI of ours is no hint; an IKE SA up with the peer means no
 * unprotected notify goes out. */
static void forged_hint_ignored_and_no_notify_inside_sa(void **state)
{
	(void)state;
	up();
	uint8_t buf[64], data[4] = { 0x12, 0x34, 0x56, 0x78 };
	ss_ike_writer w;
	ss_ike_hdr hd = { .exchange = SS_IKE_INFORMATIONAL, .flags = SS_IKE_FLAG_INITIATOR };
	ss_ikew_init(&w, buf, sizeof(buf), &hd);
	ss_ikew_notify(&w, 0, NULL, 0, SS_N_INVALID_SPI, data, 4);
	size_t len = ss_ikew_finish(&w);
	ss_ike_input(A, buf, len, &H.side[0].ep, &H.side[1].ep, SS_SEC(20));
	assert_int_equal(ss_ike_get_stats(A)->invalid_spi_ignored, 1);
	h_run(&H, SS_SEC(100));
	assert_int_equal(checks_from(0), 0);
	int before = H.n_log;
	assert_true(ss_ike_esp_unknown(B, &H.side[1].ep, &H.side[0].ep, 0x12345678, SS_SEC(100)));
	h_run(&H, SS_SEC(100));
	assert_int_equal(H.n_log, before);
	assert_int_equal(ss_ike_get_stats(B)->invalid_spi_sent, 0);
	h_free(&H);
}

/* Unknown-SPI accounting is bounded: a flood from many (spoofed) sources keeps
 * SS_IKE_UNKNOWN_PEERS peers, and is acted on (notify, negotiation) SS_IKE_UNKNOWN_PER_S
 * times a second in all: 10,000 sources over 10 s, 100 acted on. */
static void unknown_spi_table_bounded(void **state)
{
	(void)state;
	h_init(&H, NULL);
	ss_ike_endpoint me = H.side[1].ep;
	int notified = 0;
	for (uint32_t i = 0; i < 10000; i++) {
		ss_ike_endpoint src = { ss_addr_v4(0xc0000000u + i), SS_IKE_NATT_PORT };
		notified += ss_ike_esp_unknown(B, &me, &src, 0x1000 + i, SS_SEC(1) + i);
		ss_ike_action a;
		while (ss_ike_next_action(B, &a))
			;
	}
	assert_int_equal(notified, 10 * SS_IKE_UNKNOWN_PER_S);
	assert_int_equal(ss_ike_get_stats(B)->invalid_spi_sent, 10 * SS_IKE_UNKNOWN_PER_S);
	assert_int_equal(ss_ike_get_stats(B)->esp_unknown_limited, 10000 - 10 * SS_IKE_UNKNOWN_PER_S);
	assert_int_equal(ss_ike_get_stats(B)->esp_unknown_spi, 10000);
	assert_int_equal(ss_ike_esp_unknown_count(B, &(ss_addr){ 0 }), 0);
	ss_addr last = ss_addr_v4(0xc0000000u + 9999), first = ss_addr_v4(0xc0000000u);
	assert_int_equal(ss_ike_esp_unknown_count(B, &last), 1);
	assert_int_equal(ss_ike_esp_unknown_count(B, &first), 0);
	h_free(&H);
}

/* Deleting an IKE SA closes its CHILD SAs at once (§1.4.1); the IKE SA waits for the answer
 * until delete_until, and is gone then even if the peer never answers. */
static void delete_closes_children_at_once(void **state)
{
	(void)state;
	uint32_t ha = up();
	H.now = SS_SEC(10);
	H.drop_all_from[1] = true;
	assert_true(ss_ike_delete(A, ha, H.now));
	ss_ike_sa_info i;
	assert_true(ss_ike_sa_get(A, ha, &i));
	assert_true(i.deleting && !i.established);
	assert_int_equal(i.delete_until, SS_SEC(10) + SS_IKE_REQUEST_TIMEOUT_MS);
	h_run(&H, H.now);
	assert_int_equal(H.side[0].n_child_deleted, 1);
	assert_int_equal(H.side[0].n_alive, 0);
	assert_int_equal(H.side[0].n_ike_deleted, 0);
	h_run(&H, SS_SEC(41) - 1);
	assert_int_equal(H.side[0].n_ike_deleted, 0);
	h_run(&H, SS_SEC(41));
	assert_int_equal(H.side[0].n_ike_deleted, 1);
	assert_int_equal(H.side[0].n_child_deleted, 1);  /* not twice */
	assert_false(ss_ike_sa_get(A, ha, &i));
	h_free(&H);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unanswered_traffic_check_then_peer_dead),
		cmocka_unit_test(answered_check_keeps_sa),
		cmocka_unit_test(idle_or_two_way_never_checked),
		cmocka_unit_test(ike_message_counts_as_heard),
		cmocka_unit_test(unknown_spi_hint_leads_to_check),
		cmocka_unit_test(forged_hint_ignored_and_no_notify_inside_sa),
		cmocka_unit_test(unknown_spi_table_bounded),
		cmocka_unit_test(delete_closes_children_at_once),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
