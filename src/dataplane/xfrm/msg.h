/* XFRM netlink messages: what softsa asks of the kernel's IPsec (states = SAs, policies) and
 * what the kernel tells it back (replies, dumps, ACQUIRE and EXPIRE events).
 *
 * Builders are pure: they write one netlink request into the caller's buffer and return its
 * length (0 when it does not fit or the input is invalid).  The parser reads the kernel's
 * bytes only through the bounds-checked cursor and turns each message into an ss_xfrm_event.
 *
 * Ownership.  softsad shares the kernel's tables with other XFRM users (strongSwan, `ip
 * xfrm` by hand), so everything it installs carries its mark of ownership, and on start it
 * removes only that:
 *   states    reqid in [SS_XFRM_REQID_BASE, + SS_XFRM_REQID_SPAN)
 *   policies  index in [SS_XFRM_INDEX_BASE, + SS_XFRM_SLOTS * 8) (we choose the index:
 *             slot << 3 | direction, as the kernel requires) and priority in
 *             [SS_XFRM_PRIO_BASE, + SS_XFRM_PRIO_SPAN); both must hold.
 * XFRM marks cannot serve: a policy or state with a mark matches only marked packets. */
#ifndef SS_DATAPLANE_XFRM_MSG_H
#define SS_DATAPLANE_XFRM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

#define SS_XFRM_REQID_BASE 0x5f5a0000u
#define SS_XFRM_REQID_SPAN 0x00010000u
#define SS_XFRM_INDEX_BASE 0x5f5a0000u
#define SS_XFRM_SLOTS 0x00020000u
#define SS_XFRM_PRIO_BASE 0x00050000u
#define SS_XFRM_PRIO_SPAN 0x00010000u

bool ss_xfrm_reqid_ours(uint32_t reqid);
bool ss_xfrm_policy_ours(uint32_t index, uint32_t priority);

enum ss_xfrm_mode { SS_XFRM_TRANSPORT = 0, SS_XFRM_TUNNEL = 1 };     /* XFRM_MODE_* */
enum ss_xfrm_dir { SS_XFRM_IN = 0, SS_XFRM_OUT = 1, SS_XFRM_FWD = 2 }; /* XFRM_POLICY_* */

/* The ESP transforms softsa negotiates (RFC 4106 and RFC 4868 names as the kernel knows them). */
enum ss_xfrm_enc {
	SS_XFRM_AES_GCM16 = 1, /* rfc4106(gcm(aes)): key + 4-byte salt, ICV 16 */
	SS_XFRM_AES_CBC,       /* cbc(aes) with an HMAC below */
};
enum ss_xfrm_integ {
	SS_XFRM_INTEG_NONE = 0,
	SS_XFRM_HMAC_SHA256_128, /* hmac(sha256), truncated to 128 bits (RFC 4868) */
	SS_XFRM_HMAC_SHA384_192,
	SS_XFRM_HMAC_SHA512_256,
};

/* Limits on bytes, packets and seconds (since added / since first use); 0 = none. */
typedef struct ss_xfrm_limits {
	uint64_t bytes, packets, add_seconds, use_seconds;
} ss_xfrm_limits;

/* A traffic selector; a zero prefix length is any address, proto 0 any protocol, port 0
 * any port. */
typedef struct ss_xfrm_sel {
	ss_prefix src, dst;
	uint8_t proto;
	uint16_t sport, dport;
	/* The selector's `user` field: never matched against packets, but part of what makes two
	 * selectors the same to the kernel (one policy per selector and direction), so a tag
	 * lets a peer's policy share its addresses with a filter's. */
	uint32_t tag;
} ss_xfrm_sel;

typedef struct ss_xfrm_sa {
	ss_addr src, dst; /* the outer (ESP) addresses */
	uint32_t spi;     /* host order */
	uint32_t reqid;   /* ours: see above */
	uint8_t mode;     /* enum ss_xfrm_mode */
	uint8_t enc;      /* enum ss_xfrm_enc */
	uint8_t integ;    /* enum ss_xfrm_integ; NONE with GCM */
	uint8_t enc_key[36];
	uint8_t enc_key_len; /* GCM: 20, 28 or 36 (salt included); CBC: 16, 24 or 32 */
	uint8_t integ_key[64];
	uint8_t integ_key_len;
	bool esn;
	uint32_t replay_window; /* packets; 0 = no replay protection */
	/* UDP encapsulation (RFC 3948) when encap_dport != 0: ports in host order. */
	uint16_t encap_sport, encap_dport;
	ss_xfrm_limits soft, hard;
	ss_xfrm_sel sel; /* inner traffic; all zero = any (usual in transport mode) */
	uint32_t acquire_seq; /* the ACQUIRE this SA answers (its larval state goes), or 0 */
} ss_xfrm_sa;

enum ss_xfrm_action {
	SS_XFRM_PROTECT = 0, /* ESP by the template; no SA yet -> ACQUIRE */
	SS_XFRM_BYPASS,      /* clear */
	SS_XFRM_BLOCK,       /* dropped */
};

