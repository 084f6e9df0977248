/* The IKE sockets over loopback: local address reporting, NAT-T payload kinds, and
 * ICMP port unreachable read from the error queue with the quoted IKE header intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/errqueue.h>

#include "daemon/ikesock.h"

static uint8_t bufs[4][65536];

static void wait_readable(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	assert_int_equal(poll(&p, 1, 5000), 1);
}

static ss_addr lo4(void)
{
	ss_addr a;
	assert_true(ss_addr_parse("127.0.0.1", &a));
	return a;
}

static void datagram_carries_local_and_remote(void **state)
{
	ss_ikesock a, b;
	char err[160];
	assert_true(ss_ikesock_open(&a, 0, 0, 0, err, sizeof(err)));
	assert_true(ss_ikesock_open(&b, 0, 0, 0, err, sizeof(err)));
	ss_addr lo = lo4();
	const uint8_t msg[40] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_true(ss_ikesock_send(&a, &lo, a.port, &lo, b.port, msg, sizeof(msg)));
	wait_readable(b.fd[SS_IKESOCK_V4_500], POLLIN);
	ss_dgram d[4];
	assert_int_equal(ss_ikesock_recv(&b, SS_IKESOCK_V4_500, bufs, d, 4), 1);
	assert_int_equal(d[0].len, sizeof(msg));
	assert_memory_equal(d[0].data, msg, sizeof(msg));
	assert_true(ss_addr_eq(&d[0].local, &lo));
	assert_true(ss_addr_eq(&d[0].remote, &lo));
	assert_int_equal(d[0].rport, a.port);
	assert_int_equal(d[0].lport, b.port);
	assert_int_equal(d[0].kind, SS_NATT_IKE);
	ss_ikesock_close(&a);
	ss_ikesock_close(&b);
}

static void natt_port_passes_the_marker_through(void **state)
{
	ss_ikesock a, b;
	char err[160];
	assert_true(ss_ikesock_open(&a, 0, 0, 0, err, sizeof(err)));
	assert_true(ss_ikesock_open(&b, 0, 0, 0, err, sizeof(err)));
	ss_addr lo = lo4();
	uint8_t ike[36];
	memset(ike, 0xab, sizeof(ike));
	memset(ike, 0, 4); /* non-ESP marker, as the IKE engine writes it */
	assert_true(ss_ikesock_send(&a, &lo, a.natt_port, &lo, b.natt_port, ike, sizeof(ike)));
	wait_readable(b.fd[SS_IKESOCK_V4_4500], POLLIN);
	ss_dgram d[4];
	assert_int_equal(ss_ikesock_recv(&b, SS_IKESOCK_V4_4500, bufs, d, 4), 1);
	assert_int_equal(d[0].kind, SS_NATT_IKE);
	assert_int_equal(d[0].len, sizeof(ike));
	assert_memory_equal(d[0].data, ike, sizeof(ike));
	/* ESP in UDP needs room for GSO bursts: 4 MiB each way on 4500 (as root past the
	 * sysctl cap; the kernel reports twice what was set), the default on 500. */
	int sz = 0, s500 = 0;
	socklen_t sl = sizeof(sz);
	assert_int_equal(getsockopt(b.fd[SS_IKESOCK_V4_4500], SOL_SOCKET, SO_RCVBUF, &sz, &sl), 0);
	assert_int_equal(getsockopt(b.fd[SS_IKESOCK_V4_500], SOL_SOCKET, SO_RCVBUF, &s500, &sl), 0);
	if (geteuid() == 0)
		assert_int_equal(sz, 2 * SS_IKESOCK_NATT_BUF);
	assert_true(sz >= s500);
	assert_int_equal(getsockopt(b.fd[SS_IKESOCK_V4_4500], SOL_SOCKET, SO_SNDBUF, &sz, &sl), 0);
	if (geteuid() == 0)
		assert_int_equal(sz, 2 * SS_IKESOCK_NATT_BUF);
	ss_ikesock_close(&a);
	ss_ikesock_close(&b);
}

/* A UDP GSO send of ten ESP datagrams to the NAT-T port arrives as one GRO read (loopback
 * keeps the batch whole) and walks back into the ten datagrams, each classified. */
