/* The directory bootstrap file (config.h): checked whole before anything connects. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/secure.h"
#include "directory/config.h"
#include "directory/entry.h"
#include "policy/load_int.h"

static const char *const keys[] = {
	"uri", "base_dn", "host_dn", "bind", "bind_dn", "password_file", "cert_file", "key_file",
	"ca_file", "tls", "follow", "poll_interval", "retry_interval", "timeout", "cache_file",
	"default", "policy_base", NULL
};

static bool str(struct ld *l, const ynode *top, const char *key, char **out)
{
	const ynode *n = yn_get(top, key);
	if (!n)
		return true;
	if (!ld_scalar(l, n, key))
		return false;
	return (*out = ld_strdup(l, n, n->str)) != NULL;
}

static bool dn(struct ld *l, const ynode *top, const char *key, ss_dn *out)
{
	const ynode *n = yn_get(top, key);
	const char *why;
	if (n && !ss_dn_parse(n->str, n->len, out, &why))
		return ld_fail(l, n, "%s is not a DN: %s", key, why);
	return true;
}

/* The host part of an ldap:// URI is the loopback: only then may TLS be off. */
static bool loopback_uri(const char *u)
{
	const char *h = strstr(u, "://");
	if (!h)
		return false;
	h += 3;
	size_t n = strcspn(h, ":/");
	if (h[0] == '[')
		n = strcspn(h, "]") + 1;
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) || (n == 5 && strncmp(h, "[::1]", 5) == 0) ||
	       (n >= 9 && strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") >= n);
}

static bool uris(struct ld *l, const ynode *top, ss_dir_config *c)
{
	const ynode *n = yn_get(top, "uri");
	if (!n)
		return ld_fail(l, NULL, "no uri: say where the directory is (ldaps://HOST or ldap://HOST)");
	const ynode *one[1] = { n };
	const ynode *const *items = n->kind == YN_SEQ ? (const ynode *const *)n->items : one;
	size_t count = n->kind == YN_SEQ ? n->n : 1;
	if (count == 0 || count > SS_DIR_MAX_URIS)
		return ld_fail(l, n, "uri: give 1 to %d URIs, got %zu", SS_DIR_MAX_URIS, count);
	for (size_t i = 0; i < count; i++) {
		const ynode *u = items[i];
		if (!ld_scalar(l, u, "uri"))
			return false;
		if (strncasecmp(u->str, "ldap://", 7) != 0 && strncasecmp(u->str, "ldaps://", 8) != 0)
			return ld_fail(l, u, "uri '%s' is neither ldap:// nor ldaps://", u->str);
		if (strpbrk(u->str, " ,"))
			return ld_fail(l, u, "uri '%s': one URI per item", u->str);
		if (!(c->uris[c->n_uris++] = ld_strdup(l, u, u->str)))
			return false;
	}
	return true;
}

static bool choice(struct ld *l, const ynode *top, const char *key, const char *const *names, int *out)
{
	const ynode *n = yn_get(top, key);
	if (!n)
		return true;
	if (!ld_scalar(l, n, key))
		return false;
	for (int i = 0; names[i]; i++)
		if (strcmp(n->str, names[i]) == 0) {
			*out = i;
			return true;
		}
	return ld_fail(l, n, "%s: unknown value '%s' (expected %s or %s)", key, n->str, names[0], names[1]);
}

static bool seconds(struct ld *l, const ynode *top, const char *key, uint32_t lo, uint32_t hi, uint32_t *out)
{
	const ynode *n = yn_get(top, key);
	return !n || ld_duration(l, n, key, lo, hi, out);
}

