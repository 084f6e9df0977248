/* What softsad must be allowed to do, checked before it touches anything. */
#ifndef SS_DAEMON_PRIVS_H
#define SS_DAEMON_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* True when the effective capability set has CAP_NET_ADMIN, CAP_NET_RAW and
 * CAP_NET_BIND_SERVICE; else false and a sentence naming what is missing. */
bool ss_privs_check(char *why, size_t len);

#endif
