/* ss_pkt_tuple_parse: a numbered table of packets, well-formed and not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/pkt.h"

struct row {
	int n;
	const char *what;
	uint8_t bytes[128];
	size_t len;
	bool ok;
	uint8_t proto;
	uint16_t sport, dport;
	size_t l3len;
};

#define V4(proto, frag_hi, frag_lo) 0x45, 0, 0, 40, 0, 0, frag_hi, frag_lo, 64, proto, 0, 0, \
	10, 0, 0, 1, 10, 0, 0, 2
#define V6(nh, plen) 0x60, 0, 0, 0, 0, plen, nh, 64, \
	0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, \
	0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2
#define PORTS 0x9c, 0x40, 0x1e, 0x61 /* 40000 -> 7777 */

static const struct row rows[] = {
	{ 1, "IPv4 UDP", { V4(17, 0, 0), PORTS, 0, 8, 0, 0 }, 28, true, 17, 40000, 7777, 20 },
	{ 2, "IPv4 TCP, header only", { V4(6, 0, 0), PORTS }, 24, true, 6, 40000, 7777, 20 },
	{ 3, "IPv4 ICMP has no ports", { V4(1, 0, 0), 8, 0, 0, 0 }, 24, true, 1, 0, 0, 20 },
	{ 4, "IPv4 with 4 bytes of options",
	  { 0x46, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1, 0, PORTS },
	  28, true, 17, 40000, 7777, 24 },
	{ 5, "IPv4 later fragment: no ports", { V4(17, 0, 0xb9), PORTS }, 24, true, 17, 0, 0, 20 },
	{ 6, "IPv4 first fragment (MF set): ports", { V4(17, 0x20, 0), PORTS }, 24, true, 17, 40000, 7777, 20 },
	{ 7, "IPv4 snapshot cut before the ports", { V4(17, 0, 0), 0x9c }, 21, true, 17, 0, 0, 20 },
	{ 8, "IPv4 IHL 4 is malformed", { 0x44, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 }, 20, false, 0, 0, 0, 0 },
	{ 9, "IPv4 truncated header", { V4(17, 0, 0) }, 19, false, 0, 0, 0, 0 },
	{ 10, "IPv4 options longer than the packet",
	  { 0x4f, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 }, 20, false, 0, 0, 0, 0 },
	{ 11, "IPv4 total length below the header", { 0x45, 0, 0, 10, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 }, 20, false, 0, 0, 0, 0 },
	{ 12, "IPv6 UDP", { V6(17, 8), PORTS, 0, 8, 0, 0 }, 48, true, 17, 40000, 7777, 40 },
	{ 13, "IPv6 hop-by-hop then TCP", { V6(0, 12), 6, 0, 1, 4, 0, 0, 0, 0, PORTS }, 52, true, 6, 40000, 7777, 48 },
	{ 14, "IPv6 first fragment: ports", { V6(44, 12), 17, 0, 0, 1, 0, 0, 0, 7, PORTS }, 52, true, 17, 40000, 7777, 48 },
	{ 15, "IPv6 later fragment: no ports", { V6(44, 12), 17, 0, 0, 0x10, 0, 0, 0, 7, PORTS }, 52, true, 17, 0, 0, 48 },
	{ 16, "IPv6 extension header past the end", { V6(60, 8), 17, 2, 0, 0, 0, 0, 0, 0 }, 48, false, 0, 0, 0, 0 },
	{ 17, "IPv6 nine extension headers: refused",
	  { V6(60, 76), 60, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0,
	    60, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0,
	    60, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, PORTS },
	  116, false, 0, 0, 0, 0 },
	{ 18, "IPv6 ICMPv6", { V6(58, 8), 128, 0, 0, 0 }, 44, true, 58, 0, 0, 40 },
	{ 19, "IPv6 truncated fixed header", { V6(17, 8) }, 39, false, 0, 0, 0, 0 },
	{ 20, "version 5", { 0x55, 0 }, 2, false, 0, 0, 0, 0 },
	{ 21, "empty", { 0 }, 0, false, 0, 0, 0, 0 },
	{ 22, "IPv6 ESP (no ports)", { V6(50, 8), 0, 0, 0x12, 0x34, 0, 0, 0, 1 }, 48, true, 50, 0, 0, 40 },
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		ss_pkt_tuple t;
		bool ok = ss_pkt_tuple_parse(r->bytes, r->len, &t);
		print_message("row %d: %s\n", r->n, r->what);
		assert_int_equal(ok, r->ok);
		if (!ok)
			continue;
		assert_int_equal(t.proto, r->proto);
		assert_int_equal(t.sport, r->sport);
		assert_int_equal(t.dport, r->dport);
		assert_int_equal(t.l3len, r->l3len);
	}
}

static void test_addresses(void **state)
{
	(void)state;
	ss_pkt_tuple t;
	assert_true(ss_pkt_tuple_parse(rows[0].bytes, rows[0].len, &t));
	ss_addr a, b;
	assert_true(ss_addr_parse("10.0.0.1", &a));
	assert_true(ss_addr_parse("10.0.0.2", &b));
	assert_true(ss_addr_eq(&t.src, &a));
	assert_true(ss_addr_eq(&t.dst, &b));
	assert_int_equal(t.total, 40);
	assert_true(ss_pkt_tuple_parse(rows[11].bytes, rows[11].len, &t));
	assert_true(ss_addr_parse("fd77::1", &a));
	assert_true(ss_addr_parse("fd77::2", &b));
	assert_true(ss_addr_eq(&t.src, &a));
	assert_true(ss_addr_eq(&t.dst, &b));
	assert_int_equal(t.total, 48);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
