/* ss_nfq_parse and the batch verdict (src/dataplane/xfrm/nfq.c): nfnetlink_queue messages as
 * the kernel sends them, and broken ones; and the IPv4 fragments in which the kernel backend
 * sends a held datagram larger than the MTU again (ss_xhold_frag4, src/dataplane/xfrm/hold.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <sys/socket.h>

#include "base/ip.h"
#include "dataplane/xfrm/hold.h"
#include "dataplane/xfrm/nfq.h"

static const uint8_t udp4[] = { 0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 89, 0, 1,
				10, 89, 0, 4, 0x15, 0xb3, 0x17, 0x70, 0, 10, 0, 0, 'h', 'i' };

/* Appends one NFQNL_MSG_PACKET to buf at *off: id, payload, and NFQA_CAP_LEN when cap. */
static void put_packet(uint8_t *buf, size_t *off, uint32_t id, const void *pl, size_t plen, uint32_t cap)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
	g->nfgen_family = AF_INET;
	struct nfqnl_msg_packet_hdr ph = { .packet_id = htonl(id), .hw_protocol = htons(0x0800), .hook = 3 };
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof ph, &ph);
	if (pl)
		mnl_attr_put(nlh, NFQA_PAYLOAD, plen, pl);
	if (cap)
		mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(cap));
	*off += nlh->nlmsg_len;
}

static _Alignas(8) uint8_t buf[8192];

static void packets_with_their_ids(void **state)
{
	(void)state;
	size_t off = 0;
	put_packet(buf, &off, 7, udp4, sizeof udp4, 0);
	put_packet(buf, &off, 8, udp4, sizeof udp4, sizeof udp4); /* whole: CAP_LEN = length */
	ss_nfq_pkt q[4];
	uint64_t bad = 0;
	uint32_t max_id = 0;
	assert_int_equal(ss_nfq_parse(buf, off, q, 4, &bad, &max_id), 2);
	assert_int_equal(bad, 0);
	assert_int_equal(max_id, 8);
	assert_int_equal(q[0].id, 7);
	assert_int_equal(q[0].len, sizeof udp4);
	assert_memory_equal(q[0].data, udp4, sizeof udp4);
	assert_false(q[0].truncated);
	assert_false(q[1].truncated);
}

static void truncated_and_broken(void **state)
{
	(void)state;
	size_t off = 0;
	put_packet(buf, &off, 1, udp4, sizeof udp4, 1500); /* the kernel copied less */
	put_packet(buf, &off, 2, NULL, 0, 0);              /* no payload: unusable, id still counts */
	ss_nfq_pkt q[4];
	uint64_t bad = 0;
	uint32_t max_id = 0;
	assert_int_equal(ss_nfq_parse(buf, off, q, 4, &bad, &max_id), 1);
	assert_true(q[0].truncated);
	assert_int_equal(bad, 1);
	assert_int_equal(max_id, 2);
	/* An attribute that claims more than the message has: the message is unusable. */
	off = 0;
	put_packet(buf, &off, 3, udp4, sizeof udp4, 0);
	struct nlattr *a = (struct nlattr *)(buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
	a->nla_len = 0xfff0;
	bad = 0;
	max_id = 0;
	assert_int_equal(ss_nfq_parse(buf, off, q, 4, &bad, &max_id), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(max_id, 0);
	/* A message longer than the datagram ends the walk. */
	off = 0;
	put_packet(buf, &off, 4, udp4, sizeof udp4, 0);
	bad = 0;
	assert_int_equal(ss_nfq_parse(buf, off - 1, q, 4, &bad, &max_id), 0);
	assert_int_equal(bad, 1);
	/* Other subsystems' messages and netlink control messages are no packets. */
	off = 0;
	put_packet(buf, &off, 5, udp4, sizeof udp4, 0);
	((struct nlmsghdr *)buf)->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | 0;
	bad = 0;
	assert_int_equal(ss_nfq_parse(buf, off, q, 4, &bad, &max_id), 0);
	assert_int_equal(bad, 1);
	((struct nlmsghdr *)buf)->nlmsg_type = NLMSG_ERROR;
	bad = 0;
	assert_int_equal(ss_nfq_parse(buf, off, q, 4, &bad, &max_id), 0);
	assert_int_equal(bad, 0);
}

static void room_for_max(void **state)
{
	(void)state;
	size_t off = 0;
	for (uint32_t i = 1; i <= 3; i++)
		put_packet(buf, &off, i, udp4, sizeof udp4, 0);
	ss_nfq_pkt q[2];
	uint64_t bad = 0;
	uint32_t max_id = 0;
	assert_int_equal(ss_nfq_parse(buf, off, q, 2, &bad, &max_id), 2);
	assert_int_equal(q[1].id, 2);
}

static void drop_verdict_bytes(void **state)
{
	(void)state;
	static _Alignas(8) uint8_t v[SS_NFQ_VERDICT_LEN];
	assert_int_equal(ss_nfq_build_drop(v, 16, 1, 1), 0);
	size_t n = ss_nfq_build_drop(v, sizeof v, 0x5354, 41);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)v;
	assert_int_equal(n, nlh->nlmsg_len);
	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT_BATCH);
	assert_int_equal(nlh->nlmsg_flags & NLM_F_ACK, 0);
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ntohs(g->res_id), 0x5354);
	const struct nlattr *a = (const struct nlattr *)((const uint8_t *)g + NLMSG_ALIGN(sizeof *g));
	assert_int_equal(a->nla_type, NFQA_VERDICT_HDR);
	const struct nfqnl_msg_verdict_hdr *vh = mnl_attr_get_payload(a);
	assert_int_equal(ntohl(vh->verdict), NF_DROP);
	assert_int_equal(ntohl(vh->id), 41);
}

