/* The nftables text of the userspace backend: what the kernel is told, read without one.
 * (The netns tests prove that nft accepts it and that it does what it says.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dp_testutil.h"

#include "dataplane/user/ruleset.h"

static void test_table(void **state)
{
	(void)state;
	ss_dp_user_config cfg;
	ss_dp_user_config_default(&cfg);
	snprintf(cfg.tun_name, sizeof cfg.tun_name, "tunx");
	ss_sb s = { 0 };
	ss_nft_table(&s, &cfg);
	assert_false(s.err);
	/* A leftover table is replaced in the same transaction. */
	assert_true(has(&s, "add table inet softsa\ndelete table inet softsa\ntable inet softsa {"));
	assert_true(has(&s, "set soft4 { type ipv4_addr; flags timeout; counter; }"));
	/* The datapath's drops by reason, in named counters (softsa stats). */
	assert_true(has(&s, "  counter drop_clear_from_secure { }\n"));
	assert_true(has(&s, "    ip saddr @secured4 counter name \"drop_clear_from_secure\" drop\n"));
	assert_true(has(&s, "    ip daddr @blocked4 counter name \"drop_blocked\" drop\n"));
	assert_true(has(&s, "counter name \"drop_no_clear\" drop\n  }"));
	assert_true(has(&s, "set blocked6 { type ipv6_addr; }"));
	assert_true(has(&s, "type route hook output priority mangle"));
	assert_true(has(&s, "meta mark & 0x200000 == 0x200000 accept"));
	assert_true(has(&s, "meta mark set meta mark | 0x100000 counter accept"));
	/* The fail-closed guard looks at the device after rerouting: postrouting. */
	assert_true(has(&s, "type filter hook postrouting priority filter; policy accept;\n"
			    "    meta mark & 0x100000 == 0x100000 oifname != \"tunx\" counter name \"drop_fail_closed\" drop"));
	assert_true(has(&s, "iifname { \"tunx\", \"lo\" } accept"));
	assert_true(has(&s, "oifname \"lo\" accept"));
	/* SYNs into and out of the TUN get an MSS that fits its MTU (1400). */
	assert_true(has(&s, "    meta nfproto ipv4 tcp flags & syn == syn tcp option maxseg size > 1360 "
			    "tcp option maxseg size set 1360\n    meta nfproto ipv6 tcp flags & syn == syn "
			    "tcp option maxseg size > 1340 tcp option maxseg size set 1340\n"
			    "    meta mark set meta mark | 0x100000 counter accept"));
	assert_true(has(&s, "    iifname \"tunx\" meta nfproto ipv4 tcp flags & syn == syn tcp option "
			    "maxseg size > 1360 tcp option maxseg size set 1360\n"));
	assert_true(has(&s, "meta l4proto udp th dport { 500, 4500 } accept"));
	assert_true(has(&s, "nd-neighbor-advert"));
	/* Notices at most 10 a second per source; the verdict applies to every packet. */
	assert_true(has(&s, "set notice6 { type ipv6_addr; size 65536; flags dynamic,timeout; timeout 10s; }"));
	assert_true(has(&s, "chain need_in_accept {\n    jump in_peer\n"
			    "    update @notice4 { ip saddr limit rate 10/second burst 10 packets } "
			    "log prefix \"softsa:a\" group 21331 snaplen 128\n"
			    "    update @notice6 { ip6 saddr limit rate 10/second burst 10 packets } "
			    "log prefix \"softsa:a\" group 21331 snaplen 128\n"
			    "    accept\n  }"));
	assert_true(has(&s, "log prefix \"softsa:d\" group 21331 snaplen 128\n    counter name \"drop_no_clear\" drop\n  }"));
	ss_sb_free(&s);

	/* Unlimited: one plain log rule per chain, no notice sets. */
	cfg.notice_rate = 0;
	ss_nft_table(&s, &cfg);
	assert_true(has(&s, "chain need_in_drop {\n    jump in_peer\n"
			    "    log prefix \"softsa:d\" group 21331 snaplen 128\n    counter name \"drop_no_clear\" drop\n  }"));
	assert_null(strstr(s.p, "notice4"));
	ss_sb_free(&s);
}

