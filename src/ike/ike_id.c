/* Identities (§3.5). */
#include <string.h>

#include "ike/ike_internal.h"

ss_ike_id ss_ike_id_addr(const ss_addr *a)
{
	ss_ike_id id = { 0 };
	id.type = a->family == SS_AF_INET ? SS_ID_IPV4_ADDR : SS_ID_IPV6_ADDR;
	id.len = a->family == SS_AF_INET ? 4 : 16;
	memcpy(id.data, a->a, id.len);
	return id;
}

ss_ike_id ss_ike_id_fqdn(const char *name)
{
	ss_ike_id id = { 0 };
	size_t n = strlen(name);
	id.type = SS_ID_FQDN;
	id.len = (uint8_t)(n > 255 ? 255 : n);
	memcpy(id.data, name, id.len);
	return id;
}

ss_ike_id ss_ike_id_key(const void *key, size_t len)
{
	ss_ike_id id = { 0 };
	id.type = SS_ID_KEY_ID;
	id.len = (uint8_t)(len > 255 ? 255 : len);
	memcpy(id.data, key, id.len);
	return id;
}

bool ss_ike_id_eq(const ss_ike_id *a, const ss_ike_id *b)
{
	return a->type == b->type && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

ss_ike_id id_of_payload(const ss_ike_id_pl *pl)
{
	ss_ike_id id = { 0 };
	id.type = pl->type;
	id.len = (uint8_t)(pl->data.len > 255 ? 255 : pl->data.len);
	memcpy(id.data, pl->data.p, id.len);
	return id;
}
