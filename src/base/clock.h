/* Time as the sans-I/O cores see it: milliseconds on a monotonic clock, passed in as "now".
 * Only the daemon reads the real clock (ss_now_ms); the simulator supplies virtual time. */
#ifndef SS_BASE_CLOCK_H
#define SS_BASE_CLOCK_H

#include <stdint.h>

typedef uint64_t ss_time;
#define SS_NEVER UINT64_MAX
#define SS_SEC(s) ((ss_time)(s) * 1000u)

ss_time ss_now_ms(void);
static inline ss_time ss_time_min(ss_time a, ss_time b) { return a < b ? a : b; }

#endif
