/* log.h: level names both ways, the stderr line's exact RFC 3339 form, the level filter,
 * and that a test sink sees the message of a structured (kv) line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/log.h"

static void levels(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		bool ok;
		enum ss_log_level lvl;
	} rows[] = {
		{ "error", true, SS_LOG_ERR }, { "err", true, SS_LOG_ERR }, { "warning", true, SS_LOG_WARN },
		{ "warn", true, SS_LOG_WARN }, { "notice", true, SS_LOG_NOTICE }, { "info", true, SS_LOG_INFO },
		{ "debug", true, SS_LOG_DEBUG }, { "Info", false, 0 }, { "", false, 0 }, { "verbose", false, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum ss_log_level l = SS_LOG_ERR;
		assert_int_equal(ss_log_level_parse(rows[i].name, &l), rows[i].ok);
		if (rows[i].ok)
			assert_int_equal(l, rows[i].lvl);
	}
	assert_string_equal(ss_log_level_name(SS_LOG_NOTICE), "notice");
}

static void rfc3339_line(void **state)
{
	(void)state;
	char b[200];
	/* 2026-12-03 16:45:01.25 UTC */
	ss_log_format_line(b, sizeof(b), 1796316301.25, SS_LOG_WARN, "ike", "SA 3: IKE_AUTH refused");
	assert_string_equal(b, "2026-12-03T16:45:01.250Z warning: ike: SA 3: IKE_AUTH refused\n");
	ss_log_format_line(b, sizeof(b), 0.9999, SS_LOG_DEBUG, "x", "y");
	assert_string_equal(b, "1970-01-01T00:00:00.999Z debug: x: y\n");
}

static char seen[256];
static int calls;
static void sink(void *ctx, enum ss_log_level lvl, const char *subsys, const char *msg)
{
	(void)ctx;
	calls++;
	snprintf(seen, sizeof(seen), "%s %s %s", ss_log_level_name(lvl), subsys, msg);
}

static void kv_and_filter(void **state)
{
	(void)state;
	ss_log_set_sink(sink, NULL);
	ss_log_kv(SS_LOG_NOTICE, "softsad", SS_KV("PEER", "192.0.2.7", "RULE", "lan"), "soft association %s", "created");
	assert_string_equal(seen, "notice softsad soft association created");
	ss_log_set_sink(NULL, NULL);
	/* Below the level nothing is formatted or written (stderr would show it otherwise). */
	ss_log_set_level(SS_LOG_WARN);
	calls = 0;
	ss_log(SS_LOG_INFO, "x", "hidden");
	assert_int_equal(calls, 0);
	const char *why = NULL;
	assert_false(ss_log_open("papyrus", "t", &why));
	assert_non_null(why);
	assert_true(ss_log_open("stderr", "t", &why));
	assert_int_equal(ss_log_output(), SS_LOG_OUT_STDERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(levels),
		cmocka_unit_test(rfc3339_line),
		cmocka_unit_test(kv_and_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
