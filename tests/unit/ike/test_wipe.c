/* Decrypted IKE payloads never reach the heap allocator unwiped: every free() made by the
 * engine (linked with -Wl,--wrap=free) is scanned for the plaintext identities that only
 * the decrypted IKE_AUTH messages carry.  The detector's own positive control comes first. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/log.h"
#include "harness.h"

void __real_free(void *p);
void __wrap_free(void *p);

#define MARK_A "idi-plaintext-marker-a.example"
#define MARK_B "idr-plaintext-marker-b.example"

static long leaks;

static bool holds(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; i + k <= n; i++)
		if (p[i] == (uint8_t)s[0] && !memcmp(p + i, s, k))
			return true;
	return false;
}

void __wrap_free(void *p)
{
	if (p) {
		size_t n = malloc_usable_size(p);
		if (holds(p, n, MARK_A) || holds(p, n, MARK_B))
			leaks++;
	}
	__real_free(p);
}

static const ss_ike_suite IKE = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				  SS_DH_ECP_256 };
static const ss_esp_suite ESP = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };

static void detector_sees_a_plain_free(void **state)
{
	(void)state;
	leaks = 0;
	char *p = malloc(64);
	assert_non_null(p);
	strcpy(p, MARK_A);
	char *volatile opaque = p;   /* the compiler may not elide malloc/free */
	free(opaque);
	assert_int_equal(leaks, 1);
}

static void decrypted_payloads_wiped_before_free(void **state)
{
	(void)state;
	harness h;
	h_init(&h, NULL);
	h_config(&h.side[0].cfg, &IKE, &ESP, MARK_A, MARK_B, "secret-0123456789");
	h_config(&h.side[1].cfg, &IKE, &ESP, MARK_B, MARK_A, "secret-0123456789");
	leaks = 0;
	uint32_t ha = h_initiate(&h, 0);
	h_run(&h, h.now + SS_SEC(60));
	assert_int_equal(h.side[0].outcome, SS_IKE_SECURED);
	/* More SK traffic: CREATE_CHILD_SA, INFORMATIONAL DELETE. */
	assert_true(ss_ike_create_child(h.side[0].eng, ha, h.now));
	h_run(&h, h.now + SS_SEC(60));
	assert_int_equal(h.side[0].n_child_up, 2);
	assert_true(ss_ike_delete(h.side[0].eng, ha, h.now));
	h_run(&h, h.now + SS_SEC(60));
	assert_int_equal(h.side[1].n_ike_deleted, 1);
	h_free(&h);
	assert_int_equal(leaks, 0);
}

int main(void)
{
	ss_log_set_level(SS_LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detector_sees_a_plain_free),
		cmocka_unit_test(decrypted_payloads_wiped_before_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
