/* The IKE sockets over loopback: local address reporting, NAT-T payload kinds, and
 * ICMP port unreachable read from the error queue with the quoted IKE header intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <time.h>
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
	ss_ikesock_close(&a);
	ss_ikesock_close(&b);
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
		cmocka_unit_test(port_unreachable_quotes_our_header),
		cmocka_unit_test(port_in_use_is_said_plainly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
