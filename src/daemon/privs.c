#include "daemon/privs.h"

#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* capget(2) directly: one syscall does not justify a libcap dependency. */
static bool effective(unsigned cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		return false;
	return (d[cap / 32].effective >> (cap % 32)) & 1u;
}

bool ss_privs_check(char *why, size_t len)
{
	static const struct {
		unsigned cap;
		const char *name, *use;
	} need[] = {
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "create the TUN device, nftables table and routes" },
		{ CAP_NET_RAW, "CAP_NET_RAW", "send and receive ESP on raw sockets" },
		{ CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE", "bind UDP ports 500 and 4500" },
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!effective(need[i].cap)) {
			snprintf(why, len, "softsad needs %s to %s: run it as root (or with that capability)",
				 need[i].name, need[i].use);
			return false;
		}
	}
	return true;
}
