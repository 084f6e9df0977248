/* The CHILD SA table: which ESP SAs carry traffic between a local and a remote address.
 * A linear table: a host has few peers with SAs at once, and the packet path remembers the
 * last hit (see dm_children_for_pair). */
#include <string.h>

#include "daemon/daemon.h"
#include "esp/esp.h"

dm_child *dm_children_add(dm_children *t)
{
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++) {
		if (!t->c[i].used) {
			memset(&t->c[i], 0, sizeof(t->c[i]));
			t->c[i].used = true;
			t->n_used++;
			t->gen++;
			return &t->c[i];
		}
	}
	return NULL;
}

dm_child *dm_children_for_pair(dm_children *t, const ss_addr *local, const ss_addr *remote)
{
	dm_child *best = NULL;
	for (size_t i = 0, seen = 0; i < DM_MAX_CHILDREN && seen < t->n_used; i++) {
		dm_child *c = &t->c[i];
		if (!c->used)
			continue;
		seen++;
		if (!c->out || !ss_addr_eq(&c->remote, remote) || !ss_addr_eq(&c->local, local))
			continue;
		if (ss_esp_sa_dead(c->out))
			continue;
		if (!best || c->created >= best->created)
			best = c;
	}
	return best;
}

dm_child *dm_children_by_spi(dm_children *t, uint32_t spi_in, uint32_t spi_out)
{
	for (size_t i = 0; i < DM_MAX_CHILDREN; i++) {
		dm_child *c = &t->c[i];
		if (c->used && (c->spi_in == spi_in || !spi_in) && (c->spi_out == spi_out || !spi_out))
			return c;
	}
	return NULL;
}

void dm_children_del(dm_children *t, struct ss_esp_sad *sad, dm_child *c)
{
	if (!c->used)
		return;
	if (c->in)
		ss_esp_sad_del(sad, c->in);
	if (c->out)
		ss_esp_sad_del(sad, c->out);
	memset(c, 0, sizeof(*c));
	t->n_used--;
	t->gen++;
}
