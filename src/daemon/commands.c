/* The control socket's commands (doc/control.md): each one reads the daemon's state or
 * asks it to act, and answers one JSON object. */
#include <string.h>
#include <unistd.h>

#include "base/addr.h"
#include "daemon/ctlargs.h"
#include "daemon/daemon.h"
#include "daemon/sdnotify.h"

static const char *cmd_status(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	*result = json_pack("{s:s, s:i, s:I, s:{s:i, s:i}, s:s, s:i, s:o}", "version", SOFTSA_VERSION, "pid",
			    (int)getpid(), "uptime_ms", (json_int_t)(ss_now_ms() - d->started), "ike_ports",
			    "ike", d->ike.port, "natt", d->ike.natt_port, "policy", dm_policy_name(d), "rules",
			    (int)dm_policy_rules(d), "dataplane", dm_dp_info_json(d));
	dm_policysrc_status(d, *result);
	return NULL;
}

static const char *cmd_stats(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_daemon *d = ctx;
	json_t *r = json_object();
	dm_agent_stats_json(d, r);
	json_object_set_new(r, "ike", dm_ike_stats_json(d));
	json_t *dp = dm_dp_stats_json(d);
	json_object_update(r, dp);
	json_decref(dp);
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
	if (!dm_sd_reload(d, err, sizeof(err))) {
		*message = err;
		return "policy-invalid";
	}
	*result = json_pack("{s:s, s:i}", "policy", dm_policy_name(d), "rules", (int)dm_policy_rules(d));
	return NULL;
}

static const char *cmd_initiate(void *ctx, json_t *req, json_t **result, const char **message)
{
	ss_addr peer;
	if (!dm_arg_peer(req, &peer)) {
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
	if (!dm_arg_peer(req, &peer)) {
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
