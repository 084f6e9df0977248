#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/addr.h"

static void parses_and_formats_both_families(void **state)
{
	ss_addr a;
	char buf[SS_ADDR_STRLEN];
	assert_true(ss_addr_parse("192.0.2.7", &a));
	assert_int_equal(a.family, SS_AF_INET);
	assert_string_equal(ss_addr_fmt(&a, buf), "192.0.2.7");
	assert_true(ss_addr_parse("2001:db8::1", &a));
	assert_int_equal(a.family, SS_AF_INET6);
	assert_string_equal(ss_addr_fmt(&a, buf), "2001:db8::1");
	assert_false(ss_addr_parse("192.0.2.256", &a));
	assert_false(ss_addr_parse("example", &a));
}

static void prefix_rules(void **state)
{
	ss_prefix p;
	const char *why = NULL;
	assert_true(ss_prefix_parse("10.0.0.0/8", &p, false, &why));
	assert_int_equal(p.len, 8);
	assert_false(ss_prefix_parse("10.0.0.1/8", &p, false, &why));
	assert_string_equal(why, "address has bits set beyond the prefix length");
	assert_true(ss_prefix_parse("10.0.0.1/8", &p, true, &why));
	char buf[SS_PREFIX_STRLEN];
	assert_string_equal(ss_prefix_fmt(&p, buf), "10.0.0.0/8");
	assert_false(ss_prefix_parse("10.0.0.0/33", &p, false, &why));
	assert_false(ss_prefix_parse("10.0.0.0/", &p, false, &why));
	assert_false(ss_prefix_parse("10.0.0.0/1x", &p, false, &why));
	assert_true(ss_prefix_parse("2001:db8::/32", &p, false, &why));
	assert_false(ss_prefix_parse("2001:db8::/129", &p, false, &why));
	assert_true(ss_prefix_parse("192.0.2.1", &p, false, &why));
	assert_int_equal(p.len, 32);
}

static void containment(void **state)
{
	ss_prefix p;
	ss_addr a;
	assert_true(ss_prefix_parse("192.168.4.0/22", &p, false, NULL));
	assert_true(ss_addr_parse("192.168.7.255", &a));
	assert_true(ss_prefix_contains(&p, &a));
	assert_true(ss_addr_parse("192.168.8.0", &a));
	assert_false(ss_prefix_contains(&p, &a));
	assert_true(ss_addr_parse("::ffff:192.168.4.1", &a));
	assert_false(ss_prefix_contains(&p, &a)); /* families never mix */
	assert_true(ss_prefix_parse("0.0.0.0/0", &p, false, NULL));
	assert_true(ss_addr_parse("8.8.8.8", &a));
	assert_true(ss_prefix_contains(&p, &a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_and_formats_both_families),
		cmocka_unit_test(prefix_rules),
		cmocka_unit_test(containment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
