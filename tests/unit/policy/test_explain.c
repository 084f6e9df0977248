/* ss_explain: the object `softsa explain --json` prints and the control socket returns.
 * One case per row of the seed's table that policy alone decides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/explain.h"
#include "tload.h"

static const char policy[] =
	"name: rows\n"
	"auth: [{ psk: 0123456789abcdef }]\n"
	"filter_lists:\n"
	"  request: [{ dst: 192.0.2.0/24 }]\n"
	"  require: [{ dst: 198.51.100.0/24 }]\n"
	"  discover: [{ dst: 203.0.113.0/24 }]\n"
	"  dns: [{ dst: 2001:db8::53, proto: udp, dst_port: 53 }]\n"
	"filter_actions:\n"
	"  request: { action: negotiate, accept_unsecured: true, fallback_to_clear: true, soft_idle_lifetime: 2m }\n"
	"  require: { action: negotiate }\n"
	"  discover: { action: negotiate, fallback_to_clear: true, discovery: true, fallback_after_secured: true }\n"
	"  permit: { action: permit }\n"
	"rules:\n"
	"  - { name: request, filter_list: request, filter_action: request }\n"
	"  - { name: require, filter_list: require, filter_action: require, tunnel: 198.51.100.1 }\n"
	"  - { name: discover, filter_list: discover, filter_action: discover, udp_encap: always }\n"
	"  - { name: dns, filter_list: dns, filter_action: permit }\n";

static json_t *explain(const char *dir, const char *src, const char *dst, const char *proto, long sp, long dp)
{
	ss_policy *p = tl_load(policy, NULL);
	ss_classifier *c = ss_classifier_build(p);
	ss_pkt_key k;
	const char *why = NULL;
	assert_true(ss_explain_packet(dir, src, dst, proto, sp, dp, &k, &why));
	json_t *j = ss_explain(p, c, &k);
	assert_non_null(j);
	ss_classifier_free(c);
	ss_policy_free(p);
	return j;
}

/* Some sentence of the explanation contains s. */
static bool says(json_t *j, const char *s)
{
	json_t *lines = json_object_get(j, "explanation");
	for (size_t i = 0; i < json_array_size(lines); i++)
		if (strstr(json_string_value(json_array_get(lines, i)), s))
			return true;
	return false;
}

static const char *str(json_t *j, const char *k) { return json_string_value(json_object_get(j, k)); }

