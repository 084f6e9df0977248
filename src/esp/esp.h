/* ESP (RFC 4303) for the userspace datapath: security associations, the SA database (SAD),
 * batch encapsulation and decapsulation, lifetimes.  A library with no sockets and no clock:
 * the caller passes "now" (base/clock.h) and receives expiry events to hand to the IKE engine.
 *
 * Packets are processed in place in caller-owned buffers (no allocation per packet): encap
 * needs SS_ESP_HEADROOM bytes before the inner packet and SS_ESP_TAILROOM after it; decap of
 * a transport-mode SA needs SS_ESP_DECAP_HEADROOM before the ESP header to rebuild the IP
 * header.  Batch calls take N packets so the dataplane can use sendmmsg/recvmmsg and GSO.
 *
 * Not thread-safe: one SAD per datapath thread, or a lock around it.
 *
 * How a datapath uses it:
 *   sad = ss_esp_sad_new();
 *   out = ss_esp_sad_add(sad, &params_out, now, &why);   // from the IKE engine's CHILD_SA
 *   in  = ss_esp_sad_add(sad, &params_in, now, &why);
 *   outbound: read inner packets at buf + SS_ESP_HEADROOM, ss_esp_encap_batch(out, ...) (or
 *     _flags with SS_ESP_ENCAP_ESP_ONLY for a UDP/ESP socket), send pkts with result OK;
 *   inbound: ESP from a UDP 4500 socket (after IKE's non-ESP-marker check) or a raw socket
 *     (ss_esp_parse_outer), ss_esp_decap_batch(sad, ...), write OK ones to the TUN device;
 *   timers: call ss_esp_sad_tick(sad, now) by the deadline it returns; after any call, drain
 *     ss_esp_sad_events(): SOFT -> ask IKE to rekey, HARD -> ss_esp_sad_del (and tell IKE).
 *
 * Cost: the AES-GCM path makes no allocation per packet (tests/unit/esp/test_alloc.c counts
 * libcrypto's).  CBC + HMAC makes about two inside OpenSSL 3.0 (re-initialising HMAC
 * duplicates the digest context), one more reason GCM is the fast path; bench/esp_micro
 * prints both next to the bare EVP cost. */
#ifndef SS_ESP_ESP_H
#define SS_ESP_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/clock.h"
#include "base/iana.h"

/* Outer IPv6 (40) + UDP (8) + ESP (8) + CBC IV (16), rounded up. */
#define SS_ESP_HEADROOM 80
/* Block padding (<= 15) + trailer (2) + largest ICV (32), rounded up. */
#define SS_ESP_TAILROOM 64
/* Room for an IPv6 header in front of the ESP header when rebuilding a transport packet. */
#define SS_ESP_DECAP_HEADROOM 40

/* Transforms are IKEv2 transform IDs (base/iana.h: SS_ENCR_*, SS_INTEG_*) so the IKE engine
 * can pass what it negotiated without a table. */

enum ss_esp_dir { SS_ESP_IN = 0, SS_ESP_OUT = 1 };
enum ss_esp_mode { SS_ESP_TRANSPORT = 0, SS_ESP_TUNNEL = 1 };

/* A traffic selector as IKEv2 carries it (RFC 7296 §3.13.1): an address range, an IP
 * protocol (0 = any) and a port range of that side.  For ICMP/ICMPv6 the "port" is
 * type << 8 | code (RFC 4301 §4.4.1.3). */
typedef struct ss_esp_ts {
	ss_addr lo, hi;        /* inclusive, same family */
	uint8_t proto;         /* 0 = any */
	uint16_t port_lo, port_hi;
} ss_esp_ts;

#define SS_ESP_MAX_TS 4

/* Lifetimes (RFC 4301 §4.4.2.1): 0 = no limit.  Soft asks for a rekey, hard deletes. */
typedef struct ss_esp_lifetime {
	uint64_t soft_seconds, hard_seconds;
	uint64_t soft_bytes, hard_bytes;
} ss_esp_lifetime;

