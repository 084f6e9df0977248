/* The control socket's commands (doc/control.md): each one reads the daemon's state or
 * asks it to act, and answers one JSON object. */
#include <string.h>
#include <unistd.h>

#include "base/addr.h"
#include "daemon/daemon.h"
#include "dataplane/dataplane.h"
#include "esp/esp.h"

static const char *cmd_status(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	*result = json_pack("{s:s, s:i, s:I, s:{s:i, s:i}, s:s, s:i}", "version", SOFTSA_VERSION, "pid",
			    (int)getpid(), "uptime_ms", (json_int_t)(ss_now_ms() - d->started), "ike_ports",
			    "ike", d->ike.port, "natt", d->ike.natt_port, "policy", dm_policy_name(d), "rules",
			    (int)dm_policy_rules(d));
	return NULL;
}

static const char *cmd_stats(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	json_t *r = json_object();
	dm_agent_stats_json(d, r);
	const uint64_t *e = d->st.esp_err;
	json_object_set_new(r, "esp",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			  "packets_out", (json_int_t)d->st.esp_out_pkts, "bytes_out", (json_int_t)d->st.esp_out_bytes,
			  "packets_in", (json_int_t)d->st.esp_in_pkts, "bytes_in", (json_int_t)d->st.esp_in_bytes,
			  "no_sa_out", (json_int_t)d->st.no_sa_out, "errors", "no_sa", (json_int_t)e[SS_ESP_E_NOSA],
			  "replay", (json_int_t)e[SS_ESP_E_REPLAY], "auth", (json_int_t)e[SS_ESP_E_AUTH],
			  "malformed", (json_int_t)e[SS_ESP_E_MALFORMED], "pad", (json_int_t)e[SS_ESP_E_PAD],
			  "selector", (json_int_t)e[SS_ESP_E_SELECTOR], "expired", (json_int_t)e[SS_ESP_E_EXPIRED],
			  "encap", (json_int_t)d->st.esp_out_err));
	json_object_set_new(r, "ike", dm_ike_stats_json(d));
	ss_dp_stats ds;
	ss_dp_get_stats(d->dp, &ds);
	json_object_set_new(r, "dataplane",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "captured", (json_int_t)ds.out_pkts,
			  "released", (json_int_t)ds.released, "release_err", (json_int_t)ds.release_err,
			  "esp_tx", (json_int_t)ds.esp_tx, "esp_tx_err", (json_int_t)ds.esp_tx_err, "esp_rx",
			  (json_int_t)ds.esp_rx, "delivered", (json_int_t)ds.delivered, "notices",
			  (json_int_t)ds.notices, "malformed", (json_int_t)ds.malformed));
	ss_ctl_stats cs = ss_ctl_get_stats(d->ctl);
	json_object_set_new(r, "control", json_pack("{s:I, s:I}", "requests", (json_int_t)cs.requests,
						    "errors", (json_int_t)cs.errors));
	json_object_set_new(r, "policy", json_pack("{s:I, s:I}", "reloads", (json_int_t)d->st.reloads,
						   "reload_failures", (json_int_t)d->st.reload_failures));
	*result = r;
	return NULL;
}

static const char *cmd_sas(void *ctx, json_t *req, json_t **result, const char **message)
{
	*result = dm_sas_json(ctx, ss_now_ms());
	return NULL;
}

static const char *cmd_soft(void *ctx, json_t *req, json_t **result, const char **message)
{
	*result = dm_peers_json(ctx, ss_now_ms(), true);
	return NULL;
}

static const char *cmd_peers(void *ctx, json_t *req, json_t **result, const char **message)
{
	*result = dm_peers_json(ctx, ss_now_ms(), false);
	return NULL;
}

static const char *cmd_explain(void *ctx, json_t *req, json_t **result, const char **message)
{
	const char *err = NULL;
	*result = dm_explain(ctx, req, &err);
	if (!*result) {
		*message = err;
		return "bad-argument";
	}
	return NULL;
}

static const char *cmd_reload(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	static char err[700];
	if (!dm_reload(d, err, sizeof(err))) {
		*message = err;
		return "policy-invalid";
	}
	*result = json_pack("{s:s, s:i}", "policy", dm_policy_name(d), "rules", (int)dm_policy_rules(d));
	return NULL;
}

static bool peer_arg(json_t *req, ss_addr *out)
{
	const char *s = json_string_value(json_object_get(req, "peer"));
	return s && ss_addr_parse(s, out);
}

static const char *cmd_initiate(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_addr peer;
	if (!peer_arg(req, &peer)) {
		*message = "initiate needs \"peer\": an address";
		return "bad-argument";
	}
	*result = json_pack("{s:b}", "started", dm_initiate_peer(ctx, ss_now_ms(), &peer));
	return NULL;
}

static const char *cmd_terminate(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	ss_addr peer;
	if (!peer_arg(req, &peer)) {
		*message = "terminate needs \"peer\": an address";
		return "bad-argument";
	}
	ss_time now = ss_now_ms();
	size_t n = dm_neg_stop(d, now, &peer);
	dm_drain(d, now);
	*result = dm_terminate_json(d, now, &peer, n);
	return NULL;
}

static const char *cmd_flush_soft(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	ss_time now = ss_now_ms();
	size_t n = dm_flush_soft(d, now);
	dm_drain(d, now);
	*result = json_pack("{s:i}", "flushed", (int)n);
	return NULL;
}

const ss_ctl_command dm_commands[] = {
	{ "status", cmd_status, "daemon version, uptime, ports and policy" },
	{ "stats", cmd_stats, "counters since start" },
	{ "sas", cmd_sas, "IKE SAs and their CHILD SAs" },
	{ "soft", cmd_soft, "soft associations" },
	{ "peers", cmd_peers, "every association the agent tracks" },
	{ "explain", cmd_explain, "what the live policy does with a packet" },
	{ "reload", cmd_reload, "load the policy file again" },
	{ "initiate", cmd_initiate, "negotiate with a peer now" },
	{ "terminate", cmd_terminate, "delete the IKE SAs with a peer" },
	{ "flush-soft", cmd_flush_soft, "remove every soft association" },
};
const size_t dm_n_commands = sizeof(dm_commands) / sizeof(dm_commands[0]);
