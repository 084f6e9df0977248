#include "dataplane/user/io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cursor.h"
#include "dataplane/pkt.h"

static int set_common(int fd, uint32_t mark)
{
	int sz = 4 << 20;
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
		return -errno;
	/* Large buffers absorb a burst of released packets; FORCE needs CAP_NET_ADMIN,
	 * which we have, and falls back to the capped size otherwise. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	return 0;
}

int ss_io_raw_socket(int family, int proto, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	int r = set_common(fd, mark);
	int one = 1;
	if (r == 0 && family == AF_INET6 && proto != IPPROTO_RAW &&
	    (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0 ||
	     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one) < 0))
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int ss_io_udp_socket(int family, uint16_t port, uint32_t mark)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, r = set_common(fd, mark);
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof *s6;
		if (r == 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
			r = -errno;
		if (r == 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0)
			r = -errno;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof *s4;
		/* our address on each datagram, as IPv6 raw sockets give it (IPV6_PKTINFO) */
		if (r == 0 && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0)
			r = -errno;
	}
	if (r == 0 && bind(fd, (struct sockaddr *)&ss, sl) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Sends a prepared batch.  A packet the kernel refuses is dropped and counted and the rest
 * go; when the socket buffer is full the rest of the batch is dropped and counted, as a
 * router would: the senders' own congestion control sees the loss. */
static void flush_batch(int fd, struct mmsghdr *mm, size_t k, uint64_t *errs)
{
	size_t i = 0;
	while (i < k) {
		int r = sendmmsg(fd, mm + i, (unsigned)(k - i), 0);
		if (r > 0) {
			i += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS) {
			for (; i < k; i++)
				*errs += mm[i].msg_hdr.msg_iovlen; /* one packet per iovec */
			return;
		}
		/* this one is refused (EMSGSIZE, unreachable, ...): skip it */
		*errs += mm[i].msg_hdr.msg_iovlen;
		i++;
	}
}

size_t ss_io_send_whole(int fd4, int fd6, const ss_dpu_pkt *pkts, size_t n, uint64_t *errs)
{
	struct mmsghdr mm[SS_IO_BATCH];
	struct iovec iov[SS_IO_BATCH];
	struct sockaddr_storage to[SS_IO_BATCH];
	size_t k = 0;
	int cur = -1;
	for (size_t i = 0; i < n; i++) {
		ss_pkt_tuple t;
		int fd = -1;
		if (ss_pkt_tuple_parse(pkts[i].data, pkts[i].len, &t))
			fd = t.src.family == SS_AF_INET ? fd4 : fd6;
		if (fd < 0) {
			(*errs)++;
			continue;
		}
		if (k && (fd != cur || k == SS_IO_BATCH)) {
			flush_batch(cur, mm, k, errs);
			k = 0;
		}
		cur = fd;
		/* The kernel routes by the address given here; the packet keeps its own header. */
		socklen_t sl = (socklen_t)ss_addr_to_sockaddr(&t.dst, 0, &to[k]);
		iov[k] = (struct iovec){ .iov_base = pkts[i].data, .iov_len = pkts[i].len };
		mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to[k], .msg_namelen = sl,
						       .msg_iov = &iov[k], .msg_iovlen = 1 } };
		k++;
	}
	if (k)
		flush_batch(cur, mm, k, errs);
	return n;
}

/* The outer TOS / traffic class of an ESP packet (the kernel builds that header) as a
 * control message at *cm; returns the space used, 0 for none (tos 0 is the socket's). */
static size_t tos_cmsg(struct cmsghdr *cm, const ss_dpu_pkt *p)
{
	if (!p->tos)
		return 0;
	int v = p->tos;
	bool v6 = p->remote.family == SS_AF_INET6;
	cm->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
	cm->cmsg_type = v6 ? IPV6_TCLASS : IP_TOS;
	cm->cmsg_len = CMSG_LEN(sizeof v);
	memcpy(CMSG_DATA(cm), &v, sizeof v);
	return CMSG_SPACE(sizeof v);
}

