/* Following the directory: a thread that connects, fetches the host's policy, and fetches
 * again on every change RFC 4533 refreshAndPersist reports (or every poll_interval where
 * the server offers no sync), reconnecting after retry_interval when the directory goes
 * away.  The daemon's loop never blocks on LDAP: it watches ss_dir_follow_fd() and takes
 * each new version from here, to check and apply it itself. */
#ifndef SS_DIRECTORY_FOLLOW_H
#define SS_DIRECTORY_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "directory/config.h"
#include "directory/ldapc.h"

typedef struct ss_dir_follow ss_dir_follow;

typedef struct ss_dir_status {
	const char *state;            /* "connecting", "syncrepl", "polling", "down" */
	char uri[256];                /* the server in use ("" when none) */
	int64_t fetched;              /* Unix time of the last successful read, 0: never */
	int64_t error_time;           /* Unix time of last_error, 0: none since the last fetch */
	char last_error[700];
} ss_dir_status;

/* have: the version the daemon runs (NULL: none); an identical fetch is not handed over.
 * c must outlive the follower. */
ss_dir_follow *ss_dir_follow_start(const ss_dir_config *c, const ss_dir_result *have);
/* Readable when a new version waits (read it empty with ss_dir_follow_take). */
int ss_dir_follow_fd(const ss_dir_follow *f);
/* Moves the newest version not yet taken into out; false when there is none. */
bool ss_dir_follow_take(ss_dir_follow *f, ss_dir_result *out);
void ss_dir_follow_status(ss_dir_follow *f, ss_dir_status *out);
/* Stops the thread (within a second, or the LDAP timeout if a call is under way). */
void ss_dir_follow_stop(ss_dir_follow *f);

/* One connect + fetch + close, for start-up and tools. */
bool ss_dir_fetch_once(const ss_dir_config *c, ss_dir_result *out, char *err, size_t errlen);

#endif
