/* Where the policy comes from, for `status`; and the directory policy source
 * (doc/directory.md): the policy text softsad loads when started with --directory.
 *
 * The follower thread (directory/follow.h) hands over each new version; this file checks
 * and applies it through the ordinary reload path (dm_reload -> load() in policyset.c, which
 * asks dm_policysrc_load for the text): an invalid version is logged and shown in status
 * and the running policy stays; a valid one replaces it exactly as SIGHUP would, and is
 * written to the cache so that a directory down at the next boot changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "base/file.h"
#include "base/log.h"
#include "daemon/daemon.h"
#include "directory/cache.h"
#include "directory/config.h"
#include "directory/follow.h"
#include "policy/load.h"

struct dm_policysrc {
	ss_dir_config cfg;
	ss_dir_follow *f;
	ss_dir_result cur;            /* the version in force */
	const ss_dir_result *cand;    /* the version being checked (during dm_reload) */
	bool from_cache;              /* cur came from the cache, not yet from the directory */
	int64_t applied;              /* Unix time cur was put in force */
	char error[700];              /* the last version refused, or why no fetch worked at start */
	int64_t error_time;
	char base_dir[4096];          /* relative psk_file paths: the bootstrap file's directory */
};

struct ss_policy *dm_policysrc_load(const ss_daemon *d, const struct ss_load_opts *o, struct ss_load_error *e)
{
	dm_policysrc *s = d->src;
	const ss_dir_result *r = s->cand ? s->cand : &s->cur;
	ss_load_opts lo = *o;
	lo.base_dir = s->base_dir;
	return ss_policy_load_mem(r->origin, r->doc, r->doc_len, &lo, e);
}

static void set_error(dm_policysrc *s, const char *err)
{
	snprintf(s->error, sizeof(s->error), "%s", err);
	s->error_time = (int64_t)time(NULL);
}

static void save_cache(dm_policysrc *s)
{
	char err[700];
	if (!ss_dir_cache_save(s->cfg.cache_file, &s->cur, (int64_t)time(NULL), err, sizeof(err)))
		SS_WARN(SUB, "directory: the policy is in force but not cached: %s", err);
}

static void on_follow(ss_loop *l, int fd, uint32_t events, void *ctx)
{
	ss_daemon *d = ctx;
	dm_policysrc *s = d->src;
	ss_dir_result r;
	if (!ss_dir_follow_take(s->f, &r))
		return;
	if (ss_dir_result_same(&r, &s->cur)) {
		s->from_cache = false; /* the directory still says what the cache said */
		ss_dir_result_clear(&r);
		return;
	}
	if (r.warning[0])
		SS_WARN(SUB, "directory: %s", r.warning);
	char err[700];
	s->cand = &r;
	bool ok = dm_reload(d, err, sizeof(err));
	s->cand = NULL;
	if (!ok) {
		/* dm_reload logged it; the version is refused until the directory holds another. */
		set_error(s, err);
		ss_dir_result_clear(&r);
		return;
	}
	ss_dir_result_clear(&s->cur);
	s->cur = r;
	s->from_cache = false;
	s->applied = (int64_t)time(NULL);
	s->error[0] = '\0';
	s->error_time = 0;
	SS_INFO(SUB, "directory: %s in force (%s%s%s)", s->cur.origin, ss_dir_via_name(s->cur.via),
		s->cur.holder[0] ? " " : "", s->cur.holder);
	save_cache(s);
}

/* The version fetched at start, checked as any later one: true when it is usable. */
static bool check(dm_policysrc *s, const ss_daemon *d, const ss_dir_result *r)
{
	ss_load_opts o = { .psk_file = d->o.psk_file, .base_dir = s->base_dir };
	ss_load_error e;
	ss_policy *p = ss_policy_load_mem(r->origin, r->doc, r->doc_len, &o, &e);
	if (!p) {
		SS_ERR(SUB, "directory: refusing %s: %s", r->origin, e.text);
		set_error(s, e.text);
		return false;
	}
	ss_policy_free(p);
	return true;
}

