/* ss_nflog_parse: nfnetlink_log messages as the kernel sends them, and broken ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

/* Samples of inbound ESP (the kernel backend's "softsa:s"): the SPI after the IP header, or
 * after the UDP header of ESP in UDP; a zero there (IKE's non-ESP marker), another protocol
 * or a snapshot that ends before the SPI is no sample. */
static void test_esp_samples(void **state)
{
	(void)state;
	static const uint8_t esp4[] = { 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 50, 0, 0, 10, 77, 0, 3,
					10, 77, 0, 1, 0xc1, 0x00, 0x00, 0x2a, 0, 0, 0, 1 };
	uint8_t udp6[40 + 8 + 8] = { 0x60, 0, 0, 0, 0, 16, 17, 64 };
	udp6[8 + 15] = 3;  /* src fd00::3 */
	udp6[8] = 0xfd;
	udp6[24] = 0xfd;
	udp6[24 + 15] = 1; /* dst fd00::1 */
	static const uint8_t udp_esp[16] = { 0x11, 0x94, 0x11, 0x94, 0, 16, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 7 };
	memcpy(udp6 + 40, udp_esp, sizeof udp_esp);
	size_t off = 0;
	put_packet(buf, &off, "softsa:s", esp4, sizeof esp4);
	put_packet(buf, &off, "softsa:s", udp6, sizeof udp6);
	ss_dp_notice n[8];
	uint64_t bad = 0;
	assert_int_equal(ss_nflog_parse(buf, off, n, 8, &bad), 2);
	assert_int_equal(bad, 0);
	assert_true(n[0].esp);
	assert_int_equal(n[0].spi, 0xc100002a);
	assert_int_equal(n[0].proto, 50);
	assert_true(n[1].esp);
	assert_int_equal(n[1].spi, 0xdeadbeef);
	assert_int_equal(n[1].proto, 17);
	assert_int_equal(n[1].sport, 4500);
	ss_addr c;
	assert_true(ss_addr_parse("fd00::3", &c));
	assert_true(ss_addr_eq(&n[1].src, &c));

	off = 0;
	uint8_t ike6[sizeof udp6];
	memcpy(ike6, udp6, sizeof udp6);
	memset(ike6 + 48, 0, 4); /* the non-ESP marker: IKE, not ESP */
	put_packet(buf, &off, "softsa:s", ike6, sizeof ike6);
	put_packet(buf, &off, "softsa:s", esp4, 22); /* ends inside the SPI */
	put_packet(buf, &off, "softsa:s", udp4, sizeof udp4); /* UDP, but too short for an SPI */
	put_packet(buf, &off, "softsa:a", esp4, sizeof esp4); /* clear-traffic prefix: no sample */
	bad = 0;
	assert_int_equal(ss_nflog_parse(buf, off, n, 8, &bad), 1);
	assert_int_equal(bad, 3);
	assert_false(n[0].esp);
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

/* Parses len bytes of buf from an exact-size heap copy, so that ASan sees any read past the
 * end of the datagram. */
static size_t parse_exact(const uint8_t *src, size_t len, ss_dp_notice *n, size_t max,
			  uint64_t *bad)
{
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, src, len);
	size_t r = ss_nflog_parse(copy, len, n, max, bad);
	free(copy);
	return r;
}

/* The last message of a datagram may end unaligned (nlmsg_len 55): it has no padding, and
 * nothing in it may be read from beyond nlmsg_len (libmnl's walk ran to NLMSG_ALIGN). */
static void test_unaligned_last_message(void **state)
{
	(void)state;
	uint8_t pl[sizeof udp4 + 1];
	memcpy(pl, udp4, sizeof udp4);
	pl[sizeof udp4] = 'x'; /* 31 bytes: the payload attribute ends 1 byte before alignment */
	size_t off = 0;
	put_packet(buf, &off, "softsa:a", udp4, sizeof udp4);
	put_packet(buf, &off, "softsa:a", pl, sizeof pl);
	struct nlmsghdr *last = (struct nlmsghdr *)(buf + NLMSG_ALIGN(((struct nlmsghdr *)buf)->nlmsg_len));
	last->nlmsg_len -= 1; /* exactly where the payload ends */
	size_t len = off - 1;
	assert_int_equal(len % 4, 3);
	ss_dp_notice n[4];
	uint64_t bad = 0;
	assert_int_equal(parse_exact(buf, len, n, 4, &bad), 2);
	assert_int_equal(bad, 0);
	assert_int_equal(n[1].dport, 7778);

	/* The payload attribute claims the byte of padding that the datagram does not have:
	 * malformed, and never read. */
	struct nlattr *a = (struct nlattr *)((uint8_t *)last + last->nlmsg_len - sizeof pl - MNL_ATTR_HDRLEN);
	assert_int_equal(a->nla_type, NFULA_PAYLOAD);
	a->nla_len += 1;
	bad = 0;
	assert_int_equal(parse_exact(buf, len, n, 4, &bad), 1);
	assert_int_equal(bad, 1);
}

/* After an unaligned message the aligned step passes the end of the datagram by 1 to 3
 * bytes; the walk must end there (len - off would wrap and the walk read on). */
static void test_step_past_end(void **state)
{
	(void)state;
	uint8_t pl[sizeof udp4 + 3] = { 0 };
	memcpy(pl, udp4, sizeof udp4);
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	/* Payloads of 30, 31 and 33 bytes leave the message 2, 1 and 3 bytes short of
	 * alignment. */
	static const size_t plens[] = { sizeof udp4, sizeof udp4 + 1, sizeof udp4 + 3 };
	for (size_t i = 0; i < sizeof plens / sizeof plens[0]; i++) {
		size_t off = 0;
		put_packet(buf, &off, "softsa:d", pl, plens[i]);
		size_t pad = MNL_ALIGN(MNL_ATTR_HDRLEN + plens[i]) - (MNL_ATTR_HDRLEN + plens[i]);
		assert_true(pad > 0);
		nlh->nlmsg_len -= (uint32_t)pad;
		/* Beyond the message: what looks like the header of a next one. */
		memset(buf + nlh->nlmsg_len, 0x10, 64);
		for (size_t extra = 0; extra < pad; extra++) {
			ss_dp_notice n[4];
			uint64_t bad = 0;
			assert_int_equal(parse_exact(buf, nlh->nlmsg_len + extra, n, 4, &bad), 1);
			assert_int_equal(bad, 0);
			assert_false(n[0].accepted);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_and_dropped),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_esp_samples),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unaligned_last_message),
		cmocka_unit_test(test_step_past_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
