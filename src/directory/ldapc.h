/* The LDAP side of a directory policy source, over OpenLDAP's libldap (blocking calls, each
 * bounded by the bootstrap file's timeout; the daemon runs them in their own thread,
 * follow.c).  What the server sends is handed to the pure code of entry.h. */
#ifndef SS_DIRECTORY_LDAPC_H
#define SS_DIRECTORY_LDAPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "directory/config.h"
#include "directory/entry.h"

typedef struct ss_dir_conn ss_dir_conn;

/* What a fetch found for this host: the YAML to load and where it came from. */
typedef struct ss_dir_result {
	char *doc;                    /* NUL-terminated; the caller frees it with ss_dir_result_clear */
	size_t doc_len;
	enum ss_dir_via via;
	char holder[SS_DN_MAX];       /* the entry with the winning assignment ("" for none) */
	char policy_dn[SS_DN_MAX];    /* "" when the default applies */
	char name[128];
	uint64_t version;
	char origin[SS_DN_MAX + 48];  /* FILE in load errors: "DN (version N)" or "default NAME" */
	char warning[320];
} ss_dir_result;

void ss_dir_result_clear(ss_dir_result *r);
/* Same policy text from the same place at the same version? */
bool ss_dir_result_same(const ss_dir_result *a, const ss_dir_result *b);

/* Tries each URI in order: connects, TLS (ldaps:// or StartTLS, the certificate verified
 * against ca_file unless tls is off), binds.  NULL with err when none works. */
ss_dir_conn *ss_dir_connect(const ss_dir_config *c, char *err, size_t errlen);
void ss_dir_close(ss_dir_conn *k);
const char *ss_dir_conn_uri(const ss_dir_conn *k);

/* Reads the host's assignments and its policy.  false with err; *lost says whether the
 * connection is gone (reconnect) rather than the content wrong (keep following). */
bool ss_dir_fetch(ss_dir_conn *k, const ss_dir_config *c, ss_dir_result *out, bool *lost, char *err,
	size_t errlen);

/* Does the server offer RFC 4533 content synchronisation (rootDSE supportedControl)? */
bool ss_dir_sync_offered(ss_dir_conn *k);
/* Starts a refreshAndPersist search over the policies and assignments under base_dn. */
bool ss_dir_sync_start(ss_dir_conn *k, const ss_dir_config *c, char *err, size_t errlen);
enum ss_dir_sync_event {
	SS_DIR_SYNC_REFUSED = -2,     /* the search ended before its refresh phase did: poll instead */
	SS_DIR_SYNC_LOST = -1,        /* the connection broke, or the server ended the search */
	SS_DIR_SYNC_NONE = 0,
	SS_DIR_SYNC_REFRESHED,
	SS_DIR_SYNC_CHANGED,
};
/* Waits up to timeout_ms for the next message of the sync search. */
enum ss_dir_sync_event ss_dir_sync_wait(ss_dir_conn *k, int timeout_ms);

/* softsa publish: stores doc as the policy entry dn, version 1 when new, else the old
 * version + 1 (compare-and-set: a concurrent publish makes this one fail). */
bool ss_dir_publish(ss_dir_conn *k, const char *dn, const char *name, const char *description,
	const char *doc, size_t len, uint64_t *version, char *err, size_t errlen);

#endif
