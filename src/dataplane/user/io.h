/* The backend's sockets and their batched I/O (sendmmsg/recvmmsg): raw sockets that
 * release whole IP packets past the capture, raw IP protocol 50 sockets, and optional UDP
 * sockets for ESP-in-UDP (RFC 3948).  Every socket carries the bypass mark. */
#ifndef SS_DATAPLANE_IO_H
#define SS_DATAPLANE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/user/port.h"

/* Batches larger than this are sent in several calls. */
enum { SS_IO_BATCH = 64 };

/* SOCK_RAW, non-blocking, marked.  proto IPPROTO_RAW sends whole packets (header included).
 * Returns the descriptor or a negative errno. */
int ss_io_raw_socket(int family, int proto, uint32_t mark);
/* A UDP socket bound to port on the wildcard address (IPv6 only for AF_INET6), marked. */
int ss_io_udp_socket(int family, uint16_t port, uint32_t mark);

/* Whole IP packets through the IPPROTO_RAW sockets (fd4/fd6, -1 when absent).  Packets
 * that do not parse, that the kernel refuses, or that find the socket buffer full are
 * dropped and counted in *errs.  Returns n. */
size_t ss_io_send_whole(int fd4, int fd6, const ss_dpu_pkt *pkts, size_t n, uint64_t *errs);
/* ESP payloads to pkts[i].remote, through fd (raw ESP: port ignored; UDP: to pkts[i].port).
 * Returns n; refusals counted in *errs as for ss_io_send_whole. */
size_t ss_io_send_to(int fd, const ss_dpu_pkt *pkts, size_t n, uint64_t *errs);

/* ESP-in-UDP payloads to pkts[i].remote:port through a UDP socket.  Consecutive packets to
 * one destination, all of one size but a shorter last, leave as one UDP GSO send
 * (UDP_SEGMENT): one trip through the stack for up to 64 datagrams, the second-biggest win
 * measured on this machine.  *gso counts such sends.  Returns n. */
size_t ss_io_send_udp(int fd, const ss_dpu_pkt *pkts, size_t n, uint64_t *errs, uint64_t *gso);

enum ss_io_rx { SS_IO_RX_RAW4, SS_IO_RX_RAW6, SS_IO_RX_UDP };
/* Receives up to n datagrams from fd and fills remote/local/port/kind/data/len; returns
 * how many usable ones (malformed ones counted in *bad and skipped), 0 when none. */
int ss_io_recv(int fd, enum ss_io_rx how, ss_dpu_pkt *pkts, size_t n, uint64_t *bad);

#endif
