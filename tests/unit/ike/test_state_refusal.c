/* A state change the transition table refuses stops its caller: sa_set_state() is wrapped
 * (-Wl,--wrap=sa_set_state) so that the move to ESTABLISHED after IKE_AUTH is refused on one
 * side, as the table would refuse an illegal one.  That side must not report a CHILD SA, nor
 * an outcome of "secured", and the other side must not bring one up either. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/log.h"
#include "harness.h"
#include "ike/ike_internal.h"

bool __real_sa_set_state(ike_sa *sa, enum ike_state to, const char *reason);
bool __wrap_sa_set_state(ike_sa *sa, enum ike_state to, const char *reason);

static int refuse_side = -1; /* 0: the initiator's move, 1: the responder's */
static int refused;

bool __wrap_sa_set_state(ike_sa *sa, enum ike_state to, const char *reason)
{
	if (to == ST_ESTABLISHED && refuse_side >= 0 && sa->initiator == (refuse_side == 0)) {
		refused++;
		return false;
	}
	return __real_sa_set_state(sa, to, reason);
}

static const ss_ike_suite IKE = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				  SS_DH_ECP_256 };
static const ss_esp_suite ESP = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };

static void run(harness *h, int side)
{
	refuse_side = side;
	refused = 0;
	h_init(h, NULL);
	h_config(&h->side[0].cfg, &IKE, &ESP, "a.example", "b.example", "secret-0123456789");
	h_config(&h->side[1].cfg, &IKE, &ESP, "b.example", "a.example", "secret-0123456789");
	h_initiate(h, 0);
	h_run(h, SS_SEC(120));
}

static void baseline_comes_up(void **state)
{
	(void)state;
	harness h;
	run(&h, -1);
	assert_int_equal(h.side[0].n_child_up, 1);
	assert_int_equal(h.side[1].n_child_up, 1);
	assert_int_equal(h.side[0].outcome, SS_IKE_SECURED);
	h_free(&h);
}

static void initiator_refused_move_stops_child(void **state)
{
	(void)state;
	harness h;
	run(&h, 0);
	assert_int_equal(refused, 1);
	assert_int_equal(h.side[0].n_child_up, 0);
	assert_int_equal(h.side[0].n_outcome, 1);
	assert_int_not_equal(h.side[0].outcome, SS_IKE_SECURED);
	/* The responder did come up (it answered first) and is told by a DELETE. */
	assert_int_equal(h.side[1].n_alive, 0);
	h_free(&h);
}

static void responder_refused_move_sends_nothing(void **state)
{
	(void)state;
	harness h;
	run(&h, 1);
	assert_true(refused >= 1);
	assert_int_equal(h.side[1].n_child_up, 0);
	/* No IKE_AUTH response left the responder, so the initiator has nothing to install. */
	assert_int_equal(h_count(&h, 1, SS_IKE_AUTH, true), 0);
	assert_int_equal(h.side[0].n_child_up, 0);
	assert_int_not_equal(h.side[0].outcome, SS_IKE_SECURED);
	h_free(&h);
}

int main(void)
{
	ss_log_set_level(getenv("IKE_DEBUG") ? SS_LOG_DEBUG : SS_LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(baseline_comes_up),
		cmocka_unit_test(initiator_refused_move_stops_child),
		cmocka_unit_test(responder_refused_move_sends_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
