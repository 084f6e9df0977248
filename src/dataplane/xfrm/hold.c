/* The kernel backend's held packets (hold.h): NFQUEUE in, our store, raw sockets out. */
#include "dataplane/xfrm/hold.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "base/addr.h"
#include "base/cursor.h"
#include "base/ip.h"
#include "dataplane/pkt.h"
#include "dataplane/user/held.h"
#include "dataplane/xfrm/nfq.h"
#include "dataplane/xfrm/xfrm.h"

enum { FRESH = 256, RX = 65536 + 4096 };

/* A FIFO of staged packets (their next pointers), sent in the order the verdicts came. */
typedef struct fifo {
	dpu_held_pkt *head, *tail;
} fifo;

struct ss_xhold {
	struct mnl_socket *nl;
	uint16_t queue;
	/* [family][0 through the policies, 1 bypassing them] */
	int raw[2][2];
	dpu_held held;
	uint64_t next_handle;
	/* The packets read this round: handles fresh_base .. fresh_base + n_fresh - 1. */
	uint64_t fresh_base;
	size_t n_fresh;
	bool decided[FRESH];
	fifo staged[2]; /* by raw socket: 0 ESP (the policies), 1 clear */
	uint8_t buf[RX];
};

static void push_fifo(fifo *f, dpu_held_pkt *k)
{
	k->next = NULL;
	if (f->tail)
		f->tail->next = k;
	else
		f->head = k;
	f->tail = k;
}

static void free_fifo(fifo *f)
{
	while (f->head) {
		dpu_held_pkt *k = f->head;
		f->head = k->next;
		free(k);
	}
	f->tail = NULL;
}

static int raw_socket(int family, uint32_t mark, bool bypass)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	/* IPPROTO_RAW means IP_HDRINCL for both families: we send the packet as it was. */
	int r = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0 ? -errno : 0;
	if (r == 0 && bypass)
		r = ss_xfrm_socket_bypass(fd, family == AF_INET6 ? SS_AF_INET6 : SS_AF_INET);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

ss_xhold *ss_xhold_open(uint16_t queue, uint32_t mark, size_t max_held, char *err, size_t errlen)
{
	ss_xhold *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->queue = queue;
	h->held.max_n = max_held;
	h->next_handle = 1;
	for (int f = 0; f < 2; f++)
		for (int b = 0; b < 2; b++)
			h->raw[f][b] = -1;
	int r = 0;
	for (int f = 0; f < 2 && r >= 0; f++)
		for (int b = 0; b < 2 && r >= 0; b++)
			r = h->raw[f][b] = raw_socket(f ? AF_INET6 : AF_INET, mark, b);
	if (r < 0) {
		snprintf(err, errlen, "raw sockets to send held packets: %s", strerror(-r));
		ss_xhold_close(h);
		return NULL;
	}
	h->nl = ss_nfq_open(queue, &r);
	if (!h->nl) {
		snprintf(err, errlen, "cannot bind nfnetlink_queue %u: %s", queue, strerror(-r));
		ss_xhold_close(h);
		return NULL;
	}
	return h;
}

void ss_xhold_close(ss_xhold *h)
{
	if (!h)
		return;
	ss_nfq_close(h->nl, h->queue);
	for (int f = 0; f < 2; f++)
		for (int b = 0; b < 2; b++)
			if (h->raw[f][b] >= 0)
				close(h->raw[f][b]);
	dpu_held_clear(&h->held);
	free_fifo(&h->staged[0]);
	free_fifo(&h->staged[1]);
	free(h);
}

int ss_xhold_fd(const ss_xhold *h) { return mnl_socket_get_fd(h->nl); }
size_t ss_xhold_count(const ss_xhold *h) { return h->held.n; }

/* One queued packet: kept by a new handle, and its ACQUIRE. */
static bool take_packet(ss_xhold *h, const ss_nfq_pkt *q, ss_dp_event *ev, ss_dp_stats *st)
{
	ss_pkt_tuple tu;
	if (q->truncated || !ss_pkt_tuple_parse(q->data, q->len, &tu)) {
		st->unparsable++;
		return false;
	}
	/* Handles stay consecutive within a round (fresh_base + index): a refused packet keeps
	 * its place, decided already. */
	uint64_t handle = h->next_handle++;
	if (!h->n_fresh)
		h->fresh_base = handle;
	size_t i = h->n_fresh++;
	h->decided[i] = true;
	if (!dpu_held_put(&h->held, handle, q->data, q->len)) {
		st->held_refused++;
		return false;
	}
	h->decided[i] = false;
	st->captured++;
	*ev = (ss_dp_event){ .kind = SS_DP_EV_ACQUIRE, .local = tu.src, .remote = tu.dst, .proto = tu.proto,
			     .sport = tu.sport, .dport = tu.dport, .len = (uint32_t)q->len, .handle = handle };
	return true;
}

int ss_xhold_read(ss_xhold *h, ss_dp_event *out, size_t max, ss_dp_stats *st)
{
	enum { PER_READ = 8 };
	size_t k = 0;
	uint32_t max_id = 0;
	bool any = false;
	/* Only with room for all a read may bring: the verdict below drops the kernel's copy of
	 * every packet seen, so every one seen must be kept. */
	while (k + PER_READ <= max && h->n_fresh + PER_READ <= FRESH) {
		ssize_t r = recv(mnl_socket_get_fd(h->nl), h->buf, sizeof h->buf, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == ENOBUFS) { /* the kernel dropped what did not fit: counted there */
				st->malformed++;
				continue;
			}
			break;
		}
		any = true;
		ss_nfq_pkt q[PER_READ];
		size_t n = ss_nfq_parse(h->buf, (size_t)r, q, PER_READ, &st->malformed, &max_id);
		for (size_t i = 0; i < n; i++)
			if (take_packet(h, &q[i], &out[k], st))
				k++;
	}
	if (any) {
		st->captured_reads++;
		/* The kernel's copies go at once: ours are the ones that count. */
		if (max_id && ss_nfq_drop_upto(h->nl, h->queue, max_id) < 0)
			st->release_err++;
	}
	return (int)k;
}