/* Everything needed to create an SA; keys are copied and the copy wiped on free. */
typedef struct ss_esp_params {
	uint32_t spi;             /* network value as a number; >= 256 */
	uint8_t dir;              /* enum ss_esp_dir */
	uint8_t mode;             /* enum ss_esp_mode */
	uint16_t encr;            /* enum ss_encr_id */
	uint16_t integ;           /* enum ss_integ_id; NONE with GCM */
	const uint8_t *encr_key;  /* AES key, then for GCM the 4-byte salt (RFC 4106 §8.1) */
	size_t encr_key_len;      /* CBC: 16/32; GCM: 20/36 */
	const uint8_t *integ_key;
	size_t integ_key_len;     /* 32/48/64 for SHA-256/384/512 */
	bool esn;                 /* 64-bit extended sequence numbers, RFC 4303 §2.2.1 */
	/* Outer endpoints: tunnel mode puts them in the outer header; both modes use them to
	 * fill the pkt's outer addresses.  "local" is our side whatever the direction. */
	ss_addr local, remote;
	/* RFC 3948 UDP encapsulation: both non-zero to wrap ESP in UDP (on encap); on decap the
	 * caller strips the UDP header (see ss_esp_parse_outer). */
	uint16_t udp_local_port, udp_remote_port;
	/* Selectors of the traffic this SA carries, our side and the peer's (RFC 4301 §4.4.1).
	 * None at all means "anything" (a host-to-host transport SA with no restriction). */
	ss_esp_ts local_ts[SS_ESP_MAX_TS], remote_ts[SS_ESP_MAX_TS];
	uint8_t n_local_ts, n_remote_ts;
	ss_esp_lifetime life;
	/* Confidentiality-only CBC (RFC 4303 §3.2.2 allows it, RFC 8221 says MUST NOT): only the
	 * RFC 3602 known-answer packets need it; IKE never negotiates it. */
	bool allow_no_integrity;
	void *user;               /* the caller's handle for this SA, returned in events */
} ss_esp_params;

/* What happened to one packet.  Decap failures each have their own counter. */
enum ss_esp_result {
	SS_ESP_OK = 0,
	SS_ESP_E_NOSA,       /* no inbound SA with this SPI */
	SS_ESP_E_REPLAY,     /* sequence number seen already or left of the window */
	SS_ESP_E_AUTH,       /* ICV / AEAD tag did not verify */
	SS_ESP_E_MALFORMED,  /* too short, bad lengths, inner packet not a valid IP packet */
	SS_ESP_E_PAD,        /* padding bytes not 1,2,3.. or pad length too long */
	SS_ESP_E_SELECTOR,   /* inner packet outside the SA's traffic selectors */
	SS_ESP_E_DUMMY,      /* next header 59: a TFC dummy packet, dropped silently (§2.6) */
	SS_ESP_E_EXPIRED,    /* SA past its hard lifetime or out of sequence numbers */
	SS_ESP_E_NOROOM,     /* caller's buffer lacks head/tailroom */
	SS_ESP_E_UNSUPPORTED,/* e.g. transport mode over IPv6 extension headers, fragments */
	SS_ESP_E_CRYPTO,     /* the crypto library failed (should not happen) */
	SS_ESP_E_ECN,        /* outer CE over a Not-ECT inner packet: RFC 6040 §4.2 drops it */
	SS_ESP_E_COUNT
};
const char *ss_esp_result_name(int r);

/* One packet in a batch: bytes at base[off .. off+len). */
typedef struct ss_esp_pkt {
	uint8_t *base;
	uint32_t cap, off, len;
	/* Outer addresses and UDP ports (0 = plain ESP): filled by encap and by
	 * ss_esp_parse_outer; decap of transport mode uses them to rebuild the IP header. */
	ss_addr src, dst;
	uint16_t sport, dport;
	uint16_t outer_hdr_len;   /* encap: bytes of IP (+UDP) header before the ESP header */
	/* Outer TOS / traffic class: set by encap and by ss_esp_parse_outer (or by the caller from
	 * IP_RECVTOS); tunnel decap applies its ECN bits to the inner packet (RFC 6040). */
	uint8_t outer_tos;
	int16_t result;           /* enum ss_esp_result */
	struct ss_esp_sa *sa;     /* decap: the SA found by SPI (or NULL) */
} ss_esp_pkt;

typedef struct ss_esp_counters {
	uint64_t packets, bytes;          /* good packets and their inner bytes */
	uint64_t errors[SS_ESP_E_COUNT];  /* by enum ss_esp_result */
} ss_esp_counters;

enum ss_esp_event_kind { SS_ESP_EV_SOFT = 1, SS_ESP_EV_HARD = 2 };
enum ss_esp_event_reason { SS_ESP_WHY_TIME = 1, SS_ESP_WHY_BYTES = 2, SS_ESP_WHY_SEQ = 3 };

/* Soft: ask IKE to rekey.  Hard: the SA no longer passes traffic; delete it.  Each kind is
 * reported at most once per SA. */
typedef struct ss_esp_event {
	uint8_t kind;    /* enum ss_esp_event_kind */
	uint8_t reason;  /* enum ss_esp_event_reason */
	uint8_t dir;
	uint32_t spi;
	void *user;
} ss_esp_event;

typedef struct ss_esp_sa ss_esp_sa;
typedef struct ss_esp_sad ss_esp_sad;

