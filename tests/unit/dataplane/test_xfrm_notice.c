/* The kernel backend's notice table (src/dataplane/xfrm_notice.c): what nftables is told.
 * (tests/vm's e2e_legacy proves that nft accepts it and that a one-way datagram from a host
 * without IKE reaches the agent.) */
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
	ss_xnotice_table(&s, 0x5354, 10);
	assert_false(s.err);
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
	ss_xnotice_rules(&s, f, 4);
	assert_false(s.err);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_reports_and_never_decides),
		cmocka_unit_test(rules_follow_the_filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
