#include "daemon/ctlargs.h"

#include <stdio.h>

#include "policy/explain.h"

bool dm_arg_peer(json_t *req, ss_addr *out)
{
	const char *s = json_string_value(json_object_get(req, "peer"));
	return s && ss_addr_parse(s, out);
}

bool dm_arg_packet(json_t *req, ss_pkt_key *k, const char **err)
{
	json_t *jp = json_object_get(req, "proto");
	char pbuf[24];
	const char *proto = json_string_value(jp);
	if (json_is_integer(jp)) {
		snprintf(pbuf, sizeof(pbuf), "%lld", (long long)json_integer_value(jp));
		proto = pbuf;
	}
	json_t *js = json_object_get(req, "sport"), *jd = json_object_get(req, "dport");
	long sport = json_is_integer(js) ? (long)json_integer_value(js) : -1;
	long dport = json_is_integer(jd) ? (long)json_integer_value(jd) : -1;
	return ss_explain_packet(json_string_value(json_object_get(req, "dir")),
				 json_string_value(json_object_get(req, "src")),
				 json_string_value(json_object_get(req, "dst")), proto, sport, dport, k, err);
}
