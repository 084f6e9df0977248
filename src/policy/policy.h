/* The IPsec policy model, shaped like Windows 2000's: a policy is a set of rules; a rule
 * ties a filter list to a filter action and to authentication methods.  The loader
 * (load.c) builds it from YAML; built-in policies (builtin.c) build it from code.
 * Everything a rule points to is owned by the ss_policy and freed with it. */
#ifndef SS_POLICY_POLICY_H
#define SS_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/iana.h"
#include "ike/schedule.h"

/* Where something was written in the policy file (1-based); 0 for built-in policies. */
typedef struct ss_srcloc {
	unsigned line, col;
} ss_srcloc;

enum ss_ep_kind {
	SS_EP_ANY = 0,  /* any address of either family */
	SS_EP_ME,       /* the local side of the packet (src outbound, dst inbound) */
	SS_EP_PREFIX,   /* an address or CIDR prefix (DNS names are resolved to these at load) */
};

typedef struct ss_endpoint {
	uint8_t kind; /* enum ss_ep_kind */
	ss_prefix prefix;
} ss_endpoint;

typedef struct ss_port_range {
	uint16_t lo, hi; /* inclusive; 0..65535 means any */
} ss_port_range;

#define SS_PROTO_ANY (-1)

typedef struct ss_filter {
	ss_endpoint src, dst;
	int proto;            /* SS_PROTO_ANY or 0..255 */
	ss_port_range sport, dport;
	bool mirrored;        /* default true: the reverse filter is implied */
	char *description;    /* may be NULL */
	ss_srcloc loc;
} ss_filter;

typedef struct ss_filter_list {
	char *name;
	ss_filter *filters;
	size_t n_filters;
	ss_srcloc loc;
} ss_filter_list;

enum ss_action_kind { SS_ACT_PERMIT = 0, SS_ACT_BLOCK, SS_ACT_NEGOTIATE };

/* IKEv2 transform IDs (base/iana.h) so that no translation table is needed. */

/* One ESP security method of a negotiate action, in the administrator's order. */
typedef struct ss_sec_method {
	uint16_t encr;       /* enum ss_encr_id */
	uint16_t key_bits;   /* 128 or 256 */
	uint16_t integ;      /* enum ss_integ_id; NONE with GCM */
	uint64_t life_seconds; /* 0 = default (3600) */
	uint64_t life_bytes;   /* 0 = no byte limit */
	ss_srcloc loc;
} ss_sec_method;

/* When ICMP errors (e.g. port unreachable) answer our IKE_SA_INIT, may the fallback come
 * before the full silent schedule?  ICMP is unauthenticated: see doc/policy.md, "Threat
 * model of the fallback". */
enum ss_icmp_fallback {
	SS_ICMP_FALLBACK_FAST = 0, /* soft as soon as the errors are in (not before min_fallback);
				    * a real IKE answer until the full schedule ends still wins */
	SS_ICMP_FALLBACK_FULL,     /* no clear packet before the full silent schedule is over */
};

typedef struct ss_filter_action {
	char *name;
	uint8_t kind; /* enum ss_action_kind */
	/* The rest applies to SS_ACT_NEGOTIATE only. */
	ss_sec_method *methods;
	size_t n_methods;
	uint16_t pfs_group;          /* session key PFS: SS_DH_NONE = off */
	bool accept_unsecured;       /* "Accept unsecured communication, but always respond using IPsec" */
	bool fallback_to_clear;      /* "Allow unsecured communication with non-IPsec-aware computers" */
	bool discovery;              /* send in the clear while negotiating, move each flow to ESP once up */
	bool fallback_after_secured; /* allow fallback even for peers that completed IKE recently */
	uint32_t soft_idle_lifetime; /* seconds a soft association lives without traffic; default 300 */
	uint8_t icmp_fallback;       /* enum ss_icmp_fallback; default fast */
	ss_srcloc loc;
} ss_filter_action;

enum ss_auth_kind { SS_AUTH_KIND_PSK = 1, SS_AUTH_KIND_CERT = 2 };


