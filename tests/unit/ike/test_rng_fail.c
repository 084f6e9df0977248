/* Fail closed when the CSPRNG fails: every call of ss_random() made by the engine during a
 * handshake, a new CHILD SA, a CHILD rekey and an IKE rekey is made to fail in turn (linked
 * with -Wl,--wrap=ss_random).  Whatever the failing call, nothing may come up with an SPI
 * that was never drawn (0, or reserved 1..255), and what does come up is the same on both
 * sides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/secure.h"
#include "harness.h"

bool __real_ss_random(void *p, size_t n);
bool __wrap_ss_random(void *p, size_t n);

static long calls, fail_at = -1;

bool __wrap_ss_random(void *p, size_t n)
{
	if (calls++ == fail_at) {
		memset(p, 0, n);
		return false;
	}
	return __real_ss_random(p, n);
}

static const ss_ike_suite IKE = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_PRF_HMAC_SHA2_256,
				  SS_DH_ECP_256 };
static const ss_esp_suite ESP = { SS_ENCR_AES_GCM_16, 128, SS_INTEG_NONE, SS_DH_NONE };

static void check_side(const h_side *s, const h_side *o)
{
	if (s->n_bad_spi)
		fail_msg("call %ld failed: a CHILD SA came up with an SPI of 0..255", fail_at);
	for (int i = 0; i < s->n_alive; i++) {
		const ss_ike_child_info *c = &s->alive[i];
		if (c->spi_in < 256 || c->spi_out < 256)
			fail_msg("call %ld failed: CHILD SA up with SPIs %08x/%08x", fail_at, c->spi_in,
				 c->spi_out);
		const ss_ike_child_info *m = NULL;
		for (int j = 0; j < o->n_alive; j++)
			if (o->alive[j].spi_in == c->spi_out && o->alive[j].spi_out == c->spi_in)
				m = &o->alive[j];
		if (!m)
			fail_msg("call %ld failed: CHILD SA %08x has no mirror", fail_at, c->spi_in);
		assert_memory_equal(c->key_out.encr, m->key_in.encr, c->key_out.encr_len);
	}
}

static bool one_run(long n)
{
	harness h;
	calls = 0;
	fail_at = -1;
	h_init(&h, NULL);
	h_config(&h.side[0].cfg, &IKE, &ESP, "a.example", "b.example", "secret-0123456789");
	h_config(&h.side[1].cfg, &IKE, &ESP, "b.example", "a.example", "secret-0123456789");
	calls = 0;
	fail_at = n;
	uint32_t ha = h_initiate(&h, 0);
	h_run(&h, SS_SEC(60));
	if (ss_ike_create_child(h.side[0].eng, ha, h.now))
		h_run(&h, h.now + SS_SEC(30));
	if (h.side[0].n_alive && ss_ike_rekey_child(h.side[0].eng, ha, h.side[0].alive[0].spi_in, h.now))
		h_run(&h, h.now + SS_SEC(30));
	if (ss_ike_rekey_ike(h.side[0].eng, ha, h.now))
		h_run(&h, h.now + SS_SEC(30));
	check_side(&h.side[0], &h.side[1]);
	check_side(&h.side[1], &h.side[0]);
	bool hit = calls > n;
	fail_at = -1;
	h_free(&h);
	return hit;
}

static void every_random_call_may_fail(void **state)
{
	(void)state;
	long n = 0;
	while (one_run(n))
		n++;
	assert_true(n > 10); /* the handshake alone draws SPIs, nonces and IVs */
}

int main(void)
{
	ss_log_set_level(getenv("IKE_DEBUG") ? SS_LOG_DEBUG : SS_LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_random_call_may_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
