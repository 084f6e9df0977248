/* libFuzzer target: the agent's state-file parser (downgrade memory).  Each input is tried
 * twice: as a whole file, and as a file body with a correct SHA-256 appended, so that the
 * fuzzer reaches the header and entry checks behind the checksum. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/statefile.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ctx, const ss_addr *remote, uint64_t t)
{
	(void)remote;
	(void)t;
	++*(size_t *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ss_log_set_level(SS_LOG_ERR);
	const char *why;
	size_t n = 0;
	int got = ss_statefile_parse(data, size, count, &n, &why);
	if (got >= 0 && (size_t)got != n)
		abort();
	if (size > 1 << 20)
		return 0;
	uint8_t *buf = malloc(size + 32);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	unsigned dl = 0;
	if (EVP_Digest(data, size, buf + size, &dl, EVP_sha256(), NULL) == 1 && dl == 32) {
		n = 0;
		got = ss_statefile_parse(buf, size + 32, count, &n, &why);
		if (got >= 0 && (size_t)got != n)
			abort();
	}
	free(buf);
	return 0;
}
