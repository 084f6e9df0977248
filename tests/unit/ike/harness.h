/* Two IKE engines in one process, joined by a virtual network with a virtual clock.
 * The network can drop, duplicate or rewrite datagrams (a NAT), and records everything sent,
 * so tests assert on messages as well as on outcomes and keys. */
#ifndef SS_TEST_IKE_HARNESS_H
#define SS_TEST_IKE_HARNESS_H

#include "ike/ike.h"

#define H_MAX_LOG 64

typedef struct h_side {
	ss_ike_engine *eng;
	ss_ike_endpoint ep;          /* its own address as it sees it */
	ss_ike_endpoint public_ep;   /* as the other side sees it (differs behind a NAT) */
	ss_ike_config cfg;           /* responder config returned by the lookup */
	bool refuse_lookup;
	bool refuse_auth_lookup;     /* the lookup refuses at IKE_AUTH only (idi given) */
	ss_ike_child_info child;
	int n_child_up, n_child_deleted, n_ike_deleted, n_outcome, n_ike_rekeyed, n_answered;
	ss_ike_child_info alive[8];  /* CHILD SAs up and not deleted, keys included */
	int n_alive;
	int n_bad_spi;               /* CHILD_UPs with an SPI of 0..255 (never drawn, reserved) */
	int n_attempt;               /* ATTEMPT actions, the last one's number, and the log */
	uint32_t last_attempt;       /* index of the datagram that followed it */
	int attempt_log_at;
	enum ss_ike_outcome outcome;
	uint16_t outcome_notify;
	const char *outcome_reason;  /* static text from the engine */
	ss_time outcome_at;          /* when the last OUTCOME was drained */
	ss_time answered_at;         /* when the last ANSWERED was drained */
	ss_time ike_deleted_at;      /* when the last IKE_DELETED was drained, and its reason */
	const char *ike_deleted_reason;
	int n_timeout;               /* TIMEOUT actions, the last one's time, and its SA */
	ss_time timeout_at;
	uint32_t timeout_sa;
} h_side;

typedef struct h_sent {
	int from;                    /* 0 = a, 1 = b */
	uint8_t data[8192];
	size_t len;
	ss_ike_endpoint src, dst;
	bool dropped;
} h_sent;

typedef struct harness {
	h_side side[2];
	ss_time now;
	/* drop[i] true: the i-th datagram sent (in order, from 0) is lost. */
	bool drop[H_MAX_LOG];
	bool dup[H_MAX_LOG];
	bool drop_all_from[2];
	bool icmp_for_all_from_a;    /* B is a host without IKE: ICMP port unreachable */
	h_sent log[H_MAX_LOG];
	int n_log;
} harness;

void h_init(harness *h, const ss_ike_engine_params *pb);
void h_free(harness *h);
/* Side i restarts: a fresh engine that knows nothing of its SAs (the other side keeps its). */
void h_restart(harness *h, int i);
/* Suite-only config with sensible defaults (ids, PSK, transport mode). */
void h_config(ss_ike_config *c, const ss_ike_suite *ike, const ss_esp_suite *esp,
	      const char *local_id, const char *remote_id, const char *psk);
/* Runs the network and clock until both engines have nothing to do or `until` passes. */
void h_run(harness *h, ss_time until);
uint32_t h_initiate(harness *h, int from);
/* Count of logged datagrams from a side carrying an exchange type. */
int h_count(const harness *h, int from, uint8_t exch, bool response);

#endif
