/* Coverage control for libFuzzer targets (fuzz_coverage.c); a no-op in the replay build. */
#ifndef SS_FUZZ_COVERAGE_H
#define SS_FUZZ_COVERAGE_H

#ifdef SS_FUZZ_ENGINE
void ss_fuzz_forget_coverage(void);
#else
static inline void ss_fuzz_forget_coverage(void)
{
}
#endif

#endif
