/* The kernel backend's table (src/dataplane/xfrm_notice.c): what nftables is told.
 * (tests/vm's e2e_legacy proves that nft accepts it and that a one-way datagram from a host
 * without IKE reaches the agent; e2e_held that held packets reach softsad and leave again.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dp_testutil.h"

#include "dataplane/xfrm_notice.h"

static void table_reports_and_never_decides(void **state)
{
	(void)state;
	ss_sb s = { 0 };
	ss_xnotice_cfg c = { .group = 0x5354, .rate = 10, .hold_queue = -1 };
	ss_xnotice_table(&s, &c);
	assert_false(s.err);
	/* Without a hold queue, no output chain of its own (the MSS clamp's is another). */
	assert_null(strstr(s.p, "chain out {"));
	assert_null(strstr(s.p, "hook output priority filter"));
	assert_null(strstr(s.p, "queue"));
	/* A leftover table goes in the same transaction. */
	assert_true(has(&s, "table inet softsa_kernel { }\ndelete table inet softsa_kernel\n"));
	assert_true(has(&s, "type filter hook input priority filter; policy accept;"));
	/* Decrypted ESP comes by again with a secpath: never a notice. */
	assert_true(has(&s, "meta secpath exists accept"));
	assert_true(has(&s, "meta l4proto udp th dport { 500, 4500 } accept"));
	assert_true(has(&s, "update @notice4 { ip saddr limit rate 10/second burst 10 packets } "
			    "log prefix \"softsa:a\" group 21332 snaplen 128"));
	assert_true(has(&s, "update @notice6 { ip6 saddr limit rate 10/second burst 10 packets } "
			    "log prefix \"softsa:d\" group 21332 snaplen 128"));
	/* ESP, raw or in UDP (not IKE's zero marker), is sampled once a second per source before
	 * IKE's ports are let by, and goes on to XFRM. */
	assert_true(has(&s, "    meta l4proto esp goto esp_in\n    udp dport 4500 @th,64,32 != 0 goto esp_in\n"
			    "    meta l4proto udp th dport { 500, 4500 } accept\n"));
	assert_true(has(&s, "  chain esp_in {\n    update @esp4 { ip saddr limit rate 1/second burst 1 packets } "
			    "log prefix \"softsa:s\" group 21332 snaplen 128\n"
			    "    update @esp6 { ip6 saddr limit rate 1/second burst 1 packets } "
			    "log prefix \"softsa:s\" group 21332 snaplen 128\n    accept\n  }\n"));
	/* A tunnel's forwarded clear packets are seen before the kernel's fwd policy drops them. */
	assert_true(has(&s, "type filter hook prerouting priority filter; policy accept;"));
	assert_true(has(&s, "jump filt_pre\n"));
	assert_true(has(&s, "chain mss_forward {\n    type filter hook forward priority mangle;"));
	/* Nothing in it drops: the kernel's policies give the verdict. */
	assert_null(strstr(s.p, "drop"));
	ss_sb_free(&s);
}

static void rules_follow_the_filters(void **state)
{
	(void)state;
	ss_dp_filter f[4] = {
		{ .local = pfx("0.0.0.0/0"), .remote = pfx("10.89.0.0/24"), .proto = 1, .verdict = SS_DP_PERMIT },
		{ .local = pfx("0.0.0.0/0"), .remote = pfx("10.89.0.0/24"), .verdict = SS_DP_NEGOTIATE,
		  .accept_inbound_clear = true },
		{ .local = pfx("::/0"), .remote = pfx("fd89::/64"), .proto = 6, .local_port = 22,
		  .verdict = SS_DP_NEGOTIATE },
		/* A tunnel rule's filter: its inbound half in prerouting, its SYNs clamped. */
		{ .local = pfx("10.1.0.0/16"), .remote = pfx("10.2.0.0/16"), .verdict = SS_DP_NEGOTIATE,
		  .tunnel = ss_addr_v4(0x0a590002), .tcp_mss = 1000 },
	};
	ss_sb s = { 0 };
	ss_xnotice_rules(&s, f, 4, false);
	assert_false(s.err);
	assert_null(strstr(s.p, "filt_out"));
	assert_true(has(&s, "flush chain inet softsa_kernel filt_in\n"));
	assert_true(has(&s, "add rule inet softsa_kernel filt_in meta nfproto ipv4 ip saddr 10.89.0.0/24 meta l4proto 1 accept\n"));
	assert_true(has(&s, "add rule inet softsa_kernel filt_in meta nfproto ipv4 ip saddr 10.89.0.0/24 goto note_a\n"));
	assert_true(has(&s, "ip6 saddr fd89::/64 meta l4proto 6 th dport 22 goto note_d\n"));
	assert_true(has(&s, "flush chain inet softsa_kernel filt_pre\n"));
	assert_true(has(&s, "add rule inet softsa_kernel filt_pre meta nfproto ipv4 ip daddr 10.1.0.0/16 "
			    "ip saddr 10.2.0.0/16 goto note_d\n"));
	/* Not among the host filters of input: their local side is any address of ours. */
	assert_null(strstr(s.p, "filt_in meta nfproto ipv4 ip daddr 10.1.0.0/16"));
	const char *clamp = " tcp flags & syn == syn tcp option maxseg size > 1000 tcp option maxseg size set 1000\n";
	char want[256];
	snprintf(want, sizeof want, "add rule inet softsa_kernel mss_forward meta nfproto ipv4 ip saddr 10.1.0.0/16 "
		 "ip daddr 10.2.0.0/16%s", clamp);
	assert_true(has(&s, want));
	snprintf(want, sizeof want, "add rule inet softsa_kernel mss_forward meta nfproto ipv4 ip daddr 10.1.0.0/16 "
		 "ip saddr 10.2.0.0/16%s", clamp);
	assert_true(has(&s, want));
	assert_true(has(&s, "add rule inet softsa_kernel mss_output meta nfproto ipv4 ip saddr 10.1.0.0/16"));
	assert_true(has(&s, "add rule inet softsa_kernel mss_input meta nfproto ipv4 ip daddr 10.1.0.0/16"));
	/* Host filters without a clamp get none. */
	assert_null(strstr(s.p, "10.89.0.0/24 tcp flags"));
	/* In the dataplane's order: the permit before the negotiate filter it is inside. */
	assert_true(strstr(s.p, "meta l4proto 1 accept") < strstr(s.p, "goto note_a"));
	ss_sb_free(&s);
}

