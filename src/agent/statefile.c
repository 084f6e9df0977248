/* Downgrade memory persistence: the only file I/O of the agent, kept apart so that the
 * core stays sans-I/O.  See statefile.h for the format and the crash-safety argument. */
#include "agent/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/cursor.h"
#include "base/file.h"
#include "base/log.h"

enum {
	SF_VERSION = 1,
	SF_HEADER = 12,
	SF_ENTRY = 1 + 16 + 8,
	SF_DIGEST = 32,
	SF_MAX_ENTRIES = 1u << 22, /* far above max_remembered; bounds a hostile count */
};

static bool sha256(const uint8_t *p, size_t n, uint8_t out[SF_DIGEST])
{
	unsigned len = 0;
	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == SF_DIGEST;
}

int ss_statefile_parse(const uint8_t *p, size_t n, ss_statefile_fn fn, void *ctx, const char **why)
{
	if (n < SF_HEADER + SF_DIGEST) {
		*why = "file too short for header and checksum";
		return -1;
	}
	uint8_t d[SF_DIGEST];
	ss_cur all = ss_cur_init(p, n);
	ss_cur body = ss_cur_sub(&all, n - SF_DIGEST);
	const uint8_t *want = ss_cur_take(&all, SF_DIGEST);
	if (!want || !sha256(ss_cur_ptr(&body), ss_cur_left(&body), d) || memcmp(d, want, SF_DIGEST) != 0) {
		*why = "checksum mismatch (torn or corrupt write)";
		return -1;
	}
	uint8_t magic[4];
	ss_cur_copy(&body, magic, 4);
	uint8_t ver = ss_cur_u8(&body);
	ss_cur_skip(&body, 3);
	uint32_t count = ss_cur_be32(&body);
	if (!ss_cur_ok(&body) || memcmp(magic, "SSDG", 4) != 0) {
		*why = "bad magic";
		return -1;
	}
	if (ver != SF_VERSION) {
		*why = "unknown version";
		return -1;
	}
	if (count > SF_MAX_ENTRIES || ss_cur_left(&body) != (size_t)count * SF_ENTRY) {
		*why = "entry count does not match file length";
		return -1;
	}
	/* Validate every entry before reporting any. */
	ss_cur scan = body;
	for (uint32_t k = 0; k < count; k++) {
		uint8_t fam = ss_cur_u8(&scan);
		uint8_t a[16];
		ss_cur_copy(&scan, a, 16);
		ss_cur_skip(&scan, 8);
		if (fam != SS_AF_INET && fam != SS_AF_INET6) {
			*why = "entry with unknown address family";
			return -1;
		}
		for (int j = 4; fam == SS_AF_INET && j < 16; j++)
			if (a[j]) {
				*why = "IPv4 entry with non-zero padding";
				return -1;
			}
	}
	for (uint32_t k = 0; k < count; k++) {
		ss_addr addr = { .family = ss_cur_u8(&body) };
		ss_cur_copy(&body, addr.a, 16);
		uint64_t t = ss_cur_be64(&body);
		if (fn)
			fn(ctx, &addr, t);
	}
	return (int)count;
}

struct collect {
	ss_buf b;
	uint32_t count;
	uint64_t wall_now_s;
};

static void collect_one(void *ctx, const ss_addr *remote, ss_time age_ms)
{
	struct collect *c = ctx;
	uint64_t age_s = age_ms / 1000;
	ss_buf_u8(&c->b, remote->family);
	ss_buf_put(&c->b, remote->a, 16);
	ss_buf_be64(&c->b, c->wall_now_s > age_s ? c->wall_now_s - age_s : 0);
	c->count++;
}

static size_t count_entries(ss_agent *ag)
{
	ss_agent_stats st;
	ss_agent_get_stats(ag, &st);
	return st.remembered;
}

bool ss_statefile_save(ss_agent *ag, ss_time now, uint64_t wall_now_s, const char *path)
{
	size_t max = count_entries(ag);
	size_t cap = SF_HEADER + max * SF_ENTRY + SF_DIGEST;
	uint8_t *mem = malloc(cap);
	if (!mem) {
		SS_ERR("agent", "state file %s: out of memory", path);
		return false;
	}
	struct collect c = { .b = ss_buf_init(mem, cap), .wall_now_s = wall_now_s };
	ss_buf_put(&c.b, "SSDG", 4);
	ss_buf_u8(&c.b, SF_VERSION);
	ss_buf_zero(&c.b, 3);
	size_t count_at = ss_buf_reserve(&c.b, 4);
	/* Export may drop expired entries on the way, so it never yields more than max. */
	ss_agent_remembered_each(ag, now, collect_one, &c);
	ss_buf_set_be32(&c.b, count_at, c.count);
	uint8_t d[SF_DIGEST];
	bool ok = ss_buf_ok(&c.b) && sha256(mem, c.b.len, d) && ss_buf_put(&c.b, d, SF_DIGEST);
	const char *what = "encoding";
	if (ok)
		ok = ss_file_replace(path, mem, c.b.len, &what);
	if (!ok)
		SS_ERR("agent", "state file %s: %s failed: %s", path, what, strerror(errno));
	free(mem);
	return ok;
}

struct load_ctx {
	ss_agent *ag;
	ss_time now;
	uint64_t wall_now_s;
};

static void load_one(void *ctx, const ss_addr *remote, uint64_t at_s)
{
	struct load_ctx *l = ctx;
	/* A time in the future means the wall clock went back: count it as "just now", which
	 * errs on the side of protection. */
	ss_time age = l->wall_now_s > at_s ? (ss_time)(l->wall_now_s - at_s) * 1000 : 0;
	ss_agent_remember(l->ag, l->now, remote, age);
}

int ss_statefile_load(ss_agent *ag, ss_time now, uint64_t wall_now_s, const char *path)
{
	FILE *f = fopen(path, "rbe");
	if (!f) {
		if (errno != ENOENT)
			SS_WARN("agent", "state file %s: %s; starting with an empty peer memory", path,
				strerror(errno));
		return 0;
	}
	size_t cap = 4096, n = 0;
	uint8_t *p = malloc(cap);
	size_t r;
	while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			/* Bounded: the largest valid file plus one byte is enough to reject it. */
			size_t limit = SF_HEADER + (size_t)SF_MAX_ENTRIES * SF_ENTRY + SF_DIGEST + 1;
			if (cap >= limit)
				break;
			uint8_t *q = realloc(p, cap * 2);
			if (!q) {
				free(p);
				p = NULL;
				break;
			}
			p = q;
			cap *= 2;
		}
	}
	fclose(f);
	if (!p) {
		SS_WARN("agent", "state file %s: out of memory; starting with an empty peer memory", path);
		return 0;
	}
	const char *why = NULL;
	int got = ss_statefile_parse(p, n, NULL, NULL, &why);
	if (got >= 0) {
		struct load_ctx l = { ag, now, wall_now_s };
		ss_statefile_parse(p, n, load_one, &l, &why);
		SS_INFO("agent", "state file %s: %d remembered peers restored", path, got);
	} else {
		SS_WARN("agent", "state file %s ignored: %s (%zu bytes); starting with an empty peer memory",
			path, why, n);
		got = 0;
	}
	free(p);
	return got;
}