static void packet_arguments(void **state)
{
	(void)state;
	static const struct {
		const char *dir, *src, *dst, *proto;
		long sp, dp;
		const char *why;
	} bad[] = {
		{ "up", "10.0.0.1", "10.0.0.2", NULL, -1, -1, "direction must be in or out" },
		{ NULL, "10.0.0.1", "host", NULL, -1, -1, "source and destination must be IP addresses" },
		{ NULL, NULL, "10.0.0.2", NULL, -1, -1, "source and destination must be IP addresses" },
		{ NULL, "10.0.0.1", "2001:db8::1", NULL, -1, -1, "source and destination must be of the same address family" },
		{ NULL, "10.0.0.1", "10.0.0.2", "tpc", -1, -1, "unknown protocol (tcp, udp, icmp, icmpv6, sctp, any or 0-255)" },
		{ NULL, "10.0.0.1", "10.0.0.2", "256", -1, -1, "unknown protocol (tcp, udp, icmp, icmpv6, sctp, any or 0-255)" },
		{ NULL, "10.0.0.1", "10.0.0.2", "tcp", 80, -1, "a source port needs a destination port" },
		{ NULL, "10.0.0.1", "10.0.0.2", "icmp", 1, 2, "ports need tcp, udp or sctp" },
		{ NULL, "10.0.0.1", "10.0.0.2", NULL, 1, 2, "ports need tcp, udp or sctp" },
		{ NULL, "10.0.0.1", "10.0.0.2", "udp", 1, 65536, "ports must be 0-65535" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ss_pkt_key k;
		const char *why = NULL;
		assert_false(ss_explain_packet(bad[i].dir, bad[i].src, bad[i].dst, bad[i].proto, bad[i].sp, bad[i].dp, &k, &why));
		assert_string_equal(why, bad[i].why);
	}
	ss_pkt_key k;
	const char *why;
	assert_true(ss_explain_packet("in", "2001:db8::1", "2001:db8::2", "47", -1, -1, &k, &why));
	assert_int_equal(k.dir, SS_DIR_IN);
	assert_int_equal(k.proto, 47);
	assert_true(ss_explain_packet(NULL, "10.0.0.1", "10.0.0.2", NULL, -1, -1, &k, &why));
	assert_int_equal(k.dir, SS_DIR_OUT);
	assert_int_equal(k.proto, SS_PROTO_UNSPECIFIED);
	/* A destination port alone: the source port is an ephemeral one. */
	assert_true(ss_explain_packet(NULL, "10.0.0.1", "10.0.0.2", "tcp", -1, 443, &k, &why));
	assert_int_equal(k.sport, SS_EXPLAIN_EPHEMERAL_PORT);
	assert_int_equal(k.dport, 443);
}

static json_t *explain_ctx(const char *dir, const char *src, const char *dst, const char *proto, long sp, long dp,
			   const ss_explain_ctx *x)
{
	ss_policy *p = tl_load(policy, NULL);
	ss_classifier *c = ss_classifier_build(p);
	ss_pkt_key k;
	const char *why = NULL;
	assert_true(ss_explain_packet(dir, src, dst, proto, sp, dp, &k, &why));
	json_t *j = ss_explain_ex(p, c, &k, x);
	assert_non_null(j);
	ss_classifier_free(c);
	ss_policy_free(p);
	return j;
}

/* What the datapath lets by before any filter is said as such, not as "negotiate". */
static void datapath_bypasses(void **state)
{
	(void)state;
	static const struct {
		const char *dir, *src, *dst, *proto;
		long sp, dp;
		bool local;
		const char *datapath, *says;
	} rows[] = {
		/* 1: IKE to a peer in a negotiate rule's /24 */
		{ "out", "10.0.0.1", "192.0.2.7", "udp", 500, 500, false, "ike", "UDP port 500 is IKE" },
		/* 2: NAT-T, a destination port alone */
		{ "out", "10.0.0.1", "192.0.2.7", "udp", -1, 4500, false, "ike", "UDP port 4500 is IKE (NAT-T" },
		/* 3: inbound IKE */
		{ "in", "192.0.2.7", "10.0.0.1", "udp", 500, 500, false, "ike", "before any filter" },
		/* 4: inbound UDP from port 500 to another port is not IKE to us: the policy decides */
		{ "in", "192.0.2.7", "10.0.0.1", "udp", 500, 53, false, "policy", "Action negotiate" },
		/* 5: inbound ESP */
		{ "in", "192.0.2.7", "10.0.0.1", "50", -1, -1, false, "esp", "Inbound ESP is always accepted" },
		/* 6: the host's own address, as the caller knows it */
		{ "out", "10.0.0.1", "192.0.2.7", NULL, -1, -1, true, "loopback", "192.0.2.7 is this host's own address" },
		/* 7: loopback */
		{ "out", "127.0.0.1", "127.0.0.1", "tcp", 1000, 80, false, "loopback", "over loopback" },
		/* 8: ICMPv6: neighbour discovery passes, the rest follows the policy */
		{ "out", "2001:db8::1", "2001:db8::53", "icmpv6", -1, -1, false, "policy", "neighbour or router discovery" },
		/* 9: ordinary traffic into the /24: negotiated, and the assumed source port said */
		{ "out", "10.0.0.1", "192.0.2.7", "tcp", -1, 80, false, "policy", "taken as 49152" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ss_explain_ctx x = { .sport_assumed = rows[i].sp < 0 && rows[i].dp >= 0, .peer_is_local = rows[i].local };
		json_t *j = explain_ctx(rows[i].dir, rows[i].src, rows[i].dst, rows[i].proto, rows[i].sp, rows[i].dp, &x);
		if (strcmp(str(j, "datapath"), rows[i].datapath) != 0 || !says(j, rows[i].says))
			fail_msg("row %zu: datapath %s, expected %s saying '%s'", i + 1, str(j, "datapath"),
				 rows[i].datapath, rows[i].says);
		/* A bypassed packet is never said to be negotiated. */
		if (strcmp(rows[i].datapath, "policy") != 0 && says(j, "negotiates"))
			fail_msg("row %zu: says negotiate for a packet the datapath lets by", i + 1);
		json_decref(j);
	}
}

/* Row 1: A sends to C, which never answers IKE; soft association if allowed. */
static void row1_fallback_or_block(void **state)
{
	(void)state;
	json_t *j = explain("out", "10.0.0.1", "192.0.2.7", "tcp", 40000, 80);
	assert_true(json_is_true(json_object_get(j, "matched")));
	assert_string_equal(str(j, "rule"), "request");
	assert_string_equal(str(j, "peer"), "192.0.2.7");
	assert_false(json_is_true(json_object_get(j, "mirrored")));
	json_t *pk = json_object_get(j, "packet");
	assert_string_equal(str(pk, "dir"), "out");
	assert_string_equal(str(pk, "proto"), "tcp");
	assert_int_equal(json_integer_value(json_object_get(pk, "dport")), 80);
	assert_true(says(j, "not IPsec-aware (never answers IKE: 4 attempts, decided after 3.0 s): soft association"));
	assert_true(says(j, "until idle for 120 s"));
	assert_true(says(j, "Downgrade protection: a peer that completed IKE in the last 604800 s"));
	assert_true(says(j, "held while softsa negotiates"));
	json_decref(j);
	j = explain("out", "10.0.0.1", "198.51.100.7", NULL, -1, -1);
	assert_string_equal(str(j, "rule"), "require");
	assert_string_equal(str(j, "tunnel"), "198.51.100.1");
	assert_true(says(j, "traffic with it is blocked (no fallback to clear)"));
	assert_true(says(j, "ESP in tunnel mode to 198.51.100.1."));
	assert_string_equal(str(j, "udp_encap"), "auto");
	assert_false(says(j, "ESP in UDP"));
	json_decref(j);
	/* udp_encap: always is said, and in the JSON. */
	j = explain("out", "10.0.0.1", "203.0.113.9", NULL, -1, -1);
	assert_string_equal(str(j, "rule"), "discover");
	assert_string_equal(str(j, "udp_encap"), "always");
	assert_true(says(j, "ESP in UDP 4500 always (udp_encap: always): softsa tells 203.0.113.9 that this host is behind a NAT"));
	json_decref(j);
}

/* Rows 2 and 3: C sends in the clear; accepted (and answered with IKE) or dropped. */
static void rows2_3_unsecured_inbound(void **state)
{
	(void)state;
	json_t *j = explain("in", "192.0.2.7", "10.0.0.1", "tcp", 80, 40000);
	assert_string_equal(str(j, "rule"), "request");
	assert_true(json_is_true(json_object_get(j, "mirrored")));
	assert_string_equal(str(j, "peer"), "192.0.2.7");
	assert_true(says(j, "Unsecured inbound from 192.0.2.7: accepted, and softsa negotiates toward it"));
	/* Inbound first: the second sentence is about inbound traffic. */
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(j, "explanation"), 1)), "inbound"));
	json_decref(j);
	j = explain("in", "198.51.100.7", "10.0.0.1", NULL, -1, -1);
	assert_true(says(j, "Unsecured inbound from 198.51.100.7: dropped; softsa still negotiates toward it."));
	json_decref(j);
}

