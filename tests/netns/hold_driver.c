/* The kernel backend's held-packet path (src/dataplane/xfrm/hold.h) on its own, for
 * dp_hold.sh: binds QUEUE, reads COUNT queued packets and gives packet i the verdict
 * VERDICTS[i % n]: clear, drop, none (no verdict: undecided at the end of its round), hold
 * (kept, then sent clear after the last packet, in a later round).  Prints one line per
 * packet and the counters at the end.  Exits 0 when all COUNT packets came (none more than 10 s after the last).
 *
 * usage: hold_driver QUEUE MARK COUNT VERDICT... */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "dataplane/xfrm/hold.h"

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: hold_driver QUEUE MARK COUNT VERDICT...\n");
		return 2;
	}
	char err[256];
	ss_xhold *h = ss_xhold_open((uint16_t)strtoul(argv[1], NULL, 0), (uint32_t)strtoul(argv[2], NULL, 0),
				    1024, err, sizeof err);
	if (!h) {
		fprintf(stderr, "hold_driver: %s\n", err);
		return 1;
	}
	int count = atoi(argv[3]), nv = argc - 4, seen = 0;
	uint64_t held[64];
	size_t n_held = 0;
	ss_dp_stats st = { 0 };
	printf("ready\n");
	fflush(stdout);
	/* Until COUNT packets, or 10 s without one (process starts are slow under emulation). */
	for (int idle = 0; seen < count && idle < 100;) {
		struct pollfd p = { .fd = ss_xhold_fd(h), .events = POLLIN };
		if (poll(&p, 1, 100) <= 0) {
			idle++;
			continue;
		}
		idle = 0;
		ss_dp_event ev[64];
		int n = ss_xhold_read(h, ev, 64, &st);
		for (int i = 0; i < n; i++, seen++) {
			const char *v = argv[4 + seen % nv];
			char a[SS_ADDR_STRLEN];
			printf("acquire %s proto=%u dport=%u len=%u %s\n", ss_addr_fmt(&ev[i].remote, a), ev[i].proto,
			       ev[i].dport, ev[i].len, v);
			if (!strcmp(v, "clear"))
				ss_xhold_verdict(h, ev[i].handle, SS_DP_PKT_CLEAR, &st);
			else if (!strcmp(v, "drop"))
				ss_xhold_verdict(h, ev[i].handle, SS_DP_PKT_DROP, &st);
			else if (!strcmp(v, "hold") && n_held < 64 &&
				 ss_xhold_verdict(h, ev[i].handle, SS_DP_PKT_HOLD, &st) == 0)
				held[n_held++] = ev[i].handle;
		}
		ss_xhold_flush(h, &st);
		fflush(stdout);
	}
	printf("kept %zu\n", ss_xhold_count(h));
	for (size_t i = 0; i < n_held; i++)
		ss_xhold_verdict(h, held[i], SS_DP_PKT_CLEAR, &st);
	ss_xhold_flush(h, &st);
	printf("captured=%llu clear=%llu release_err=%llu undecided=%llu unparsable=%llu kept=%zu\n",
	       (unsigned long long)st.captured, (unsigned long long)st.released_clear,
	       (unsigned long long)st.release_err, (unsigned long long)st.undecided,
	       (unsigned long long)st.unparsable, ss_xhold_count(h));
	ss_xhold_close(h);
	return seen >= count ? 0 : 1;
}