/* What goes together: the bind method's credentials, TLS for anything but the loopback. */
static bool coherent(struct ld *l, const ynode *top, ss_dir_config *c)
{
	if (!c->base_dn)
		return ld_fail(l, NULL, "no base_dn: the subtree with the policies and assignments");
	ss_dn base, host;
	if (!dn(l, top, "base_dn", &base) || !dn(l, top, "host_dn", &host))
		return false;
	if (c->host_dn && !ss_dn_within(&host, &base))
		return ld_fail(l, yn_get(top, "host_dn"), "host_dn is not under base_dn");
	if (c->policy_base && !dn(l, top, "policy_base", &base))
		return false;
	const ynode *at = yn_get_key(top, "bind");
	at = at ? at : yn_get_key(top, "bind_dn");
	at = at ? at : yn_get_key(top, "password_file");
	if (c->bind == SS_DIR_BIND_SIMPLE && (!c->bind_dn || !c->password_file))
		return ld_fail(l, at, "bind: simple needs bind_dn and password_file");
	if (c->bind == SS_DIR_BIND_EXTERNAL && (!c->cert_file || !c->key_file))
		return ld_fail(l, yn_get_key(top, "bind"), "bind: external needs cert_file and key_file "
			       "(the host's certificate, presented over TLS)");
	const ynode *tls = yn_get(top, "tls");
	if (!c->tls) {
		for (size_t i = 0; i < c->n_uris; i++)
			if (!loopback_uri(c->uris[i]))
				return ld_fail(l, tls, "tls: off only for a directory on the loopback (a test); "
					       "'%s' is not", c->uris[i]);
		if (c->bind == SS_DIR_BIND_EXTERNAL)
			return ld_fail(l, tls, "bind: external presents the certificate over TLS: tls cannot be off");
	} else if (!c->ca_file) {
		return ld_fail(l, NULL, "no ca_file: the directory's certificate is verified against it "
			       "(tls: off is for a loopback test only)");
	}
	const char *d = c->default_policy;
	if (!ss_dir_default_text(d))
		return ld_fail(l, yn_get(top, "default"), "default: '%s' is neither none nor a built-in policy "
			       "(client, server, secure-server)", d);
	return true;
}

static bool top_level(struct ld *l, const ynode *top, ss_dir_config *c)
{
	static const char *const binds[] = { "simple", "external", NULL };
	static const char *const follows[] = { "auto", "poll", NULL };
	static const char *const tlss[] = { "on", "off", NULL };
	int bind = 0, follow = 0, tls = 0;
	if (!ld_map(l, top, "directory bootstrap", keys) || !uris(l, top, c))
		return false;
	bool ok = str(l, top, "base_dn", &c->base_dn) && str(l, top, "host_dn", &c->host_dn) &&
		  str(l, top, "bind_dn", &c->bind_dn) && str(l, top, "password_file", &c->password_file) &&
		  str(l, top, "cert_file", &c->cert_file) && str(l, top, "key_file", &c->key_file) &&
		  str(l, top, "ca_file", &c->ca_file) && str(l, top, "cache_file", &c->cache_file) &&
		  str(l, top, "default", &c->default_policy) && str(l, top, "policy_base", &c->policy_base) &&
		  choice(l, top, "bind", binds, &bind) && choice(l, top, "follow", follows, &follow) &&
		  choice(l, top, "tls", tlss, &tls) &&
		  seconds(l, top, "poll_interval", 1, 86400, &c->poll_interval_s) &&
		  seconds(l, top, "retry_interval", 1, 3600, &c->retry_interval_s) &&
		  seconds(l, top, "timeout", 1, 300, &c->timeout_s);
	c->bind = (enum ss_dir_bind)bind;
	c->follow = (enum ss_dir_follow_mode)follow;
	c->tls = tls == 0;
	if (ok && !c->cache_file)
		ok = (c->cache_file = ld_strdup(l, NULL, SS_DIR_DEFAULT_CACHE)) != NULL;
	if (ok && !c->default_policy)
		ok = (c->default_policy = ld_strdup(l, NULL, "none")) != NULL;
	if (ok && !c->policy_base)
		ok = (c->policy_base = ld_strdup(l, NULL, c->base_dn ? c->base_dn : "")) != NULL;
	return ok && coherent(l, top, c);
}

