#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ike/schedule.h"

/* Runs the schedule to its end; ICMP errors arrive `icmp_rtt` after each attempt when
 * icmp_rtt is not SS_NEVER.  Records the send times and returns the give-up time. */
static ss_time run(const ss_retx_params *p, ss_time icmp_rtt, ss_time sends[16], uint32_t *n)
{
	ss_retx r;
	ss_time now = 1000;
	ss_retx_start(&r, p, now);
	*n = 0;
	sends[(*n)++] = now - 1000;
	ss_time icmp_due = icmp_rtt == SS_NEVER ? SS_NEVER : now + icmp_rtt;
	for (;;) {
		ss_time next = ss_retx_deadline(&r);
		if (icmp_due < next) {
			now = icmp_due;
			icmp_due = SS_NEVER;
			ss_retx_icmp(&r, p, now);
			continue;
		}
		now = next;
		enum ss_retx_step s = ss_retx_poll(&r, p, now);
		if (s == SS_RETX_GIVE_UP)
			return now - 1000;
		assert_int_equal(s, SS_RETX_SEND);
		assert_int_equal(r.sent, *n + 1);
		sends[(*n)++] = now - 1000;
		if (icmp_rtt != SS_NEVER)
			icmp_due = now + icmp_rtt;
	}
}

static void silent_peer_gets_four_attempts_then_three_seconds(void **state)
{
	ss_retx_params p;
	ss_retx_params_default(&p);
	assert_null(ss_retx_params_check(&p));
	ss_time sends[16];
	uint32_t n;
	ss_time end = run(&p, SS_NEVER, sends, &n);
	assert_int_equal(n, 4);
	assert_int_equal(sends[0], 0);
	assert_int_equal(sends[1], 500);
	assert_int_equal(sends[2], 1000);
	assert_int_equal(sends[3], 2000);
	assert_int_equal(end, 3000);
	assert_int_equal(ss_retx_silent_decision(&p), 3000);
}

static void icmp_speeds_attempts_up(void **state)
{
	ss_retx_params p;
	ss_retx_params_default(&p);
	ss_time sends[16];
	uint32_t n;
	/* Errors come back 2 ms after each attempt: retry after the 100 ms gap, decide when
	 * the last attempt's error is in. */
	ss_time end = run(&p, 2, sends, &n);
	assert_int_equal(n, 4);
	assert_int_equal(sends[1], 100);
	assert_int_equal(sends[2], 200);
	assert_int_equal(sends[3], 300);
	assert_int_equal(end, 302);
}

static void icmp_never_decides_before_the_floor(void **state)
{
	ss_retx_params p;
	ss_retx_params_default(&p);
	p.icmp_gap_ms = 10;
	p.min_fallback_ms = 250;
	ss_time sends[16];
	uint32_t n;
	ss_time end = run(&p, 1, sends, &n);
	assert_int_equal(n, 4);
	assert_int_equal(sends[3], 30);
	assert_int_equal(end, 250);
}

static void late_icmp_cannot_move_time_backwards(void **state)
{
	ss_retx_params p;
	ss_retx_params_default(&p);
	ss_retx r;
	ss_retx_start(&r, &p, 0);
	/* The error for attempt 1 arrives after the gap already passed: retry at once. */
	ss_retx_icmp(&r, &p, 350);
	assert_int_equal(ss_retx_deadline(&r), 350);
	assert_int_equal(ss_retx_poll(&r, &p, 349), SS_RETX_WAIT);
	assert_int_equal(ss_retx_poll(&r, &p, 350), SS_RETX_SEND);
	assert_int_equal(ss_retx_deadline(&r), 850);
}

static void bad_params_are_named(void **state)
{
	ss_retx_params p;
	ss_retx_params_default(&p);
	p.attempts = 0;
	assert_non_null(ss_retx_params_check(&p));
	ss_retx_params_default(&p);
	p.n_delays = 0;
	assert_non_null(ss_retx_params_check(&p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(silent_peer_gets_four_attempts_then_three_seconds),
		cmocka_unit_test(icmp_speeds_attempts_up),
		cmocka_unit_test(icmp_never_decides_before_the_floor),
		cmocka_unit_test(late_icmp_cannot_move_time_backwards),
		cmocka_unit_test(bad_params_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
