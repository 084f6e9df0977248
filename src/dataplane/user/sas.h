/* The userspace backend's SA table: the ESP SAD (src/esp) plus what the dataplane interface
 * names SAs by (SPI, direction, addresses, reqid) and which outbound SA carries a pair's
 * traffic (the newest installed: a rekeyed CHILD SA takes over at once).  Each SA is
 * allocated on its own (the SAD and the packet path keep pointers to it) and found through
 * two hash chains: by SPI and direction, and outbound SAs by pair; the table grows with what
 * it holds (softsad holds 100k CHILD SAs, issue 14).  The packet path caches the last pair it
 * asked for (the generation changes with every add and delete). */
#ifndef SS_DATAPLANE_USER_SAS_H
#define SS_DATAPLANE_USER_SAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dataplane.h"
#include "esp/esp.h"

typedef struct dpu_sa {
	struct dpu_sa *id_next, **id_pprev;     /* chain by SPI and direction */
	struct dpu_sa *pair_next, **pair_pprev; /* outbound: chain by pair */
	bool used;
	ss_dp_sa_id id;
	uint32_t reqid;
	uint64_t order;       /* installation order: the newest outbound SA of a pair wins */
	uint16_t rport;       /* UDP encapsulation: the peer's port, 0 for plain ESP */
	ss_time installed;
	ss_esp_sa *esp;
} dpu_sa;

typedef struct dpu_sas {
	ss_esp_sad *sad;
	dpu_sa **by_id, **by_pair;  /* nb buckets each, a power of two */
	size_t nb, n_used;
	uint64_t seed;
	uint64_t gen, next_order;
} dpu_sas;

bool dpu_sas_init(dpu_sas *t);
void dpu_sas_free(dpu_sas *t);
/* 0, -EEXIST, -ENOMEM, or -EINVAL with *why; *out (if not NULL) gets the new SA. */
int dpu_sas_add(dpu_sas *t, const ss_dp_sa *sa, ss_time now, const char **why, dpu_sa **out);
dpu_sa *dpu_sas_find(dpu_sas *t, const ss_dp_sa_id *id);
/* Frees s. */
void dpu_sas_del(dpu_sas *t, dpu_sa *s);
/* The newest live outbound SA between local and remote, or NULL. */
dpu_sa *dpu_sas_for_pair(dpu_sas *t, const ss_addr *local, const ss_addr *remote);

#endif
