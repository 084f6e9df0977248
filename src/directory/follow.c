/* The follower thread (follow.h).  Everything it shares with the daemon's thread is under
 * one mutex: the newest version not yet taken, and the status. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "directory/follow.h"

#define SUB "directory"
#define STEP_MS 250

struct ss_dir_follow {
	const ss_dir_config *c;
	pthread_t thread;
	int efd;
	pthread_mutex_t mu;
	bool stop;                    /* under mu */
	ss_dir_result pending;        /* under mu; doc NULL: none */
	ss_dir_status st;             /* under mu */
	ss_dir_result last;           /* the thread's own: the last version handed over */
	bool no_sync;                 /* the thread's own: the server refused a sync search */
};

static bool stopping(ss_dir_follow *f)
{
	pthread_mutex_lock(&f->mu);
	bool s = f->stop;
	pthread_mutex_unlock(&f->mu);
	return s;
}

/* Sleeps up to ms, waking early to stop. */
static void nap(ss_dir_follow *f, uint32_t ms)
{
	for (uint32_t t = 0; t < ms && !stopping(f); t += STEP_MS) {
		struct timespec ts = { 0, (long)(ms - t < STEP_MS ? ms - t : STEP_MS) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static void set_state(ss_dir_follow *f, const char *state, const char *uri)
{
	pthread_mutex_lock(&f->mu);
	f->st.state = state;
	snprintf(f->st.uri, sizeof(f->st.uri), "%s", uri ? uri : "");
	pthread_mutex_unlock(&f->mu);
}

static void set_error(ss_dir_follow *f, const char *err)
{
	SS_WARN(SUB, "%s", err);
	pthread_mutex_lock(&f->mu);
	snprintf(f->st.last_error, sizeof(f->st.last_error), "%s", err);
	f->st.error_time = (int64_t)time(NULL);
	pthread_mutex_unlock(&f->mu);
}

/* A successful fetch: hand it over when it differs from the last one handed over. */
static void deliver(ss_dir_follow *f, ss_dir_result *r)
{
	pthread_mutex_lock(&f->mu);
	f->st.fetched = (int64_t)time(NULL);
	f->st.error_time = 0;
	f->st.last_error[0] = '\0';
	bool fresh = !ss_dir_result_same(r, &f->last);
	if (fresh) {
		ss_dir_result_clear(&f->pending);
		f->pending = *r;
		ss_dir_result_clear(&f->last);
		f->last = *r;
		f->last.doc = strdup(r->doc);
		*r = (ss_dir_result){ 0 };
	}
	pthread_mutex_unlock(&f->mu);
	if (fresh) {
		uint64_t one = 1;
		if (write(f->efd, &one, sizeof(one)) < 0)
			SS_WARN(SUB, "cannot wake the daemon: %s", strerror(errno));
	}
	ss_dir_result_clear(r);
}

/* One fetch on k; false when the connection is lost. */
static bool fetch(ss_dir_follow *f, ss_dir_conn *k)
{
	ss_dir_result r;
	bool lost;
	char err[700];
	if (ss_dir_fetch(k, f->c, &r, &lost, err, sizeof(err))) {
		deliver(f, &r);
		return true;
	}
	set_error(f, err);
	return !lost;
}

static void follow_poll(ss_dir_follow *f, ss_dir_conn *k)
{
	set_state(f, "polling", ss_dir_conn_uri(k));
	while (!stopping(f) && fetch(f, k))
		nap(f, f->c->poll_interval_s * 1000u);
}

/* RFC 4533: one fetch as the search starts (a change from then on is reported after the
 * refresh phase), then one fetch per burst of changes (a publish is one modify, but an
 * administrator moving hosts between groups may make several). */
static void follow_sync(ss_dir_follow *f, ss_dir_conn *k)
{
	set_state(f, "syncrepl", ss_dir_conn_uri(k));
	if (!fetch(f, k))
		return;
	/* A connection the network silently dropped reports no change, ever: a fetch every
	 * poll_interval even while syncing finds it dead (the LDAP timeout) and reconnects. */
	struct timespec last;
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!stopping(f)) {
		enum ss_dir_sync_event ev = ss_dir_sync_wait(k, STEP_MS);
		if (ev == SS_DIR_SYNC_REFUSED) {
			set_error(f, "the directory refused the sync search: polling from now on");
			f->no_sync = true;
			return follow_poll(f, k);
		}
		if (ev == SS_DIR_SYNC_LOST) {
			set_error(f, "the directory ended the sync search (connection lost)");
			return;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool due = now.tv_sec - last.tv_sec >= (time_t)f->c->poll_interval_s;
		if (ev != SS_DIR_SYNC_CHANGED && !due)
			continue;
		last = now;
		if (due && ev != SS_DIR_SYNC_CHANGED) {
			if (!fetch(f, k))
				return;
			continue;
		}
		while ((ev = ss_dir_sync_wait(k, 20)) == SS_DIR_SYNC_CHANGED)
			;
		if (ev == SS_DIR_SYNC_LOST || !fetch(f, k))
			return;
	}
}

static void *run(void *arg)
{
	ss_dir_follow *f = arg;
	while (!stopping(f)) {
		char err[700];
		set_state(f, "connecting", NULL);
		ss_dir_conn *k = ss_dir_connect(f->c, err, sizeof(err));
		if (!k) {
			set_state(f, "down", NULL);
			set_error(f, err);
			nap(f, f->c->retry_interval_s * 1000u);
			continue;
		}
		bool sync = f->c->follow == SS_DIR_FOLLOW_AUTO && !f->no_sync && ss_dir_sync_offered(k);
		if (sync && !ss_dir_sync_start(k, f->c, err, sizeof(err))) {
			set_error(f, err);
			sync = false;
		}
		SS_INFO(SUB, "connected to %s; following changes by %s", ss_dir_conn_uri(k),
			sync ? "RFC 4533 refreshAndPersist" : "polling");
		if (sync)
			follow_sync(f, k);
		else
			follow_poll(f, k);
		ss_dir_close(k);
		if (!stopping(f)) {
			set_state(f, "down", NULL);
			nap(f, f->c->retry_interval_s * 1000u);
		}
	}
	return NULL;
}

ss_dir_follow *ss_dir_follow_start(const ss_dir_config *c, const ss_dir_result *have)
{
	ss_dir_follow *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->c = c;
	f->st.state = "connecting";
	f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&f->mu, NULL);
	if (have && have->doc) {
		f->last = *have;
		f->last.doc = strdup(have->doc);
	}
	if (f->efd < 0 || pthread_create(&f->thread, NULL, run, f) != 0) {
		if (f->efd >= 0)
			close(f->efd);
		ss_dir_result_clear(&f->last);
		pthread_mutex_destroy(&f->mu);
		free(f);
		return NULL;
	}
	return f;
}

int ss_dir_follow_fd(const ss_dir_follow *f) { return f->efd; }

bool ss_dir_follow_take(ss_dir_follow *f, ss_dir_result *out)
{
	uint64_t n;
	if (read(f->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		SS_WARN(SUB, "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&f->mu);
	bool have = f->pending.doc != NULL;
	*out = f->pending;
	f->pending = (ss_dir_result){ 0 };
	pthread_mutex_unlock(&f->mu);
	return have;
}

void ss_dir_follow_status(ss_dir_follow *f, ss_dir_status *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->st;
	pthread_mutex_unlock(&f->mu);
}

void ss_dir_follow_stop(ss_dir_follow *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	close(f->efd);
	ss_dir_result_clear(&f->pending);
	ss_dir_result_clear(&f->last);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

bool ss_dir_fetch_once(const ss_dir_config *c, ss_dir_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	ss_dir_conn *k = ss_dir_connect(c, err, errlen);
	if (!k)
		return false;
	bool lost;
	bool ok = ss_dir_fetch(k, c, out, &lost, err, errlen);
	ss_dir_close(k);
	return ok;
}
