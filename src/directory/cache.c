/* The last good policy on disk (cache.h): a directory that is down at boot changes nothing.
 * The file is the policy's YAML behind a few comment lines saying where it came from, so it
 * is itself a policy file `softsa check` reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cursor.h"
#include "base/file.h"
#include "directory/cache.h"

#define MAGIC "# softsa directory cache: the last good policy (doc/directory.md); written by softsad\n"
#define CACHE_MAX (SS_DIR_DOC_MAX + 8192)

static void one_line(char *out, size_t cap, const char *s)
{
	snprintf(out, cap, "%s", s);
	for (char *c = out; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

bool ss_dir_cache_save(const char *path, const ss_dir_result *r, int64_t fetched, char *err, size_t errlen)
{
	char dir[4096];
	ss_path_dir(path, dir, sizeof(dir));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return false;
	}
	char origin[sizeof(r->origin)], dn[SS_DN_MAX], holder[SS_DN_MAX];
	one_line(origin, sizeof(origin), r->origin);
	one_line(dn, sizeof(dn), r->policy_dn);
	one_line(holder, sizeof(holder), r->holder);
	size_t cap = sizeof(origin) + 2 * SS_DN_MAX + 256 + r->doc_len;
	char *buf = malloc(cap);
	int n = buf ? snprintf(buf, cap, MAGIC "# origin: %s\n# policy_dn: %s\n# version: %llu\n# via: %s\n"
			       "# holder: %s\n# fetched: %lld\n", origin, dn, (unsigned long long)r->version,
			       ss_dir_via_name(r->via), holder, (long long)fetched) : -1;
	const char *what = "encoding";
	bool ok = n > 0 && (size_t)n + r->doc_len < cap;
	if (ok) {
		memcpy(buf + n, r->doc, r->doc_len);
		ok = ss_file_replace(path, buf, (size_t)n + r->doc_len, &what);
	}
	if (!ok)
		snprintf(err, errlen, "%s %s failed: %s", what, path, strerror(errno));
	free(buf);
	return ok;
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%.*s", (int)(cap - 1), src);
}

/* "# key: value\n" at c; false at the first line that is not one (the document starts). */
static bool header_line(ss_cur *c, char *key, size_t kcap, char *val, size_t vcap)
{
	uint8_t b[2];
	if (!ss_cur_peek(c, 0, b, 2) || b[0] != '#' || b[1] != ' ')
		return false;
	size_t at = 2, k = 0, v = 0;
	uint8_t ch;
	while (ss_cur_peek(c, at, &ch, 1) && ch != ':' && ch != '\n' && k + 1 < kcap)
		key[k++] = (char)ch, at++;
	key[k] = '\0';
	if (!ss_cur_peek(c, at, &ch, 1) || ch != ':')
		return false;
	at++;
	if (ss_cur_peek(c, at, &ch, 1) && ch == ' ')
		at++;
	while (ss_cur_peek(c, at, &ch, 1) && ch != '\n') {
		if (v + 1 < vcap)
			val[v++] = (char)ch;
		at++;
	}
	val[v] = '\0';
	if (!ss_cur_peek(c, at, &ch, 1))
		return false;
	ss_cur_skip(c, at + 1);
	return true;
}

static bool parse(const char *buf, size_t len, ss_dir_result *r)
{
	memset(r, 0, sizeof(*r));
	size_t ml = strlen(MAGIC);
	if (len < ml || memcmp(buf, MAGIC, ml) != 0)
		return false;
	ss_cur c = ss_cur_init(buf, len);
	ss_cur_skip(&c, ml);
	char key[32], val[SS_DN_MAX + 64];
	while (header_line(&c, key, sizeof(key), val, sizeof(val))) {
		if (strcmp(key, "origin") == 0)
			copy(r->origin, sizeof(r->origin), val);
		else if (strcmp(key, "policy_dn") == 0)
			copy(r->policy_dn, sizeof(r->policy_dn), val);
		else if (strcmp(key, "holder") == 0)
			copy(r->holder, sizeof(r->holder), val);
		else if (strcmp(key, "version") == 0)
			r->version = strtoull(val, NULL, 10);
		else if (strcmp(key, "via") == 0)
			for (int v = SS_DIR_VIA_NONE; v <= SS_DIR_VIA_OU; v++)
				if (strcmp(val, ss_dir_via_name((enum ss_dir_via)v)) == 0)
					r->via = (enum ss_dir_via)v;
	}
	size_t n = ss_cur_left(&c);
	if (!(r->doc = malloc(n + 1)))
		return false;
	ss_cur_copy(&c, r->doc, n);
	r->doc[n] = '\0';
	r->doc_len = n;
	return true;
}

bool ss_dir_cache_parse(const char *buf, size_t len, ss_dir_result *r)
{
	bool ok = parse(buf, len, r);
	if (!ok)
		ss_dir_result_clear(r);
	return ok;
}

bool ss_dir_cache_load(const char *path, ss_dir_result *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CACHE_MAX) {
		snprintf(err, errlen, "%s: %s", path, fd < 0 ? strerror(errno) : "not a regular file of at most 1 MiB");
		if (fd >= 0)
			close(fd);
		return false;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = buf ? read(fd, buf, (size_t)st.st_size + 1) : -1;
	close(fd);
	bool ok = n >= 0 && n <= st.st_size && ss_dir_cache_parse(buf, (size_t)n, r);
	free(buf);
	if (!ok) {
		ss_dir_result_clear(r);
		snprintf(err, errlen, "%s: not a softsa directory cache", path);
	}
	return ok;
}