static void test_filters(void **state)
{
	(void)state;
	ss_dp_filter f[2] = {
		{ .local = pfx("10.0.0.0/24"), .remote = pfx("192.0.2.7/32"), .proto = 17,
		  .local_port = 5000, .remote_port = 53, .accept_inbound_clear = true },
		{ .local = pfx("::/0"), .remote = pfx("2001:db8::/32") },
	};
	ss_sb s = { 0 };
	const char *why = NULL;
	assert_true(ss_nft_filters(&s, f, 2, &why));
	assert_true(has(&s, "flush chain inet softsa filt_out\nflush chain inet softsa filt_in\n"));
	assert_true(has(&s, "add rule inet softsa filt_out meta nfproto ipv4 ip saddr 10.0.0.0/24 "
			    "ip daddr 192.0.2.7/32 meta l4proto 17 th sport 5000 th dport 53 goto need_out\n"));
	/* Inbound: the same filter mirrored, to the chain its flag names. */
	assert_true(has(&s, "add rule inet softsa filt_in meta nfproto ipv4 ip daddr 10.0.0.0/24 "
			    "ip saddr 192.0.2.7/32 meta l4proto 17 th dport 5000 th sport 53 goto need_in_accept\n"));
	/* A /0 side matches the family only. */
	assert_true(has(&s, "filt_out meta nfproto ipv6 ip6 daddr 2001:db8::/32 goto need_out\n"));
	assert_true(has(&s, "filt_in meta nfproto ipv6 ip6 saddr 2001:db8::/32 goto need_in_drop\n"));
	ss_sb_free(&s);

	/* None at all: just the flushes. */
	assert_true(ss_nft_filters(&s, NULL, 0, &why));
	assert_string_equal(s.p, "flush chain inet softsa filt_out\nflush chain inet softsa filt_in\n");
	ss_sb_free(&s);
}

static void test_verdicts(void **state)
{
	(void)state;
	/* Permit ICMP and block UDP 9999 with 192.0.2.7, ahead of negotiating everything. */
	ss_dp_filter f[3] = {
		{ .local = pfx("0.0.0.0/0"), .remote = pfx("192.0.2.7/32"), .proto = 1,
		  .verdict = SS_DP_PERMIT },
		{ .local = pfx("0.0.0.0/0"), .remote = pfx("192.0.2.7/32"), .proto = 17,
		  .remote_port = 9999, .verdict = SS_DP_BLOCK },
		{ .local = pfx("0.0.0.0/0"), .remote = pfx("192.0.2.7/32") },
	};
	ss_sb s = { 0 };
	const char *why = NULL;
	assert_true(ss_nft_filters(&s, f, 3, &why));
	/* In the given order, first match wins; permit and block are final both ways. */
	assert_true(has(&s, "add rule inet softsa filt_out meta nfproto ipv4 ip daddr 192.0.2.7/32 "
			    "meta l4proto 1 accept\n"
			    "add rule inet softsa filt_in meta nfproto ipv4 ip saddr 192.0.2.7/32 "
			    "meta l4proto 1 accept\n"
			    "add rule inet softsa filt_out meta nfproto ipv4 ip daddr 192.0.2.7/32 "
			    "meta l4proto 17 th dport 9999 counter name \"drop_rule_block\" drop\n"
			    "add rule inet softsa filt_in meta nfproto ipv4 ip saddr 192.0.2.7/32 "
			    "meta l4proto 17 th sport 9999 counter name \"drop_rule_block\" drop\n"
			    "add rule inet softsa filt_out meta nfproto ipv4 ip daddr 192.0.2.7/32 goto need_out\n"));
	ss_sb_free(&s);
	f[0].verdict = 7;
	assert_false(ss_nft_filters(&s, f, 3, &why));
	assert_non_null(strstr(why, "verdict"));
	ss_sb_free(&s);
}