bool ss_dir_config_load_mem(const char *name, const char *buf, size_t len, ss_dir_config *out, ss_load_error *err)
{
	static const ss_load_opts none;
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	out->poll_interval_s = 60;
	out->retry_interval_s = 10;
	out->timeout_s = 10;
	struct ld l = { .file = name, .o = &none, .err = err };
	ynode *root = yn_parse(&l, buf, len);
	bool ok = root && top_level(&l, root, out);
	yn_free(root);
	if (ok)
		ok = (out->file = strdup(name)) != NULL;
	if (!ok)
		ss_dir_config_free(out);
	return ok;
}

/* Relative paths in the bootstrap file are relative to its directory, as a policy's
 * psk_file is to the policy file's. */
static bool relative_to(const char *path, ss_dir_config *c, ss_load_error *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return true;
	char **files[] = { &c->password_file, &c->ca_file, &c->cert_file, &c->key_file, &c->cache_file };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *f = *files[i];
		if (!f || f[0] == '/')
			continue;
		char *full = NULL;
		if (asprintf(&full, "%.*s/%s", (int)(slash - path), path, f) < 0) {
			struct ld l = { .file = path, .err = err };
			ss_dir_config_free(c);
			return ld_fail(&l, NULL, "out of memory");
		}
		free(f);
		*files[i] = full;
	}
	return true;
}

bool ss_dir_config_load(const char *path, ss_dir_config *out, ss_load_error *err)
{
	char buf[65536];
	struct ld l = { .file = path, .err = err };
	memset(err, 0, sizeof(*err));
	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return ld_fail(&l, NULL, "cannot read: %s", strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf));
	int e = errno;
	close(fd);
	if (n < 0)
		return ld_fail(&l, NULL, "cannot read: %s", strerror(e));
	if ((size_t)n == sizeof(buf))
		return ld_fail(&l, NULL, "larger than 64 KiB");
	return ss_dir_config_load_mem(path, buf, (size_t)n, out, err) && relative_to(path, out, err);
}

void ss_dir_config_free(ss_dir_config *c)
{
	for (size_t i = 0; i < c->n_uris; i++)
		free(c->uris[i]);
	char **s[] = { &c->file, &c->base_dn, &c->host_dn, &c->bind_dn, &c->password_file, &c->cert_file,
		       &c->key_file, &c->ca_file, &c->cache_file, &c->default_policy, &c->policy_base };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	memset(c, 0, sizeof(*c));
}

long ss_dir_read_password(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	/* As a psk_file (policy/load_auth.c): whoever can write the file can bind as this host. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot read password_file '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	const char *bad = !S_ISREG(st.st_mode) ? "is not a regular file"
		: st.st_uid != 0 && st.st_uid != geteuid() ? "is owned by neither root nor us"
		: st.st_mode & (S_IWGRP | S_IWOTH) ? "is writable by group or others: refused, chmod go-w it"
		: NULL;
	if (bad) {
		snprintf(err, errlen, "password_file '%s' %s", path, bad);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH))
		SS_WARN("directory", "password_file '%s' is readable by group or others: chmod 600 it", path);
	ssize_t n = read(fd, buf, cap);
	int e = errno;
	close(fd);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "password_file '%s': %s", path, n < 0 ? strerror(e) : "too long");
		ss_wipe(buf, cap);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return n;
}

static const char none_yaml[] =
	"name: none\n"
	"description: \"no policy assigned in the directory: every packet in the clear, IKE not answered\"\n";

const char *ss_dir_default_text(const char *name)
{
	static const struct { const char *name, *text; } t[] = {
		{ "none", none_yaml },
		{ "client", "builtin: client\n" },
		{ "server", "builtin: server\n" },
		{ "secure-server", "builtin: secure-server\n" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(name, t[i].name) == 0)
			return t[i].text;
	return NULL;
}