size_t ss_io_send_to(int fd, const ss_dpu_pkt *pkts, size_t n, uint64_t *errs)
{
	struct mmsghdr mm[SS_IO_BATCH];
	struct iovec iov[SS_IO_BATCH];
	struct sockaddr_storage to[SS_IO_BATCH];
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cb[SS_IO_BATCH];
	size_t done = 0;
	while (done < n) {
		size_t k = n - done < SS_IO_BATCH ? n - done : SS_IO_BATCH;
		for (size_t j = 0; j < k; j++) {
			const ss_dpu_pkt *p = &pkts[done + j];
			socklen_t sl = (socklen_t)ss_addr_to_sockaddr(&p->remote, p->port, &to[j]);
			iov[j] = (struct iovec){ .iov_base = p->data, .iov_len = p->len };
			mm[j] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to[j], .msg_namelen = sl,
							       .msg_iov = &iov[j], .msg_iovlen = 1 } };
			if (p->tos) {
				mm[j].msg_hdr.msg_control = cb[j].b;
				mm[j].msg_hdr.msg_controllen = tos_cmsg((struct cmsghdr *)cb[j].b, p);
			}
		}
		flush_batch(fd, mm, k, errs);
		done += k;
	}
	return done;
}

/* UDP GSO limits: the kernel takes at most 64 segments per send (UDP_MAX_SEGMENTS in
 * older kernels) and one IP datagram's worth of bytes. */
enum { GSO_MAX_SEGS = 64, GSO_MAX_BYTES = 60000 };

static bool same_dest(const ss_dpu_pkt *a, const ss_dpu_pkt *b)
{
	return a->port == b->port && a->tos == b->tos && ss_addr_eq(&a->remote, &b->remote);
}

/* How many packets from pkts[0] can leave as one GSO send: one destination, all of the
 * first one's size except possibly a shorter last one. */
static size_t gso_run(const ss_dpu_pkt *pkts, size_t n, size_t room)
{
	size_t seg = pkts[0].len, bytes = seg, j = 1;
	while (j < n && j < room && j < GSO_MAX_SEGS && same_dest(&pkts[j], &pkts[0]) &&
	       pkts[j - 1].len == seg && pkts[j].len <= seg && pkts[j].len > 0 &&
	       bytes + pkts[j].len <= GSO_MAX_BYTES) {
		bytes += pkts[j].len;
		j++;
	}
	return j;
}

size_t ss_io_send_udp(int fd, const ss_dpu_pkt *pkts, size_t n, uint64_t *errs, uint64_t *gso)
{
	struct mmsghdr mm[SS_IO_BATCH];
	struct iovec iov[SS_IO_BATCH];
	struct sockaddr_storage to[SS_IO_BATCH];
	union { char b[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cb[SS_IO_BATCH];
	size_t i = 0;
	while (i < n) {
		size_t m = 0, used = 0;
		while (i < n && used < SS_IO_BATCH) {
			size_t run = gso_run(pkts + i, n - i, SS_IO_BATCH - used);
			for (size_t k = 0; k < run; k++)
				iov[used + k] = (struct iovec){ .iov_base = pkts[i + k].data,
								.iov_len = pkts[i + k].len };
			socklen_t sl = (socklen_t)ss_addr_to_sockaddr(&pkts[i].remote, pkts[i].port, &to[m]);
			mm[m] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to[m], .msg_namelen = sl,
							       .msg_iov = &iov[used], .msg_iovlen = run } };
			struct msghdr *mh = &mm[m].msg_hdr;
			size_t cl = 0;
			if (run > 1) {
				struct cmsghdr *cm = (struct cmsghdr *)cb[m].b;
				cm->cmsg_level = SOL_UDP;
				cm->cmsg_type = UDP_SEGMENT;
				cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				uint16_t seg = (uint16_t)pkts[i].len;
				memcpy(CMSG_DATA(cm), &seg, sizeof seg);
				cl = CMSG_SPACE(sizeof(uint16_t));
				(*gso)++;
			}
			cl += tos_cmsg((struct cmsghdr *)(cb[m].b + cl), &pkts[i]);
			if (cl) {
				mh->msg_control = cb[m].b;
				mh->msg_controllen = cl;
			}
			used += run;
			i += run;
			m++;
		}
		flush_batch(fd, mm, m, errs);
	}
	return n;
}

