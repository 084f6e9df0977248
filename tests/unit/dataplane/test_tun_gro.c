/* Delivery into the TUN with coalescing per flow (ss_tun_write_gro), written to one end of a
 * SOCK_SEQPACKET pair instead of a TUN (each writev stays one message): two interleaved TCP
 * streams come out as one GSO write each, a packet that cannot join waits for its flow's run,
 * and within a flow the bytes arrive in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane/gso.h"
#include "dataplane/pkt.h"
#include "dataplane/user/tun.h"

static uint8_t sup[70000], segs[2][64][2048], gro[SS_TUN_GRO_RUNS * 70000], rd[70000];
static size_t seglen[2][64];

/* Flow f (source port 40000 + f) as MSS-sized segments of one super-packet. */
static size_t make_flow(int f, size_t payload, size_t mss)
{
	size_t hl = 40, len = hl + payload;
	memset(sup, 0, hl);
	sup[0] = 0x45, sup[2] = (uint8_t)(len >> 8), sup[3] = (uint8_t)len, sup[8] = 64, sup[9] = 6;
	memcpy(sup + 12, "\x0a\x4d\x00\x02\x0a\x4d\x00\x01", 8);
	uint8_t *t = sup + 20;
	t[0] = 0x9c, t[1] = (uint8_t)(0x40 + f), t[2] = 0x1b, t[3] = 0x58;
	t[4] = 0x10, t[11] = 1, t[12] = 5 << 4, t[13] = 0x10, t[14] = 0xff;
	for (size_t i = 0; i < payload; i++)
		sup[hl + i] = (uint8_t)(i * 13 + 5 + f);
	ss_tso s;
	assert_true(ss_tso_init(&s, sup, len, mss));
	size_t n = 0;
	while (!ss_tso_done(&s)) {
		seglen[f][n] = ss_tso_next(&s, segs[f][n], sizeof segs[f][n]);
		assert_true(seglen[f][n] > 0);
		n++;
	}
	return n;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_interleaved(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int sz = 4 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	size_t na = make_flow(0, 20 * 1000, 1000), nb = make_flow(1, 20 * 1000, 1000);
	assert_int_equal(na, 20);
	assert_int_equal(nb, 20);
	/* A B A B ..., and after A's 10th segment a pure ACK of flow A (no payload) */
	ss_dpu_pkt p[64];
	size_t n = 0;
	uint8_t ack[40];
	for (size_t i = 0; i < 20; i++) {
		p[n++] = (ss_dpu_pkt){ .data = segs[0][i], .len = seglen[0][i] };
		p[n++] = (ss_dpu_pkt){ .data = segs[1][i], .len = seglen[1][i] };
		if (i == 9) {
			memcpy(ack, segs[0][i], 40);
			ack[2] = 0, ack[3] = 40;
			p[n++] = (ss_dpu_pkt){ .data = ack, .len = 40 };
		}
	}
	uint64_t errs = 0, gso = 0;
	assert_int_equal(ss_tun_write_gro(sv[0], p, n, gro, 70000, &errs, &gso), (int)n);
	assert_int_equal(errs, 0);
	/* A's first 10 (before the ACK), the ACK alone, then A's last 10 and B's 20. */
	assert_int_equal(gso, 3);
	uint32_t next[2] = { 0x10000000u, 0x10000000u };
	size_t bytes[2] = { 0 }, frames = 0, acks = 0;
	ssize_t r;
	while ((r = recv(sv[1], rd, sizeof rd, MSG_DONTWAIT)) > 0) {
		frames++;
		ss_vnet_hdr h;
		assert_true(ss_vnet_hdr_parse(rd, (size_t)r, &h));
		ss_pkt_tuple t;
		assert_true(ss_pkt_tuple_parse(rd + 10, (size_t)r - 10, &t));
		assert_int_equal(t.total, (size_t)r - 10);
		int f = t.sport - 40000;
		assert_true(f == 0 || f == 1);
		size_t pay = t.total - 40;
		if (pay == 0) {
			acks++;
			assert_int_equal(bytes[0], 10 * 1000); /* after A's first run, before its second */
			continue;
		}
		assert_int_equal(be32(rd + 10 + 24), next[f]); /* in order within the flow */
		size_t o = next[f] - 0x10000000u; /* the stream offset of its first byte */
		for (size_t j = 0; j < pay; j++)
			assert_int_equal(rd[10 + 40 + j], (uint8_t)((o + j) * 13 + 5 + (size_t)f));
		next[f] += (uint32_t)pay;
		bytes[f] += pay;
		if (pay > 1000)
			assert_int_equal(h.gso_size, 1000);
	}
	assert_int_equal(frames, 4);
	assert_int_equal(acks, 1);
	assert_int_equal(bytes[0], 20 * 1000);
	assert_int_equal(bytes[1], 20 * 1000);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