typedef struct ss_identity {
	uint8_t type; /* enum ss_ike_id_type (base/iana.h); NONE = our/their IP address */
	char *value;  /* text form: address, name, or key id */
} ss_identity;

struct ss_ike_cred;

/* `certificate:` of an auth method: the files as resolved paths, where each was written,
 * and the credential loaded from them (ike/cert.h; NULL when key files are skipped). */
typedef struct ss_cert_method {
	char *ca, *cert, *key, *crl;   /* crl may be NULL */
	char *peer_id;                 /* pattern, or NULL: a SAN holds the peer's address */
	ss_srcloc ca_loc, cert_loc, key_loc, crl_loc;
	struct ss_ike_cred *cred;      /* one reference per method that holds it */
} ss_cert_method;

typedef struct ss_auth_method {
	uint8_t kind;        /* enum ss_auth_kind */
	uint8_t *secret;     /* PSK bytes; wiped when the policy is freed */
	size_t secret_len;
	ss_identity local_id, remote_id;
	ss_cert_method cert; /* SS_AUTH_KIND_CERT */
	ss_srcloc loc;
} ss_auth_method;

/* ESP in UDP (RFC 3948): `auto` moves to UDP 4500 only when NAT detection (RFC 7296 §2.23)
 * sees a NAT; `always` makes both sides move even without one (we pretend to be behind a
 * NAT, which §2.23 allows), so that ESP leaves through a UDP socket and its batched, UDP
 * GSO send path.  A rule's INHERIT takes the policy's `ike: udp_encap`. */
enum ss_udp_encap { SS_UDP_ENCAP_INHERIT = 0, SS_UDP_ENCAP_AUTO, SS_UDP_ENCAP_ALWAYS };

typedef struct ss_rule {
	char *name;
	const ss_filter_list *list;
	const ss_filter_action *action;
	ss_auth_method *auth;        /* in order of preference */
	size_t n_auth;
	bool tunnel;                 /* false: transport mode */
	ss_addr tunnel_endpoint;     /* valid when tunnel */
	uint16_t tcp_mss_clamp;      /* tunnel: SYNs through it get at most this MSS; 0: none */
	/* Liveness (RFC 7296 §2.4): seconds our protected traffic may go unanswered before
	 * an INFORMATIONAL check; 0: the default (SS_DEFAULT_DPD_DELAY), SS_DPD_NEVER: none. */
	uint32_t dpd_delay;
	uint8_t udp_encap;           /* enum ss_udp_encap; INHERIT: the policy's */
	ss_srcloc loc;
} ss_rule;

#define SS_DEFAULT_DPD_DELAY 30
#define SS_DPD_NEVER UINT32_MAX
/* The rule's dpd_delay in seconds, 0 for none. */
uint32_t ss_rule_dpd_delay(const ss_rule *r);

struct ss_policy;
/* Whether negotiations under rule r (NULL: the Default Response rule) force ESP in UDP:
 * the rule's udp_encap, else the policy's. */
bool ss_rule_udp_encap_always(const struct ss_policy *p, const ss_rule *r);
/* "auto", "always" (INHERIT reads as "auto": callers resolve it first). */
const char *ss_udp_encap_name(unsigned v);

/* One proposal for the IKE SA itself (Windows: "key exchange security methods"). */
typedef struct ss_ike_method {
	uint16_t encr, key_bits, integ, prf, dh;
} ss_ike_method;

typedef struct ss_ike_settings {
	ss_ike_method *proposals;
	size_t n_proposals;
	uint32_t lifetime;           /* IKE SA lifetime in seconds; default 28800 */
	ss_retx_params retx;         /* attempts (default 4) and timing; see ike/schedule.h */
	uint8_t udp_encap;           /* enum ss_udp_encap, AUTO or ALWAYS; default AUTO */
} ss_ike_settings;

