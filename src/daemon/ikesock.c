#include "daemon/ikesock.h"

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum ss_natt_kind ss_natt_classify(const uint8_t *p, size_t len)
{
	if (len == 1 && p[0] == 0xff)
		return SS_NATT_KEEPALIVE;
	if (len < 4)
		return SS_NATT_MALFORMED;
	if (p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0)
		return len >= 4 + 28 ? SS_NATT_IKE : SS_NATT_MALFORMED; /* marker + IKE header */
	/* ESP needs at least SPI + sequence number. */
	return len >= 8 ? SS_NATT_ESP : SS_NATT_MALFORMED;
}

/* The NAT-T sockets carry ESP in UDP for the userspace dataplane: a whole TSO super-packet
 * leaves as one UDP GSO send of up to 64 datagrams and a burst arrives faster than one read
 * round, so the default 208 KiB buffers would drop.  FORCE goes past net.core.*mem_max
 * (CAP_NET_ADMIN, which softsad has); without it the capped size is still asked for. */
static void set_big_buffers(int fd)
{
	int sz = SS_IKESOCK_NATT_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static int open_one(int family, uint16_t port, uint32_t mark, bool big_buffers, uint16_t *bound, char *err,
		    size_t errlen)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	int ok;
	if (family == AF_INET) {
		ok = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0 &&
		     setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) == 0;
	} else {
		ok = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0 &&
		     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == 0 &&
		     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one)) == 0;
	}
	if (ok && mark)
		ok = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0;
	if (!ok) {
		snprintf(err, errlen, "socket options: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (big_buffers) {
		set_big_buffers(fd);
		/* UDP GRO (Linux 5.0): a burst of same-size ESP datagrams from one peer arrives as
		 * one read with its segment size (ss_dgram.seg); a kernel without it gives single
		 * datagrams, which is only slower. */
		(void)setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	}
	struct sockaddr_storage ss;
	ss_addr any;
	memset(&any, 0, sizeof(any));
	any.family = family == AF_INET ? SS_AF_INET : SS_AF_INET6;
	socklen_t sl = (socklen_t)ss_addr_to_sockaddr(&any, port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		int e = errno;
		if (e == EADDRINUSE)
			snprintf(err, errlen, "UDP port %u (%s) is in use: is another IKE daemon running?",
				 port, family == AF_INET ? "IPv4" : "IPv6");
		else
			snprintf(err, errlen, "bind UDP port %u (%s): %s", port,
				 family == AF_INET ? "IPv4" : "IPv6", strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		ss_addr_from_sockaddr((struct sockaddr *)&ss, &any, bound);
	return fd;
}

bool ss_ikesock_open(ss_ikesock *s, uint16_t port, uint16_t natt_port, uint32_t mark,
		     char *err, size_t errlen)
{
	for (int i = 0; i < SS_IKESOCK_N; i++)
		s->fd[i] = -1;
	uint16_t b500 = port, b4500 = natt_port;
	s->fd[SS_IKESOCK_V4_500] = open_one(AF_INET, port, mark, false, &b500, err, errlen);
	if (s->fd[SS_IKESOCK_V4_500] < 0)
		goto fail;
	s->fd[SS_IKESOCK_V4_4500] = open_one(AF_INET, natt_port, mark, true, &b4500, err, errlen);
	if (s->fd[SS_IKESOCK_V4_4500] < 0)
		goto fail;
	s->port = b500;
	s->natt_port = b4500;
	/* IPv6 may be disabled on the host; then we serve IPv4 only.  Same ports as IPv4. */
	char ignore[128];
	s->fd[SS_IKESOCK_V6_500] = open_one(AF_INET6, b500, mark, false, &b500, ignore, sizeof(ignore));
	if (s->fd[SS_IKESOCK_V6_500] >= 0)
		s->fd[SS_IKESOCK_V6_4500] = open_one(AF_INET6, b4500, mark, true, &b4500, ignore, sizeof(ignore));
	if (s->fd[SS_IKESOCK_V6_500] >= 0 && s->fd[SS_IKESOCK_V6_4500] < 0 && errno == EADDRINUSE) {
		snprintf(err, errlen, "UDP port %u (IPv6) is in use", b4500);
		goto fail;
	}
	if (s->fd[SS_IKESOCK_V6_500] < 0 && errno == EADDRINUSE) {
		snprintf(err, errlen, "UDP port %u (IPv6) is in use", b500);
		goto fail;
	}
	return true;
fail:
	ss_ikesock_close(s);
	return false;
}

void ss_ikesock_close(ss_ikesock *s)
{
	for (int i = 0; i < SS_IKESOCK_N; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
		s->fd[i] = -1;
	}
}

static bool is_natt(int which) { return which == SS_IKESOCK_V4_4500 || which == SS_IKESOCK_V6_4500; }

/* Whether control message c is at least want bytes long (CMSG_LEN) and lies inside m's
 * buffer: CMSG_FIRSTHDR checks only that a header fits. */
static bool cm_fits(const struct msghdr *m, const struct cmsghdr *c, size_t want)
{
	size_t at = (size_t)((const char *)c - (const char *)m->msg_control);
	return c->cmsg_len >= want && at <= m->msg_controllen && c->cmsg_len <= m->msg_controllen - at;
}

void ss_ikesock_parse_cmsg(struct msghdr *m, ss_addr *local, uint16_t *seg)
{
	memset(local, 0, sizeof(*local));
	*seg = 0;
	/* The kernel writes these; each is still read only when its length covers what is read
	 * (a short one is skipped), and CMSG_NXTHDR stays inside msg_controllen. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    cm_fits(m, c, CMSG_LEN(sizeof(struct in_pktinfo)))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->family = SS_AF_INET;
			memcpy(local->a, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   cm_fits(m, c, CMSG_LEN(sizeof(struct in6_pktinfo)))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local->family = SS_AF_INET6;
			memcpy(local->a, &pi.ipi6_addr, 16);
		} else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
			   cm_fits(m, c, CMSG_LEN(sizeof(int)))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			*seg = v > 0 && v <= UINT16_MAX ? (uint16_t)v : 0;
		}
	}
}

bool ss_dgram_next(const ss_dgram *d, size_t *off, ss_dgram *out)
{
	if (*off > d->len || (*off == d->len && d->len))
		return false;
	/* No segment size, or one the datagram does not exceed: a single datagram. */
	size_t n = d->seg && d->seg < d->len ? d->seg : d->len;
	if (n > d->len - *off)
		n = d->len - *off;
	*out = *d;
	out->data = d->data + *off;
	out->len = n;
	out->seg = 0;
	out->kind = d->natt ? (uint8_t)ss_natt_classify(out->data, n) : SS_NATT_IKE;
	*off += n ? n : 1; /* an empty datagram is one (malformed) segment */
	return true;
}

#define RECV_BATCH 32

int ss_ikesock_recv(const ss_ikesock *s, int which, uint8_t (*bufs)[65536], ss_dgram *out, int max)
{
	if (which < 0 || which >= SS_IKESOCK_N || s->fd[which] < 0)
		return -1;
	if (max > RECV_BATCH)
		max = RECV_BATCH;
	struct mmsghdr mm[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_storage from[RECV_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[RECV_BATCH];
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < max; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &from[i];
		mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		mm[i].msg_hdr.msg_control = ctl[i].buf;
		mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	int n = recvmmsg(s->fd[which], mm, (unsigned)max, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	uint16_t lport = is_natt(which) ? s->natt_port : s->port;
	for (int i = 0; i < n; i++) {
		ss_dgram *d = &out[i];
		ss_addr_from_sockaddr((struct sockaddr *)&from[i], &d->remote, &d->rport);
		ss_ikesock_parse_cmsg(&mm[i].msg_hdr, &d->local, &d->seg);
		d->lport = lport;
		d->data = bufs[i];
		d->len = mm[i].msg_len;
		d->natt = is_natt(which);
		d->kind = SS_NATT_IKE;
		if (d->natt)
			d->kind = (uint8_t)ss_natt_classify(d->data, d->seg && d->seg < d->len ? d->seg : d->len);
	}
	return n;
}

int ss_ikesock_recv_error(const ss_ikesock *s, int which, uint8_t *buf, size_t bufsize,
			  ss_icmp_report *out)
{
	if (which < 0 || which >= SS_IKESOCK_N || s->fd[which] < 0)
		return -1;
	struct sockaddr_storage to;
	char ctl[512];
	struct iovec iov = { .iov_base = buf, .iov_len = bufsize };
	struct msghdr m = {
		.msg_name = &to, .msg_namelen = sizeof(to),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	ssize_t n = recvmsg(s->fd[which], &m, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	memset(out, 0, sizeof(*out));
	ss_addr_from_sockaddr((struct sockaddr *)&to, &out->remote, &out->rport);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
		bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
		if ((!v4 && !v6) || c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err)))
			continue;
		struct sock_extended_err ee;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		out->origin = ee.ee_origin;
		out->type = ee.ee_type;
		out->code = ee.ee_code;
		out->err = (int)ee.ee_errno;
		/* The offender address follows the structure inside the same control message. */
		const struct sockaddr *off = (const struct sockaddr *)(CMSG_DATA(c) + sizeof(ee));
		struct sockaddr_storage offs;
		size_t room = c->cmsg_len - CMSG_LEN(sizeof(ee));
		if (room > sizeof(offs))
			room = sizeof(offs);
		memset(&offs, 0, sizeof(offs));
		memcpy(&offs, off, room);
		if (offs.ss_family != AF_UNSPEC)
			ss_addr_from_sockaddr((struct sockaddr *)&offs, &out->offender, NULL);
	}
	out->quoted = buf;
	out->quoted_len = (size_t)n;
	return 1;
}

bool ss_ikesock_send(const ss_ikesock *s, const ss_addr *local, uint16_t lport,
		     const ss_addr *remote, uint16_t rport, const uint8_t *data, size_t len)
{
	bool v4 = remote->family == SS_AF_INET;
	bool natt = lport == s->natt_port && lport != s->port;
	int which = v4 ? (natt ? SS_IKESOCK_V4_4500 : SS_IKESOCK_V4_500)
		       : (natt ? SS_IKESOCK_V6_4500 : SS_IKESOCK_V6_500);
	if (s->fd[which] < 0)
		return false;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct sockaddr_storage to;
	socklen_t tl = (socklen_t)ss_addr_to_sockaddr(remote, rport, &to);
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr m = {
		.msg_name = &to, .msg_namelen = tl,
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	if (local && local->family == remote->family) {
		struct cmsghdr *c = (struct cmsghdr *)ctl.buf;
		if (v4) {
			struct in_pktinfo pi;
			memset(&pi, 0, sizeof(pi));
			memcpy(&pi.ipi_spec_dst, local->a, 4);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			m.msg_controllen = CMSG_SPACE(sizeof(pi));
		} else {
			struct in6_pktinfo pi;
			memset(&pi, 0, sizeof(pi));
			memcpy(&pi.ipi6_addr, local->a, 16);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			m.msg_controllen = CMSG_SPACE(sizeof(pi));
		}
		m.msg_control = ctl.buf;
	}
	/* With IP_RECVERR an ICMP error about an earlier datagram also leaves a pending socket
	 * error, which the next send returns instead of sending (and thereby clears): that is
	 * not about this datagram, so it is sent again. */
	for (int tries = 0; tries < 3; tries++) {
		if (sendmsg(s->fd[which], &m, MSG_DONTWAIT) == (ssize_t)len)
			return true;
		if (errno != EINTR && errno != ECONNREFUSED && errno != EHOSTUNREACH &&
		    errno != ENETUNREACH && errno != EHOSTDOWN && errno != EPROTO)
			break;
	}
	return false;
}
