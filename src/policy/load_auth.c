/* Authentication methods: pre-shared keys (inline or from a file) with optional IKE
 * identities.  Every copy of a key is wiped when it is no longer needed, on every path. */
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

#define PSK_FILE_MAX 1024

static const char *const auth_keys[] = { "psk", "psk_file", "local_id", "remote_id", NULL };

void ss_auth_methods_free(ss_auth_method *a, size_t n)
{
	if (!a)
		return;
	for (size_t i = 0; i < n; i++) {
		ss_free_secret(a[i].secret, a[i].secret_len);
		free(a[i].local_id.value);
		free(a[i].remote_id.value);
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
static bool psk_file_trusted(struct ld *l, const ynode *n, int fd, const char *full)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return ld_fail(l, n, "cannot read psk_file '%s': %s", full, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ld_fail(l, n, "psk_file '%s' is not a regular file", full);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return ld_fail(l, n, "psk_file '%s' is owned by uid %u, not by root or by us (uid %u)",
			full, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return ld_fail(l, n, "psk_file '%s' is writable by group or others (mode %04o): "
			"refused, chmod go-w it", full, (unsigned)(st.st_mode & 07777));
	if (st.st_mode & (S_IRGRP | S_IROTH))
		SS_WARN("policy", "psk_file '%s' is readable by group or others (mode %04o): "
			"chmod 600 it", full, (unsigned)(st.st_mode & 07777));
	return true;
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
	int w;
	if (path[0] == '/' || !l->base_dir)
		w = snprintf(full, sizeof(full), "%s", path);
	else
		w = snprintf(full, sizeof(full), "%s/%s", l->base_dir, path);
	if (w < 0 || (size_t)w >= sizeof(full)) /* never open a truncated, other path */
		return ld_fail(l, n, "psk_file path is longer than %zu bytes", sizeof(full) - 1);
	/* O_NONBLOCK: a FIFO planted as the key file must not hang the loader in open(). */
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return ld_fail(l, n, "cannot read psk_file '%s': %s", full, strerror(errno));
	if (!psk_file_trusted(l, n, fd, full)) {
		close(fd);
		return false;
	}
	uint8_t buf[PSK_FILE_MAX + 1];
	size_t len = 0;
	bool ok = true;
	while (len < sizeof(buf)) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ok = ld_fail(l, n, "cannot read psk_file '%s': %s", full, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (ok && len > PSK_FILE_MAX)
		ok = ld_fail(l, n, "psk_file '%s' is larger than %d bytes", full, PSK_FILE_MAX);
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

static bool ld_auth(struct ld *l, const ynode *n, ss_auth_method *m)
{
	if (!ld_map(l, n, "auth method", auth_keys))
		return false;
	m->kind = SS_AUTH_KIND_PSK;
	m->loc = (ss_srcloc){ n->line, n->col };
	const ynode *psk = yn_get(n, "psk"), *file = yn_get(n, "psk_file"), *v;
	if (psk && file)
		return ld_fail(l, yn_get_key(n, "psk_file"), "give either psk or psk_file, not both");
	if (!psk && !file)
		return ld_fail(l, n, "auth method needs psk or psk_file");
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
	for (size_t i = 0; i < n->n; i++) {
		(*n_out)++; /* counted first so that a failure frees what was read */
		if (!ld_auth(l, n->items[i], &(*out)[i]))
			return false;
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
		memcpy(d->secret, src[i].secret, src[i].secret_len);
		d->secret_len = src[i].secret_len;
		if (src[i].local_id.value && !(d->local_id.value = ld_strdup(l, at, src[i].local_id.value)))
			return false;
		if (src[i].remote_id.value && !(d->remote_id.value = ld_strdup(l, at, src[i].remote_id.value)))
			return false;
	}
	return true;
}
