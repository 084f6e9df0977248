/* softsad's pure parts: the policy compiled into dataplane filters, the held-packet store and
 * the CHILD SA table.  (The rest of the wiring is proved end to end in tests/netns/e2e_*.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "policy/load.h"
#include "policy/policy.h"

static ss_policy *load(const char *yaml)
{
	ss_load_opts o = { .no_resolve = true, .skip_key_files = true };
	ss_load_error e;
	ss_policy *p = ss_policy_load_mem("test.yaml", yaml, strlen(yaml), &o, &e);
	if (!p)
		fail_msg("%s", e.text);
	return p;
}

static ss_policy *builtin(const char *name)
{
	ss_load_opts o = { .no_resolve = true, .skip_key_files = true, .psk_file = "/nonexistent" };
	ss_load_error e;
	ss_policy *p = ss_policy_builtin(name, &o, &e);
	if (!p)
		fail_msg("%s", e.text);
	return p;
}

static bool has(const ss_dp_filter *f, size_t n, const char *local, const char *remote, uint8_t proto,
		uint16_t lport, uint16_t rport, bool accept)
{
	ss_dp_filter w;
	const char *why;
	memset(&w, 0, sizeof(w));
	assert_true(ss_prefix_parse(local, &w.local, false, &why));
	assert_true(ss_prefix_parse(remote, &w.remote, false, &why));
	w.proto = proto;
	w.local_port = lport;
	w.remote_port = rport;
	w.accept_inbound_clear = accept;
	for (size_t i = 0; i < n; i++)
		if (memcmp(&f[i], &w, sizeof(w)) == 0)
			return true;
	return false;
}

/* Server: one negotiate rule "me -> any" becomes a capture of everything, both families,
 * accepting unsecured inbound; the ICMP permit rule adds nothing (the agent decides it). */
static void test_filters_builtins(void **state)
{
	ss_dp_filter f[16];
	ss_policy *p = builtin("server");
	size_t n = dm_compile_filters(p, f, 16);
	assert_int_equal(n, 2);
	assert_true(has(f, n, "0.0.0.0/0", "0.0.0.0/0", 0, 0, 0, true));
	assert_true(has(f, n, "::/0", "::/0", 0, 0, 0, true));
	ss_policy_free(p);

	p = builtin("secure-server");
	n = dm_compile_filters(p, f, 16);
	assert_int_equal(n, 2);
	assert_true(has(f, n, "0.0.0.0/0", "0.0.0.0/0", 0, 0, 0, false));
	ss_policy_free(p);

	p = builtin("client"); /* default response only: nothing to capture */
	assert_int_equal(dm_compile_filters(p, f, 16), 0);
	ss_policy_free(p);
}

static const char yaml[] =
	"name: t\n"
	"psk_file: k\n"
	"filter_lists:\n"
	"  ssh:\n"
	"    - { src: me, dst: 192.0.2.0/24, proto: tcp, dst_port: 22 }\n"
	"  inbound:\n"
	"    - { src: 198.51.100.7, dst: me, proto: udp, src_port: 53 }\n"
	"  nets:\n"
	"    - { src: 10.1.0.0/16, dst: 10.2.0.0/16 }\n"
	"  range:\n"
	"    - { src: me, dst: 2001:db8::/32, proto: tcp, dst_port: 1000-2000 }\n"
	"  web:\n"
	"    - { src: me, dst: any, proto: tcp, dst_port: 80 }\n"
	"filter_actions:\n"
	"  req: { action: negotiate, accept_unsecured: true, fallback_to_clear: true }\n"
	"  sec: { action: negotiate }\n"
	"  permit: { action: permit }\n"
	"rules:\n"
	"  - { name: ssh, filter_list: ssh, filter_action: sec }\n"
	"  - { name: inbound, filter_list: inbound, filter_action: req }\n"
	"  - { name: nets, filter_list: nets, filter_action: sec }\n"
	"  - { name: range, filter_list: range, filter_action: sec }\n"
	"  - { name: web, filter_list: web, filter_action: permit }\n"
	"  - { name: again, filter_list: ssh, filter_action: sec }\n";