ss_esp_sad *ss_esp_sad_new(void);
/* Frees every SA (keys wiped). */
void ss_esp_sad_free(ss_esp_sad *sad);
/* Validates params and creates the SA (crypto contexts made here, once).  NULL with *why set
 * on bad parameters or a duplicate (spi, dir). */
ss_esp_sa *ss_esp_sad_add(ss_esp_sad *sad, const ss_esp_params *p, ss_time now, const char **why);
void ss_esp_sad_del(ss_esp_sad *sad, ss_esp_sa *sa);
ss_esp_sa *ss_esp_sad_find(const ss_esp_sad *sad, uint32_t spi, int dir);
size_t ss_esp_sad_count(const ss_esp_sad *sad);
/* Packets that could not be tied to an SA: no SA (E_NOSA) and too short to hold an SPI. */
const ss_esp_counters *ss_esp_sad_counters(const ss_esp_sad *sad);

/* Checks time lifetimes, queues their events; returns the next time to call it (SS_NEVER if
 * no SA has a time limit). */
ss_time ss_esp_sad_tick(ss_esp_sad *sad, ss_time now);
/* Drains up to max queued events (from ticks and from the datapath); returns how many. */
size_t ss_esp_sad_events(ss_esp_sad *sad, ss_esp_event *out, size_t max);

uint32_t ss_esp_sa_spi(const ss_esp_sa *sa);
int ss_esp_sa_dir(const ss_esp_sa *sa);
void *ss_esp_sa_user(const ss_esp_sa *sa);
const ss_esp_counters *ss_esp_sa_counters(const ss_esp_sa *sa);
/* Outbound: the last sequence number used (0 before the first packet). Inbound: the top of
 * the replay window. */
uint64_t ss_esp_sa_seq(const ss_esp_sa *sa);
bool ss_esp_sa_dead(const ss_esp_sa *sa);
/* The parameters the SA was made with, for display (key pointers NULL: keys are not kept
 * outside the crypto contexts). */
const ss_esp_params *ss_esp_sa_params(const ss_esp_sa *sa);
/* When the time lifetimes run out (SS_NEVER if unlimited), and bytes carried so far. */
void ss_esp_sa_lifetime(const ss_esp_sa *sa, ss_time *soft_at, ss_time *hard_at, uint64_t *bytes);
/* Bytes of overhead encap adds to an inner packet of inner_len bytes (for MTU decisions). */
size_t ss_esp_sa_overhead(const ss_esp_sa *sa, size_t inner_len);

/* Encapsulates n inner IP packets (IPv4/IPv6) in place with an outbound SA.  Each pkt gets
 * its result; good ones become the outer packet (IP header first, outer_hdr_len bytes of
 * IP[+UDP] before the ESP header).  Returns how many succeeded. */
size_t ss_esp_encap_batch(ss_esp_sa *sa, ss_esp_pkt *pkts, size_t n, ss_time now);

enum ss_esp_encap_flags {
	/* Output starts at the ESP header (outer_hdr_len 0): for a UDP socket (which adds IP and
	 * UDP) or a raw IPPROTO_ESP socket (which adds IP); src/dst/ports still say where to.
	 * Needs only 8 + IV bytes of headroom, so in tunnel mode equal-size inner packets placed
	 * at a stride of the ESP size come out back to back -- one UDP GSO (UDP_SEGMENT) send.
	 * (Not in transport mode: its inner header, dropped, sits where the previous packet's
	 * ICV goes, so such a batch would have to be encapsulated last to first.) */
	SS_ESP_ENCAP_ESP_ONLY = 1,
};
size_t ss_esp_encap_batch_flags(ss_esp_sa *sa, ss_esp_pkt *pkts, size_t n, ss_time now, unsigned flags);

/* Decapsulates n ESP packets (each starting at the ESP header, src/dst set) in place, in the
 * RFC 4303 §3.4 order: SPI lookup, replay pre-check, ICV, window update, padding and next
 * header, selectors.  Good ones become the inner IP packet.  Returns how many succeeded. */
size_t ss_esp_decap_batch(ss_esp_sad *sad, ss_esp_pkt *pkts, size_t n, ss_time now);

/* Parses an outer IPv4/IPv6 header (and a UDP header if the protocol is UDP) in front of an
 * ESP packet: sets src/dst/sport/dport and advances off/len to the ESP header.  Returns
 * SS_ESP_OK, SS_ESP_E_MALFORMED, or SS_ESP_E_UNSUPPORTED for packets that are not ESP
 * (another protocol, a NAT keepalive, or IKE behind a non-ESP marker). */
int ss_esp_parse_outer(ss_esp_pkt *pkt);

#endif