/* The output chain: softsad's own packets, IKE, ESP, multicast, neighbour discovery and
 * decided peers pass before any filter; the queue has no bypass flag (fail closed). */
static void table_queues_what_waits(void **state)
{
	(void)state;
	ss_sb s = { 0 };
	ss_xnotice_cfg c = { .group = 0x5354, .rate = 10, .hold_queue = 0x5354, .mark = 0x100000 };
	ss_xnotice_table(&s, &c);
	assert_false(s.err);
	assert_true(has(&s, "type filter hook output priority filter; policy accept;"));
	const char *pass[] = { "oifname \"lo\" accept", "meta mark 0x100000 accept", "meta l4proto esp accept",
			       "meta l4proto udp th sport { 500, 4500 } accept", "ip daddr 224.0.0.0/4 accept",
			       "ip6 daddr ff00::/8 accept", "nd-neighbor-advert, nd-redirect } accept",
			       "ip daddr @peers4 accept", "ip6 daddr @peers6 accept" };
	const char *jump = strstr(s.p, "jump filt_out");
	assert_non_null(jump);
	for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++) {
		assert_true(has(&s, pass[i]));
		assert_true(strstr(strstr(s.p, "hook output"), pass[i]) < jump);
	}
	assert_true(has(&s, "  chain hold {\n    queue num 21332\n  }\n"));
	assert_null(strstr(s.p, "bypass"));
	assert_null(strstr(s.p, "fanout"));
	ss_sb_free(&s);
}

static void out_rules_follow_the_filters(void **state)
{
	(void)state;
	ss_dp_filter f[3] = {
		{ .local = pfx("0.0.0.0/0"), .remote = pfx("10.89.0.0/24"), .proto = 1, .verdict = SS_DP_PERMIT },
		{ .local = pfx("0.0.0.0/0"), .remote = pfx("10.89.0.0/24"), .verdict = SS_DP_NEGOTIATE },
		{ .local = pfx("::/0"), .remote = pfx("fd89::/64"), .proto = 6, .local_port = 22,
		  .remote_port = 80, .verdict = SS_DP_BLOCK },
	};
	ss_sb s = { 0 };
	ss_xnotice_rules(&s, f, 3, true);
	assert_false(s.err);
	assert_true(has(&s, "flush chain inet softsa_kernel filt_out\n"));
	assert_true(has(&s, "add rule inet softsa_kernel filt_out meta nfproto ipv4 ip daddr 10.89.0.0/24 meta l4proto 1 accept\n"));
	assert_true(has(&s, "add rule inet softsa_kernel filt_out meta nfproto ipv4 ip daddr 10.89.0.0/24 goto hold\n"));
	/* A block filter is the XFRM policies' to drop: never queued. */
	assert_true(has(&s, "filt_out meta nfproto ipv6 ip6 daddr fd89::/64 meta l4proto 6 th sport 22 th dport 80 accept\n"));
	assert_true(strstr(s.p, "filt_out meta nfproto ipv4 ip daddr 10.89.0.0/24 meta l4proto 1 accept") <
		    strstr(s.p, "goto hold"));
	ss_sb_free(&s);
}

static void peers_enter_and_leave_the_set(void **state)
{
	(void)state;
	ss_sb s = { 0 };
	ss_addr a, b;
	assert_true(ss_addr_parse("10.89.0.4", &a));
	assert_true(ss_addr_parse("fd89::4", &b));
	ss_xnotice_peer_cmd(&s, &a, true);
	assert_string_equal(s.p, "add element inet softsa_kernel peers4 { 10.89.0.4 }\n");
	ss_sb_free(&s);
	s = (ss_sb){ 0 };
	ss_xnotice_peer_cmd(&s, &b, false);
	/* add first: a delete of an element not there would fail the whole transaction. */
	assert_string_equal(s.p, "add element inet softsa_kernel peers6 { fd89::4 }\n"
				 "delete element inet softsa_kernel peers6 { fd89::4 }\n");
	ss_sb_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_reports_and_never_decides),
		cmocka_unit_test(rules_follow_the_filters),
		cmocka_unit_test(table_queues_what_waits),
		cmocka_unit_test(out_rules_follow_the_filters),
		cmocka_unit_test(peers_enter_and_leave_the_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
