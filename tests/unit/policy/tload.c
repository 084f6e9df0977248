#include "tload.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

size_t tl_resolve(void *ctx, const char *name, ss_addr *out, size_t max, const char **why)
{
	(void)ctx;
	static const struct { const char *name, *addrs[3]; } t[] = {
		{ "multi.test", { "192.0.2.1", "192.0.2.2", "2001:db8::1" } },
		{ "v4.test", { "198.51.100.7", NULL, NULL } },
		{ "v6.test", { "2001:db8::7", NULL, NULL } },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(name, t[i].name) != 0)
			continue;
		size_t n = 0;
		for (size_t j = 0; j < 3 && t[i].addrs[j] && n < max; j++)
			if (ss_addr_parse(t[i].addrs[j], &out[n]))
				n++;
		return n;
	}
	*why = "no such name (fake resolver)";
	return 0;
}

ss_load_opts tl_opts(const char *base_dir)
{
	ss_load_opts o = { .resolve = tl_resolve, .base_dir = base_dir };
	return o;
}

ss_policy *tl_load(const char *text, ss_load_error *err)
{
	ss_load_error local;
	ss_load_opts o = tl_opts(NULL);
	ss_policy *p = ss_policy_load_mem("t.yaml", text, strlen(text), &o, err ? err : &local);
	if (!p && !err)
		fail_msg("unexpected load error: %s", local.text);
	return p;
}