static void test_filters_shapes(void **state)
{
	ss_dp_filter f[16];
	ss_policy *p = load(yaml);
	size_t n = dm_compile_filters(p, f, 16);
	/* me -> prefix with a port: local is the whole family, the port is the remote's. */
	assert_true(has(f, n, "0.0.0.0/0", "192.0.2.0/24", 6, 0, 22, false));
	/* Written from the peer's side: local is `me`, remote the source, ports swapped. */
	assert_true(has(f, n, "0.0.0.0/0", "198.51.100.7/32", 17, 0, 53, true));
	/* Between two prefixes, mirrored: both directions. */
	assert_true(has(f, n, "10.1.0.0/16", "10.2.0.0/16", 0, 0, 0, false));
	assert_true(has(f, n, "10.2.0.0/16", "10.1.0.0/16", 0, 0, 0, false));
	/* A port range is captured as any port (the agent still decides per packet). */
	assert_true(has(f, n, "::/0", "2001:db8::/32", 6, 0, 0, false));
	/* Permit rules add nothing; the second rule on the same list adds no duplicate. */
	assert_int_equal(n, 5);
	/* Too small an output: the compiler says so instead of installing a partial capture. */
	assert_int_equal(dm_compile_filters(p, f, 3), (size_t)-1);
	ss_policy_free(p);
}

static void test_held(void **state)
{
	dm_held h;
	memset(&h, 0, sizeof(h));
	h.max_n = 3;
	uint8_t a[100], b[1400];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	assert_true(dm_held_put(&h, 7, a, sizeof(a)));
	assert_true(dm_held_put(&h, 7 + DM_HELD_BUCKETS, b, sizeof(b))); /* may share a bucket */
	assert_true(dm_held_put(&h, 9, a, 10));
	assert_false(dm_held_put(&h, 10, a, 10)); /* over the bound: refused, counted */
	assert_int_equal(h.refused, 1);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.bytes, 100 + 1400 + 10);
	assert_null(dm_held_take(&h, 8));
	dm_held_pkt *k = dm_held_take(&h, 7 + DM_HELD_BUCKETS);
	assert_non_null(k);
	assert_int_equal(k->len, 1400);
	assert_memory_equal(k->data, b, 1400);
	free(k);
	assert_null(dm_held_take(&h, 7 + DM_HELD_BUCKETS)); /* taken once only */
	k = dm_held_take(&h, 7);
	assert_non_null(k);
	assert_memory_equal(k->data, a, 100);
	free(k);
	dm_held_clear(&h); /* frees what is left (ASan checks) */
	assert_int_equal(h.n, 0);
	assert_int_equal(h.bytes, 0);
}

static void test_children(void **state)
{
	dm_children *t = calloc(1, sizeof(*t));
	ss_addr l, r, other;
	ss_addr_parse("10.0.0.1", &l);
	ss_addr_parse("10.0.0.2", &r);
	ss_addr_parse("10.0.0.3", &other);
	assert_null(dm_children_for_pair(t, &l, &r));
	dm_child *c1 = dm_children_add(t);
	c1->local = l, c1->remote = r, c1->created = 10, c1->spi_in = 0x111, c1->spi_out = 0x222;
	uint64_t g = t->gen;
	/* Without an outbound ESP SA a CHILD SA carries nothing. */
	assert_null(dm_children_for_pair(t, &l, &r));
	assert_ptr_equal(dm_children_by_spi(t, 0x111, 0x222), c1);
	assert_null(dm_children_by_spi(t, 0x111, 0x333));
	dm_children_del(t, NULL, c1);
	assert_int_equal(t->n_used, 0);
	assert_true(t->gen != g);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters_builtins),
		cmocka_unit_test(test_filters_shapes),
		cmocka_unit_test(test_held),
		cmocka_unit_test(test_children),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
