/* ss_nflog_parse: nfnetlink_log messages as the kernel sends them, and broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <sys/socket.h>

#include "dataplane/user/nflog.h"

static const uint8_t udp4[] = { 0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 77, 0, 3,
				10, 77, 0, 1, 0x15, 0xb3, 0x1e, 0x62, 0, 10, 0, 0, 'h', 'i' };

/* Appends one NFULNL_MSG_PACKET to buf at *off. */
static void put_packet(uint8_t *buf, size_t *off, const char *prefix, const void *pl, size_t plen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
	g->nfgen_family = AF_INET;
	struct nfulnl_msg_packet_hdr ph = { .hw_protocol = htons(0x0800), .hook = 1 };
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof ph, &ph);
	if (prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	if (pl)
		mnl_attr_put(nlh, NFULA_PAYLOAD, plen, pl);
	*off += nlh->nlmsg_len;
}

static _Alignas(8) uint8_t buf[8192];

static void test_accepted_and_dropped(void **state)
{
	(void)state;
	size_t off = 0;
	put_packet(buf, &off, "softsa:a", udp4, sizeof udp4);
	put_packet(buf, &off, "softsa:d", udp4, sizeof udp4);
	ss_dp_notice n[4];
	uint64_t bad = 0;
	assert_int_equal(ss_nflog_parse(buf, off, n, 4, &bad), 2);
	assert_int_equal(bad, 0);
	ss_addr c, a;
	assert_true(ss_addr_parse("10.77.0.3", &c));
	assert_true(ss_addr_parse("10.77.0.1", &a));
	assert_true(ss_addr_eq(&n[0].src, &c));
	assert_true(ss_addr_eq(&n[0].dst, &a));
	assert_int_equal(n[0].proto, 17);
	assert_int_equal(n[0].sport, 5555);
	assert_int_equal(n[0].dport, 7778);
	assert_true(n[0].accepted);
	assert_false(n[1].accepted);
}

static void test_room(void **state)
{
	(void)state;
	size_t off = 0;
	for (int i = 0; i < 3; i++)
		put_packet(buf, &off, "softsa:a", udp4, sizeof udp4);
	ss_dp_notice n[2];
	uint64_t bad = 0;
	assert_int_equal(ss_nflog_parse(buf, off, n, 2, &bad), 2);
}

static void test_malformed(void **state)
{
	(void)state;
	size_t off = 0;
	ss_dp_notice n[4];
	uint64_t bad = 0;
	/* 1: no payload; 2: payload not IP; 3: an unknown prefix reads as dropped */
	put_packet(buf, &off, "softsa:a", NULL, 0);
	put_packet(buf, &off, "softsa:a", "\x55\x00", 2);
	put_packet(buf, &off, "other", udp4, sizeof udp4);
	assert_int_equal(ss_nflog_parse(buf, off, n, 4, &bad), 1);
	assert_int_equal(bad, 2);
	assert_false(n[0].accepted);

	/* 4: a message whose length runs past the buffer stops the walk */
	off = 0;
	put_packet(buf, &off, "softsa:a", udp4, sizeof udp4);
	bad = 0;
	assert_int_equal(ss_nflog_parse(buf, off - 1, n, 4, &bad), 0);

	/* 5: an attribute whose length runs past its message */
	off = 0;
	put_packet(buf, &off, "softsa:a", udp4, sizeof udp4);
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *last = (struct nlattr *)(buf + off - MNL_ALIGN(sizeof udp4) - MNL_ATTR_HDRLEN);
	last->nla_len = 2000;
	bad = 0;
	assert_int_equal(ss_nflog_parse(buf, nlh->nlmsg_len, n, 4, &bad), 0);
	assert_int_equal(bad, 1);

	/* 6: a different message type is not a packet */
	off = 0;
	put_packet(buf, &off, "softsa:a", udp4, sizeof udp4);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	bad = 0;
	assert_int_equal(ss_nflog_parse(buf, off, n, 4, &bad), 0);
	assert_int_equal(bad, 1);

	/* 7: nothing at all */
	assert_int_equal(ss_nflog_parse(buf, 0, n, 4, &bad), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_and_dropped),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
