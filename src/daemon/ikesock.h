/* The daemon's IKE sockets: UDP 500 and 4500 for IPv4 and IPv6, with the local address of
 * every datagram (so that replies leave from the address the peer used) and ICMP errors read
 * from the socket error queue (IP_RECVERR), which is how a peer without IKE is recognised. */
#ifndef SS_DAEMON_IKESOCK_H
#define SS_DAEMON_IKESOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

enum { SS_IKESOCK_V4_500, SS_IKESOCK_V4_4500, SS_IKESOCK_V6_500, SS_IKESOCK_V6_4500, SS_IKESOCK_N };

/* Send and receive buffer of the NAT-T (4500) sockets, which carry ESP in UDP. */
#define SS_IKESOCK_NATT_BUF (4 << 20)

typedef struct ss_ikesock {
	int fd[SS_IKESOCK_N]; /* -1 where unavailable (e.g. IPv6 disabled) */
	uint16_t port, natt_port;
} ss_ikesock;

/* What arrived on a NAT-T port (RFC 3948 §2): IKE behind a 4-byte zero non-ESP marker, ESP
 * (a non-zero SPI first), or a one-byte 0xff NAT keepalive. */
enum ss_natt_kind { SS_NATT_IKE, SS_NATT_ESP, SS_NATT_KEEPALIVE, SS_NATT_MALFORMED };
enum ss_natt_kind ss_natt_classify(const uint8_t *p, size_t len);

typedef struct ss_dgram {
	ss_addr local, remote;
	uint16_t lport, rport;
	uint8_t *data; /* into the caller's buffer, exactly as on the wire (IKE on a NAT-T port
	                * keeps its non-ESP marker: the IKE engine expects it) */
	size_t len;
	uint8_t kind;  /* enum ss_natt_kind (of the first segment); SS_NATT_IKE for port 500 */
	bool natt;     /* read from a NAT-T port */
	/* UDP GRO: the kernel coalesced datagrams of seg bytes each (the last may be shorter)
	 * into this one; 0: a single datagram.  Walk the segments with ss_dgram_next. */
	uint16_t seg;
} ss_dgram;

typedef struct ss_icmp_report {
	ss_addr offender;       /* who sent the ICMP error */
	ss_addr remote;         /* where our datagram was going */
	uint16_t rport;
	uint8_t origin, type, code; /* SO_EE_ORIGIN_ICMP/ICMP6, ICMP type and code */
	int err;                /* errno equivalent, e.g. ECONNREFUSED */
	const uint8_t *quoted;  /* what the error quoted of our datagram's UDP payload */
	size_t quoted_len;
} ss_icmp_report;

/* Opens the sockets (port 500/4500 unless told otherwise; 0 = ephemeral, for tests).
 * mark, when non-zero, is set as SO_MARK so that the dataplane lets IKE bypass.
 * Returns false with a message in err, e.g. "UDP port 500 is in use". */
bool ss_ikesock_open(ss_ikesock *s, uint16_t port, uint16_t natt_port, uint32_t mark,
		     char *err, size_t errlen);
void ss_ikesock_close(ss_ikesock *s);

/* Reads up to max datagrams from one socket without blocking; returns how many (0 when
 * none, -1 on error).  Buffers: bufs[i] of bufsize bytes back out[i].data. */
int ss_ikesock_recv(const ss_ikesock *s, int which, uint8_t (*bufs)[65536], ss_dgram *out, int max);
/* The segments of d, one per call from *off = 0: each a datagram as sent (kind classified on
 * its own), the whole of d when it has no segment size.  False when none is left. */
bool ss_dgram_next(const ss_dgram *d, size_t *off, ss_dgram *out);
struct msghdr;
/* What recvmsg's control messages say: our address (IP_PKTINFO / IPV6_PKTINFO) and the UDP
 * GRO segment size (0: none).  Lengths are checked; unknown or short messages are skipped. */
void ss_ikesock_parse_cmsg(struct msghdr *m, ss_addr *local, uint16_t *seg);
/* Reads one ICMP error from the socket's error queue: 1 read, 0 none, -1 error. */
int ss_ikesock_recv_error(const ss_ikesock *s, int which, uint8_t *buf, size_t bufsize,
			  ss_icmp_report *out);
/* Sends a UDP payload as given (IKE on the NAT-T port already carries its non-ESP marker)
 * from local:lport (the address must be ours; an unspecified local lets the kernel
 * choose). */
bool ss_ikesock_send(const ss_ikesock *s, const ss_addr *local, uint16_t lport,
		     const ss_addr *remote, uint16_t rport, const uint8_t *data, size_t len);

#endif