typedef struct ss_policy {
	char *name;
	char *description;
	char *source;                  /* file the policy came from, or "<builtin NAME>" */
	char *builtin;                 /* name of the built-in policy it is, or NULL */
	/* Policy-wide authentication methods (`auth`/`psk_file` at top level): copied into every
	 * negotiate rule that names none and into the Default Response rule. */
	ss_auth_method *auth;
	size_t n_auth;
	ss_filter_list *lists;
	size_t n_lists;
	ss_filter_action *actions;
	size_t n_actions;
	ss_rule *rules;
	size_t n_rules;
	/* The Default Response rule: answer IKE from peers no rule covers, never initiate. */
	bool default_response;
	ss_auth_method *default_response_auth;
	size_t n_default_response_auth;
	ss_ike_settings ike;
	uint32_t downgrade_protection; /* seconds a peer that did IKE is not soft-associated; default 7 days */
} ss_policy;

/* Weight of a filter for "most specific wins" (doc/policy.md, section Ordering):
 * compared lexicographically, larger is more specific:
 *   1. address specificity: src bits + dst bits, where an IPv4 prefix of length L counts as
 *      96 + L (so a /32 host equals an IPv6 /128 host), `me` counts as a host (128), `any` 0;
 *   2. protocol: 1 if a protocol is named, else 0;
 *   3. port specificity: (65536 - size of sport range) + (65536 - size of dport range);
 * ties go to the filter that comes first in the file (rule order, then filter order). */
typedef struct ss_weight {
	uint16_t addr;
	uint8_t proto;
	uint32_t ports;
} ss_weight;

ss_weight ss_filter_weight(const ss_filter *f);
/* <0 if a is less specific than b, 0 equal, >0 more specific. */
int ss_weight_cmp(ss_weight a, ss_weight b);

/* Frees everything the policy owns, wiping every secret first.  NULL is fine. */
void ss_policy_free(ss_policy *p);
void ss_auth_methods_free(ss_auth_method *a, size_t n);

/* "permit", "block", "negotiate". */
const char *ss_action_kind_name(unsigned kind);
/* The IKE_SA_INIT schedule for a negotiation under action a (NULL: the Default Response
 * rule): the policy's retransmit settings, with `icmp_fallback: full` raising the floor
 * (min_fallback) to the whole silent schedule.  In load_action.c: it needs ike/schedule.c. */
ss_retx_params ss_action_retx(const ss_policy *p, const ss_filter_action *a);
/* "any", "tcp", "udp", "icmp", "icmpv6", "sctp", or NULL for other numbers. */
const char *ss_proto_name(int proto);
/* Text forms used in files and in `softsa check`: "aes256gcm16", "aes128-sha256". */
const char *ss_sec_method_fmt(const ss_sec_method *m, char *buf, size_t n);
/* "aes256gcm16-prfsha384-ecp384". */
const char *ss_ike_method_fmt(const ss_ike_method *p, char *buf, size_t n);
/* "modp2048", "ecp256", "ecp384", "curve25519", "none", or NULL. */
const char *ss_dh_name(unsigned group);

/* Defaults that apply when the file does not say (doc/policy.md). */
#define SS_DEFAULT_SA_LIFETIME 3600u
#define SS_DEFAULT_IKE_LIFETIME 28800u
#define SS_DEFAULT_SOFT_IDLE 300u
#define SS_DEFAULT_DOWNGRADE_PROTECTION (7u * 24 * 3600)
#define SS_PSK_MIN_LEN 16
/* The longest key IKE takes (SS_IKE_PSK_MAX in ike/ike.h; a test checks they agree): a longer
 * one is an error here rather than silently cut short further down. */
#define SS_PSK_MAX_LEN 128

/* The first negotiating tunnel rule whose tunnel endpoint is endpoint, or NULL.  A tunnel's
 * associations and IKE SAs are between the gateways: the pair (our address, endpoint) stands
 * for the traffic between the rule's networks, so this is how that pair finds its rule. */
const ss_rule *ss_policy_tunnel_rule(const ss_policy *p, const ss_addr *endpoint);

#endif
