/* The directory client as a command, for tests and the bench: the same library code
 * softsad runs (connect, TLS, bind, fetch, RFC 4533 follow), without a daemon around it.
 *
 *   dirprobe fetch BOOTSTRAP
 *       one fetch: "via=... holder=... policy=... version=N origin=..." then the document;
 *       exit 1 with the error on stderr when it fails
 *   dirprobe follow BOOTSTRAP COUNT SECONDS
 *       follows; prints "version=N policy=DN state=S" for each new version, and exits 0
 *       after COUNT of them, 1 after SECONDS without
 *   dirprobe fleet BOOTSTRAP ADMIN_BOOTSTRAP N POLICY_DN DOC1 DOC2 ROUNDS
 *       N followers (each its own connection and sync search) of one slapd; once all hold a
 *       version, publishes DOC1 and DOC2 in turn, ROUNDS times, and prints per round how long
 *       the change took to reach the first, the median and the last follower (JSON lines). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "directory/follow.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool load(const char *path, ss_dir_config *c)
{
	ss_load_error e;
	if (ss_dir_config_load(path, c, &e))
		return true;
	fprintf(stderr, "%s\n", e.text);
	return false;
}

static int do_fetch(const char *boot)
{
	ss_dir_config c;
	if (!load(boot, &c))
		return 2;
	ss_dir_result r;
	char err[700];
	int rc = 0;
	if (ss_dir_fetch_once(&c, &r, err, sizeof(err))) {
		printf("via=%s holder=%s policy=%s version=%llu origin=%s\n%s", ss_dir_via_name(r.via), r.holder,
		       r.policy_dn, (unsigned long long)r.version, r.origin, r.doc);
		if (r.warning[0])
			printf("warning=%s\n", r.warning);
	} else {
		fprintf(stderr, "%s\n", err);
		rc = 1;
	}
	ss_dir_result_clear(&r);
	ss_dir_config_free(&c);
	return rc;
}

static int do_follow(const char *boot, int count, int seconds)
{
	ss_dir_config c;
	if (!load(boot, &c))
		return 2;
	ss_dir_follow *f = ss_dir_follow_start(&c, NULL);
	int got = 0;
	double until = now_s() + seconds;
	while (f && got < count && now_s() < until) {
		ss_dir_result r;
		if (ss_dir_follow_take(f, &r)) {
			ss_dir_status st;
			ss_dir_follow_status(f, &st);
			printf("version=%llu policy=%s state=%s\n", (unsigned long long)r.version, r.policy_dn, st.state);
			fflush(stdout);
			ss_dir_result_clear(&r);
			got++;
			until = now_s() + seconds;
		}
		usleep(20000);
	}
	ss_dir_follow_stop(f);
	ss_dir_config_free(&c);
	return got == count ? 0 : 1;
}

/* ---- fleet ---- */

typedef struct member {
	ss_dir_follow *f;
	uint64_t version;
	double arrived;
} member;

/* Polls every follower until each holds version want (or any, want 0); false after 60 s. */
static bool all_at(member *m, int n, uint64_t want)
{
	double until = now_s() + 60;
	for (;;) {
		int done = 0;
		for (int i = 0; i < n; i++) {
			ss_dir_result r;
			if (ss_dir_follow_take(m[i].f, &r)) {
				m[i].version = r.version;
				m[i].arrived = now_s();
				ss_dir_result_clear(&r);
			}
			done += want ? m[i].version == want : m[i].version != 0;
		}
		if (done == n)
			return true;
		if (now_s() > until) {
			fprintf(stderr, "dirprobe: %d of %d followers at version %llu after 60 s\n", done, n,
				(unsigned long long)want);
			return false;
		}
		usleep(1000);
	}
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int do_fleet(char **a)
{
	ss_dir_config c, admin;
	int n = atoi(a[2]), rounds = atoi(a[6]);
	if (!load(a[0], &c) || !load(a[1], &admin) || n < 1 || n > 1000 || rounds < 1)
		return 2;
	member *m = calloc((size_t)n, sizeof(*m));
	double *lat = calloc((size_t)n, sizeof(*lat));
	for (int i = 0; i < n; i++)
		m[i].f = ss_dir_follow_start(&c, NULL);
	int rc = all_at(m, n, 0) ? 0 : 1;
	ss_dir_conn *k = NULL;
	char err[700];
	if (!rc && !(k = ss_dir_connect(&admin, err, sizeof(err)))) {
		fprintf(stderr, "dirprobe: %s\n", err);
		rc = 1;
	}
	for (int r = 0; r < rounds && !rc; r++) {
		FILE *df = fopen(a[4 + r % 2], "rb");
		char doc[65536];
		size_t len = df ? fread(doc, 1, sizeof(doc), df) : 0;
		if (df)
			fclose(df);
		uint64_t v;
		double t0 = now_s();
		if (!ss_dir_publish(k, a[3], "fleet", NULL, doc, len, &v, err, sizeof(err))) {
			fprintf(stderr, "dirprobe: publish: %s\n", err);
			rc = 1;
			break;
		}
		if (!all_at(m, n, v)) {
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++)
			lat[i] = (m[i].arrived - t0) * 1000;
		qsort(lat, (size_t)n, sizeof(*lat), by_double);
		printf("{\"round\": %d, \"followers\": %d, \"version\": %llu, \"first_ms\": %.1f, \"median_ms\": %.1f, "
		       "\"p90_ms\": %.1f, \"last_ms\": %.1f}\n", r + 1, n, (unsigned long long)v, lat[0], lat[n / 2],
		       lat[n * 9 / 10], lat[n - 1]);
		fflush(stdout);
	}
	ss_dir_close(k);
	for (int i = 0; i < n; i++)
		ss_dir_follow_stop(m[i].f);
	free(m);
	free(lat);
	ss_dir_config_free(&c);
	ss_dir_config_free(&admin);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "fetch") == 0)
		return do_fetch(argv[2]);
	if (argc == 5 && strcmp(argv[1], "follow") == 0)
		return do_follow(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 9 && strcmp(argv[1], "fleet") == 0)
		return do_fleet(argv + 2);
	fprintf(stderr, "usage: dirprobe fetch BOOT | follow BOOT COUNT SECONDS | "
		"fleet BOOT ADMIN_BOOT N POLICY_DN DOC1 DOC2 ROUNDS\n");
	return 2;
}
