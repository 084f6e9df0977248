/* ss_dp_user_open refuses a bad configuration before touching the system (no privileges
 * needed to run this). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/user/user.h"

static void refused(ss_dp_user_config *c, const char *why)
{
	ss_dpu *dp = (ss_dpu *)1;
	char err[256] = "";
	assert_int_equal(ss_dp_user_open(c, &dp, err, sizeof err), -EINVAL);
	assert_null(dp);
	if (!strstr(err, why))
		fail_msg("expected '%s' in '%s'", why, err);
}

static void test_refusals(void **state)
{
	(void)state;
	ss_dp_user_config c;
	ss_dp_user_config_default(&c);
	assert_string_equal(c.tun_name, "softsa0");

	c.tun_name[0] = 0;
	refused(&c, "TUN device name");
	ss_dp_user_config_default(&c);
	snprintf(c.tun_name, sizeof c.tun_name, "a\"b");
	refused(&c, "TUN device name");

	ss_dp_user_config_default(&c);
	c.bypass_mark = c.capture_mark | 1;
	refused(&c, "disjoint");
	ss_dp_user_config_default(&c);
	c.capture_mark = 0;
	refused(&c, "non-zero");

	ss_dp_user_config_default(&c);
	c.route_table = 254;
	refused(&c, "reserved");
	c.route_table = 0;
	refused(&c, "reserved");

}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_refusals) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