int ss_xhold_verdict(ss_xhold *h, uint64_t handle, enum ss_dp_pkt_verdict v, ss_dp_stats *st)
{
	(void)st;
	if (h->n_fresh && handle >= h->fresh_base && handle - h->fresh_base < h->n_fresh)
		h->decided[handle - h->fresh_base] = true;
	if (v == SS_DP_PKT_HOLD)
		return dpu_held_find(&h->held, handle) ? 0 : -ENOENT;
	dpu_held_pkt *k = dpu_held_take(&h->held, handle);
	if (!k)
		return -ENOENT;
	if (v == SS_DP_PKT_DROP)
		free(k);
	else
		push_fifo(&h->staged[v == SS_DP_PKT_CLEAR], k);
	return 0;
}

long ss_xhold_frag4(const uint8_t *p, size_t len, size_t mtu, unsigned k, uint8_t *out, size_t cap)
{
	ss_cur c = ss_cur_init(p, len);
	uint8_t vihl = ss_cur_u8(&c);
	ss_cur_skip(&c, 1);
	uint16_t total = ss_cur_be16(&c);
	ss_cur_skip(&c, 2);
	uint16_t frag = ss_cur_be16(&c);
	if (!ss_cur_ok(&c) || vihl != 0x45 || total != len || (frag & 0x4000) || mtu < 68 || cap < mtu)
		return -1;
	/* Each fragment's data is a multiple of 8 bytes, but the last. */
	size_t chunk = (mtu - 20) & ~(size_t)7, data = len - 20, at = (size_t)k * chunk;
	if (at >= data)
		return 0;
	size_t n = data - at < chunk ? data - at : chunk;
	bool more = at + n < data || (frag & 0x2000);
	ss_cur body = ss_cur_init(p, len);
	const uint8_t *hdr = ss_cur_take(&body, 20);
	ss_cur_skip(&body, at);
	const uint8_t *piece = ss_cur_take(&body, n);
	if (!hdr || !piece)
		return -1;
	ss_buf b = ss_buf_init(out, cap);
	ss_buf_put(&b, hdr, 20);
	ss_buf_set_be16(&b, 2, (uint16_t)(20 + n));
	ss_buf_set_be16(&b, 6, (uint16_t)((frag & 0x1fff) + at / 8) | (more ? 0x2000 : 0));
	ss_buf_set_be16(&b, 10, 0);
	ss_buf_set_be16(&b, 10, ss_csum_finish(ss_csum_add(0, out, 20)));
	ss_buf_put(&b, piece, n);
	return ss_buf_ok(&b) ? (long)b.len : -1;
}

static int send_raw(int fd, const uint8_t *p, size_t len, const struct sockaddr_storage *ss, size_t sl)
{
	return sendto(fd, p, len, 0, (const struct sockaddr *)ss, (socklen_t)sl) < 0 ? -errno : 0;
}

/* IPv4 too large for the device: in fragments of the minimum every IPv4 path carries
 * (576), since the route's MTU is not at hand here; IPv6 has no such way (its fragment
 * header is the sender's to add): counted as an error. */
static int send_frags(int fd, const dpu_held_pkt *k, const struct sockaddr_storage *ss, size_t sl)
{
	uint8_t f[576];
	for (unsigned i = 0;; i++) {
		long n = ss_xhold_frag4(k->data, k->len, sizeof f, i, f, sizeof f);
		if (n < 0)
			return -EMSGSIZE;
		if (n == 0)
			return 0;
		int r = send_raw(fd, f, (size_t)n, ss, sl);
		if (r < 0)
			return r;
	}
}

static int send_one(ss_xhold *h, const dpu_held_pkt *k, bool clear)
{
	ss_pkt_tuple tu;
	if (!ss_pkt_tuple_parse(k->data, k->len, &tu))
		return -EINVAL;
	struct sockaddr_storage ss;
	size_t sl = ss_addr_to_sockaddr(&tu.dst, 0, &ss);
	int fd = h->raw[tu.dst.family == SS_AF_INET6][clear];
	int r = send_raw(fd, k->data, k->len, &ss, sl);
	if (r == -EMSGSIZE && tu.dst.family == SS_AF_INET)
		r = send_frags(fd, k, &ss, sl);
	return r;
}

void ss_xhold_flush(ss_xhold *h, ss_dp_stats *st)
{
	for (int c = 0; c < 2; c++) {
		while (h->staged[c].head) {
			dpu_held_pkt *k = h->staged[c].head;
			h->staged[c].head = k->next;
			if (send_one(h, k, c) < 0)
				st->release_err++;
			else if (c)
				st->released_clear++;
			free(k);
		}
		h->staged[c].tail = NULL;
	}
	for (size_t i = 0; i < h->n_fresh; i++) {
		if (h->decided[i])
			continue;
		dpu_held_pkt *k = dpu_held_take(&h->held, h->fresh_base + i);
		if (k) {
			st->undecided++;
			free(k);
		}
	}
	h->n_fresh = 0;
}
