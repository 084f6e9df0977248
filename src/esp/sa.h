/* Inside an SA and the SAD: shared by sad.c, encap.c and decap.c, and by white-box tests. */
#ifndef SS_ESP_SA_H
#define SS_ESP_SA_H

#include "esp/crypto.h"
#include "esp/esp.h"
#include "esp/replay.h"

enum { SS_SA_SOFT = 1, SS_SA_HARD = 2 };

struct ss_esp_sa {
	ss_esp_params p;          /* key pointers cleared: keys live only in the EVP contexts */
	ss_esp_crypto cr;
	ss_esp_counters ctr;
	uint64_t seq;             /* outbound: last number sent */
	uint64_t seq_soft, seq_max;
	uint64_t bytes;           /* for byte lifetimes: inner bytes both ways */
	ss_time soft_at, hard_at; /* SS_NEVER when unlimited */
	uint16_t ip_id;           /* outer IPv4 identification (tunnel mode) */
	uint8_t reported;         /* SS_SA_SOFT/HARD already queued */
	uint8_t reason[3];        /* reason per reported kind, indexed by kind */
	uint8_t pending;          /* kinds queued and not yet drained */
	bool dead;                /* past hard: passes no traffic */
	bool queued;              /* on sad->pending list */
	ss_esp_sad *sad;
	ss_esp_sa *hnext;         /* hash chain */
	ss_esp_sa *prev, *next;   /* list of all SAs */
	ss_esp_sa *qnext;         /* pending-events list */
	ss_time hkey;             /* its key in the SAD's deadline heap (may be early, never late) */
	size_t hpos;              /* index in that heap + 1; 0: not in it */
	ss_replay replay;         /* inbound only, last: an outbound SA is allocated without it */
};

/* Marks a lifetime as reached: queues the event once; hard also kills the SA. */
void ss_esp_sa_expire(ss_esp_sa *sa, int kind, int reason);
/* Checks this SA's time lifetimes (cheap; the datapath calls it once per batch). */
void ss_esp_sa_check_time(ss_esp_sa *sa, ss_time now);
/* Accounts inner bytes of one good packet and checks the byte lifetimes. */
void ss_esp_sa_account(ss_esp_sa *sa, size_t inner_len);
/* Inbound SA lookup for decap. */
ss_esp_sa *ss_esp_sad_lookup_in(const ss_esp_sad *sad, uint32_t spi);
/* The SAD's own counters, for packets with no SA. */
ss_esp_counters *ss_esp_sad_ctr(ss_esp_sad *sad);
/* Tests: the next CBC encap uses this IV (RFC 3602 known answers). */
void ss_esp_sa_set_test_iv(ss_esp_sa *sa, const uint8_t iv[16]);

#endif