static void natt_gro_read_splits_into_datagrams(void **state)
{
	ss_ikesock a, b;
	char err[160];
	assert_true(ss_ikesock_open(&a, 0, 0, 0, err, sizeof(err)));
	assert_true(ss_ikesock_open(&b, 0, 0, 0, err, sizeof(err)));
	uint8_t batch[10 * 100 - 40]; /* nine of 100 bytes, a last one of 60 */
	for (size_t i = 0; i < sizeof(batch); i++)
		batch[i] = (uint8_t)(i / 100 + 1); /* each datagram starts with a non-zero SPI */
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(b.natt_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct iovec iov = { batch, sizeof(batch) };
	union { char b[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } cb;
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	uint16_t seg = 100;
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	assert_int_equal(sendmsg(a.fd[SS_IKESOCK_V4_4500], &m, 0), (ssize_t)sizeof(batch));
	wait_readable(b.fd[SS_IKESOCK_V4_4500], POLLIN);
	ss_dgram d[4];
	int n = ss_ikesock_recv(&b, SS_IKESOCK_V4_4500, bufs, d, 4);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].seg, 100);
	assert_int_equal(d[0].len, sizeof(batch));
	ss_dgram g;
	size_t off = 0, k = 0;
	while (ss_dgram_next(&d[0], &off, &g)) {
		assert_int_equal(g.len, k < 9 ? 100 : 60);
		assert_int_equal(g.data[0], k + 1);
		assert_int_equal(g.kind, SS_NATT_ESP);
		assert_int_equal(g.seg, 0);
		assert_int_equal(g.rport, a.natt_port);
		k++;
	}
	assert_int_equal(k, 10);
	ss_ikesock_close(&a);
	ss_ikesock_close(&b);
}

/* The walk over kernel-given segment sizes: every byte in exactly one segment, each
 * classified on its own, nothing past the datagram, an empty one seen once. */
static void dgram_walk_edges(void **state)
{
	uint8_t p[10] = { 0, 0, 0, 0, 9, 9, 9, 9, 0xff, 7 };
	ss_dgram d = { .data = p, .len = 10, .natt = true, .seg = 4 };
	ss_dgram g;
	size_t off = 0;
	assert_true(ss_dgram_next(&d, &off, &g));
	assert_int_equal(g.len, 4);
	assert_int_equal(g.kind, SS_NATT_MALFORMED); /* a marker without an IKE header */
	assert_true(ss_dgram_next(&d, &off, &g));
	assert_int_equal(g.len, 4);
	assert_int_equal(g.kind, SS_NATT_MALFORMED); /* 4 bytes: too short for ESP */
	assert_true(ss_dgram_next(&d, &off, &g));
	assert_int_equal(g.len, 2);
	assert_ptr_equal(g.data, p + 8);
	assert_false(ss_dgram_next(&d, &off, &g));
	/* A segment size the datagram does not exceed: one datagram. */
	d.seg = 10;
	off = 0;
	assert_true(ss_dgram_next(&d, &off, &g));
	assert_int_equal(g.len, 10);
	assert_false(ss_dgram_next(&d, &off, &g));
	/* An empty datagram once, then nothing. */
	d.len = 0;
	d.seg = 0;
	off = 0;
	assert_true(ss_dgram_next(&d, &off, &g));
	assert_int_equal(g.len, 0);
	assert_int_equal(g.kind, SS_NATT_MALFORMED);
	assert_false(ss_dgram_next(&d, &off, &g));
	/* Port 500: no marker classification, IKE whatever the bytes. */
	d = (ss_dgram){ .data = p + 8, .len = 1, .natt = false };
	off = 0;
	assert_true(ss_dgram_next(&d, &off, &g));
	assert_int_equal(g.kind, SS_NATT_IKE);
}

