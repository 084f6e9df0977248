/* Lets a target clear the edge counters (clang's inline 8-bit counters, which libFuzzer reads
 * after each input) once a fixed per-input prologue is done, so that only what the input
 * itself reaches counts as its coverage.  Compiled without coverage: in an instrumented file,
 * a reference to the section symbols clashes with the compiler's own and leaves that file's
 * counters unregistered. */
#include "fuzz_coverage.h"

#include <stdint.h>
#include <string.h>

extern uint8_t __start___sancov_cntrs[];
extern uint8_t __stop___sancov_cntrs[];

void ss_fuzz_forget_coverage(void)
{
	memset(__start___sancov_cntrs, 0, (size_t)(__stop___sancov_cntrs - __start___sancov_cntrs));
}
