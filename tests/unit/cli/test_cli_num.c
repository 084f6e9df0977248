/* cli_num / cli_int: numbers from softsad's replies as long long, whatever the reply says
 * (fuzz_ctl_reply found reals outside the range cast as they were: undefined behaviour). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <limits.h>

#include "cli/ctl.h"

static void test_num(void **state)
{
	(void)state;
	json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:f, s:s, s:n, s:f}", "i", (json_int_t)-42, "r", 2.9,
			      "big", 1.5e300, "small", -1.5e300, "edge", 0x1p63, "s", "7", "null", "neg", -0x1p63);
	assert_non_null(o);
	assert_int_equal(cli_int(o, "i"), -42);
	assert_int_equal(cli_int(o, "r"), 2);
	assert_true(cli_int(o, "big") == LLONG_MAX);
	assert_true(cli_int(o, "small") == LLONG_MIN);
	assert_true(cli_int(o, "edge") == LLONG_MAX);
	assert_true(cli_int(o, "neg") == LLONG_MIN);
	assert_int_equal(cli_int(o, "s"), 0);
	assert_int_equal(cli_int(o, "null"), 0);
	assert_int_equal(cli_int(o, "absent"), 0);
	assert_int_equal(cli_int(NULL, "i"), 0);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
