/* The downgrade memory's state file: round trip through a restart, ages kept, expired
 * peers left out; every truncation and every single-byte corruption of a valid file is
 * ignored with a message (never half-loaded, never a crash); a failed save keeps the old
 * file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/statefile.h"
#include "base/log.h"
#include "simpol.h"

static char dir[64];
static char path[128];
static int warnings;

static void sink(void *ctx, enum ss_log_level lvl, const char *subsys, const char *msg)
{
	(void)ctx;
	(void)subsys;
	(void)msg;
	if (lvl <= SS_LOG_WARN)
		warnings++;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/softsa-sf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/peers.state", dir);
	ss_log_set_sink(sink, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
	ss_log_set_sink(NULL, NULL);
	return 0;
}

static ss_agent *new_agent(sim_policy *sp)
{
	ss_agent_policy ap = simpol_agent_policy(sp);
	ss_agent *ag = ss_agent_new(NULL, &ap);
	assert_non_null(ag);
	return ag;
}

static ss_addr A(const char *s)
{
	ss_addr a;
	assert_true(ss_addr_parse(s, &a));
	return a;
}

static void round_trip(void **state)
{
	(void)state;
	sim_policy *sp = simpol_builtin("server");
	simpol_model(sp)->downgrade_protection = 3600;
	ss_agent *ag = new_agent(sp);
	ss_addr p1 = A("192.0.2.1"), p2 = A("2001:db8::2"), p3 = A("192.0.2.3");
	ss_agent_remember(ag, 1000, &p1, 10000);    /* 10 s ago */
	ss_agent_remember(ag, 1000, &p2, 3000000);  /* 50 min ago */
	ss_agent_remember(ag, 1000, &p3, 4000000);  /* beyond the window: not kept */
	assert_true(ss_statefile_save(ag, 1000, 1700000000, path));
	ss_agent_free(ag);

	/* A new process: different monotonic clock, wall clock 5 minutes later. */
	ag = new_agent(sp);
	assert_int_equal(ss_statefile_load(ag, 77, 1700000300, path), 2);
	assert_true(ss_agent_is_remembered(ag, 77, &p1));
	assert_true(ss_agent_is_remembered(ag, 77, &p2));
	assert_false(ss_agent_is_remembered(ag, 77, &p3));
	/* p2 was 50 min + 5 min old: its hour ends 5 minutes from now. */
	assert_true(ss_agent_is_remembered(ag, 77 + 299000, &p2));
	assert_false(ss_agent_is_remembered(ag, 77 + 301000, &p2));
	ss_agent_free(ag);
	simpol_free(sp);
}

static uint8_t *slurp(size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *p = malloc(65536);
	*n = fread(p, 1, 65536, f);
	fclose(f);
	return p;
}

static void spit(const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void torn_and_corrupt_files_are_ignored(void **state)
{
	(void)state;
	sim_policy *sp = simpol_builtin("server");
	ss_agent *ag = new_agent(sp);
	for (uint32_t i = 0; i < 20; i++) {
		ss_addr a = ss_addr_v4(0xc0000200u + i);
		ss_agent_remember(ag, 0, &a, i * 1000);
	}
	assert_true(ss_statefile_save(ag, 0, 1700000000, path));
	ss_agent_free(ag);
	size_t n;
	uint8_t *good = slurp(&n);
	assert_int_equal(n, 12 + 20 * 25 + 32);
	const char *why;
	assert_int_equal(ss_statefile_parse(good, n, NULL, NULL, &why), 20);

	/* Every truncation (a torn write) and every single-bit flip. */
	for (size_t len = 0; len < n; len++)
		assert_int_equal(ss_statefile_parse(good, len, NULL, NULL, &why), -1);
	uint8_t *bad = malloc(n);
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, good, n);
		bad[i] ^= 0x10;
		assert_int_equal(ss_statefile_parse(bad, n, NULL, NULL, &why), -1);
	}
	/* Through the loader: a torn file is ignored with a warning, nothing restored. */
	spit(good, n / 2);
	warnings = 0;
	ag = new_agent(sp);
	assert_int_equal(ss_statefile_load(ag, 0, 1700000000, path), 0);
	assert_int_equal(warnings, 1);
	ss_agent_stats st;
	ss_agent_get_stats(ag, &st);
	assert_int_equal(st.remembered, 0);
	ss_agent_free(ag);
	free(bad);
	free(good);
	simpol_free(sp);
}

static void missing_file_is_quiet(void **state)
{
	(void)state;
	sim_policy *sp = simpol_builtin("server");
	ss_agent *ag = new_agent(sp);
	unlink(path);
	warnings = 0;
	assert_int_equal(ss_statefile_load(ag, 0, 1700000000, path), 0);
	assert_int_equal(warnings, 0);
	ss_agent_free(ag);
	simpol_free(sp);
}

static void failed_save_keeps_old_file(void **state)
{
	(void)state;
	sim_policy *sp = simpol_builtin("server");
	ss_agent *ag = new_agent(sp);
	ss_addr a = A("192.0.2.9");
	ss_agent_remember(ag, 0, &a, 0);
	assert_true(ss_statefile_save(ag, 0, 1700000000, path));
	/* A crash after the temporary file was written but before the rename: the leftover
	 * is not what gets loaded. */
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	fputs("garbage", f);
	fclose(f);
	ss_agent *ag2 = new_agent(sp);
	assert_int_equal(ss_statefile_load(ag2, 0, 1700000000, path), 1);
	ss_agent_free(ag2);
	/* A save that cannot write (read-only directory, unless we are root; or a missing
	 * directory) fails cleanly and leaves the old file alone. */
	char nodir[160];
	snprintf(nodir, sizeof(nodir), "%s/missing/peers.state", dir);
	assert_false(ss_statefile_save(ag, 0, 1700000000, nodir));
	ag2 = new_agent(sp);
	assert_int_equal(ss_statefile_load(ag2, 0, 1700000000, path), 1);
	ss_agent_free(ag2);
	unlink(tmp);
	ss_agent_free(ag);
	simpol_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_and_corrupt_files_are_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_file_is_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_save_keeps_old_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