/* IPv4 raw sockets hand us the IP header too (raw(7)): skip it, keep its destination. */
static bool strip_v4(ss_dpu_pkt *p)
{
	ss_cur c = ss_cur_init(p->data, p->len);
	uint8_t vihl = ss_cur_u8(&c);
	size_t ihl = (size_t)(vihl & 0x0f) * 4;
	uint8_t dst[4];
	ss_cur_peek(&c, 0, &p->tos, 1); /* the byte after version/IHL */
	if (!ss_cur_peek(&c, 15, dst, 4) || vihl >> 4 != 4 || ihl < 20 || !ss_cur_skip(&c, ihl - 1))
		return false;
	p->local = ss_addr_v4((uint32_t)dst[0] << 24 | (uint32_t)dst[1] << 16 | (uint32_t)dst[2] << 8 | dst[3]);
	p->data = (uint8_t *)ss_cur_ptr(&c);
	p->len = ss_cur_left(&c);
	return true;
}

/* Our address from IP_PKTINFO / IPV6_PKTINFO. */
static void pktinfo(struct msghdr *mh, ss_dpu_pkt *p)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof pi);
			p->local = ss_addr_v6(pi.ipi6_addr.s6_addr);
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof pi);
			p->local = ss_addr_v4(ntohl(pi.ipi_addr.s_addr));
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int tc;
			memcpy(&tc, CMSG_DATA(cm), sizeof tc);
			p->tos = (uint8_t)tc; /* the outer ECN for tunnel decap (RFC 6040) */
		}
	}
}

/* RFC 3948 §2: a zero non-ESP marker means IKE, a single 0xff is a NAT keepalive. */
static bool classify_udp(ss_dpu_pkt *p)
{
	static const uint8_t zero[4];
	if (p->len == 1 && p->data[0] == 0xff)
		return false;
	if (p->len < 4)
		return false;
	if (memcmp(p->data, zero, 4) == 0) {
		p->kind = SS_DPU_RX_IKE;
		p->data += 4;
		p->len -= 4;
	} else {
		p->kind = SS_DPU_RX_ESP;
	}
	return true;
}

int ss_io_recv(int fd, enum ss_io_rx how, ss_dpu_pkt *pkts, size_t n, uint64_t *bad)
{
	struct mmsghdr mm[SS_IO_BATCH];
	struct iovec iov[SS_IO_BATCH];
	struct sockaddr_storage from[SS_IO_BATCH];
	union { char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
		       CMSG_SPACE(sizeof(int))];
		struct cmsghdr align; } cb[SS_IO_BATCH];
	if (n > SS_IO_BATCH)
		n = SS_IO_BATCH;
	for (size_t i = 0; i < n; i++) {
		iov[i] = (struct iovec){ .iov_base = pkts[i].buf, .iov_len = pkts[i].cap };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof from[i],
						       .msg_iov = &iov[i], .msg_iovlen = 1,
						       .msg_control = cb[i].b, .msg_controllen = sizeof cb[i].b } };
	}
	int r = recvmmsg(fd, mm, (unsigned)n, MSG_DONTWAIT, NULL);
	if (r <= 0)
		return r < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
	size_t out = 0;
	for (int i = 0; i < r; i++) {
		ss_dpu_pkt *p = &pkts[out];
		if (p != &pkts[i]) {
			/* Compact: the datagram sits in pkts[i]'s buffer; swap the buffers. */
			uint8_t *b = p->buf;
			size_t c = p->cap;
			p->buf = pkts[i].buf;
			p->cap = pkts[i].cap;
			pkts[i].buf = b;
			pkts[i].cap = c;
		}
		p->data = p->buf;
		p->len = mm[i].msg_len;
		p->local = (ss_addr){ 0 };
		p->kind = SS_DPU_RX_ESP;
		p->port = 0;
		p->tos = 0;
		uint16_t port = 0;
		bool ok = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) == 0 &&
			  ss_addr_from_sockaddr((struct sockaddr *)&from[i], &p->remote, &port);
		if (ok && how == SS_IO_RX_RAW4)
			ok = strip_v4(p);
		if (ok && how != SS_IO_RX_RAW4)
			pktinfo(&mm[i].msg_hdr, p);
		if (ok && how == SS_IO_RX_UDP) {
			p->port = port;
			ok = classify_udp(p);
		}
		if (ok)
			out++;
		else
			(*bad)++;
	}
	return (int)out;
}
