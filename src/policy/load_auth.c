/* Authentication methods: pre-shared keys (inline or from a file) with optional IKE
 * identities, and X.509 certificates (trust anchors, our certificate and key, a CRL, the
 * pattern the peer's certificate must match).  Every copy of a key is wiped when it is no
 * longer needed, on every path. */
#include "policy/load_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/secure.h"
#include "ike/cert.h"

#define PSK_FILE_MAX 1024
#define KEY_FILE_MAX 65536   /* a PEM private key (RSA 16384 fits) */

static const char *const auth_keys[] = { "psk", "psk_file", "certificate", "local_id", "remote_id", NULL };
static const char *const cert_keys[] = { "ca", "cert", "key", "crl", "peer_id", NULL };

static void cert_method_free(ss_cert_method *c)
{
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->crl);
	free(c->peer_id);
	ss_ike_cred_unref(c->cred);
}

void ss_auth_methods_free(ss_auth_method *a, size_t n)
{
	if (!a)
		return;
	for (size_t i = 0; i < n; i++) {
		ss_free_secret(a[i].secret, a[i].secret_len);
		free(a[i].local_id.value);
		free(a[i].remote_id.value);
		cert_method_free(&a[i].cert);
	}
	ss_wipe(a, n * sizeof(*a));
	free(a);
}

/* "keyid:TEXT", "fqdn:NAME", an IP address, or a name (FQDN). */
static bool ld_identity(struct ld *l, const ynode *n, const char *what, ss_identity *id)
{
	if (!ld_scalar(l, n, what))
		return false;
	const char *s = n->str;
	ss_addr a;
	if (strncmp(s, "keyid:", 6) == 0) {
		id->type = SS_ID_KEY_ID;
		s += 6;
	} else if (strncmp(s, "fqdn:", 5) == 0) {
		id->type = SS_ID_FQDN;
		s += 5;
	} else if (ss_addr_parse(s, &a)) {
		id->type = a.family == SS_AF_INET ? SS_ID_IPV4_ADDR : SS_ID_IPV6_ADDR;
	} else {
		id->type = SS_ID_FQDN;
	}
	if (!*s || strlen(s) > 255)
		return ld_fail(l, n, "%s must be 1 to 255 characters after its prefix", what);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
			return ld_fail(l, n, "%s may contain only printable ASCII without spaces", what);
	id->value = ld_strdup(l, n, s);
	return id->value != NULL;
}

static bool check_psk_len(struct ld *l, const ynode *n, size_t len)
{
	if (len < SS_PSK_MIN_LEN)
		return ld_fail(l, n, "pre-shared key is too short: %zu bytes, at least %d needed", len,
			SS_PSK_MIN_LEN);
	if (len > SS_PSK_MAX_LEN)
		return ld_fail(l, n, "pre-shared key is too long: %zu bytes, at most %d supported", len,
			SS_PSK_MAX_LEN);
	return true;
}

/* Who may have written the key decides whose key it is.  A key file must be a regular file
 * (not a FIFO or device that could block or feed endless bytes), owned by root or by us,
 * and writable by nobody else: anyone who can change it could authenticate as any peer,
 * so such a file is refused.  A key readable by others is disclosed, not forged; it is
 * accepted with a warning so that a key file checked out of git (0644) still loads. */