/* A 2000-byte UDP datagram in fragments of at most 576 bytes: offsets in 8-byte units, MF on
 * all but the last, each header's checksum right, the data in order and complete. */
static void fragments_of_a_large_datagram(void **state)
{
	(void)state;
	static uint8_t big[2000], out[576], back[2000];
	memcpy(big, udp4, 20);
	big[2] = 2000 >> 8;
	big[3] = 2000 & 0xff;
	big[6] = 0; /* DF clear: the stack would fragment it */
	for (size_t i = 20; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	size_t got = 0;
	unsigned k = 0;
	for (;; k++) {
		long n = ss_xhold_frag4(big, sizeof big, sizeof out, k, out, sizeof out);
		assert_true(n >= 0);
		if (n == 0)
			break;
		assert_true(n <= 576);
		assert_int_equal((out[2] << 8 | out[3]), n);
		unsigned fo = (unsigned)(out[6] << 8 | out[7]);
		assert_int_equal((fo & 0x1fff) * 8, got);
		bool last = got + (size_t)n - 20 == sizeof big - 20;
		assert_int_equal(!!(fo & 0x2000), !last);
		if (!last)
			assert_int_equal((n - 20) % 8, 0);
		assert_int_equal(ss_csum_finish(ss_csum_add(0, out, 20)), 0);
		assert_memory_equal(out + 12, big + 12, 8); /* the addresses */
		memcpy(back + 20 + got, out + 20, (size_t)n - 20);
		got += (size_t)n - 20;
	}
	assert_int_equal(k, 4); /* 1980 bytes of data in pieces of 552 */
	assert_int_equal(got, sizeof big - 20);
	assert_memory_equal(back + 20, big + 20, got);
	/* DF set, IP options, a length that disagrees, too small an MTU: not fragmented. */
	big[6] = 0x40;
	assert_int_equal(ss_xhold_frag4(big, sizeof big, sizeof out, 0, out, sizeof out), -1);
	big[6] = 0;
	assert_int_equal(ss_xhold_frag4(big, sizeof big - 1, sizeof out, 0, out, sizeof out), -1);
	assert_int_equal(ss_xhold_frag4(big, sizeof big, 40, 0, out, sizeof out), -1);
	big[0] = 0x46;
	assert_int_equal(ss_xhold_frag4(big, sizeof big, sizeof out, 0, out, sizeof out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(packets_with_their_ids),
		cmocka_unit_test(truncated_and_broken),
		cmocka_unit_test(room_for_max),
		cmocka_unit_test(drop_verdict_bytes),
		cmocka_unit_test(fragments_of_a_large_datagram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
