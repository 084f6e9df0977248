/* What softsad settles before it touches the network: where it logs, and that the policy
 * loads.  An invalid policy is refused with its FILE:LINE:COL message while nothing is
 * installed yet, rather than after the TUN device, the nftables table and the IKE sockets
 * exist. */
#include <stdio.h>

#include "base/log.h"

#include "daemon/daemon.h"
#include "daemon/sdnotify.h"
#include "policy/load.h"
#include "policy/policy.h"

bool dm_policy_check(const daemon_opts *o, char *err, size_t errlen)
{
	/* A directory's policy is checked by its source (doc/directory.md): the cached last good
	 * version, or the bootstrap's default, is in force before the directory answers. */
	if (o->directory)
		return true;
	ss_load_opts lo = { .psk_file = o->psk_file };
	ss_load_error e;
	ss_policy *p = o->builtin ? ss_policy_builtin(o->builtin, &lo, &e) : ss_policy_load_file(o->policy_file, &lo, &e);
	if (!p) {
		snprintf(err, errlen, "%s", e.text);
		return false;
	}
	ss_policy_free(p);
	return true;
}

bool dm_log_opt(bool level, const char *arg)
{
	const char *why = NULL;
	enum ss_log_level l;
	if (level && ss_log_level_parse(arg, &l)) {
		ss_log_set_level(l);
		return true;
	}
	if (!level && ss_log_open(arg, "softsad", &why))
		return true;
	fprintf(stderr, "softsad: bad --%s %s: %s\n", level ? "log-level" : "log", arg,
		level ? "expected error, warning, notice, info or debug" : why);
	return false;
}