static bool key_file_trusted(struct ld *l, const ynode *n, const char *what, int fd, const char *full)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return ld_fail(l, n, "cannot read %s '%s': %s", what, full, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ld_fail(l, n, "%s '%s' is not a regular file", what, full);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return ld_fail(l, n, "%s '%s' is owned by uid %u, not by root or by us (uid %u)",
			what, full, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return ld_fail(l, n, "%s '%s' is writable by group or others (mode %04o): "
			"refused, chmod go-w it", what, full, (unsigned)(st.st_mode & 07777));
	if (st.st_mode & (S_IRGRP | S_IROTH))
		SS_WARN("policy", "%s '%s' is readable by group or others (mode %04o): "
			"chmod 600 it", what, full, (unsigned)(st.st_mode & 07777));
	return true;
}

/* path relative to the policy file's directory, unless absolute; false if it does not fit. */
static bool full_path(struct ld *l, const ynode *n, const char *what, const char *path,
	char full[4096])
{
	int w;
	if (path[0] == '/' || !l->base_dir)
		w = snprintf(full, 4096, "%s", path);
	else
		w = snprintf(full, 4096, "%s/%s", l->base_dir, path);
	if (w < 0 || w >= 4096) /* never open a truncated, other path */
		return ld_fail(l, n, "%s path is longer than 4095 bytes", what);
	return true;
}

/* Reads a whole key file (trusted as above) into buf; *len its size.  buf is the caller's,
 * which wipes it. */
static bool read_key_file(struct ld *l, const ynode *n, const char *what, const char *full,
	uint8_t *buf, size_t cap, size_t *len)
{
	/* O_NONBLOCK: a FIFO planted as the key file must not hang the loader in open(). */
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return ld_fail(l, n, "cannot read %s '%s': %s", what, full, strerror(errno));
	if (!key_file_trusted(l, n, what, fd, full)) {
		close(fd);
		return false;
	}
	bool ok = true;
	*len = 0;
	while (*len < cap) {
		ssize_t r = read(fd, buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ok = ld_fail(l, n, "cannot read %s '%s': %s", what, full, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	close(fd);
	if (ok && *len >= cap)
		ok = ld_fail(l, n, "%s '%s' is larger than %zu bytes", what, full, cap - 1);
	return ok;
}

/* Reads a key file: its bytes, without trailing newlines. */
static bool read_psk_file(struct ld *l, const ynode *n, const char *path, ss_auth_method *m)
{
	if (l->o->skip_key_files) {
		if (!(m->secret = calloc(1, SS_PSK_PLACEHOLDER_LEN)))
			return ld_fail(l, n, "out of memory");
		m->secret_len = SS_PSK_PLACEHOLDER_LEN;
		return true;
	}
	char full[4096];
	if (!full_path(l, n, "psk_file", path, full))
		return false;
	uint8_t buf[PSK_FILE_MAX + 1];
	size_t len = 0;
	bool ok = read_key_file(l, n, "psk_file", full, buf, sizeof(buf), &len);
	while (ok && len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (ok)
		ok = check_psk_len(l, n, len);
	if (ok && !(m->secret = malloc(len)))
		ok = ld_fail(l, n, "out of memory");
	if (ok) {
		memcpy(m->secret, buf, len);
		m->secret_len = len;
	}
	ss_wipe(buf, sizeof(buf));
	return ok;
}

/* One path of `certificate:`: required or not, resolved, and readable now (so that the
 * error points at the line that names it). */
static bool cert_path(struct ld *l, const ynode *map, const char *key, bool required, char **out,
	ss_srcloc *loc)
{
	const ynode *v = yn_get(map, key);
	if (!v) {
		return !required || ld_fail(l, map, "certificate needs %s", key);
	}
	if (!ld_scalar(l, v, key))
		return false;
	char full[4096];
	if (!*v->str)
		return ld_fail(l, v, "%s is empty", key);
	if (!full_path(l, v, key, v->str, full))
		return false;
	*loc = (ss_srcloc){ v->line, v->col };
	if (!l->o->skip_key_files && strcmp(key, "key") != 0 && access(full, R_OK) != 0)
		return ld_fail(l, v, "cannot read %s '%s': %s", key, full, strerror(errno));
	*out = ld_strdup(l, v, full);
	return *out != NULL;
}

/* Which line a credential's load error is about. */
static const ynode *blame(const ynode *map, const char *err)
{
	/* The messages of ss_ike_cred_load() start with what they are about. */
	static const struct { const char *word, *key; } w[] = {
		{ "CA ", "ca" }, { "CRL ", "crl" }, { "peer_id", "peer_id" }, { "certificate file", "cert" },
		{ "the private key", "key" }, { "the key file", "key" }, { "no private key", "key" },
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strncmp(err, w[i].word, strlen(w[i].word)) == 0 && yn_get(map, w[i].key))
			return yn_get(map, w[i].key);
	return yn_get(map, "cert") ? yn_get(map, "cert") : map;
}

static bool load_cred(struct ld *l, const ynode *map, ss_cert_method *c)
{
	uint8_t *buf = malloc(KEY_FILE_MAX);
	if (!buf)
		return ld_fail(l, map, "out of memory");
	size_t len = 0;
	bool ok = read_key_file(l, yn_get(map, "key"), "key", c->key, buf, KEY_FILE_MAX, &len);
	if (ok) {
		char err[300];
		ss_cred_files f = { .ca = c->ca, .cert = c->cert, .key_pem = buf, .key_len = len,
				    .crl = c->crl, .peer_id = c->peer_id };
		c->cred = ss_ike_cred_load(&f, err, sizeof(err));
		if (!c->cred)
			ok = ld_fail(l, blame(map, err), "certificate: %s", err);
	}
	ss_free_secret(buf, KEY_FILE_MAX);
	return ok;
}

static bool ld_certificate(struct ld *l, const ynode *n, ss_auth_method *m)
{
	if (!ld_map(l, n, "certificate", cert_keys))
		return false;
	ss_cert_method *c = &m->cert;
	m->kind = SS_AUTH_KIND_CERT;
	if (!cert_path(l, n, "ca", true, &c->ca, &c->ca_loc) ||
	    !cert_path(l, n, "cert", true, &c->cert, &c->cert_loc) ||
	    !cert_path(l, n, "key", true, &c->key, &c->key_loc) ||
	    !cert_path(l, n, "crl", false, &c->crl, &c->crl_loc))
		return false;
	const ynode *pid = yn_get(n, "peer_id");
	if (pid && (!ld_scalar(l, pid, "peer_id") || !(c->peer_id = ld_strdup(l, pid, pid->str))))
		return false;
	return l->o->skip_key_files || load_cred(l, n, c);
}

static bool ld_auth(struct ld *l, const ynode *n, ss_auth_method *m)
{
	if (!ld_map(l, n, "auth method", auth_keys))
		return false;
	m->kind = SS_AUTH_KIND_PSK;
	m->loc = (ss_srcloc){ n->line, n->col };
	const ynode *psk = yn_get(n, "psk"), *file = yn_get(n, "psk_file"), *v;
	const ynode *cert = yn_get(n, "certificate");
	if (cert) {
		/* The peer's identity comes from its certificate (peer_id), ours is our subject. */
		static const char *const others[] = { "psk", "psk_file", "local_id", "remote_id" };
		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
			if (yn_get(n, others[i]))
				return ld_fail(l, yn_get_key(n, others[i]), "%s does not go with certificate "
					"in one auth method (give each method its own list item%s)", others[i],
					i >= 2 ? "; a certificate peer is matched with peer_id" : "");
		return ld_certificate(l, cert, m);
	}
	if (psk && file)
		return ld_fail(l, yn_get_key(n, "psk_file"), "give either psk or psk_file, not both");
	if (!psk && !file)
		return ld_fail(l, n, "auth method needs psk, psk_file or certificate");
	if (psk) {
		if (!ld_scalar(l, psk, "psk") || !check_psk_len(l, psk, psk->len))
			return false;
		if (!(m->secret = malloc(psk->len)))
			return ld_fail(l, psk, "out of memory");
		memcpy(m->secret, psk->str, psk->len);
		m->secret_len = psk->len;
	} else if (!ld_scalar(l, file, "psk_file") || !read_psk_file(l, file, file->str, m)) {
		return false;
	}
	if ((v = yn_get(n, "local_id")) && !ld_identity(l, v, "local_id", &m->local_id))
		return false;
	if ((v = yn_get(n, "remote_id")) && !ld_identity(l, v, "remote_id", &m->remote_id))
		return false;
	return true;
}

bool ld_auth_list(struct ld *l, const ynode *n, ss_auth_method **out, size_t *n_out)
{
	if (!ld_seq(l, n, "auth"))
		return false;
	if (n->n == 0)
		return ld_fail(l, n, "auth is empty");
	*out = ld_calloc(l, n, n->n, sizeof(**out));
	if (!*out)
		return false;
	size_t certs = 0;
	for (size_t i = 0; i < n->n; i++) {
		(*n_out)++; /* counted first so that a failure frees what was read */
		if (!ld_auth(l, n->items[i], &(*out)[i]))
			return false;
		/* IKE_AUTH carries one certificate of ours: a second method could never be used. */
		if ((*out)[i].kind == SS_AUTH_KIND_CERT && ++certs > 1)
			return ld_fail(l, n->items[i], "one certificate method per auth list (this is the second)");
	}
	return true;
}

bool ld_auth_psk_file(struct ld *l, const ynode *n, const char *path, ss_auth_method **out, size_t *n_out)
{
	*out = ld_calloc(l, n, 1, sizeof(**out));
	if (!*out)
		return false;
	*n_out = 1;
	(*out)->kind = SS_AUTH_KIND_PSK;
	if (n)
		(*out)->loc = (ss_srcloc){ n->line, n->col };
	return read_psk_file(l, n, path, *out);
}

bool ld_auth_copy(struct ld *l, const ynode *at, const ss_auth_method *src, size_t n,
	ss_auth_method **out, size_t *n_out)
{
	*out = ld_calloc(l, at, n, sizeof(**out));
	if (!*out)
		return false;
	for (size_t i = 0; i < n; i++) {
		ss_auth_method *d = &(*out)[i];
		(*n_out)++;
		d->kind = src[i].kind;
		d->loc = src[i].loc;
		d->local_id.type = src[i].local_id.type;
		d->remote_id.type = src[i].remote_id.type;
		if (!(d->secret = malloc(src[i].secret_len ? src[i].secret_len : 1)))
			return ld_fail(l, at, "out of memory");
		if (src[i].secret_len) /* a certificate method has no secret */
			memcpy(d->secret, src[i].secret, src[i].secret_len);
		d->secret_len = src[i].secret_len;
		if (src[i].local_id.value && !(d->local_id.value = ld_strdup(l, at, src[i].local_id.value)))
			return false;
		if (src[i].remote_id.value && !(d->remote_id.value = ld_strdup(l, at, src[i].remote_id.value)))
			return false;
		const ss_cert_method *sc = &src[i].cert;
		ss_cert_method *dc = &d->cert;
		*dc = (ss_cert_method){ .ca_loc = sc->ca_loc, .cert_loc = sc->cert_loc, .key_loc = sc->key_loc,
					.crl_loc = sc->crl_loc, .cred = ss_ike_cred_ref(sc->cred) };
		const char *const from[] = { sc->ca, sc->cert, sc->key, sc->crl, sc->peer_id };
		char **to[] = { &dc->ca, &dc->cert, &dc->key, &dc->crl, &dc->peer_id };
		for (size_t k = 0; k < 5; k++)
			if (from[k] && !(*to[k] = ld_strdup(l, at, from[k])))
				return false;
	}
	return true;
}
