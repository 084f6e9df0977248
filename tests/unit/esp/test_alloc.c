/* The GCM datapath allocates nothing per packet: libcrypto's allocations are counted through
 * CRYPTO_set_mem_functions around a few thousand encaps and decaps.  (CBC + HMAC does
 * allocate inside OpenSSL 3.0 when HMAC is re-initialised; that is measured and printed.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/crypto.h>

#include "esp_testutil.h"

static unsigned long allocs;

static void *count_malloc(size_t n, const char *file, int line)
{
	allocs++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	allocs++;
	return realloc(p, n);
}

static void plain_free(void *p, const char *file, int line) { free(p); }

#define CAP 2048
#define HEAD 128

/* Allocations by libcrypto during n round trips after a warm-up. */
static unsigned long per_run(const tu_suite *s, int n)
{
	ss_esp_sad *a = ss_esp_sad_new(), *b = ss_esp_sad_new();
	ss_esp_params po = tu_params(s, SS_ESP_OUT, SS_ESP_TUNNEL, 4, true, true, 0x7007);
	ss_esp_params pi = tu_params(s, SS_ESP_IN, SS_ESP_TUNNEL, 4, true, true, 0x7007);
	ss_esp_sa *out = ss_esp_sad_add(a, &po, 0, NULL);
	assert_non_null(out);
	assert_non_null(ss_esp_sad_add(b, &pi, 0, NULL));
	static uint8_t buf[CAP];
	unsigned long before = 0;
	for (int i = 0; i < n + 16; i++) {
		if (i == 16)
			before = allocs; /* lazy one-time setup inside OpenSSL is done by now */
		size_t len = tu_inner(buf + HEAD, CAP - HEAD, "10.1.0.1", "10.2.0.2", 1, 2, 100 + (size_t)i % 900, 0);
		ss_esp_pkt k = { .base = buf, .cap = CAP, .off = HEAD, .len = (uint32_t)len };
		assert_int_equal(ss_esp_encap_batch(out, &k, 1, 0), 1);
		assert_int_equal(ss_esp_parse_outer(&k), SS_ESP_OK);
		assert_int_equal(ss_esp_decap_batch(b, &k, 1, 0), 1);
	}
	unsigned long used = allocs - before;
	ss_esp_sad_free(a);
	ss_esp_sad_free(b);
	return used;
}

static void gcm_allocates_nothing_per_packet(void **state)
{
	assert_int_equal(per_run(&tu_suites[0], 2000), 0);
	assert_int_equal(per_run(&tu_suites[1], 2000), 0);
}

static void cbc_allocations_are_known(void **state)
{
	unsigned long n = per_run(&tu_suites[2], 1000);
	print_message("AES-CBC + HMAC-SHA256: %.1f libcrypto allocations per packet (encap + decap)\n",
		      (double)n / 2000);
	/* The counter works: this path is known to allocate. */
	assert_true(n > 0);
}

int main(void)
{
	/* Must come before libcrypto allocates anything. */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, plain_free)) {
		fprintf(stderr, "libcrypto allocated already; cannot count\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gcm_allocates_nothing_per_packet),
		cmocka_unit_test(cbc_allocations_are_known),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
