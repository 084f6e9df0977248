/* One cmocka test per scenario file given on the command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/log.h"
#include "scenario.h"

static void run_one(void **state)
{
	const char *path = *state;
	assert_int_equal(scenario_run(path), 0);
}

int main(int argc, char **argv)
{
	ss_log_set_level(SS_LOG_WARN);
	struct CMUnitTest *tests = calloc((size_t)argc, sizeof(*tests));
	for (int i = 1; i < argc; i++) {
		tests[i - 1].name = argv[i];
		tests[i - 1].test_func = run_one;
		tests[i - 1].initial_state = argv[i];
	}
	int rc = _cmocka_run_group_tests("scenarios", tests, (size_t)(argc - 1), NULL, NULL);
	free(tests);
	return rc;
}
