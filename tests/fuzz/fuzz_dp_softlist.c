/* libFuzzer target: the userspace dataplane's reading of `nft -j list set` and `nft -j list
 * counters` output (src/dataplane/user/softlist.c), the soft associations' time left and
 * counters and the drop counters.  The input is the JSON document.
 *
 * Besides not crashing: at most max elements, each one's time left SS_NEVER or whole seconds
 * within SS_SOFT_EXPIRES_MAX_S (so that the node's rounding up cannot wrap); a smaller max
 * gives a prefix of the same list; counters found are never more than asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/user/softlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX = 64 };

static void check_soft(const char *doc)
{
	static ss_dp_soft_info all[MAX], few[2];
	int n = ss_nft_parse_soft_json(doc, all, MAX);
	if (n < -1 || n > MAX)
		abort();
	for (int i = 0; i < n; i++) {
		ss_time t = all[i].expires_in;
		if (t != SS_NEVER && (t > SS_SEC(SS_SOFT_EXPIRES_MAX_S) || t % 1000 != 0))
			abort();
	}
	int m = ss_nft_parse_soft_json(doc, few, 2);
	if (m != (n < 2 ? n : 2))
		abort();
	for (int i = 0; i < m; i++)
		if (!ss_addr_eq(&few[i].peer, &all[i].peer) || few[i].expires_in != all[i].expires_in ||
		    few[i].packets != all[i].packets || few[i].bytes != all[i].bytes)
			abort();
}

static void check_counters(const char *doc)
{
	static const char *const names[] = { "drop_blocked", "drop_rule_block", "drop_no_clear" };
	uint64_t pk[3] = { 0, 0, 0 };
	int found = ss_nft_parse_counters_json(doc, names, 3, pk);
	/* A name may come back more than once (the last one counts), so "found" counts matches,
	 * but never when the document is not nftables JSON. */
	if (found < -1 || (found == -1 && (pk[0] || pk[1] || pk[2])))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* nft's output buffer is a C string: the document ends at the first NUL. */
	char *doc = malloc(size + 1);
	if (!doc)
		return 0;
	memcpy(doc, data, size);
	doc[size] = '\0';
	check_soft(doc);
	check_counters(doc);
	free(doc);
	return 0;
}
