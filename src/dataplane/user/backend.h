/* The userspace backend behind dataplane.h: the packet port (port.h) plus ESP in this
 * process, the SA table, held packets and lifetimes.  backend.c: the interface's operations
 * and the event queue; path.c: the packet path (capture -> acquire -> verdict -> ESP or
 * clear; ESP in -> decap -> deliver; notices). */
#ifndef SS_DATAPLANE_USER_BACKEND_H
#define SS_DATAPLANE_USER_BACKEND_H

#include "dataplane/dataplane.h"
#include "dataplane/user/held.h"
#include "dataplane/user/port.h"
#include "dataplane/user/sas.h"
#include "dataplane/user/tunmap.h"
#include "esp/esp.h"

/* One batch: the packets of one read, each with room for ESP around it; TUN packets are at
 * most its MTU (1400 by default), far below a slot. */
enum { DPU_BATCH = 64, DPU_SLOT = 2048 + SS_ESP_HEADROOM + SS_ESP_TAILROOM, DPU_RX_HEAD = 64,
       DPU_EVQ = 1024 };

typedef struct dpu_stage {
	ss_esp_pkt enc[DPU_BATCH];
	dpu_sa *enc_sa[DPU_BATCH];
	size_t n_enc;
	ss_dpu_pkt clr[DPU_BATCH];
	size_t n_clr;
	ss_esp_pkt udp[DPU_BATCH];  /* ESP from the daemon's NAT-T socket, decapsulated at flush */
	size_t n_udp;
	uint8_t enc_slot[DPU_BATCH][DPU_SLOT], clr_slot[DPU_BATCH][DPU_SLOT], udp_slot[DPU_BATCH][DPU_SLOT];
} dpu_stage;

/* The captured packets of the current round: handles base .. base + n - 1. */
typedef struct dpu_batch {
	uint64_t base;
	size_t n;
	bool decided[DPU_BATCH];
	ss_dpu_pkt pk[DPU_BATCH];
	/* Each packet's 5-tuple as parsed at the read, so that the verdict need not parse it
	 * again (valid where the read found one: the others are decided already). */
	ss_pkt_tuple t[DPU_BATCH];
	uint8_t slot[DPU_BATCH][DPU_SLOT];
} dpu_batch;

/* UNKNOWN_SPI hints: one per (sender, SPI) per second at most. */
typedef struct dpu_spi_seen {
	ss_addr from;
	uint32_t spi;
	ss_time at;
} dpu_spi_seen;

typedef struct dpu_backend {
	ss_dp base;
	ss_dpu *port;
	char why[160];
	dpu_sas sas;
	dpu_held held;
	dpu_batch batch;
	dpu_stage stage;
	uint64_t next_handle;
	ss_time next_tick;
	/* The packet path asks for the same pair again and again: remember the last answer until
	 * the table changes (a newer SA with the same peer must win at once). */
	dpu_sa *last_sa;
	uint64_t last_gen;
	ss_dp_event evq[DPU_EVQ];
	size_t ev_head, ev_n;
	uint64_t ev_lost;
	dpu_spi_seen spi_seen[16];
	dpu_tunmap tmap;      /* tunnel filters: a packet's tunnel and its endpoint's pair */
	ss_dp_stats st;
	uint8_t rx_slot[DPU_BATCH][DPU_SLOT];
} dpu_backend;

/* The backend over a packet port (which it closes with itself); NULL when out of memory. */
dpu_backend *dpu_backend_new(ss_dpu *port, size_t max_held, const char *why_chosen);
void dpu_event(dpu_backend *b, const ss_dp_event *ev);
/* Queues the ESP library's lifetime events as SA events (hard: the SA is removed). */
void dpu_sa_events(dpu_backend *b);

/* path.c */
int dpu_read_outbound(dpu_backend *b, ss_time now);
int dpu_read_esp(dpu_backend *b, ss_time now);
int dpu_read_notices(dpu_backend *b);
int dpu_verdict(dpu_backend *b, uint64_t handle, enum ss_dp_pkt_verdict v, ss_time now);
int dpu_esp_input(dpu_backend *b, const ss_addr *local, const ss_addr *remote, uint16_t lport,
		  uint16_t rport, const uint8_t *p, size_t len);
/* Sends what verdicts staged and decapsulates staged NAT-T ESP. */
void dpu_stage_flush(dpu_backend *b, ss_time now);
/* The end of a round: staged packets out, the batch's undecided packets dropped. */
/* Packets staged for s are dropped (counted as esp_out_err): s is going. */
void dpu_stage_forget_sa(dpu_backend *b, const dpu_sa *s);
void dpu_end_round(dpu_backend *b, ss_time now);

#endif