static void test_filters_refused(void **state)
{
	(void)state;
	ss_sb s = { 0 };
	const char *why = NULL;
	ss_dp_filter mixed = { .local = pfx("10.0.0.0/8"), .remote = pfx("2001:db8::/32") };
	assert_false(ss_nft_filters(&s, &mixed, 1, &why));
	assert_non_null(strstr(why, "family"));
	ss_dp_filter ports = { .local = pfx("10.0.0.0/8"), .remote = pfx("10.1.0.0/16"), .proto = 1,
			       .remote_port = 7 };
	assert_false(ss_nft_filters(&s, &ports, 1, &why));
	assert_non_null(strstr(why, "ports"));
	ss_dp_filter none = { 0 };
	assert_false(ss_nft_filters(&s, &none, 1, &why));
	assert_null(s.p); /* nothing written */
}

static void test_peer(void **state)
{
	(void)state;
	ss_addr a;
	assert_true(ss_addr_parse("192.0.2.9", &a));
	ss_sb s = { 0 };
	assert_true(ss_nft_peer(&s, &a, SS_DP_PEER_SOFT, 1500, NULL));
	/* Out of every set (add-then-delete works whether present or not), into soft. */
	assert_true(has(&s, "add element inet softsa secured4 { 192.0.2.9 }\n"
			    "delete element inet softsa secured4 { 192.0.2.9 }\n"));
	assert_true(has(&s, "delete element inet softsa blocked4 { 192.0.2.9 }\n"));
	assert_true(has(&s, "delete element inet softsa soft4 { 192.0.2.9 }\n"));
	/* Last, so that a soft timeout is reset even when the peer was soft already. */
	const char *last = "add element inet softsa soft4 { 192.0.2.9 timeout 1500ms }\n";
	assert_string_equal(s.p + s.len - strlen(last), last);
	ss_sb_free(&s);

	assert_true(ss_addr_parse("2001:db8::1", &a));
	assert_true(ss_nft_peer(&s, &a, SS_DP_PEER_BLOCKED, SS_NEVER, NULL));
	assert_true(has(&s, "add element inet softsa blocked6 { 2001:db8::1 }\n"));
	ss_sb_free(&s);

	assert_true(ss_nft_peer(&s, &a, SS_DP_PEER_NONE, 0, NULL));
	assert_null(strstr(s.p, "add element inet softsa soft6 { 2001:db8::1 timeout"));
	size_t len = strlen(s.p);
	assert_string_equal(s.p + len - strlen("delete element inet softsa blocked6 { 2001:db8::1 }\n"),
			    "delete element inet softsa blocked6 { 2001:db8::1 }\n");
	ss_sb_free(&s);

	ss_addr bad = { 0 };
	assert_false(ss_nft_peer(&s, &bad, SS_DP_PEER_SOFT, 1, NULL));
	assert_false(ss_nft_peer(&s, &a, (enum ss_dp_peer_state)9, 1, NULL));
	ss_sb_free(&s);
}