/* Control messages: a short one is skipped, not read past. */
static void cmsg_lengths_are_checked(void **state)
{
	union { char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } cb;
	memset(&cb, 0, sizeof(cb));
	struct msghdr m = { .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_GRO;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	int v = 1400;
	memcpy(CMSG_DATA(c), &v, sizeof(v));
	c = CMSG_NXTHDR(&m, c);
	assert_non_null(c);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(2); /* too short for in_pktinfo */
	ss_addr local;
	uint16_t seg;
	ss_ikesock_parse_cmsg(&m, &local, &seg);
	assert_int_equal(seg, 1400);
	assert_int_equal(local.family, 0);
	/* A negative or huge segment size means none. */
	v = -5;
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &v, sizeof(v));
	ss_ikesock_parse_cmsg(&m, &local, &seg);
	assert_int_equal(seg, 0);
	v = 70000;
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &v, sizeof(v));
	ss_ikesock_parse_cmsg(&m, &local, &seg);
	assert_int_equal(seg, 0);
}

static void classify_natt_payloads(void **state)
{
	const uint8_t ka[] = { 0xff };
	const uint8_t esp[] = { 0, 0, 1, 0, 0, 0, 0, 1 };
	uint8_t ike[32] = { 0 };
	assert_int_equal(ss_natt_classify(ka, 1), SS_NATT_KEEPALIVE);
	assert_int_equal(ss_natt_classify(esp, sizeof(esp)), SS_NATT_ESP);
	assert_int_equal(ss_natt_classify(ike, sizeof(ike)), SS_NATT_IKE);
	assert_int_equal(ss_natt_classify(ike, 20), SS_NATT_MALFORMED);
	assert_int_equal(ss_natt_classify(esp, 3), SS_NATT_MALFORMED);
}

static void port_unreachable_quotes_our_header(void **state)
{
	ss_ikesock a, gone;
	char err[160];
	assert_true(ss_ikesock_open(&a, 0, 0, 0, err, sizeof(err)));
	/* A port that was ours a moment ago and now has no listener. */
	assert_true(ss_ikesock_open(&gone, 0, 0, 0, err, sizeof(err)));
	uint16_t dead = gone.port;
	ss_ikesock_close(&gone);
	ss_addr lo = lo4();
	uint8_t ike[28];
	for (unsigned i = 0; i < sizeof(ike); i++)
		ike[i] = (uint8_t)(0x40 + i);
	assert_true(ss_ikesock_send(&a, &lo, a.port, &lo, dead, ike, sizeof(ike)));
	wait_readable(a.fd[SS_IKESOCK_V4_500], POLLERR);
	uint8_t q[2048];
	ss_icmp_report r;
	assert_int_equal(ss_ikesock_recv_error(&a, SS_IKESOCK_V4_500, q, sizeof(q), &r), 1);
	assert_int_equal(r.origin, SO_EE_ORIGIN_ICMP);
	assert_int_equal(r.type, 3);
	assert_int_equal(r.code, 3);
	assert_int_equal(r.err, ECONNREFUSED);
	assert_true(ss_addr_eq(&r.remote, &lo));
	assert_int_equal(r.rport, dead);
	assert_true(ss_addr_eq(&r.offender, &lo));
	assert_true(r.quoted_len >= 8);
	assert_memory_equal(r.quoted, ike, 8); /* the SPIi an off-path spoofer cannot know */
	assert_int_equal(ss_ikesock_recv_error(&a, SS_IKESOCK_V4_500, q, sizeof(q), &r), 0);
	ss_ikesock_close(&a);
}

static void port_in_use_is_said_plainly(void **state)
{
	ss_ikesock a, b;
	char err[160];
	assert_true(ss_ikesock_open(&a, 0, 0, 0, err, sizeof(err)));
	assert_false(ss_ikesock_open(&b, a.port, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "is in use"));
	for (int i = 0; i < SS_IKESOCK_N; i++)
		assert_int_equal(b.fd[i], -1);
	ss_ikesock_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(datagram_carries_local_and_remote),
		cmocka_unit_test(natt_port_passes_the_marker_through),
		cmocka_unit_test(classify_natt_payloads),
		cmocka_unit_test(natt_gro_read_splits_into_datagrams),
		cmocka_unit_test(dgram_walk_edges),
		cmocka_unit_test(cmsg_lengths_are_checked),
		cmocka_unit_test(port_unreachable_quotes_our_header),
		cmocka_unit_test(port_in_use_is_said_plainly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
