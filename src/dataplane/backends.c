/* The backends built into this softsad, and choosing one (softsad --dataplane). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/dataplane.h"
#include "dataplane/user/user.h"

extern const ss_dp_backend ss_dp_user_backend;
extern const ss_dp_backend ss_dp_xfrm_backend;

/* In the order "auto" tries them: the kernel's ESP first where it works. */
const ss_dp_backend *const ss_dp_backends[] = {
	&ss_dp_xfrm_backend,
	&ss_dp_user_backend,
};
const size_t ss_dp_n_backends = sizeof(ss_dp_backends) / sizeof(ss_dp_backends[0]);

void ss_dp_config_default(ss_dp_config *cfg)
{
	ss_dp_user_config u;
	ss_dp_user_config_default(&u);
	memset(cfg, 0, sizeof(*cfg));
	cfg->tun_name = SS_DP_TUN_DEFAULT;
	cfg->esp_udp_fd4 = cfg->esp_udp_fd6 = -1;
	cfg->ipv6 = true;
	cfg->offload = true;
	cfg->bypass_mark = u.bypass_mark;
}

static const char *built_in(void)
{
	static char names[128];
	size_t used = 0;
	names[0] = '\0';
	for (size_t i = 0; i < ss_dp_n_backends && used < sizeof(names); i++) {
		int w = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", ss_dp_backends[i]->name);
		used += w > 0 ? (size_t)w : 0;
	}
	return names;
}

int ss_dp_open(const char *name, const ss_dp_config *cfg, ss_dp **out, char *err, size_t errlen)
{
	char why[160], chosen[200];
	bool any = !name || strcmp(name, "auto") == 0;
	for (size_t i = 0; i < ss_dp_n_backends; i++) {
		const ss_dp_backend *be = ss_dp_backends[i];
		if (!any && strcmp(be->name, name) != 0)
			continue;
		if (!be->available(why, sizeof(why))) {
			if (!any) {
				snprintf(err, errlen, "dataplane %s is not available here: %s", be->name, why);
				return -ENODEV;
			}
			continue;
		}
		snprintf(chosen, sizeof(chosen), "%s: %s", any ? "auto" : "chosen with --dataplane", why);
		return be->open(cfg, chosen, out, err, errlen);
	}
	if (any)
		snprintf(err, errlen, "no dataplane backend is available here");
	else if (strcmp(name, "kernel") == 0 || strcmp(name, "user") == 0)
		snprintf(err, errlen, "dataplane %s is not built into this softsad (built in: %s)", name, built_in());
	else
		snprintf(err, errlen, "unknown dataplane %s (user, kernel or auto)", name);
	return -ENOENT;
}