/* Issue 11.2: soft peers by idle lifetime, in sets the packet path refreshes both ways. */
static void test_soft_classes(void **state)
{
	(void)state;
	ss_nft_soft_classes c = { 0 };
	ss_sb s = { 0 };
	assert_int_equal(ss_nft_soft_class(&s, &c, 300000), 0);
	assert_true(has(&s, "add set inet softsa soft4_300 { type ipv4_addr; flags dynamic,timeout; timeout 300s; counter; }\n"));
	assert_true(has(&s, "insert rule inet softsa need_out ip daddr @soft4_300 update @soft4_300 { ip daddr } accept\n"));
	assert_true(has(&s, "insert rule inet softsa in_peer ip6 saddr @soft6_300 update @soft6_300 { ip6 saddr } accept\n"));
	ss_sb_free(&s);
	/* Known: nothing to create. */
	assert_int_equal(ss_nft_soft_class(&s, &c, 300000), 0);
	assert_null(s.p);
	assert_int_equal(ss_nft_soft_class(&s, &c, 10000), 1);
	ss_sb_free(&s);
	/* Not whole seconds, or beyond a day: no class. */
	assert_int_equal(ss_nft_soft_class(&s, &c, 1500), -1);
	assert_int_equal(ss_nft_soft_class(&s, &c, 86401000), -1);
	for (uint32_t i = 2; i < SS_NFT_SOFT_CLASSES; i++)
		assert_int_equal(ss_nft_soft_class(&s, &c, (ss_time)(i + 20) * 1000), (int)i);
	assert_int_equal(ss_nft_soft_class(&s, &c, 99000), -1);
	ss_sb_free(&s);

	ss_addr a;
	assert_true(ss_addr_parse("192.0.2.9", &a));
	assert_true(ss_nft_peer(&s, &a, SS_DP_PEER_SOFT, 10000, &c));
	/* Out of the other classes, into its own by a plain add (its counters stay). */
	assert_true(has(&s, "delete element inet softsa soft4_300 { 192.0.2.9 }\n"));
	assert_null(strstr(s.p, "delete element inet softsa soft4_10 "));
	const char *last = "add element inet softsa soft4_10 { 192.0.2.9 }\n";
	assert_string_equal(s.p + s.len - strlen(last), last);
	ss_sb_free(&s);
	assert_true(ss_nft_peer(&s, &a, SS_DP_PEER_NONE, 0, &c));
	assert_true(has(&s, "delete element inet softsa soft4_10 { 192.0.2.9 }\n"));
	ss_sb_free(&s);
}


/* Tunnel filters: forwarded and own traffic of the networks, the endpoint's state in its
 * chains, the MSS clamp both ways, and states kept across a filter update. */
