/* The bootstrap file of a directory policy source (doc/directory.md): where the directory
 * is, how to reach and trust it, who this host is there.  YAML, read by the policy loader's
 * tree builder, so that errors are FILE:LINE:COL: message as the policy file's are. */
#ifndef SS_DIRECTORY_CONFIG_H
#define SS_DIRECTORY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/load.h"

#define SS_DIR_MAX_URIS 8

enum ss_dir_bind { SS_DIR_BIND_SIMPLE = 0, SS_DIR_BIND_EXTERNAL };
enum ss_dir_follow_mode { SS_DIR_FOLLOW_AUTO = 0, SS_DIR_FOLLOW_POLL };

typedef struct ss_dir_config {
	char *file;                   /* the bootstrap file itself */
	char *uris[SS_DIR_MAX_URIS];  /* ldap:// (StartTLS) or ldaps://, tried in order */
	size_t n_uris;
	char *base_dn;
	char *host_dn;                /* softsad needs it; softsa publish does not */
	enum ss_dir_bind bind;
	char *bind_dn, *password_file;  /* simple */
	char *cert_file, *key_file;     /* external: the host's certificate, over TLS */
	char *ca_file;
	bool tls;                     /* false only when every URI is on the loopback */
	enum ss_dir_follow_mode follow;    /* auto: RFC 4533 where offered, else polling */
	uint32_t poll_interval_s, retry_interval_s, timeout_s;
	char *cache_file;             /* the last good policy */
	char *default_policy;         /* no assignment: "none" or a built-in's name */
	char *policy_base;            /* softsa publish: where new policies go */
} ss_dir_config;

#define SS_DIR_DEFAULT_CACHE "/var/lib/softsa/directory-policy.yaml"

bool ss_dir_config_load(const char *path, ss_dir_config *out, ss_load_error *err);
bool ss_dir_config_load_mem(const char *name, const char *buf, size_t len, ss_dir_config *out,
	ss_load_error *err);
void ss_dir_config_free(ss_dir_config *c);

/* The simple bind's password: the file's bytes without trailing newlines, after the checks
 * a psk_file gets (regular file, owned by root or us, writable by nobody else).  Returns the
 * length, or -1 with err.  The caller wipes buf. */
long ss_dir_read_password(const char *path, char *buf, size_t cap, char *err, size_t errlen);

/* The text of the policy a host without assignment gets: "none" is a policy with no rules
 * (everything in the clear, as a Windows 2000 computer with no IPsec policy assigned); a
 * built-in's name is that built-in (it needs softsad --psk-file). */
const char *ss_dir_default_text(const char *name);

#endif
