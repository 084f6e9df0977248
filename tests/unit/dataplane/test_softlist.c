/* Reading soft associations back from nftables JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/user/softlist.h"

/* As nft 1.0.6 prints `nft -j list set inet softsa soft4` (one element counted, one bare). */
static const char doc4[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
	" {\"set\": {\"family\": \"inet\", \"name\": \"soft4\", \"table\": \"softsa\","
	" \"type\": \"ipv4_addr\", \"handle\": 2, \"flags\": [\"timeout\"], \"elem\": ["
	"{\"elem\": {\"val\": \"10.77.0.3\", \"timeout\": 60, \"expires\": 59,"
	" \"counter\": {\"packets\": 6, \"bytes\": 504}}},"
	" \"10.77.0.9\"], \"stmt\": [{\"counter\": null}]}}]}";

static void test_parse(void **state)
{
	(void)state;
	ss_dp_soft_info s[4];
	assert_int_equal(ss_nft_parse_soft_json(doc4, s, 4), 2);
	ss_addr a;
	assert_true(ss_addr_parse("10.77.0.3", &a));
	assert_true(ss_addr_eq(&s[0].peer, &a));
	assert_int_equal(s[0].packets, 6);
	assert_int_equal(s[0].bytes, 504);
	assert_int_equal(s[0].expires_in, 59000);
	assert_true(ss_addr_parse("10.77.0.9", &a));
	assert_true(ss_addr_eq(&s[1].peer, &a));
	assert_int_equal(s[1].packets, 0);
	assert_true(s[1].expires_in == SS_NEVER);
	/* room for one only */
	assert_int_equal(ss_nft_parse_soft_json(doc4, s, 1), 1);
}

static void test_empty_and_bad(void **state)
{
	(void)state;
	ss_dp_soft_info s[4];
	/* A set with no elements has no "elem" at all. */
	assert_int_equal(ss_nft_parse_soft_json("{\"nftables\": [{\"set\": {\"name\": \"soft6\"}}]}", s, 4), 0);
	assert_int_equal(ss_nft_parse_soft_json("", s, 4), -1);
	assert_int_equal(ss_nft_parse_soft_json("{\"nftables\": 3}", s, 4), -1);
	assert_int_equal(ss_nft_parse_soft_json("[1,2]", s, 4), -1);
	/* Elements that are not addresses, or with nonsense fields, are skipped or zeroed. */
	assert_int_equal(ss_nft_parse_soft_json(
		"{\"nftables\": [{\"set\": {\"elem\": [7, \"not-an-address\", {\"elem\": {\"val\": 3}},"
		" {\"elem\": {\"val\": \"fd77::3\", \"expires\": -5, \"counter\": {\"packets\": \"x\"}}}]}}]}",
		s, 4), 1);
	assert_int_equal(s[0].packets, 0);
	assert_true(s[0].expires_in == SS_NEVER);
}

/* "expires" is clamped to SS_SOFT_EXPIRES_MAX_S: SS_SEC() of 18446744073709552 s wrapped
 * around to 384 ms, which made a live soft association look idle for all but a second of its
 * lifetime (the node computes idle = life - left); INT64_MAX came within 999 ms of wrapping
 * the node's rounding up. */
static void test_expires_clamped(void **state)
{
	(void)state;
	ss_dp_soft_info s[4];
	assert_int_equal(ss_nft_parse_soft_json(
		"{\"nftables\": [{\"set\": {\"elem\": ["
		"{\"elem\": {\"val\": \"10.0.0.1\", \"expires\": 18446744073709552}},"
		" {\"elem\": {\"val\": \"10.0.0.2\", \"expires\": 9223372036854775807}},"
		" {\"elem\": {\"val\": \"10.0.0.3\", \"expires\": 86401}},"
		" {\"elem\": {\"val\": \"10.0.0.4\", \"expires\": 86400}}]}}]}", s, 4), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(s[i].expires_in, SS_SEC(SS_SOFT_EXPIRES_MAX_S));
	assert_int_equal(SS_SOFT_EXPIRES_MAX_S, 86400); /* the policy's largest soft_idle_lifetime */
}

/* As nft 1.0.6 prints `nft -j list counters table inet softsa`. */
static const char ctrs[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
	" {\"counter\": {\"family\": \"inet\", \"name\": \"drop_blocked\", \"table\": \"softsa\","
	" \"handle\": 3, \"packets\": 12, \"bytes\": 1200}},"
	" {\"counter\": {\"family\": \"inet\", \"name\": \"drop_rule_block\", \"table\": \"softsa\","
	" \"handle\": 1, \"packets\": 3, \"bytes\": 180}},"
	" {\"counter\": {\"family\": \"inet\", \"name\": \"other\", \"packets\": 9}},"
	" {\"counter\": {\"name\": \"drop_no_clear\", \"packets\": -1}}]}";

static void test_counters(void **state)
{
	(void)state;
	static const char *const names[] = { "drop_rule_block", "drop_no_clear", "drop_blocked" };
	uint64_t pk[3] = { 0, 77, 0 };
	assert_int_equal(ss_nft_parse_counters_json(ctrs, names, 3, pk), 2);
	assert_int_equal(pk[0], 3);
	assert_int_equal(pk[1], 77); /* a negative count is refused: left as it was */
	assert_int_equal(pk[2], 12);
	assert_int_equal(ss_nft_parse_counters_json("{\"x\": 1}", names, 3, pk), -1);
	assert_int_equal(ss_nft_parse_counters_json("not json", names, 3, pk), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_empty_and_bad),
		cmocka_unit_test(test_expires_clamped),
		cmocka_unit_test(test_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
