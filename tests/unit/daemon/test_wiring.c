/* softsad's pure part: the policy compiled into dataplane filters.  (The held-packet store and
 * the SA table are tests/unit/dataplane/test_user_backend.c; the rest of the wiring is proved
 * end to end in tests/netns/e2e_*.) */
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

/* Index of the filter in the compiled list, or -1. */
static int find_v(const ss_dp_filter *f, size_t n, const char *local, const char *remote, uint8_t proto,
		  uint16_t lport, uint16_t rport, bool accept, uint8_t verdict)
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
	w.verdict = verdict;
	for (size_t i = 0; i < n; i++)
		if (memcmp(&f[i], &w, sizeof(w)) == 0)
			return (int)i;
	return -1;
}

static bool has(const ss_dp_filter *f, size_t n, const char *local, const char *remote, uint8_t proto,
		uint16_t lport, uint16_t rport, bool accept)
{
	return find_v(f, n, local, remote, proto, lport, rport, accept, SS_DP_NEGOTIATE) >= 0;
}

/* Server: one negotiate rule "me -> any" becomes a capture of everything, both families,
 * accepting unsecured inbound; the more specific ICMP permit rule comes first, so that ICMP
 * passes in the clear without the daemon. */
static void test_filters_builtins(void **state)
{
	ss_dp_filter f[16];
	ss_policy *p = builtin("server");
	size_t n = dm_compile_filters(p, f, 16);
	/* Negotiate in both families, ICMP permitted in IPv4 and ICMPv6 in IPv6 only: no filter
	 * for proto 1 in IPv6 or proto 58 in IPv4, which would match nothing. */
	assert_int_equal(n, 4);
	assert_true(find_v(f, n, "::/0", "::/0", 1, 0, 0, false, SS_DP_PERMIT) < 0);
	assert_true(find_v(f, n, "0.0.0.0/0", "0.0.0.0/0", 58, 0, 0, false, SS_DP_PERMIT) < 0);
	int neg4 = find_v(f, n, "0.0.0.0/0", "0.0.0.0/0", 0, 0, 0, true, SS_DP_NEGOTIATE);
	int neg6 = find_v(f, n, "::/0", "::/0", 0, 0, 0, true, SS_DP_NEGOTIATE);
	int icmp = find_v(f, n, "0.0.0.0/0", "0.0.0.0/0", 1, 0, 0, false, SS_DP_PERMIT);
	int icmp6 = find_v(f, n, "::/0", "::/0", 58, 0, 0, false, SS_DP_PERMIT);
	assert_true(neg4 >= 0 && neg6 >= 0 && icmp >= 0 && icmp6 >= 0);
	assert_true(icmp < neg4 && icmp6 < neg6);
	ss_policy_free(p);

	p = builtin("secure-server");
	n = dm_compile_filters(p, f, 16);
	assert_int_equal(n, 4);
	neg4 = find_v(f, n, "0.0.0.0/0", "0.0.0.0/0", 0, 0, 0, false, SS_DP_NEGOTIATE);
	icmp = find_v(f, n, "0.0.0.0/0", "0.0.0.0/0", 1, 0, 0, false, SS_DP_PERMIT);
	assert_true(icmp >= 0 && neg4 > icmp);
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
	"  wide:\n"
	"    - { src: me, dst: any, proto: tcp, dst_port: 8000-9000 }\n"
	"  bad:\n"
	"    - { src: me, dst: 192.0.2.66 }\n"
	"filter_actions:\n"
	"  req: { action: negotiate, accept_unsecured: true, fallback_to_clear: true }\n"
	"  sec: { action: negotiate }\n"
	"  permit: { action: permit }\n"
	"  block: { action: block }\n"
	"rules:\n"
	"  - { name: ssh, filter_list: ssh, filter_action: sec }\n"
	"  - { name: inbound, filter_list: inbound, filter_action: req }\n"
	"  - { name: nets, filter_list: nets, filter_action: sec }\n"
	"  - { name: range, filter_list: range, filter_action: sec }\n"
	"  - { name: web, filter_list: web, filter_action: permit }\n"
	"  - { name: wide, filter_list: wide, filter_action: permit }\n"
	"  - { name: bad, filter_list: bad, filter_action: block }\n"
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
	/* A permit said exactly (one port), both families; a block; most specific first. */
	int web4 = find_v(f, n, "0.0.0.0/0", "0.0.0.0/0", 6, 0, 80, false, SS_DP_PERMIT);
	int web6 = find_v(f, n, "::/0", "::/0", 6, 0, 80, false, SS_DP_PERMIT);
	int bad = find_v(f, n, "0.0.0.0/0", "192.0.2.66/32", 0, 0, 0, false, SS_DP_BLOCK);
	int ssh = find_v(f, n, "0.0.0.0/0", "192.0.2.0/24", 6, 0, 22, false, SS_DP_NEGOTIATE);
	assert_true(web4 >= 0 && web6 >= 0 && bad >= 0 && ssh >= 0);
	/* The /32 block outweighs the /24 negotiate rule only on addresses; ssh names a
	 * protocol and port but addresses come first (doc/policy.md, Ordering). */
	assert_true(bad < ssh);
	/* A permit with a port range cannot be said exactly: left out, never widened. */
	for (size_t i = 0; i < n; i++)
		assert_false(f[i].verdict == SS_DP_PERMIT && f[i].remote_port == 0 && f[i].proto == 6);
	/* The second rule on the same list adds no duplicate: 5 negotiate, 2 permit, 1 block. */
	assert_int_equal(n, 8);
	/* Too small an output: the compiler says so instead of installing a partial capture. */
	assert_int_equal(dm_compile_filters(p, f, 3), (size_t)-1);
	ss_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filters_builtins),
		cmocka_unit_test(test_filters_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