/* Row 5: a peer that answers but fails never gets a soft association. */
static void row5_failure_is_not_silence(void **state)
{
	(void)state;
	json_t *j = explain("out", "10.0.0.1", "192.0.2.7", NULL, -1, -1);
	assert_true(says(j, "answers IKE but the negotiation fails (no common proposal, bad credentials): traffic is blocked"));
	json_decref(j);
}

/* Row 8 and discovery: without fallback nothing goes in the clear; with discovery it does. */
static void row8_and_discovery(void **state)
{
	(void)state;
	json_t *j = explain("out", "10.0.0.1", "198.51.100.7", NULL, -1, -1);
	assert_true(says(j, "no packet goes in the clear"));
	assert_false(says(j, "soft association"));
	json_decref(j);
	j = explain("out", "10.0.0.1", "203.0.113.9", NULL, -1, -1);
	assert_true(says(j, "(discovery) packets go in the clear"));
	assert_true(says(j, "Downgrade protection is off for this action"));
	assert_true(json_is_true(json_object_get(json_object_get(j, "action"), "discovery")));
	json_decref(j);
}

static void permit_and_no_match(void **state)
{
	(void)state;
	json_t *j = explain("out", "2001:db8::1", "2001:db8::53", "udp", 5353, 53);
	assert_string_equal(str(j, "rule"), "dns");
	assert_true(says(j, "Action permit 'permit': the packet passes in the clear"));
	assert_string_equal(str(json_object_get(j, "filter"), "text"), "me <-> 2001:db8::53 udp dport 53");
	json_decref(j);
	j = explain("out", "10.0.0.1", "8.8.8.8", "tcp", 1, 2);
	assert_false(json_is_true(json_object_get(j, "matched")));
	assert_true(json_is_true(json_object_get(j, "default_response")));
	assert_true(says(j, "No rule matches: the packet passes in the clear."));
	assert_true(says(j, "Default Response rule: if 8.8.8.8 starts IKE, softsa answers"));
	assert_null(json_object_get(j, "rule"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(packet_arguments),
		cmocka_unit_test(row1_fallback_or_block),
		cmocka_unit_test(rows2_3_unsecured_inbound),
		cmocka_unit_test(row5_failure_is_not_silence),
		cmocka_unit_test(row8_and_discovery),
		cmocka_unit_test(permit_and_no_match),
		cmocka_unit_test(datapath_bypasses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