typedef struct ss_xfrm_policy {
	ss_xfrm_sel sel;
	uint8_t dir;      /* enum ss_xfrm_dir */
	uint8_t action;   /* enum ss_xfrm_action */
	uint32_t slot;    /* < SS_XFRM_SLOTS: the policy's index is ours and stable */
	uint16_t prio;    /* added to SS_XFRM_PRIO_BASE (the span is 2^16); lower wins */
	/* The policy is removed after this many seconds without a packet (0 = never): how a
	 * soft association's bypass expires when idle without the daemon in the packet path
	 * (the kernel refreshes a policy's use time on every lookup). */
	uint32_t idle_seconds;
	/* PROTECT: the template (the SA must have this reqid and mode; tunnel mode also its
	 * outer addresses tsrc -> tdst). */
	uint32_t reqid;
	uint8_t mode;
	ss_addr tsrc, tdst;
} ss_xfrm_policy;

/* Builders.  seq is the netlink sequence number; every request asks for an ACK. */
size_t ss_xfrm_build_sa(uint8_t *buf, size_t cap, uint32_t seq, const ss_xfrm_sa *sa, bool update);
/* DELSA / GETSA of the ESP state (dst, spi). */
size_t ss_xfrm_build_sa_id(uint8_t *buf, size_t cap, uint32_t seq, bool get,
			   const ss_addr *dst, uint32_t spi);
size_t ss_xfrm_build_policy(uint8_t *buf, size_t cap, uint32_t seq, const ss_xfrm_policy *p,
			    bool update);
/* DELPOLICY by index. */
size_t ss_xfrm_build_policy_del(uint8_t *buf, size_t cap, uint32_t seq, uint32_t index, uint8_t dir);
/* GETPOLICY (get) or DELPOLICY by index and direction. */
size_t ss_xfrm_build_policy_id(uint8_t *buf, size_t cap, uint32_t seq, bool get, uint32_t index,
			       uint8_t dir);
/* A dump of every state (states = true) or policy. */
size_t ss_xfrm_build_dump(uint8_t *buf, size_t cap, uint32_t seq, bool states);
/* XFRM_MSG_ALLOCSPI for the state of (src, dst, reqid, mode): the kernel gives the larval state
 * of an ACQUIRE (or a new one) an SPI in [SS_XFRM_LARVAL_SPI_MIN, MAX], after which it has an id
 * and can be deleted; the reply is the state (NEWSA). */
#define SS_XFRM_LARVAL_SPI_MIN 0xffe00000u
#define SS_XFRM_LARVAL_SPI_MAX 0xffefffffu
size_t ss_xfrm_build_allocspi(uint8_t *buf, size_t cap, uint32_t seq, const ss_addr *src,
			      const ss_addr *dst, uint32_t reqid, uint8_t mode);
uint32_t ss_xfrm_policy_index(uint32_t slot, uint8_t dir);

/* What the parser makes of one kernel message. */
enum ss_xfrm_ev_kind {
	SS_XFRM_EV_ACK = 1, /* NLMSG_ERROR: err 0 = success, else -errno */
	SS_XFRM_EV_DONE,    /* end of a dump */
	SS_XFRM_EV_SA,      /* NEWSA: a dump entry or GETSA's reply */
	SS_XFRM_EV_POLICY,  /* NEWPOLICY: a dump entry */
	SS_XFRM_EV_ACQUIRE, /* a PROTECT policy found no SA: negotiate one */
	SS_XFRM_EV_EXPIRE,  /* an SA reached its soft or hard limit */
	SS_XFRM_EV_POLEXPIRE, /* a policy expired (idle): a soft association ended */
};

typedef struct ss_xfrm_sa_info {
	ss_addr src, dst;
	uint32_t spi; /* host order */
	uint8_t proto, mode;
	uint32_t reqid;
	uint64_t bytes, packets;  /* so far */
	uint64_t add_time, use_time; /* seconds since the epoch; use 0 = never used */
	uint32_t replay_drops, integrity_failures;
	uint64_t seq_out, seq_in; /* highest sequence numbers (with ESN: 64 bits) */
} ss_xfrm_sa_info;

typedef struct ss_xfrm_event {
	uint8_t kind;  /* enum ss_xfrm_ev_kind */
	/* The request's sequence number (ACK, DONE, replies); ACQUIRE: the acquire's own, which
	 * the SA that answers it must carry. */
	uint32_t seq;
	int err;       /* ACK */
	bool hard;     /* EXPIRE, POLEXPIRE */
	ss_xfrm_sa_info sa; /* SA, EXPIRE */
	/* POLICY, ACQUIRE, POLEXPIRE: the policy (its add and last-use times in sa.add_time,
	 * sa.use_time); ACQUIRE: the packet's selector in sel and the template's addresses in
	 * sa.src/sa.dst with its reqid. */
	ss_xfrm_sel sel;
	uint32_t index, priority;
	uint8_t dir, action; /* action: enum ss_xfrm_action (BYPASS for a policy without template) */
} ss_xfrm_event;

/* Parses a buffer of netlink messages as recv(2) returned it into at most max events;
 * messages that are not understood are skipped, malformed ones counted and skipped.
 * *used (may be NULL) is how many bytes were consumed: less than len only when out filled
 * up, and the caller parses the rest in the next call. */
size_t ss_xfrm_parse(const uint8_t *buf, size_t len, ss_xfrm_event *out, size_t max,
		     uint64_t *malformed, size_t *used);

#endif
