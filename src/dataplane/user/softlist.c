#include "dataplane/user/softlist.h"

#include <jansson.h>
#include <string.h>

/* One element: {"elem": {"val": "10.0.0.3", "timeout": 60, "expires": 59,
 * "counter": {"packets": 6, "bytes": 504}}}, or a bare address when it has neither. */
static bool parse_elem(json_t *e, ss_dp_soft_info *out)
{
	memset(out, 0, sizeof *out);
	out->expires_in = SS_NEVER;
	json_t *obj = json_object_get(e, "elem");
	json_t *val = obj ? json_object_get(obj, "val") : e;
	if (!json_is_string(val) || !ss_addr_parse(json_string_value(val), &out->peer))
		return false;
	if (!obj)
		return true;
	json_t *exp = json_object_get(obj, "expires");
	if (json_is_integer(exp) && json_integer_value(exp) >= 0) {
		json_int_t left = json_integer_value(exp);
		out->expires_in = SS_SEC(left < SS_SOFT_EXPIRES_MAX_S ? left : SS_SOFT_EXPIRES_MAX_S);
	}
	json_t *ctr = json_object_get(obj, "counter");
	json_t *pk = ctr ? json_object_get(ctr, "packets") : NULL;
	json_t *by = ctr ? json_object_get(ctr, "bytes") : NULL;
	if (json_is_integer(pk) && json_integer_value(pk) >= 0)
		out->packets = (uint64_t)json_integer_value(pk);
	if (json_is_integer(by) && json_integer_value(by) >= 0)
		out->bytes = (uint64_t)json_integer_value(by);
	return true;
}

/* The "nftables" array of a document (*root to be freed by the caller), or NULL. */
static json_t *nft_items(const char *json, json_t **root)
{
	json_error_t jerr;
	*root = json_loads(json, 0, &jerr);
	json_t *items = *root ? json_object_get(*root, "nftables") : NULL;
	if (json_is_array(items))
		return items;
	json_decref(*root);
	*root = NULL;
	return NULL;
}

int ss_nft_parse_soft_json(const char *json, ss_dp_soft_info *out, size_t max)
{
	json_t *root, *items = nft_items(json, &root);
	if (!items)
		return -1;
	size_t n = 0, i, j;
	json_t *it, *e;
	json_array_foreach(items, i, it) {
		json_t *elems = json_object_get(json_object_get(it, "set"), "elem");
		if (!json_is_array(elems))
			continue;
		json_array_foreach(elems, j, e) {
			if (n < max && parse_elem(e, &out[n]))
				n++;
		}
	}
	json_decref(root);
	return (int)n;
}

int ss_nft_parse_counters_json(const char *json, const char *const *names, size_t n, uint64_t *packets)
{
	json_t *root, *items = nft_items(json, &root);
	if (!items)
		return -1;
	int found = 0;
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		json_t *c = json_object_get(it, "counter");
		json_t *name = json_object_get(c, "name"), *pk = json_object_get(c, "packets");
		if (!json_is_string(name) || !json_is_integer(pk) || json_integer_value(pk) < 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (strcmp(json_string_value(name), names[k]) == 0) {
				packets[k] = (uint64_t)json_integer_value(pk);
				found++;
			}
	}
	json_decref(root);
	return found;
}
