/* strongSwan-style proposal strings to suites and back to swanctl's names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ike/suite_name.h"

static void parses_and_prints(void **state)
{
	static const struct { const char *in, *swan; } ike[] = {
		{ "aes128gcm16-prfsha256-ecp256", "AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_256" },
		{ "aes256-sha256-modp2048", "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" },
		{ "aes256gcm16-prfsha384-x25519", "AES_GCM_16-256/PRF_HMAC_SHA2_384/CURVE_25519" },
		{ "aes128-sha384-ecp384", "AES_CBC-128/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384" },
		{ "aes128-sha512-prfsha256-curve25519", "AES_CBC-128/HMAC_SHA2_512_256/PRF_HMAC_SHA2_256/CURVE_25519" },
	};
	char buf[128];
	for (size_t i = 0; i < sizeof(ike) / sizeof(ike[0]); i++) {
		ss_ike_suite s;
		assert_null(ss_ike_suite_parse(ike[i].in, &s));
		ss_ike_suite_swan(&s, buf, sizeof(buf));
		assert_string_equal(buf, ike[i].swan);
	}
	ss_esp_suite e;
	assert_null(ss_esp_suite_parse("aes128gcm16-ecp256", &e));
	assert_int_equal(e.dh, SS_DH_ECP_256);
	ss_esp_suite_swan(&e, buf, sizeof(buf));
	assert_string_equal(buf, "AES_GCM_16-128/ECP_256");
	assert_null(ss_esp_suite_parse("aes256-sha256", &e));
	ss_esp_suite_swan(&e, buf, sizeof(buf));
	assert_string_equal(buf, "AES_CBC-256/HMAC_SHA2_256_128");
}

static void refuses_nonsense(void **state)
{
	ss_ike_suite s;
	ss_esp_suite e;
	assert_non_null(ss_ike_suite_parse("aes128gcm16-prfsha256", &s));      /* no DH */
	assert_non_null(ss_ike_suite_parse("3des-md5-modp1024", &s));          /* unknown */
	assert_non_null(ss_ike_suite_parse("aes128gcm16-sha256-prfsha256-ecp256", &s)); /* AEAD+integ */
	assert_non_null(ss_ike_suite_parse("sha256-ecp256", &s));              /* no cipher */
	assert_non_null(ss_esp_suite_parse("aes128-sha256-prfsha256", &e));    /* PRF in ESP */
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_non_null(ss_ike_suite_parse(big, &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_and_prints),
		cmocka_unit_test(refuses_nonsense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