static bool first_version(dm_policysrc *s, const ss_daemon *d, char *err, size_t errlen)
{
	char ferr[700];
	ss_dir_result r;
	if (ss_dir_fetch_once(&s->cfg, &r, ferr, sizeof(ferr))) {
		if (check(s, d, &r)) {
			s->cur = r;
			s->applied = (int64_t)time(NULL);
			save_cache(s);
			return true;
		}
		ss_dir_result_clear(&r);
	} else {
		SS_WARN(SUB, "directory: %s", ferr);
		set_error(s, ferr);
	}
	char cerr[700];
	if (!ss_dir_cache_load(s->cfg.cache_file, &s->cur, cerr, sizeof(cerr))) {
		snprintf(err, errlen, "no policy: %.330s; and no last good version (%.330s)", s->error, cerr);
		return false;
	}
	SS_WARN(SUB, "directory: starting with the last good version, %s, from %s", s->cur.origin,
		s->cfg.cache_file);
	s->from_cache = true;
	s->applied = (int64_t)time(NULL);
	return true;
}

bool dm_policysrc_start(ss_daemon *d, char *err, size_t errlen)
{
	if (!d->o.directory)
		return true;
	dm_policysrc *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	d->src = s;
	ss_load_error e;
	if (!ss_dir_config_load(d->o.directory, &s->cfg, &e)) {
		snprintf(err, errlen, "%s", e.text);
		return false;
	}
	if (!s->cfg.host_dn) {
		snprintf(err, errlen, "%s: no host_dn: softsad needs this host's entry in the directory", s->cfg.file);
		return false;
	}
	ss_path_dir(d->o.directory, s->base_dir, sizeof(s->base_dir));
	if (!first_version(s, d, err, errlen))
		return false;
	/* From the cache, the first fetch is handed over even when it is the same version, so
	 * that status stops saying "from the cache" once the directory confirms it. */
	s->f = ss_dir_follow_start(&s->cfg, s->from_cache ? NULL : &s->cur);
	if (!s->f || !ss_loop_add(d->loop, ss_dir_follow_fd(s->f), EPOLLIN, on_follow, d)) {
		snprintf(err, errlen, "cannot start following the directory: %s", strerror(errno));
		return false;
	}
	return true;
}

void dm_policysrc_stop(ss_daemon *d)
{
	dm_policysrc *s = d->src;
	if (!s)
		return;
	if (s->f) {
		ss_loop_del(d->loop, ss_dir_follow_fd(s->f));
		ss_dir_follow_stop(s->f);
	}
	ss_dir_result_clear(&s->cur);
	ss_dir_config_free(&s->cfg);
	free(s);
	d->src = NULL;
}

static json_t *time_or_null(int64_t t)
{
	return t ? json_integer(t) : json_null();
}

static json_t *directory_json(dm_policysrc *s)
{
	ss_dir_status st;
	ss_dir_follow_status(s->f, &st);
	/* The newest of: a version refused here, the follower's last failure to read. */
	bool mine = s->error_time && s->error_time >= st.error_time;
	const char *err = mine ? s->error : st.error_time ? st.last_error : NULL;
	int64_t err_t = mine ? s->error_time : st.error_time;
	json_t *j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:o, s:o, s:o, s:o}",
		"kind", "directory", "bootstrap", s->cfg.file, "uris", json_array(), "host_dn", s->cfg.host_dn,
		"state", st.state, "uri", st.uri, "via", ss_dir_via_name(s->cur.via), "policy_dn", s->cur.policy_dn,
		"version", (json_int_t)s->cur.version, "origin", s->cur.origin, "from_cache", s->from_cache,
		"fetched", time_or_null(st.fetched), "applied", time_or_null(s->applied),
		"last_error", err ? json_string(err) : json_null(), "last_error_time", time_or_null(err ? err_t : 0));
	json_t *uris = json_object_get(j, "uris");
	for (size_t i = 0; i < s->cfg.n_uris; i++)
		json_array_append_new(uris, json_string(s->cfg.uris[i]));
	if (s->cur.holder[0])
		json_object_set_new(j, "holder", json_string(s->cur.holder));
	if (s->cur.warning[0])
		json_object_set_new(j, "warning", json_string(s->cur.warning));
	return j;
}

void dm_policysrc_status(ss_daemon *d, json_t *result)
{
	json_t *j = d->src ? directory_json(d->src)
		: d->o.builtin ? json_pack("{s:s, s:s}", "kind", "builtin", "name", d->o.builtin)
		: json_pack("{s:s, s:s}", "kind", "file", "path", d->o.policy_file ? d->o.policy_file : "");
	json_object_set_new(result, "policy_source", j);
}
