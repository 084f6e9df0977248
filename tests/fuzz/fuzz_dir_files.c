/* libFuzzer target: the directory policy source's two files (src/directory), which dir_entry
 * (what the directory sends) does not read: the bootstrap file (config.c, YAML through the
 * policy loader's tree) and the on-disk cache of the last good policy (cache.c).  The first
 * byte picks: even, the rest is a bootstrap file; odd, a cache file.
 *
 * Besides not crashing: a bootstrap that loads is coherent (what config.h promises: URIs,
 * base_dn, the credentials its bind needs, intervals in range, a default that exists), one
 * that does not says where and what; a cache is read exactly when it starts with the magic
 * line, and its policy document is the input's tail, NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory/cache.h"
#include "directory/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz-boot.yaml"
#define MAGIC "# softsa directory cache: the last good policy (doc/directory.md); written by softsad\n"

static bool in(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi;
}

static void bootstrap(const char *buf, size_t len)
{
	ss_dir_config c;
	ss_load_error e;
	if (!ss_dir_config_load_mem(NAME, buf, len, &c, &e)) {
		if (!e.msg[0] || strncmp(e.text, NAME, strlen(NAME)) != 0)
			abort();
		return;
	}
	if (c.n_uris < 1 || c.n_uris > SS_DIR_MAX_URIS || !c.base_dn || !c.cache_file || !c.policy_base ||
	    !c.default_policy || !ss_dir_default_text(c.default_policy) || strcmp(c.file, NAME) != 0)
		abort();
	/* A URI's scheme is case-insensitive (RFC 3986 §3.1): config.c accepts LDAPS://, and
	 * ldapc.c decides on StartTLS the same way (this check was case-sensitive at first, and
	 * the campaign's 9 "crashes" of 4 December were that, corpus/dir_files/scheme-case-*). */
	for (size_t i = 0; i < c.n_uris; i++)
		if (strncasecmp(c.uris[i], "ldap://", 7) != 0 && strncasecmp(c.uris[i], "ldaps://", 8) != 0)
			abort();
	if (c.bind == SS_DIR_BIND_SIMPLE ? !c.bind_dn || !c.password_file
					 : !c.cert_file || !c.key_file || !c.tls)
		abort();
	if ((c.tls && !c.ca_file) || !in(c.poll_interval_s, 1, 86400) || !in(c.retry_interval_s, 1, 3600) ||
	    !in(c.timeout_s, 1, 300))
		abort();
	ss_dir_config_free(&c);
}

static void cache(const char *buf, size_t len)
{
	ss_dir_result r;
	size_t ml = strlen(MAGIC);
	bool magic = len >= ml && memcmp(buf, MAGIC, ml) == 0;
	if (!ss_dir_cache_parse(buf, len, &r)) {
		if (magic || r.doc)
			abort();
		return;
	}
	if (!magic || !r.doc || r.doc_len > len - ml || r.doc[r.doc_len] != '\0' ||
	    memcmp(r.doc, buf + len - r.doc_len, r.doc_len) != 0)
		abort();
	if (strnlen(r.origin, sizeof(r.origin)) == sizeof(r.origin) ||
	    strnlen(r.policy_dn, sizeof(r.policy_dn)) == sizeof(r.policy_dn) ||
	    strnlen(r.holder, sizeof(r.holder)) == sizeof(r.holder) || r.via > SS_DIR_VIA_OU)
		abort();
	ss_dir_result_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* An exact-size copy: ASan sees any read past the file's bytes. */
	size_t len = size - 1;
	char *buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if (data[0] & 1)
		cache(buf, len);
	else
		bootstrap(buf, len);
	free(buf);
	return 0;
}
