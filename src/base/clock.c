#include "base/clock.h"

#include <time.h>

ss_time ss_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ss_time)ts.tv_sec * 1000u + (ss_time)ts.tv_nsec / 1000000u;
}
