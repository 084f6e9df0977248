/* One cmocka test per scenario file given on the command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/log.h"
#include "scenario.h"

static const sim_negotiator_ops *nops;

static void run_one(void **state)
{
	const char *path = *state;
	assert_int_equal(scenario_run(path, nops), 0);
}

int main(int argc, char **argv)
{
	ss_log_set_level(SS_LOG_WARN);
	/* --engine: the hosts negotiate with the real IKEv2 engine instead of the stand-in. */
	if (argc > 1 && !strcmp(argv[1], "--engine")) {
		nops = &sim_engine_ops;
		argv++;
		argc--;
	}
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