static void test_tunnels(void **state)
{
	(void)state;
	ss_dp_user_config cfg;
	ss_dp_user_config_default(&cfg);
	snprintf(cfg.tun_name, sizeof cfg.tun_name, "tunx");
	ss_sb s = { 0 };
	ss_nft_table(&s, &cfg);
	assert_true(has(&s, "chain gw_pre {\n    type filter hook prerouting priority mangle; policy accept;\n"
			    "    iifname \"tunx\" accept\n"));
	assert_true(has(&s, "chain gw_fwd {\n    type filter hook forward priority filter; policy accept;\n"
			    "    iifname \"tunx\" jump tun_rx\n    iifname \"tunx\" accept\n"));
	ss_sb_free(&s);

	ss_dp_filter f = { .local = pfx("10.1.0.0/24"), .remote = pfx("10.2.0.0/24"), .tcp_mss = 1300 };
	assert_true(ss_addr_parse("192.0.2.2", &f.tunnel));
	const char *why = NULL;
	/* Without the tunnel chains a tunnel filter is refused, not written as a host one. */
	assert_false(ss_nft_filters(&s, &f, 1, &why));
	assert_string_equal(why, "tunnel filters need the tunnel chains");
	ss_sb_free(&s);

	static ss_nft_tunnels t;
	memset(&t, 0, sizeof t);
	assert_true(ss_nft_filters_tunnels(&s, &cfg, &t, &f, 1, &why));
	ss_nft_tunnel_commit(&t);
	assert_int_equal(t.n, 1);
	assert_true(has(&s, "flush chain inet softsa filt_pre\nflush chain inet softsa filt_fwd\nflush chain inet softsa tun_rx\n"));
	assert_true(has(&s, "add chain inet softsa tun0_out\nflush chain inet softsa tun0_out\n"));
	/* Outbound, in output and in prerouting: state, clamp, capture. */
	for (int i = 0; i < 2; i++) {
		char want[512];
		const char *ch = i ? "filt_pre" : "filt_out";
		snprintf(want, sizeof want,
			 "add rule inet softsa %s meta nfproto ipv4 ip saddr 10.1.0.0/24 ip daddr 10.2.0.0/24 jump tun0_out\n"
			 "add rule inet softsa %s meta nfproto ipv4 ip saddr 10.1.0.0/24 ip daddr 10.2.0.0/24 tcp flags & syn == syn "
			 "tcp option maxseg size > 1300 tcp option maxseg size set 1300\n"
			 "add rule inet softsa %s meta nfproto ipv4 ip saddr 10.1.0.0/24 ip daddr 10.2.0.0/24 "
			 "meta mark set meta mark | 0x100000 counter accept\n", ch, ch, ch);
		assert_true(has(&s, want));
	}
	/* Inbound clear from the remote network, in input and forward: state, then report. */
	assert_true(has(&s, "add rule inet softsa filt_fwd meta nfproto ipv4 ip daddr 10.1.0.0/24 ip saddr 10.2.0.0/24 jump tun0_in\n"
			    "add rule inet softsa filt_fwd meta nfproto ipv4 ip daddr 10.1.0.0/24 ip saddr 10.2.0.0/24 goto need_in_drop\n"));
	assert_true(has(&s, "filt_in meta nfproto ipv4 ip daddr 10.1.0.0/24 ip saddr 10.2.0.0/24 goto need_in_drop\n"));
	/* Decrypted SYNs from the TUN. */
	assert_true(has(&s, "add rule inet softsa tun_rx meta nfproto ipv4 ip daddr 10.1.0.0/24 ip saddr 10.2.0.0/24 tcp flags"));
	ss_sb_free(&s);

	/* The endpoint's states. */
	static const struct { uint8_t st; uint32_t secs; const char *out, *in; } rows[] = {
		{ SS_DP_PEER_NONE, 0, NULL, NULL },
		{ SS_DP_PEER_SECURED, 0, NULL, "tun0_in counter name \"drop_clear_from_secure\" drop\n" },
		{ SS_DP_PEER_SOFT, 300, "tun0_out update @soft4_300 { 192.0.2.2 } accept\n", "tun0_in update @soft4_300 { 192.0.2.2 } accept\n" },
		{ SS_DP_PEER_SOFT, 0, "tun0_out accept\n", "tun0_in accept\n" },
		{ SS_DP_PEER_BLOCKED, 0, "tun0_out counter name \"drop_blocked\" drop\n", "tun0_in counter name \"drop_blocked\" drop\n" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		t.tun[0] = (ss_nft_tunnel){ rows[i].st, rows[i].secs };
		assert_true(ss_nft_tunnel_peer(&s, &t, 0));
		assert_true(has(&s, "flush chain inet softsa tun0_out\n"));
		if (rows[i].out)
			assert_true(has(&s, rows[i].out));
		else
			assert_null(strstr(s.p, "add rule inet softsa tun0_out"));
		if (rows[i].in)
			assert_true(has(&s, rows[i].in));
		else
			assert_null(strstr(s.p, "add rule inet softsa tun0_in"));
		ss_sb_free(&s);
	}
	assert_false(ss_nft_tunnel_peer(&s, &t, 1));
	ss_sb_free(&s);

	/* A reload keeps the state of an endpoint that stays; a new one starts unknown, and the
	 * chains follow the new numbering. */
	t.tun[0] = (ss_nft_tunnel){ SS_DP_PEER_SECURED, 0 };
	ss_dp_filter g[2] = { f, f };
	assert_true(ss_addr_parse("192.0.2.3", &g[0].tunnel));
	assert_true(ss_nft_filters_tunnels(&s, &cfg, &t, g, 2, &why));
	ss_nft_tunnel_commit(&t);
	assert_int_equal(t.n, 2);
	assert_int_equal(ss_nft_tunnel_find(&t, &g[0].tunnel), 0);
	assert_int_equal(ss_nft_tunnel_find(&t, &f.tunnel), 1);
	assert_int_equal(t.tun[0].st, SS_DP_PEER_NONE);
	assert_int_equal(t.tun[1].st, SS_DP_PEER_SECURED);
	assert_true(has(&s, "add rule inet softsa tun1_in counter name \"drop_clear_from_secure\" drop\n"));
	ss_sb_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_filters_refused),
		cmocka_unit_test(test_peer),
		cmocka_unit_test(test_soft_classes),
		cmocka_unit_test(test_tunnels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
