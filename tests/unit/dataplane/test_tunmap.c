/* dpu_tunmap: which tunnel a packet belongs to (first match over all filters, as the
 * nftables rules decide), and the endpoint's pair from a route lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_testutil.h"

#include "dataplane/user/tunmap.h"

static ss_addr ad(const char *t)
{
	ss_addr a;
	assert_true(ss_addr_parse(t, &a));
	return a;
}

static ss_pkt_tuple tup(const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
	return (ss_pkt_tuple){ .src = ad(src), .dst = ad(dst), .proto = proto, .sport = 40000, .dport = dport };
}

static void test_find(void **state)
{
	(void)state;
	ss_dp_filter f[3] = {
		/* A host filter for one port, more specific, ahead of the tunnel: it wins. */
		{ .local = pfx("10.1.0.0/24"), .remote = pfx("10.2.0.9/32"), .proto = 6, .remote_port = 22 },
		{ .local = pfx("10.1.0.0/24"), .remote = pfx("10.2.0.0/24"), .tunnel = ad("127.0.0.1") },
		{ .local = pfx("fd01::/64"), .remote = pfx("fd02::/64"), .tunnel = ad("::1") },
	};
	dpu_tunmap m = { 0 };
	assert_int_equal(dpu_tunmap_set(&m, f, 3), 0);
	assert_int_equal(m.n_end, 2);
	ss_pkt_tuple t = tup("10.1.0.2", "10.2.0.2", 6, 80);
	dpu_tunend *e = dpu_tunmap_find(&m, &t, false);
	assert_non_null(e);
	assert_true(ss_addr_eq(&e->ep, &f[1].tunnel));
	/* Inbound: from the remote network to ours. */
	t = tup("10.2.0.2", "10.1.0.2", 17, 53);
	assert_ptr_equal(dpu_tunmap_find(&m, &t, true), e);
	/* The same packet seen as outbound matches nothing (its source is not ours). */
	assert_null(dpu_tunmap_find(&m, &t, false));
	t = tup("10.1.0.2", "10.2.0.9", 6, 22);
	assert_null(dpu_tunmap_find(&m, &t, false));
	t = tup("10.1.0.2", "10.2.0.9", 6, 23);
	assert_ptr_equal(dpu_tunmap_find(&m, &t, false), e);
	t = tup("10.1.0.2", "10.3.0.1", 6, 80);
	assert_null(dpu_tunmap_find(&m, &t, false));
	t = tup("fd01::5", "fd02::7", 58, 0);
	dpu_tunend *e6 = dpu_tunmap_find(&m, &t, false);
	assert_non_null(e6);
	assert_true(ss_addr_eq(&e6->ep, &f[2].tunnel));
	/* The pair: our address toward the endpoint from the kernel's route lookup (here the
	 * loopback endpoint: 127.0.0.1 itself). */
	ss_addr l, r;
	assert_true(dpu_tunend_pair(e, &l, &r));
	assert_true(ss_addr_eq(&l, &f[1].tunnel));
	assert_true(ss_addr_eq(&r, &f[1].tunnel));
	assert_true(dpu_tunend_pmtu(e, 1000) >= 1280);
	/* No tunnel filter: no map at all (the packet path skips it). */
	assert_int_equal(dpu_tunmap_set(&m, f, 1), 0);
	assert_int_equal(m.n, 0);
	t = tup("10.1.0.2", "10.2.0.9", 6, 22);
	assert_null(dpu_tunmap_find(&m, &t, false));
	dpu_tunmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
