/* The userspace backend's SA table: the ESP SAD (src/esp) plus what the dataplane interface
 * names SAs by (SPI, direction, addresses, reqid) and which outbound SA carries a pair's
 * traffic (the newest installed: a rekeyed CHILD SA takes over at once).  A linear table: a
 * host has few peers with SAs at once, and the packet path caches the last pair it asked for
 * (the generation changes with every add and delete). */
#ifndef SS_DATAPLANE_USER_SAS_H
#define SS_DATAPLANE_USER_SAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dataplane.h"
#include "esp/esp.h"

typedef struct dpu_sa {
	bool used;
	ss_dp_sa_id id;
	uint32_t reqid;
	uint64_t order;       /* installation order: the newest outbound SA of a pair wins */
	uint16_t rport;       /* UDP encapsulation: the peer's port, 0 for plain ESP */
	ss_time installed;
	ss_esp_sa *esp;
} dpu_sa;

#define DPU_MAX_SAS 2048

typedef struct dpu_sas {
	ss_esp_sad *sad;
	dpu_sa s[DPU_MAX_SAS];
	size_t n_used;
	uint64_t gen, next_order;
} dpu_sas;

bool dpu_sas_init(dpu_sas *t);
void dpu_sas_free(dpu_sas *t);
/* 0, -EEXIST, -ENOSPC, or -EINVAL with *why. */
int dpu_sas_add(dpu_sas *t, const ss_dp_sa *sa, ss_time now, const char **why);
dpu_sa *dpu_sas_find(dpu_sas *t, const ss_dp_sa_id *id);
void dpu_sas_del(dpu_sas *t, dpu_sa *s);
/* The newest live outbound SA between local and remote, or NULL. */
dpu_sa *dpu_sas_for_pair(dpu_sas *t, const ss_addr *local, const ss_addr *remote);

#endif
